#include "proxy/metrics.hpp"

#include <charconv>
#include <cmath>

namespace stork::proxy {

namespace {

void append_escaped(std::string& out, std::string_view value, bool quote_too)
{
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && quote_too) {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

void append_number(std::string& out, double value)
{
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, ec == std::errc{} ? end : buffer);
}

} // namespace

void prometheus_text::family(std::string_view name, std::string_view type, std::string_view help)
{
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    append_escaped(text_, help, false);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
}

void prometheus_text::sample(std::string_view name, std::initializer_list<label> labels, double value)
{
    text_ += name;
    if (labels.size() != 0) {
        text_ += '{';
        bool first = true;
        for (const auto& [key, val] : labels) {
            if (!first) {
                text_ += ',';
            }
            first = false;
            text_ += key;
            text_ += "=\"";
            append_escaped(text_, val, true);
            text_ += '"';
        }
        text_ += '}';
    }
    text_ += ' ';
    append_number(text_, value);
    text_ += '\n';
}

} // namespace stork::proxy
