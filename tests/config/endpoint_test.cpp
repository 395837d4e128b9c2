#include "config/endpoint.hpp"

#include <gtest/gtest.h>

namespace stork::config {
namespace {

const endpoint_rules connect{};
const endpoint_rules bind{.require_ip = true, .allow_port_zero = true, .default_port = std::nullopt};
const endpoint_rules resolver{.require_ip = true, .allow_port_zero = false, .default_port = 53};

TEST(endpoint, parses_addresses_and_names)
{
    const struct {
        const char* text;
        const endpoint_rules* rules;
        endpoint expected;
        const char* printed;
    } cases[] = {
        {"0.0.0.0:80", &bind, {"0.0.0.0", 80, true}, "0.0.0.0:80"},
        {"127.0.0.1:0", &bind, {"127.0.0.1", 0, true}, "127.0.0.1:0"},
        {"[::]:443", &bind, {"::", 443, true}, "[::]:443"},
        {"[2001:db8::1]:8443", &connect, {"2001:db8::1", 8443, true}, "[2001:db8::1]:8443"},
        {"router.internal:8080", &connect, {"router.internal", 8080, false}, "router.internal:8080"},
        {"203.0.113.7:65535", &connect, {"203.0.113.7", 65535, true}, "203.0.113.7:65535"},
        {"9.9.9.9", &resolver, {"9.9.9.9", 53, true}, "9.9.9.9:53"},
        {"127.0.0.1:5353", &resolver, {"127.0.0.1", 5353, true}, "127.0.0.1:5353"},
        {"::1", &resolver, {"::1", 53, true}, "[::1]:53"},
        {"[::1]", &resolver, {"::1", 53, true}, "[::1]:53"},
    };
    for (const auto& c : cases) {
        const auto e = parse_endpoint(c.text, *c.rules);
        ASSERT_TRUE(e) << c.text << ": " << e.error();
        EXPECT_EQ(*e, c.expected) << c.text;
        EXPECT_EQ(e->to_string(), c.printed);
    }
}

TEST(endpoint, refuses_with_a_reason)
{
    using namespace std::string_view_literals;
    const struct {
        std::string_view text;
        const endpoint_rules* rules;
        const char* why;
    } cases[] = {
        {"", &connect, "has no port"},
        {"127.0.0.1", &connect, "has no port"},
        {"127.0.0.1:", &connect, "port \"\" is not a number"},
        {"127.0.0.1:http", &connect, "port \"http\" is not a number"},
        {"127.0.0.1:65536", &connect, "port \"65536\""},
        {"127.0.0.1:-1", &connect, "port \"-1\""},
        {"127.0.0.1:80x", &connect, "port \"80x\""},
        {"127.0.0.1:0", &connect, "port 0 is not allowed"},
        {"::1:80", &connect, "needs brackets"},
        {"[::1:80", &connect, "without ']'"},
        {"[::1]80", &connect, "after ']'"},
        {"[127.0.0.1]:80", &connect, "only an IPv6 address"},
        {"localhost:80", &bind, "needs an IP address"},
        {"router_1:80", &connect, "outside letters"},
        {"300.1.1.1:80", &connect, "all digits"},
        {":80", &connect, "empty host name"},
        {"resolver.example", &resolver, "needs an IP address"},
        {"::\0\n8::]:3"sv, &resolver, "control byte"},            // found by the fuzzer: NUL cut inet_pton short
        {"127.0.0.1 :80", &connect, "has a space"},
        {"host\xc3\xa9.example:80", &connect, "non-ASCII"},
    };
    for (const auto& c : cases) {
        const auto e = parse_endpoint(c.text, *c.rules);
        ASSERT_FALSE(e) << "\"" << c.text << "\" was accepted";
        EXPECT_NE(e.error().find(c.why), std::string::npos) << c.text << " -> " << e.error();
    }
}

} // namespace
} // namespace stork::config
