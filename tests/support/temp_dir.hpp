#pragma once

#include <filesystem>
#include <string_view>

namespace stork::test {

// A fresh folder under $TMPDIR, removed with everything in it when the object dies.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }

    // Writes `content` to path()/name (creating folders) and returns the full path.
    std::filesystem::path write(std::string_view name, std::string_view content) const;

private:
    std::filesystem::path path_;
};

// The whole content of a file (empty when unreadable).
std::string read_file(const std::filesystem::path& path);

} // namespace stork::test
