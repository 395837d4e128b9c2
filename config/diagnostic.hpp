#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace stork::config {

// One problem found in a configuration file, located for the person who must fix it.
struct diagnostic {
    std::string file;     // as given to the loader
    int line = 0;         // 1-based; 0 when the problem is not at a place in the text
    int column = 0;       // 1-based
    std::string key_path; // "listen.http[1]", "admin.token_file"; empty for the document
    std::string message;

    // "storkd.yaml:12:5: admin.listen: port 99999 is not ..." (the GCC form, which editors
    // and CI logs turn into links).
    std::string to_string() const;
};

// Thrown by the loaders with every problem they found, in file order.
class config_error : public std::runtime_error {
public:
    explicit config_error(std::vector<diagnostic> diagnostics);

    const std::vector<diagnostic>& diagnostics() const noexcept { return diagnostics_; }

private:
    std::vector<diagnostic> diagnostics_;
};

} // namespace stork::config
