#include "routing/host.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stork::routing {
namespace {

struct host_case {
    std::string raw;
    host_kind kind;
    const char* expected; // normalised form, or nullptr when refused
    host_error error;
};

TEST(normalise_host, table)
{
    const std::string label63(63, 'a');
    const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
    const host_case cases[] = {
        {"my-app.example.com", host_kind::request, "my-app.example.com", host_error::none},
        {"My-App.EXAMPLE.com", host_kind::request, "my-app.example.com", host_error::none},
        {"my-app.example.com.", host_kind::request, "my-app.example.com", host_error::none},
        {"my-app.example.com:443", host_kind::request, "my-app.example.com", host_error::none},
        {"my-app.example.com.:8080", host_kind::request, "my-app.example.com", host_error::none},
        {"my-app.example.com:", host_kind::request, "my-app.example.com", host_error::none},
        {"localhost", host_kind::request, "localhost", host_error::none},
        {"xn--bcher-kva.example", host_kind::request, "xn--bcher-kva.example", host_error::none},
        {"XN--BCHER-KVA.example", host_kind::request, "xn--bcher-kva.example", host_error::none},
        {"203.0.113.7:80", host_kind::request, "203.0.113.7", host_error::none},
        {label63 + ".com", host_kind::request, nullptr, host_error::none},
        {name253, host_kind::request, nullptr, host_error::none},
        {name253 + ".", host_kind::request, nullptr, host_error::none},
        {"*.example.com", host_kind::rule, "*.example.com", host_error::none},
        {"*.Example.COM.", host_kind::rule, "*.example.com", host_error::none},

        {"", host_kind::request, nullptr, host_error::empty},
        {".", host_kind::request, nullptr, host_error::empty},
        {":80", host_kind::request, nullptr, host_error::empty},
        {"a..b", host_kind::request, nullptr, host_error::empty_label},
        {".a", host_kind::request, nullptr, host_error::empty_label},
        {"a..", host_kind::request, nullptr, host_error::empty_label},
        {label63 + "a.com", host_kind::request, nullptr, host_error::label_too_long},
        {"com." + label63 + "a", host_kind::request, nullptr, host_error::label_too_long},
        {name253 + "b", host_kind::request, nullptr, host_error::too_long},
        {"my_app.example.com", host_kind::request, nullptr, host_error::bad_byte},
        {"my app.example.com", host_kind::request, nullptr, host_error::bad_byte},
        {"caf\xc3\xa9.example", host_kind::request, nullptr, host_error::bad_byte},
        {std::string{"a\0b", 3}, host_kind::request, nullptr, host_error::bad_byte},
        {"[::1]:80", host_kind::request, nullptr, host_error::bad_port},
        {"[::1]", host_kind::request, nullptr, host_error::bad_port},
        {"example.com:http", host_kind::request, nullptr, host_error::bad_port},
        {"example.com:123456", host_kind::request, nullptr, host_error::bad_port},
        {"example.com:80:80", host_kind::request, nullptr, host_error::bad_port},
        {"*.example.com", host_kind::request, nullptr, host_error::bad_byte},
        {"a.*.example.com", host_kind::rule, nullptr, host_error::bad_wildcard},
        {"*a.example.com", host_kind::rule, nullptr, host_error::bad_wildcard},
        {"**.example.com", host_kind::rule, nullptr, host_error::bad_wildcard},
        {"*", host_kind::rule, nullptr, host_error::bad_wildcard},
        {"*.", host_kind::rule, nullptr, host_error::bad_wildcard},
        {"a.b.*", host_kind::rule, nullptr, host_error::bad_wildcard},
    };
    for (const auto& c : cases) {
        host_buffer buffer;
        const auto n = normalise_host(c.raw, c.kind, buffer);
        SCOPED_TRACE(c.raw);
        EXPECT_EQ(n.error, c.error) << describe(n.error);
        if (c.error == host_error::none) {
            ASSERT_TRUE(n);
            if (c.expected != nullptr) {
                EXPECT_EQ(n.name, c.expected);
            } else {
                EXPECT_EQ(n.name.size(), c.raw.size() - (c.raw.back() == '.' ? 1 : 0));
            }
        } else {
            EXPECT_FALSE(n);
            EXPECT_TRUE(n.name.empty());
        }
    }
}

TEST(normalise_host, is_idempotent)
{
    for (const char* raw : {"A.B.C.", "x.example.com:443", "*.Wild.Example"}) {
        host_buffer first;
        host_buffer second;
        const auto once = normalise_host(raw, host_kind::rule, first);
        ASSERT_TRUE(once);
        const auto twice = normalise_host(once.name, host_kind::rule, second);
        ASSERT_TRUE(twice);
        EXPECT_EQ(once.name, twice.name);
    }
}

TEST(normalise_host, every_error_has_words)
{
    for (auto e : {host_error::empty, host_error::too_long, host_error::empty_label, host_error::label_too_long,
                   host_error::bad_byte, host_error::bad_wildcard, host_error::bad_port}) {
        EXPECT_GT(describe(e).size(), 10u);
    }
}

} // namespace
} // namespace stork::routing
