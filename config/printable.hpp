#pragma once

#include <string>
#include <string_view>

namespace stork::config {

// Text from a user (a configuration value, a command-line word) made safe to echo in a
// message: control bytes, DEL, bytes >= 0x80, backslashes and quotes are written as
// escapes (\n, \t, \\, \", \x1b), so a message stays one line and cannot drive a
// terminal. Long input is cut at `max_bytes` with "..." after it.
std::string printable(std::string_view text, std::size_t max_bytes = 128);

// printable(text) between double quotes: the form every parser message uses.
inline std::string quoted(std::string_view text)
{
    return "\"" + printable(text) + "\"";
}

} // namespace stork::config
