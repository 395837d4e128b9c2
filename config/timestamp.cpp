#include "config/timestamp.hpp"

#include "config/printable.hpp"

#include <cstdio>

namespace stork::config {

namespace {

// Reads exactly `width` digits at `pos`; nothing is consumed on failure.
bool read_digits(std::string_view text, std::size_t& pos, std::size_t width, int& value)
{
    if (pos + width > text.size()) {
        return false;
    }
    int v = 0;
    for (std::size_t i = pos; i < pos + width; ++i) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        v = v * 10 + (text[i] - '0');
    }
    value = v;
    pos += width;
    return true;
}

bool read_char(std::string_view text, std::size_t& pos, char expected)
{
    if (pos >= text.size() || text[pos] != expected) {
        return false;
    }
    ++pos;
    return true;
}

} // namespace

parsed<std::chrono::sys_seconds> parse_rfc3339(std::string_view text)
{
    using namespace std::chrono;
    const auto refuse = [&](const std::string& why) {
        return invalid{quoted(text) + " " + why +
                               "; write an RFC 3339 time such as 2026-12-20T10:00:00Z"};
    };

    std::size_t pos = 0;
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int s = 0;
    if (!read_digits(text, pos, 4, y) || !read_char(text, pos, '-') || !read_digits(text, pos, 2, mo) ||
        !read_char(text, pos, '-') || !read_digits(text, pos, 2, d)) {
        return refuse("does not start with a date YYYY-MM-DD");
    }
    // RFC 3339 §5.6 allows a lower-case 't' and 'z'.
    if (!read_char(text, pos, 'T') && !read_char(text, pos, 't')) {
        return refuse("has no 'T' between the date and the time");
    }
    if (!read_digits(text, pos, 2, h) || !read_char(text, pos, ':') || !read_digits(text, pos, 2, mi) ||
        !read_char(text, pos, ':') || !read_digits(text, pos, 2, s)) {
        return refuse("has no time HH:MM:SS after the 'T'");
    }
    if (read_char(text, pos, '.')) {
        const std::size_t digits_start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            ++pos;
        }
        if (pos == digits_start) {
            return refuse("has a '.' without digits after the seconds");
        }
    }

    int offset_minutes = 0;
    if (read_char(text, pos, 'Z') || read_char(text, pos, 'z')) {
        // UTC.
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        const int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        int oh = 0;
        int om = 0;
        if (!read_digits(text, pos, 2, oh) || !read_char(text, pos, ':') || !read_digits(text, pos, 2, om) ||
            oh > 23 || om > 59) {
            return refuse("has a bad UTC offset (expected +HH:MM or -HH:MM)");
        }
        offset_minutes = sign * (oh * 60 + om);
    } else {
        return refuse("has no time zone (expected 'Z' or +HH:MM)");
    }
    if (pos != text.size()) {
        return refuse("has something after the time zone");
    }

    const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!date.ok()) {
        return refuse("is not a calendar date");
    }
    if (h > 23 || mi > 59 || s > 59) {
        return refuse("is not a time of day (leap seconds are not accepted)");
    }
    // The local time minus its offset is UTC (RFC 3339 §4.2).
    return sys_days{date} + hours{h} + minutes{mi} + seconds{s} - minutes{offset_minutes};
}

std::string format_rfc3339(std::chrono::sys_seconds t)
{
    using namespace std::chrono;
    const sys_days day_part = floor<days>(t);
    const year_month_day date{day_part};
    const hh_mm_ss time{t - day_part};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()));
    return buf;
}

} // namespace stork::config
