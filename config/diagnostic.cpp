#include "config/diagnostic.hpp"

namespace stork::config {

std::string diagnostic::to_string() const
{
    std::string s = file;
    if (line > 0) {
        s += ":" + std::to_string(line) + ":" + std::to_string(column);
    }
    s += ": ";
    if (!key_path.empty()) {
        s += key_path + ": ";
    }
    return s + message;
}

namespace {

std::string summary(const std::vector<diagnostic>& diagnostics)
{
    std::string s;
    for (const diagnostic& d : diagnostics) {
        if (!s.empty()) {
            s += '\n';
        }
        s += d.to_string();
    }
    return s;
}

} // namespace

config_error::config_error(std::vector<diagnostic> diagnostics)
    : std::runtime_error{summary(diagnostics)}, diagnostics_{std::move(diagnostics)}
{
}

} // namespace stork::config
