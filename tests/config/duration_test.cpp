#include "config/duration.hpp"

#include <gtest/gtest.h>

namespace stork::config {
namespace {

struct good_case {
    const char* text;
    std::int64_t ms;
};

TEST(duration, accepts_every_unit)
{
    const good_case cases[] = {
        {"500ms", 500},          {"0ms", 0},          {"5s", 5'000},       {"10m", 600'000},
        {"12h", 43'200'000},     {"30d", 2'592'000'000}, {"1d", 86'400'000}, {"007s", 7'000},
    };
    for (const auto& c : cases) {
        const auto d = parse_duration(c.text);
        ASSERT_TRUE(d) << c.text << ": " << d.error();
        EXPECT_EQ(d->count(), c.ms) << c.text;
    }
}

struct bad_case {
    const char* text;
    const char* why; // a fragment the message must contain
};

TEST(duration, refuses_with_a_reason)
{
    const bad_case cases[] = {
        {"", "empty"},
        {"5", "no unit"},
        {"s", "does not start with a number"},
        {"-5s", "does not start with a number"},
        {"+5s", "does not start with a number"},
        {"1.5s", "unknown unit \".5s\""},
        {"5 s", "unknown unit \" s\""},
        {"5sec", "unknown unit \"sec\""},
        {"5S", "unknown unit \"S\""},
        {"5y", "unknown unit \"y\""},
        {"1h30m", "unknown unit \"h30m\""},
        {"99999999999999999999s", "too long"},
        {"9999999999999999d", "too long"},
    };
    for (const auto& c : cases) {
        const auto d = parse_duration(c.text);
        ASSERT_FALSE(d) << "\"" << c.text << "\" was accepted";
        EXPECT_NE(d.error().find(c.why), std::string::npos) << c.text << " -> " << d.error();
    }
}

TEST(duration, formats_in_the_largest_exact_unit)
{
    EXPECT_EQ(format_duration(duration{30LL * 86'400'000}), "30d");
    EXPECT_EQ(format_duration(duration{90'000}), "90s");
    EXPECT_EQ(format_duration(duration{1'500}), "1500ms");
    EXPECT_EQ(format_duration(duration{3'600'000}), "1h");
    EXPECT_EQ(format_duration(duration{0}), "0s");
}

TEST(duration, round_trips)
{
    for (const char* text : {"500ms", "5s", "10m", "12h", "30d", "1500ms", "90s"}) {
        EXPECT_EQ(format_duration(*parse_duration(text)), text);
    }
}

} // namespace
} // namespace stork::config
