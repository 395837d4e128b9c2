#include "config/timestamp.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string_view>
#include <vector>

namespace stork::config {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;
using std::chrono::sys_seconds;

struct timestamp_case {
    std::string_view text;
    std::optional<sys_seconds> expected;  // nothing: refused
};

TEST(timestamp, parse_rfc3339_table)
{
    const sys_seconds base = sys_days{2026y / 12 / 20} + 10h;
    const std::vector<timestamp_case> cases = {
        {"2026-12-20T10:00:00Z", base},
        {"2026-12-20t10:00:00z", base},  // RFC 3339 §5.6 NOTE: lower case allowed
        {"2026-12-20T10:00:00.999Z", base},
        {"2026-12-20T12:30:00+02:30", base},
        {"2026-12-20T05:00:00-05:00", base},
        {"2026-12-20T10:00:00-00:00", base},
        {"2026-12-21T00:30:00+14:30", base},
        {"2024-02-29T00:00:00Z", sys_days{2024y / 2 / 29}},
        {"1970-01-01T00:00:00Z", sys_seconds{}},
        {"", std::nullopt},
        {"2026-12-20", std::nullopt},
        {"2026-12-20 10:00:00Z", std::nullopt},
        {"2026-12-20T10:00:00", std::nullopt},
        {"2026-12-20T10:00Z", std::nullopt},
        {"2026-12-20T10:00:00.Z", std::nullopt},
        {"2026-12-20T10:00:00+0200", std::nullopt},
        {"2026-12-20T10:00:00+24:00", std::nullopt},
        {"2026-12-20T10:00:00Z ", std::nullopt},
        {"2025-02-29T00:00:00Z", std::nullopt},
        {"2026-13-01T00:00:00Z", std::nullopt},
        {"2026-12-20T24:00:00Z", std::nullopt},
        {"2026-12-20T10:60:00Z", std::nullopt},
        {"2016-12-31T23:59:60Z", std::nullopt},  // a real leap second, still refused
        {"+2026-12-20T10:00:00Z", std::nullopt},
        {"26-12-20T10:00:00Z", std::nullopt},
    };
    for (const timestamp_case& c : cases) {
        SCOPED_TRACE(c.text);
        const auto r = parse_rfc3339(c.text);
        if (c.expected) {
            ASSERT_TRUE(r) << r.error();
            EXPECT_EQ(*r, *c.expected);
        } else {
            ASSERT_FALSE(r);
            EXPECT_NE(r.error().find("\"" + std::string{c.text} + "\""), std::string::npos) << r.error();
        }
    }
}

TEST(timestamp, format_rfc3339_round_trips)
{
    for (const std::string_view text : {"2026-12-20T10:00:00Z", "1970-01-01T00:00:00Z", "2024-02-29T23:59:59Z"}) {
        const auto r = parse_rfc3339(text);
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(format_rfc3339(*r), text);
    }
}

} // namespace
} // namespace stork::config
