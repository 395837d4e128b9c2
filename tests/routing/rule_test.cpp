#include "routing/rule.hpp"

#include "config/timestamp.hpp"

#include <boost/json/serialize.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stork::routing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const time_point now = *config::parse_rfc3339("2026-11-21T10:00:00Z");
const request_context context{"my-app.example.com", now, std::chrono::days{30}};

rule decode_ok(std::string_view body, const request_context& c = context)
{
    auto r = rule_from_request(body, c);
    if (auto* e = std::get_if<field_error>(&r)) {
        ADD_FAILURE() << body << " -> " << e->field << ": " << e->message;
        return {};
    }
    return std::get<rule>(r);
}

TEST(rule_from_request, the_design_example)
{
    const rule r = decode_ok(R"({
      "host": "my-app.example.com",
      "target": "my-app.osc-secnum-fr1.scalingo.io",
      "mode": "proxy",
      "upstream": "203.0.113.7:443",
      "upstream_tls": true,
      "preserve_host": true,
      "expires_at": "2026-12-20T10:00:00Z",
      "app": "my-app",
      "migration": "8e624121-2ce3-4b01-9bf4-d5e2b32df7e9"
    })");
    EXPECT_EQ(r.host, "my-app.example.com");
    EXPECT_EQ(r.target, "my-app.osc-secnum-fr1.scalingo.io");
    EXPECT_EQ(r.mode, rule_mode::proxy);
    EXPECT_EQ(r.upstream, (config::endpoint{"203.0.113.7", 443, true}));
    EXPECT_TRUE(r.upstream_tls);
    EXPECT_TRUE(r.preserve_host);
    EXPECT_EQ(r.expires_at, *config::parse_rfc3339("2026-12-20T10:00:00Z"));
    EXPECT_EQ(r.app, "my-app");
    EXPECT_EQ(r.migration, "8e624121-2ce3-4b01-9bf4-d5e2b32df7e9");
}

TEST(rule_from_request, defaults)
{
    const rule r = decode_ok(R"({"target": "My-App.osc-fr1.scalingo.io."})");
    EXPECT_EQ(r.host, "my-app.example.com"); // from the URL
    EXPECT_EQ(r.target, "my-app.osc-fr1.scalingo.io");
    EXPECT_EQ(r.mode, rule_mode::proxy);
    EXPECT_FALSE(r.upstream);
    EXPECT_TRUE(r.upstream_tls);
    EXPECT_TRUE(r.preserve_host);
    EXPECT_FALSE(r.proxy_protocol);
    EXPECT_EQ(r.redirect_code, 308);
    EXPECT_EQ(r.expires_at, now + std::chrono::days{30});
    EXPECT_EQ(r.app, "");
}

TEST(rule_from_request, redirect_and_passthrough)
{
    const rule r = decode_ok(R"({"target": "t.example.net", "mode": "redirect", "redirect_code": 301})");
    EXPECT_EQ(r.mode, rule_mode::redirect);
    EXPECT_EQ(r.redirect_code, 301);
    const rule p = decode_ok(R"({"target": "t.example.net", "mode": "passthrough", "upstream": "[2001:db8::7]:8443"})");
    EXPECT_EQ(p.mode, rule_mode::passthrough);
    EXPECT_EQ(p.upstream, (config::endpoint{"2001:db8::7", 8443, true}));
    EXPECT_FALSE(p.proxy_protocol);
    const rule w = decode_ok(R"({"host": "*.Example.com", "target": "t.example.net"})",
                             request_context{"*.example.com", now, std::chrono::days{30}});
    EXPECT_EQ(w.host, "*.example.com");
}

TEST(rule_from_request, proxy_protocol_on_passthrough)
{
    const rule p = decode_ok(R"({"target": "t.example.net", "mode": "passthrough", "proxy_protocol": true})");
    EXPECT_EQ(p.mode, rule_mode::passthrough);
    EXPECT_TRUE(p.proxy_protocol);
    // The field is read after the mode wherever it stands in the object.
    EXPECT_TRUE(decode_ok(R"({"proxy_protocol": true, "target": "t.example.net", "mode": "passthrough"})").proxy_protocol);
    EXPECT_FALSE(decode_ok(R"({"target": "t.example.net", "mode": "passthrough", "proxy_protocol": false})").proxy_protocol);
    // false is every rule's default, so any mode may say it.
    EXPECT_FALSE(decode_ok(R"({"target": "t.example.net", "proxy_protocol": false})").proxy_protocol);
    EXPECT_FALSE(decode_ok(R"({"target": "t.example.net", "mode": "redirect", "proxy_protocol": false})").proxy_protocol);
}

