// The /v1/rules endpoints over a real file store in a temporary folder.
#include "routing/rules_api.hpp"

#include "config/timestamp.hpp"
#include "routing/file_store.hpp"
#include "routing/rule_registry.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stork::routing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace json = boost::json;

class rules_api_test : public ::testing::Test {
protected:
    rules_api_test() { open(); }

    void open()
    {
        api_.reset();
        registry_.reset();
        store_.reset();
        store_ = file_store::open(file_store::options{.dir = dir_.path() / "rules"}, {});
        registry_.emplace(*store_, [this](std::string_view m) { warnings_.emplace_back(m); });
        api_.emplace(*registry_, [this] { return now_; }, std::chrono::days{30}, [this] { ++changes_; });
    }

    api_response call(std::string_view method, std::string_view target, std::string_view body = {})
    {
        auto r = api_->handle(api_request{method, target, body});
        if (!r) {
            ADD_FAILURE() << target << " was not handled";
            return {};
        }
        return *r;
    }

    static json::object object(const api_response& r) { return json::parse(r.body).as_object(); }

    test::temp_dir dir_;
    time_point now_ = *config::parse_rfc3339("2026-11-21T10:00:00Z");
    std::unique_ptr<file_store> store_;
    std::optional<rule_registry> registry_;
    std::optional<rules_api> api_;
    std::vector<std::string> warnings_;
    int changes_ = 0;
};

TEST_F(rules_api_test, put_creates_then_replaces_and_survives_a_restart)
{
    auto created = call("PUT", "/v1/rules/My-App.Example.com", R"({"target": "my-app.osc-fr1.scalingo.io", "app": "my-app"})");
    EXPECT_EQ(created.status, 201u) << created.body;
    auto o = object(created);
    EXPECT_EQ(o["host"], "my-app.example.com");
    EXPECT_EQ(o["expires_at"], "2026-12-21T10:00:00Z");
    EXPECT_EQ(o["created_at"], "2026-11-21T10:00:00Z");
    EXPECT_EQ(o["expired"], false);
    EXPECT_EQ(changes_, 1);

    now_ += 1h;
    auto replaced = call("PUT", "/v1/rules/my-app.example.com", R"({"target": "other.osc-fr1.scalingo.io"})");
    EXPECT_EQ(replaced.status, 200u);
    o = object(replaced);
    EXPECT_EQ(o["target"], "other.osc-fr1.scalingo.io");
    EXPECT_EQ(o["created_at"], "2026-11-21T10:00:00Z");
    EXPECT_EQ(o["updated_at"], "2026-11-21T11:00:00Z");
    EXPECT_FALSE(o.contains("app")); // a PUT replaces the whole rule

    open(); // as a restart would
    const auto got = call("GET", "/v1/rules/my-app.example.com");
    EXPECT_EQ(got.status, 200u);
    EXPECT_EQ(object(got)["target"], "other.osc-fr1.scalingo.io");
    EXPECT_TRUE(warnings_.empty());
}

TEST_F(rules_api_test, proxy_protocol_survives_a_restart)
{
    const auto created = call("PUT", "/v1/rules/tls.example.com",
                              R"({"target": "t.example.net", "mode": "passthrough", "proxy_protocol": true})");
    EXPECT_EQ(created.status, 201u) << created.body;
    EXPECT_EQ(object(created)["proxy_protocol"], true);
    call("PUT", "/v1/rules/plain.example.com", R"({"target": "t.example.net", "mode": "passthrough"})");

    open(); // as a restart would
    const auto got = call("GET", "/v1/rules/tls.example.com");
    EXPECT_EQ(got.status, 200u);
    EXPECT_EQ(object(got)["proxy_protocol"], true);
    EXPECT_TRUE(registry_->rules().at("tls.example.com").proxy_protocol);
    EXPECT_FALSE(object(call("GET", "/v1/rules/plain.example.com")).contains("proxy_protocol"));
    EXPECT_FALSE(registry_->rules().at("plain.example.com").proxy_protocol);
    EXPECT_TRUE(warnings_.empty());
}

