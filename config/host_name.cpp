#include "config/host_name.hpp"

namespace stork::config {

namespace {

bool is_ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

} // namespace

std::optional<std::string> host_name_problem(std::string_view name)
{
    if (name.empty()) {
        return "empty host name";
    }
    if (name.size() > 253) {
        return "host name longer than 253 bytes";
    }
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i < name.size() && name[i] != '.') {
            if (!is_ldh(name[i])) {
                return "host name has a byte outside letters, digits, '-' and '.' at offset " +
                       std::to_string(i);
            }
            continue;
        }
        const std::string_view label = name.substr(label_start, i - label_start);
        if (label.empty()) {
            return "host name has an empty label";
        }
        if (label.size() > 63) {
            return "host name has a label longer than 63 bytes";
        }
        if (label.front() == '-' || label.back() == '-') {
            return "host name has a label that starts or ends with '-'";
        }
        label_start = i + 1;
    }
    // RFC 3696 §2: a top-level label is never all digits, so "10.0.0.256" is a mistyped
    // address, not a name.
    const std::string_view last = name.substr(name.rfind('.') == std::string_view::npos ? 0 : name.rfind('.') + 1);
    if (last.find_first_not_of("0123456789") == std::string_view::npos) {
        return "host name whose last label is all digits (a mistyped IP address?)";
    }
    return std::nullopt;
}

} // namespace stork::config
