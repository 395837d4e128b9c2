#include "config/printable.hpp"

#include <gtest/gtest.h>

namespace stork::config {
namespace {

TEST(printable, escapes_what_would_break_a_one_line_message)
{
    const struct {
        std::string_view in;
        const char* out;
    } cases[] = {
        {"plain text", "plain text"},
        {"a\nb", "a\\nb"},
        {"tab\there", "tab\\there"},
        {"cr\r", "cr\\r"},
        {"back\\slash", "back\\\\slash"},
        {"say \"hi\"", "say \\\"hi\\\""},
        {std::string_view{"nul\0x", 5}, "nul\\x00x"},
        {"\x1b[31mred", "\\x1b[31mred"},
        {"\x7f", "\\x7f"},
        {"caf\xc3\xa9", "caf\\xc3\\xa9"},
        {"", ""},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(printable(c.in), c.out);
    }
    EXPECT_EQ(quoted("a\nb"), "\"a\\nb\"");
}

TEST(printable, cuts_long_text)
{
    EXPECT_EQ(printable(std::string(200, 'a'), 4), "aaaa...");
    EXPECT_EQ(printable("abcd", 4), "abcd");
    EXPECT_EQ(printable(std::string(500, 'x')).size(), 128u + 3u);
}

} // namespace
} // namespace stork::config