TEST_F(rules_api_test, get_delete_and_404)
{
    EXPECT_EQ(call("GET", "/v1/rules/a.example.com").status, 404u);
    EXPECT_EQ(call("DELETE", "/v1/rules/a.example.com").status, 404u);
    EXPECT_EQ(call("PUT", "/v1/rules/a.example.com", R"({"target": "t.example.net"})").status, 201u);
    const auto deleted = call("DELETE", "/v1/rules/a.example.com.");
    EXPECT_EQ(deleted.status, 204u);
    EXPECT_EQ(deleted.body, "");
    EXPECT_EQ(call("GET", "/v1/rules/a.example.com").status, 404u);
    open();
    EXPECT_EQ(call("GET", "/v1/rules/a.example.com").status, 404u);
}

TEST_F(rules_api_test, wildcard_hosts_percent_encoded_or_not)
{
    EXPECT_EQ(call("PUT", "/v1/rules/%2A.example.com", R"({"target": "t.example.net"})").status, 201u);
    EXPECT_EQ(call("GET", "/v1/rules/*.example.com").status, 200u);
    EXPECT_EQ(object(call("GET", "/v1/rules/%2a.EXAMPLE.com"))["host"], "*.example.com");
}

TEST_F(rules_api_test, list_with_filters_and_expiry)
{
    call("PUT", "/v1/rules/a.example.com", R"({"target": "t.example.net", "app": "a", "migration": "m1"})");
    call("PUT", "/v1/rules/b.example.com", R"({"target": "t.example.net", "app": "b", "migration": "m1",
                                              "expires_at": "2026-11-21T10:00:00Z"})");
    call("PUT", "/v1/rules/c.example.com", R"({"target": "t.example.net", "app": "my app"})");
    const auto hosts = [&](std::string_view target) {
        std::vector<std::string> out;
        const auto r = call("GET", target);
        EXPECT_EQ(r.status, 200u) << target << " " << r.body;
        const json::object o = object(r);
        for (const auto& v : o.at("rules").as_array()) {
            out.emplace_back(v.as_object().at("host").as_string());
        }
        return out;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(hosts("/v1/rules"), (V{"a.example.com", "b.example.com", "c.example.com"}));
    EXPECT_EQ(hosts("/v1/rules?app=a"), (V{"a.example.com"}));
    EXPECT_EQ(hosts("/v1/rules?app=my+app"), (V{"c.example.com"}));
    EXPECT_EQ(hosts("/v1/rules?app=my%20app"), (V{"c.example.com"}));
    EXPECT_EQ(hosts("/v1/rules?migration=m1"), (V{"a.example.com", "b.example.com"}));
    EXPECT_EQ(hosts("/v1/rules?expired=true"), (V{"b.example.com"}));
    EXPECT_EQ(hosts("/v1/rules?expired=false&migration=m1"), (V{"a.example.com"}));
    EXPECT_EQ(hosts("/v1/rules?app=nobody"), V{});
    // Expired rules stay listed, flagged, until deleted or purged.
    EXPECT_EQ(object(call("GET", "/v1/rules/b.example.com"))["expired"], true);
}

TEST_F(rules_api_test, purge_removes_rules_expired_long_enough)
{
    call("PUT", "/v1/rules/old.example.com", R"({"target": "t.example.net", "expires_at": "2026-11-01T00:00:00Z"})");
    call("PUT", "/v1/rules/recent.example.com", R"({"target": "t.example.net", "expires_at": "2026-11-20T00:00:00Z"})");
    call("PUT", "/v1/rules/live.example.com", R"({"target": "t.example.net"})");
    const int before = changes_;
    const auto r = call("DELETE", "/v1/rules?expired_for=7d");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "{\"purged\":[\"old.example.com\"]}\n");
    EXPECT_EQ(changes_, before + 1);
    EXPECT_EQ(call("GET", "/v1/rules/old.example.com").status, 404u);
    EXPECT_EQ(call("GET", "/v1/rules/recent.example.com").status, 200u);
    EXPECT_EQ(call("DELETE", "/v1/rules?expired_for=7d").body, "{\"purged\":[]}\n");
}

