#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stork::config {

// Host-name syntax of RFC 1123 §2.1 (LDH): labels of 1 to 63 letters, digits and
// hyphens, not starting or ending with a hyphen, at most 253 bytes in all, no trailing
// dot. IDNA names are accepted in their A-label form (xn--...), which is LDH.
// Returns why `name` is not a host name, or nothing when it is one.
std::optional<std::string> host_name_problem(std::string_view name);

inline bool is_host_name(std::string_view name)
{
    return !host_name_problem(name);
}

} // namespace stork::config
