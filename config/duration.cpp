#include "config/duration.hpp"

#include "config/printable.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>

namespace stork::config {

namespace {

struct unit {
    std::string_view suffix;
    std::int64_t ms;
};

// Longest suffix first: "ms" must win over "m" and "s".
constexpr std::array units{
    unit{"ms", 1},
    unit{"s", 1'000},
    unit{"m", 60'000},
    unit{"h", 3'600'000},
    unit{"d", 86'400'000},
};

} // namespace

parsed<duration> parse_duration(std::string_view text)
{
    const auto hint = "a duration is a whole number and a unit: 500ms, 5s, 10m, 12h or 30d";
    if (text.empty()) {
        return invalid{std::string{"empty duration; "} + hint};
    }
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    if (digits == 0) {
        return invalid{quoted(text) + " does not start with a number; " + hint};
    }
    const std::string_view suffix = text.substr(digits);
    for (const unit& u : units) {
        if (suffix != u.suffix) {
            continue;
        }
        std::int64_t count = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + digits, count);
        if (ec != std::errc{} || end != text.data() + digits ||
            count > std::numeric_limits<std::int64_t>::max() / u.ms) {
            return invalid{quoted(text) + " is too long a duration"};
        }
        return duration{count * u.ms};
    }
    if (suffix.empty()) {
        return invalid{quoted(text) + " has no unit; " + hint};
    }
    return invalid{quoted(text) + " has an unknown unit " + quoted(suffix) + "; " + hint};
}

std::string format_duration(duration d)
{
    const std::int64_t ms = d.count();
    if (ms == 0) {
        return "0s";
    }
    for (auto it = units.rbegin(); it != units.rend(); ++it) {
        if (ms % it->ms == 0) {
            return std::to_string(ms / it->ms) + std::string{it->suffix};
        }
    }
    return std::to_string(ms) + "ms"; // unreachable: the ms unit divides everything
}

} // namespace stork::config
