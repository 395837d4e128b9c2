#include "control/rule_json.hpp"

#include "control/cli.hpp"
#include "control/rules_commands.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace stork::control {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using std::chrono::sys_days;

const std::chrono::sys_seconds now = sys_days{2026y / 11 / 20} + 10h;

template <class T>
T parsed_command(std::vector<std::string_view> args)
{
    const parse_outcome outcome = parse_command_line(args);
    const auto* cmd = std::get_if<command>(&outcome);
    if (cmd == nullptr) {
        ADD_FAILURE() << "does not parse: " << std::get<usage_error>(outcome).message;
        return T{};
    }
    return std::get<T>(std::get<rules_command>(*cmd));
}

// ---- the body of `rules add`, from its flags -----------------------------------------

struct body_case {
    std::vector<std::string_view> args;
    std::string json;
};

TEST(rule_json, the_body_of_rules_add_holds_what_the_flags_say_and_nothing_else)
{
    const std::vector<body_case> cases = {
        {{"rules", "add", "a.example.com", "--target", "a.new.example.net"},
         R"({"host":"a.example.com","target":"a.new.example.net"})"},
        {{"rules", "add", "*.example.com", "--target", "t.example.net", "--mode", "redirect", "--redirect-code", "301",
          "--expires-at", "2026-12-20T12:00:00+02:00", "--app", "my-app", "--migration", "m-1"},
         R"({"host":"*.example.com","target":"t.example.net","mode":"redirect","redirect_code":301,)"
         R"("expires_at":"2026-12-20T10:00:00Z","app":"my-app","migration":"m-1"})"},
        {{"rules", "add", "a.example.com", "--target", "t.example.net", "--mode", "proxy", "--upstream",
          "203.0.113.7:443", "--no-upstream-tls", "--no-preserve-host", "--ttl", "30d"},
         R"({"host":"a.example.com","target":"t.example.net","mode":"proxy","upstream":"203.0.113.7:443",)"
         R"("upstream_tls":false,"preserve_host":false,"expires_at":"2026-12-20T10:00:00Z"})"},
        {{"rules", "add", "a.example.com", "--target", "t.example.net", "--mode", "passthrough", "--upstream",
          "[2001:db8::7]:8443"},
         R"({"host":"a.example.com","target":"t.example.net","mode":"passthrough","upstream":"[2001:db8::7]:8443"})"},
        {{"rules", "add", "a.example.com", "--target", "t.example.net", "--mode", "passthrough", "--proxy-protocol"},
         R"({"host":"a.example.com","target":"t.example.net","mode":"passthrough","proxy_protocol":true})"},
        // --ttl is rounded up to the second: the rule lives at least as long as asked.
        {{"rules", "add", "a.example.com", "--target", "t.example.net", "--ttl", "1500ms"},
         R"({"host":"a.example.com","target":"t.example.net","expires_at":"2026-11-20T10:00:02Z"})"},
        {{"rules", "add", "a.example.com", "--target", "t.example.net", "--ttl", "12h"},
         R"({"host":"a.example.com","target":"t.example.net","expires_at":"2026-11-20T22:00:00Z"})"},
        // Labels are free text: JSON escapes them.
        {{"rules", "add", "a.example.com", "--target", "t.example.net", "--app", "my \"app\""},
         R"({"host":"a.example.com","target":"t.example.net","app":"my \"app\""})"},
    };
    for (const body_case& c : cases) {
        std::string line;
        for (const auto a : c.args) {
            line += std::string{a} + " ";
        }
        SCOPED_TRACE(line);
        const auto cmd = parsed_command<rules_add_command>(c.args);
        const json::object body = rule_body(cmd, now);
        EXPECT_EQ(json::value(body), json::parse(c.json)) << json::serialize(body);
    }
}

// ---- the body of finalize's rules (front_fleet) --------------------------------------

TEST(rule_json, the_body_of_a_migrations_rule_writes_every_field_out)
{
    const migrate::redirect_rule proxy{.host = "a.example.com",
                                       .target = "a.new.example.net",
                                       .mode = "proxy",
                                       .upstream = std::nullopt,
                                       .preserve_host = true,
                                       .expires_at = sys_days{2026y / 12 / 20} + 10h,
                                       .app = "a",
                                       .migration = "m-1"};
    const std::string tail = R"("preserve_host":true,"expires_at":"2026-12-20T10:00:00Z","app":"a","migration":"m-1"})";
    struct rule_case {
        std::string what;
        migrate::redirect_rule rule;
        std::string json;
    };
    auto with = [&](auto change) {
        migrate::redirect_rule r = proxy;
        change(r);
        return r;
    };
    const std::vector<rule_case> cases = {
        {"no upstream: the front resolves the target, over TLS", proxy,
         R"({"host":"a.example.com","target":"a.new.example.net","mode":"proxy","upstream_tls":true,)" + tail},
        {"an upstream on 443",
         with([](auto& r) { r.upstream = "203.0.113.7:443"; }),
         R"({"host":"a.example.com","target":"a.new.example.net","mode":"proxy","upstream":"203.0.113.7:443",)"
         R"("upstream_tls":true,)" + tail},
        {"an upstream on 80 is plain HTTP",
         with([](auto& r) { r.upstream = "router.internal:80"; }),
         R"({"host":"a.example.com","target":"a.new.example.net","mode":"proxy","upstream":"router.internal:80",)"
         R"("upstream_tls":false,)" + tail},
        {"a redirect connects nowhere",
         with([](auto& r) { r.mode = "redirect"; r.upstream = "203.0.113.7:443"; r.preserve_host = false; }),
         R"({"host":"a.example.com","target":"a.new.example.net","mode":"redirect","preserve_host":false,)"
         R"("expires_at":"2026-12-20T10:00:00Z","app":"a","migration":"m-1"})"},
    };
    for (const rule_case& c : cases) {
        SCOPED_TRACE(c.what);
        EXPECT_EQ(json::serialize(rule_body(c.rule)), c.json);
    }
}

