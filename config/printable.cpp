#include "config/printable.hpp"

namespace stork::config {

std::string printable(std::string_view text, std::size_t max_bytes)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::min(text.size(), max_bytes) + 8);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i == max_bytes) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        switch (c) {
        case '\n':
            out += "\\n";
            continue;
        case '\t':
            out += "\\t";
            continue;
        case '\r':
            out += "\\r";
            continue;
        case '\\':
            out += "\\\\";
            continue;
        case '"':
            out += "\\\"";
            continue;
        default:
            break;
        }
        if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

} // namespace stork::config