TEST(rule_from_request, server_fields_are_ignored)
{
    const rule r = decode_ok(R"({"target": "t.example.net", "created_at": "2000-01-01T00:00:00Z",
                                 "updated_at": "bogus", "expired": true})");
    EXPECT_EQ(r.created_at, time_point{});
}

TEST(rule_from_request, every_bad_field_is_named)
{
    const struct {
        const char* body;
        const char* field;
        const char* message;
    } cases[] = {
        {"", "", "not JSON"},
        {"{", "", "not JSON"},
        {"[]", "", "must be a JSON object"},
        {"\"x\"", "", "must be a JSON object"},
        {R"({"target": "t.example.net", "colour": "blue"})", "colour", "unknown field"},
        {R"({})", "target", "is required"},
        {R"({"target": 5})", "target", "must be a string"},
        {R"({"target": "t_x.example.net"})", "target", "outside letters"},
        {R"({"target": "t.example.net:443"})", "target", "without a port"},
        {R"({"target": "-t.example.net"})", "target", "starts or ends with '-'"},
        {R"({"target": "10.0.0.1"})", "target", "all digits"},
        {R"({"target": "*.example.net"})", "target", "outside letters"},
        {R"({"host": "other.example.com", "target": "t.example.net"})", "host", "is not the host of the URL"},
        {R"({"host": "a..b", "target": "t.example.net"})", "host", "empty label"},
        {R"({"host": 1, "target": "t.example.net"})", "host", "must be a string"},
        {R"({"target": "t.example.net", "mode": "tunnel"})", "mode", "\"proxy\", \"redirect\" or \"passthrough\""},
        {R"({"target": "t.example.net", "upstream": "203.0.113.7"})", "upstream", "has no port"},
        {R"({"target": "t.example.net", "upstream": "203.0.113.7:0"})", "upstream", "port 0"},
        {R"({"target": "t.example.net", "upstream": 443})", "upstream", "must be a string"},
        {R"({"target": "t.example.net", "mode": "redirect", "upstream": "a.b:1"})", "upstream", "not used by a redirect"},
        {R"({"target": "t.example.net", "upstream_tls": "yes"})", "upstream_tls", "true or false"},
        {R"({"target": "t.example.net", "preserve_host": 1})", "preserve_host", "true or false"},
        {R"({"target": "t.example.net", "mode": "passthrough", "proxy_protocol": "yes"})", "proxy_protocol", "true or false"},
        {R"({"target": "t.example.net", "mode": "passthrough", "proxy_protocol": 1})", "proxy_protocol", "true or false"},
        {R"({"target": "t.example.net", "mode": "passthrough", "proxy_protocol": null})", "proxy_protocol", "true or false"},
        {R"({"target": "t.example.net", "proxy_protocol": true})", "proxy_protocol",
         "only for mode \"passthrough\" (the PROXY v2 header goes in front of the client's TLS bytes; a proxy rule"},
        {R"({"target": "t.example.net", "mode": "proxy", "proxy_protocol": true})", "proxy_protocol",
         "a proxy rule speaks HTTP to its upstream)"},
        {R"({"proxy_protocol": true, "target": "t.example.net", "mode": "redirect"})", "proxy_protocol",
         "a redirect rule has no upstream)"},
        {R"({"target": "t.example.net", "mode": "redirect", "redirect_code": 303})", "redirect_code", "301, 302, 307 or 308"},
        {R"({"target": "t.example.net", "mode": "redirect", "redirect_code": "308"})", "redirect_code", "301, 302"},
        {R"({"target": "t.example.net", "mode": "redirect", "redirect_code": 308.5})", "redirect_code", "301, 302"},
        {R"({"target": "t.example.net", "redirect_code": 301})", "redirect_code", "only for mode \"redirect\""},
        {R"({"target": "t.example.net", "expires_at": "2026-12-20"})", "expires_at", "RFC 3339"},
        {R"({"target": "t.example.net", "expires_at": "2026-02-30T00:00:00Z"})", "expires_at", "calendar date"},
        {R"({"target": "t.example.net", "expires_at": 1790000000})", "expires_at", "must be a string"},
        {R"({"target": "t.example.net", "app": "a\nb"})", "app", "control character"},
        {R"({"target": "t.example.net", "migration": 7})", "migration", "must be a string"},
    };
    for (const auto& c : cases) {
        const auto r = rule_from_request(c.body, context);
        ASSERT_TRUE(std::holds_alternative<field_error>(r)) << "accepted: " << c.body;
        const auto& e = std::get<field_error>(r);
        EXPECT_EQ(e.field, c.field) << c.body << " -> " << e.message;
        EXPECT_THAT(e.message, HasSubstr(c.message)) << c.body;
    }
}