// ---- paths and queries ---------------------------------------------------------------

TEST(rule_json, paths_percent_encode_the_host_and_the_filters)
{
    EXPECT_EQ(rule_path("my-app.example.com"), "/v1/rules/my-app.example.com");
    EXPECT_EQ(rule_path("*.example.com"), "/v1/rules/%2A.example.com");

    EXPECT_EQ(rules_list_target(rules_list_command{}), "/v1/rules");
    EXPECT_EQ(rules_list_target(rules_list_command{.app = "my-app", .migration = "m 1&x=y", .expired = true}),
              "/v1/rules?app=my-app&migration=m%201%26x%3Dy&expired=true");
    EXPECT_EQ(rules_list_target(rules_list_command{.expired = false}), "/v1/rules?expired=false");

    EXPECT_EQ(rules_purge_target(rules_purge_command{.expired_for = std::chrono::days{7}}),
              "/v1/rules?expired_for=7d");
    EXPECT_EQ(rules_purge_target(rules_purge_command{.expired_for = 90min}), "/v1/rules?expired_for=90m");
    EXPECT_EQ(rules_purge_target(rules_purge_command{}), "/v1/rules?expired_for=0s");
}

// ---- what the server answers ---------------------------------------------------------

TEST(rule_json, a_rule_from_the_server_needs_host_and_target_the_rest_is_shown_as_found)
{
    auto row = rule_row_from_json(json::parse(
        R"({"host":"a.example.com","target":"t.example.net","mode":"proxy","expires_at":"2026-12-20T10:00:00Z",)"
        R"("app":"my-app","expired":false,"created_at":"2026-11-20T10:00:00Z","future_field":[1]})"));
    ASSERT_TRUE(row) << row.error();
    EXPECT_EQ(*row, (rule_row{.host = "a.example.com",
                              .target = "t.example.net",
                              .mode = "proxy",
                              .app = "my-app",
                              .expires_at = sys_days{2026y / 12 / 20} + 10h,
                              .expired = false}));

    row = rule_row_from_json(json::parse(R"({"host":"a.example.com","target":"t","migration":"m-1"})"));
    ASSERT_TRUE(row) << row.error();
    EXPECT_EQ(row->migration, "m-1");

    row = rule_row_from_json(json::parse(R"({"host":"a.example.com","target":"t","expires_at":"soon","app":7})"));
    ASSERT_TRUE(row) << row.error();
    EXPECT_EQ(row->expires_text, "soon");
    EXPECT_FALSE(row->expires_at);
    EXPECT_EQ(row->app, "");

    EXPECT_FALSE(rule_row_from_json(json::parse(R"({"target":"t"})")));
    EXPECT_FALSE(rule_row_from_json(json::parse(R"({"host":"a.example.com"})")));
    EXPECT_FALSE(rule_row_from_json(json::parse(R"({"host":1,"target":"t"})")));
    EXPECT_FALSE(rule_row_from_json(json::parse(R"(["a.example.com"])")));
}

TEST(rule_json, lists_and_purges)
{
    auto rows = rule_rows_from_list(json::parse(R"({"rules":[{"host":"a","target":"b"},{"host":"c","target":"d"}]})"));
    ASSERT_TRUE(rows) << rows.error();
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[1].host, "c");

    EXPECT_TRUE(rule_rows_from_list(json::parse(R"({"rules":[]})")));
    EXPECT_FALSE(rule_rows_from_list(json::parse(R"([])")));
    EXPECT_FALSE(rule_rows_from_list(json::parse(R"({"rules":{}})")));
    EXPECT_FALSE(rule_rows_from_list(json::parse(R"({"rules":[{"host":"a"}]})")));

    auto hosts = purged_hosts_from_json(json::parse(R"({"purged":["a.example.com","*.example.org"]})"));
    ASSERT_TRUE(hosts) << hosts.error();
    EXPECT_EQ(*hosts, (std::vector<std::string>{"a.example.com", "*.example.org"}));
    EXPECT_FALSE(purged_hosts_from_json(json::parse(R"({"purged":[1]})")));
    EXPECT_FALSE(purged_hosts_from_json(json::parse(R"({"removed":[]})")));
}

TEST(rule_json, answers_that_are_not_json_say_what_they_look_like)
{
    EXPECT_TRUE(parse_answer(R"({"rules":[]})"));
    auto v = parse_answer("<html>oops</html>");
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().find("not JSON"), std::string::npos) << v.error();
    EXPECT_NE(v.error().find("<html>oops"), std::string::npos) << v.error();
    v = parse_answer("");
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error(), "an empty body");

    const api_error e = api_error_from_body(R"({"error":"bad mode","field":"mode"})");
    EXPECT_EQ(e.error, "bad mode");
    EXPECT_EQ(e.field, "mode");
    EXPECT_EQ(api_error_from_body("Internal error").error, "");
    EXPECT_EQ(api_error_from_body(R"({"error":"x"})").field, "");
}

} // namespace
} // namespace stork::control
