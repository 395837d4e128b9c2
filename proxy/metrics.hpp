#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace stork::proxy {

// Builds the Prometheus text exposition format, version 0.0.4: "# HELP" and "# TYPE"
// once per family, then its samples, label values escaped (\\, \", \n).
class prometheus_text {
public:
    using label = std::pair<std::string_view, std::string_view>;

    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, std::initializer_list<label> labels, double value);
    void sample(std::string_view name, double value) { sample(name, {}, value); }

    const std::string& text() const noexcept { return text_; }

private:
    std::string text_;
};

inline constexpr char prometheus_content_type[] = "text/plain; version=0.0.4; charset=utf-8";

} // namespace stork::proxy
