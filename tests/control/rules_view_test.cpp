#include "control/rules_view.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stork::control {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using std::chrono::days;
using std::chrono::sys_days;

const std::chrono::sys_seconds now = sys_days{2026y / 11 / 20} + 10h;

TEST(rules_view, spans_have_two_units_at_most)
{
    const std::vector<std::pair<std::chrono::seconds, std::string>> cases = {
        {days{29} + 4h + 59min + 59s, "29d 4h"},
        {days{30}, "30d"},
        {days{30} + 59min, "30d"},
        {days{1}, "1d"},
        {23h + 59min + 59s, "23h 59m"},
        {5h, "5h"},
        {12min + 30s, "12m"},
        {1min, "1m"},
        {59s, "<1m"},
        {0s, "<1m"},
        {-5s, "<1m"},
    };
    for (const auto& [span, text] : cases) {
        EXPECT_EQ(format_span(span), text) << span.count();
    }
}

TEST(rules_view, expiry_is_time_left_or_time_since)
{
    const auto row = [](std::optional<std::chrono::sys_seconds> at, std::optional<bool> expired) {
        return rule_row{.host = "a", .target = "b", .expires_at = at, .expired = expired};
    };
    EXPECT_EQ(format_expiry(row(now + days{29} + 4h + 10min, false), now), "29d 4h");
    EXPECT_EQ(format_expiry(row(now + 30s, false), now), "<1m");
    EXPECT_EQ(format_expiry(row(now - days{3}, true), now), "expired 3d ago");
    EXPECT_EQ(format_expiry(row(now - days{3} - 2h - 5min, true), now), "expired 3d 2h ago");
    EXPECT_EQ(format_expiry(row(now - 10s, true), now), "expired just now");
    // Without the server's verdict the clock decides.
    EXPECT_EQ(format_expiry(row(now - 2h, std::nullopt), now), "expired 2h ago");
    EXPECT_EQ(format_expiry(row(now + 2h, std::nullopt), now), "2h");
    // The server enforces expiry by its own clock (design.md §3): it has the last word.
    EXPECT_EQ(format_expiry(row(now + 2h, true), now), "expired");
    EXPECT_EQ(format_expiry(row(std::nullopt, std::nullopt), now), "-");
    EXPECT_EQ(format_expiry(rule_row{.host = "a", .target = "b", .expires_text = "someday"}, now), "someday");
}

TEST(rules_view, table_is_sorted_by_host_and_aligned_on_the_longest_cell)
{
    const std::string long_host = "a-very-long-host-name-for-a-customer.shop.example.com";
    const std::vector<rule_row> rows = {
        {.host = "zeta.example.com", .target = "zeta.osc-secnum-fr1.scalingo.io", .mode = "redirect",
         .app = "zeta", .expires_at = now - days{3}, .expired = true},
        {.host = long_host, .target = "shop.osc-secnum-fr1.scalingo.io", .mode = "proxy", .app = "shop",
         .expires_at = now + days{29} + 4h, .expired = false},
        {.host = "*.example.com", .target = "wild.osc-secnum-fr1.scalingo.io", .mode = "passthrough",
         .expires_at = now + 5h + 30min, .expired = false},
        {.host = "My-App.example.com", .target = "my-app.osc-secnum-fr1.scalingo.io", .mode = "proxy",
         .app = "my-app", .expires_at = now + days{30}, .expired = false},
    };
    const std::string expected =
        "HOST                                                   TARGET                             MODE         EXPIRES         APP\n"
        "*.example.com                                          wild.osc-secnum-fr1.scalingo.io    passthrough  5h 30m          -\n"
        "a-very-long-host-name-for-a-customer.shop.example.com  shop.osc-secnum-fr1.scalingo.io    proxy        29d 4h          shop\n"
        "My-App.example.com                                     my-app.osc-secnum-fr1.scalingo.io  proxy        30d             my-app\n"
        "zeta.example.com                                       zeta.osc-secnum-fr1.scalingo.io    redirect     expired 3d ago  zeta\n";
    EXPECT_EQ(format_rules_table(rows, now), expected);
}

TEST(rules_view, table_shows_what_the_server_sent_without_letting_it_drive_the_terminal)
{
    const std::vector<rule_row> rows = {
        {.host = "a.example.com", .target = "t\n\x1b[31mred", .app = "x y"},
    };
    const std::string table = format_rules_table(rows, now);
    EXPECT_EQ(table,
              "HOST           TARGET          MODE  EXPIRES  APP\n"
              "a.example.com  t\\n\\x1b[31mred  -     -        x y\n");
}

TEST(rules_view, details_are_aligned_key_value_lines_in_the_order_of_the_design)
{
    const json::object rule = json::parse(R"({
        "updated_at": "2026-11-20T09:00:00Z",
        "created_at": "2026-11-19T09:00:00Z",
        "expired": false,
        "host": "my-app.example.com",
        "target": "my-app.osc-secnum-fr1.scalingo.io",
        "mode": "proxy",
        "upstream": "203.0.113.7:443",
        "upstream_tls": true,
        "preserve_host": false,
        "expires_at": "2026-12-20T14:00:00Z",
        "app": "my-app",
        "migration": "8e624121-2ce3-4b01-9bf4-d5e2b32df7e9",
        "weight": 3
    })").as_object();
    EXPECT_EQ(format_rule_details(rule, now),
              "host:          my-app.example.com\n"
              "target:        my-app.osc-secnum-fr1.scalingo.io\n"
              "mode:          proxy\n"
              "upstream:      203.0.113.7:443\n"
              "upstream_tls:  true\n"
              "preserve_host: false\n"
              "expires_at:    2026-12-20T14:00:00Z (30d 4h left)\n"
              "app:           my-app\n"
              "migration:     8e624121-2ce3-4b01-9bf4-d5e2b32df7e9\n"
              "created_at:    2026-11-19T09:00:00Z\n"
              "updated_at:    2026-11-20T09:00:00Z\n"
              "weight:        3\n");
}

TEST(rules_view, details_of_an_expired_redirect_rule)
{
    const json::object rule = json::parse(R"({"host":"a.example.com","target":"t.example.net","mode":"redirect",)"
                                          R"("redirect_code":301,"expires_at":"2026-11-17T10:00:00Z","expired":true,)"
                                          R"("app":null})")
                                  .as_object();
    EXPECT_EQ(format_rule_details(rule, now),
              "host:          a.example.com\n"
              "target:        t.example.net\n"
              "mode:          redirect\n"
              "redirect_code: 301\n"
              "expires_at:    2026-11-17T10:00:00Z (expired 3d ago)\n"
              "app:           -\n");
}

TEST(rules_view, details_of_a_passthrough_rule_with_proxy_protocol)
{
    const json::object rule = json::parse(R"({"host":"a.example.com","target":"t.example.net","mode":"passthrough",)"
                                          R"("expires_at":"2026-12-20T14:00:00Z","proxy_protocol":true,)"
                                          R"("upstream_tls":true,"preserve_host":true})")
                                  .as_object();
    EXPECT_EQ(format_rule_details(rule, now),
              "host:           a.example.com\n"
              "target:         t.example.net\n"
              "mode:           passthrough\n"
              "upstream_tls:   true\n"
              "preserve_host:  true\n"
              "proxy_protocol: true\n"
              "expires_at:     2026-12-20T14:00:00Z (30d 4h left)\n");
}

} // namespace
} // namespace stork::control