TEST_F(rules_api_test, refusals_name_the_field_and_store_nothing)
{
    call("PUT", "/v1/rules/keep.example.com", R"({"target": "t.example.net"})");
    const auto journal_before = store_->statistics().journal_bytes;
    const int changes_before = changes_;
    const struct {
        const char* method;
        const char* target;
        const char* body;
        unsigned status;
        const char* field;
        const char* message;
    } cases[] = {
        {"PUT", "/v1/rules/a.example.com", "{not json", 400, nullptr, "not JSON"},
        {"PUT", "/v1/rules/a.example.com", R"({"target": "t.example.net", "colour": 1})", 400, "colour", "unknown field"},
        {"PUT", "/v1/rules/a.example.com", R"({"mode": "proxy"})", 400, "target", "is required"},
        {"PUT", "/v1/rules/a.example.com", R"({"target": "t.example.net", "proxy_protocol": true})", 400,
         "proxy_protocol", "only for mode \"passthrough\""},
        {"PUT", "/v1/rules/a.example.com", R"({"target": "t.example.net", "mode": "passthrough", "proxy_protocol": "on"})",
         400, "proxy_protocol", "true or false"},
        {"PUT", "/v1/rules/a.example.com", R"({"host": "b.example.com", "target": "t.example.net"})", 400, "host",
         "not the host of the URL"},
        {"PUT", "/v1/rules/a_b.example.com", R"({"target": "t.example.net"})", 400, "host", "outside letters"},
        {"PUT", "/v1/rules/a.example.com:443", R"({"target": "t.example.net"})", 400, "host", "no port"},
        {"PUT", "/v1/rules/a.%zz.com", R"({"target": "t.example.net"})", 400, "host", "percent-encoded"},
        {"PUT", "/v1/rules/a.*.com", R"({"target": "t.example.net"})", 400, "host", "whole first label"},
        {"PUT", "/v1/rules/a.example.com?x=1", R"({"target": "t.example.net"})", 400, "query", "no query"},
        {"GET", "/v1/rules?colour=blue", "", 400, "colour", "unknown query parameter"},
        {"GET", "/v1/rules?expired=maybe", "", 400, "expired", "true or false"},
        {"DELETE", "/v1/rules", "", 400, "expired_for", "needs ?expired_for"},
        {"DELETE", "/v1/rules?expired_for=soon", "", 400, "expired_for", "does not start with a number"},
        {"DELETE", "/v1/rules?app=a", "", 400, "app", "unknown query parameter"},
        {"POST", "/v1/rules/a.example.com", "{}", 405, nullptr, "method not allowed"},
        {"PUT", "/v1/rules", "{}", 405, nullptr, "method not allowed"},
        {"GET", "/v1/rules/a.example.com/extra", "", 404, nullptr, "no such endpoint"},
    };
    for (const auto& c : cases) {
        const auto r = call(c.method, c.target, c.body);
        SCOPED_TRACE(std::string{c.method} + " " + c.target);
        EXPECT_EQ(r.status, c.status) << r.body;
        EXPECT_EQ(r.content_type, "application/json");
        const auto o = object(r);
        EXPECT_THAT(std::string{o.at("error").as_string()}, HasSubstr(c.message));
        if (c.field != nullptr) {
            EXPECT_EQ(o.at("field"), c.field);
        } else {
            EXPECT_FALSE(o.contains("field"));
        }
    }
    EXPECT_EQ(store_->statistics().journal_bytes, journal_before);
    EXPECT_EQ(changes_, changes_before);
    EXPECT_EQ(registry_->rules().size(), 1u);
}

TEST_F(rules_api_test, other_paths_are_not_ours)
{
    EXPECT_FALSE(api_->handle(api_request{"GET", "/v1/dns/check", {}}));
    EXPECT_FALSE(api_->handle(api_request{"GET", "/v1/rulesx", {}}));
}

TEST_F(rules_api_test, unreadable_stored_records_are_reported_not_served)
{
    store_->put("bad.example.com", R"({"host": "bad.example.com"})");
    store_->put("other.example.com", R"({"host": "x.example.com", "target": "t.example.net",
        "expires_at": "2026-11-21T10:00:00Z", "created_at": "2026-11-21T10:00:00Z", "updated_at": "2026-11-21T10:00:00Z"})");
    open();
    EXPECT_EQ(registry_->unreadable_count(), 2u);
    ASSERT_EQ(warnings_.size(), 2u);
    EXPECT_THAT(warnings_[0], HasSubstr("\"bad.example.com\" is not served: field \"target\""));
    EXPECT_EQ(store_->records().size(), 2u); // kept, for whoever repairs them
    EXPECT_EQ(call("GET", "/v1/rules/bad.example.com").status, 404u);
}

} // namespace
} // namespace stork::routing