TEST(rule_json, round_trips_through_the_stored_form)
{
    rule r = decode_ok(R"({"target": "t.example.net", "mode": "redirect", "redirect_code": 307, "app": "a",
                          "migration": "m"})");
    r.created_at = now - 24h;
    r.updated_at = now;
    const auto back = rule_from_stored(to_stored_json(r));
    ASSERT_TRUE(std::holds_alternative<rule>(back)) << std::get<field_error>(back).message;
    EXPECT_EQ(std::get<rule>(back), r);
}

TEST(rule_json, proxy_protocol_round_trips_and_is_written_only_when_set)
{
    rule r = decode_ok(R"({"target": "t.example.net", "mode": "passthrough", "upstream": "[2001:db8::7]:8443",
                          "proxy_protocol": true})");
    r.created_at = now - 24h;
    r.updated_at = now;
    const std::string stored = to_stored_json(r);
    EXPECT_THAT(stored, HasSubstr(R"("preserve_host":true,"proxy_protocol":true,"expires_at")"));
    const auto back = rule_from_stored(stored);
    ASSERT_TRUE(std::holds_alternative<rule>(back)) << std::get<field_error>(back).message;
    EXPECT_EQ(std::get<rule>(back), r);
    EXPECT_EQ(boost::json::serialize(to_json(r, now).at("proxy_protocol")), "true");

    // Off, the field is left out: rules without it keep the JSON they had before it existed.
    r.proxy_protocol = false;
    EXPECT_THAT(to_stored_json(r), Not(HasSubstr("proxy_protocol")));
    EXPECT_FALSE(to_json(r, now).contains("proxy_protocol"));
    const auto off = rule_from_stored(to_stored_json(r));
    ASSERT_TRUE(std::holds_alternative<rule>(off));
    EXPECT_EQ(std::get<rule>(off), r);
}

TEST(rule_json, api_form_has_expired_and_server_fields)
{
    rule r = decode_ok(R"({"target": "t.example.net", "expires_at": "2026-11-21T10:00:00Z"})");
    r.created_at = now;
    r.updated_at = now;
    const std::string at_expiry = boost::json::serialize(to_json(r, now));
    EXPECT_EQ(at_expiry, R"({"host":"my-app.example.com","target":"t.example.net","mode":"proxy","upstream_tls":true,)"
                         R"("preserve_host":true,"expires_at":"2026-11-21T10:00:00Z","created_at":"2026-11-21T10:00:00Z",)"
                         R"("updated_at":"2026-11-21T10:00:00Z","expired":true})");
    EXPECT_THAT(boost::json::serialize(to_json(r, now - 1s)), HasSubstr(R"("expired":false)"));
}

TEST(rule_json, stored_records_are_checked)
{
    EXPECT_TRUE(std::holds_alternative<field_error>(rule_from_stored(R"({"target": "t.example.net"})")));
    EXPECT_TRUE(std::holds_alternative<field_error>(
        rule_from_stored(R"({"host": "a.b", "target": "t.example.net", "expires_at": "2026-11-21T10:00:00Z"})")));
    EXPECT_TRUE(std::holds_alternative<field_error>(rule_from_stored("not json")));
    // A stored record is held to the same mode check as a request.
    const auto misplaced = rule_from_stored(R"({"host": "a.b", "target": "t.example.net", "proxy_protocol": true,
        "expires_at": "2026-11-21T10:00:00Z", "created_at": "2026-11-21T10:00:00Z", "updated_at": "2026-11-21T10:00:00Z"})");
    ASSERT_TRUE(std::holds_alternative<field_error>(misplaced));
    EXPECT_EQ(std::get<field_error>(misplaced).field, "proxy_protocol");
}

} // namespace
} // namespace stork::routing
