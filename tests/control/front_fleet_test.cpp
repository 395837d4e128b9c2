// The redirect rules of a migration on a region's front servers (control/front_fleet.hpp):
// against scripted admin APIs for the exact requests and every failure, then against a
// real storkd.
#include "control/front_fleet.hpp"

#include "tests/control/scripted_http_server.hpp"
#include "tests/dnscheck/raw_dns.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/storkd_instance.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

namespace stork::control {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using std::chrono::sys_days;
using test::scripted_response;

const std::string migration_id = "8e624121-2ce3-4b01-9bf4-d5e2b32df7e9";

migrate::redirect_rule a_rule()
{
    return migrate::redirect_rule{.host = "my-app.example.com",
                                  .target = "my-app.osc-secnum-fr1.scalingo.io",
                                  .mode = "proxy",
                                  .upstream = "203.0.113.7:443",
                                  .preserve_host = true,
                                  .expires_at = sys_days{2026y / 12 / 20} + 10h,
                                  .app = "my-app",
                                  .migration = migration_id};
}

const std::string a_rule_json =
    R"({"host":"my-app.example.com","target":"my-app.osc-secnum-fr1.scalingo.io","mode":"proxy",)"
    R"("upstream":"203.0.113.7:443","upstream_tls":true,"preserve_host":true,)"
    R"("expires_at":"2026-12-20T10:00:00Z","app":"my-app","migration":")" +
    migration_id + R"("})";

// The rule as storkd answers it, with the server's fields and `migration` as given.
std::string stored_rule(const std::string& migration)
{
    return R"({"host":"my-app.example.com","target":"my-app.osc-secnum-fr1.scalingo.io","mode":"proxy",)"
           R"("upstream_tls":true,"preserve_host":true,"expires_at":"2026-12-20T10:00:00Z","app":"my-app",)"
           R"("migration":")" +
           migration + R"(","created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:00:00Z","expired":false})";
}

config::front_server front_at(std::string url, std::uint16_t port, std::string token)
{
    return config::front_server{.admin_url = std::move(url),
                                .admin = config::endpoint{"127.0.0.1", port, true},
                                .token_file = "/etc/stork/" + token + ".token",
                                .token = std::move(token)};
}

config::front_server front_of(const test::scripted_http_server& s, std::string token)
{
    return front_at(s.url(), s.port(), std::move(token));
}

config::region_config region_of(std::vector<config::front_server> fronts)
{
    config::region_config r;
    r.name = "osc-fr1";
    r.domain = "osc-fr1.scalingo.io";
    r.front_servers = std::move(fronts);
    return r;
}

// The front_error's message, or a failure when nothing was thrown.
template <class F>
std::string front_error_of(F&& f)
{
    try {
        f();
    } catch (const migrate::front_error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no front_error";
    return {};
}

class front_fleet_loopback : public ::testing::Test {
protected:
    test::scripted_http_server a;
    test::scripted_http_server b;
    std::unique_ptr<migrate::front_servers> fleet =
        open_front_fleet(region_of({front_of(a, "token-a"), front_of(b, "token-b")}));
};

TEST_F(front_fleet_loopback, install_puts_the_rule_on_every_server_with_its_token)
{
    EXPECT_EQ(fleet->size(), 2u);
    a.answer(201, stored_rule(migration_id));
    b.answer(200, stored_rule(migration_id));
    fleet->install(a_rule());
    for (auto* s : {&a, &b}) {
        const auto requests = s->requests();
        ASSERT_EQ(requests.size(), 1u);
        EXPECT_EQ(requests[0].method, "PUT");
        EXPECT_EQ(requests[0].target, "/v1/rules/my-app.example.com");
        EXPECT_EQ(requests[0].content_type, "application/json");
        EXPECT_EQ(requests[0].host, "127.0.0.1:" + std::to_string(s->port()));
        EXPECT_EQ(requests[0].body, a_rule_json);
    }
    EXPECT_EQ(a.requests()[0].authorization, "Bearer token-a");
    EXPECT_EQ(b.requests()[0].authorization, "Bearer token-b");
}

TEST_F(front_fleet_loopback, a_wildcard_host_is_percent_encoded_in_the_path)
{
    a.answer(201, {});
    b.answer(201, {});
    auto rule = a_rule();
    rule.host = "*.shop.example.com";
    fleet->install(rule);
    EXPECT_EQ(a.requests().at(0).target, "/v1/rules/%2A.shop.example.com");
}

TEST_F(front_fleet_loopback, a_server_failing_for_good_is_named_and_the_other_keeps_the_rule)
{
    for (int i = 0; i < 3; ++i) {
        a.answer(500, R"({"error":"disk full"})");
    }
    b.answer(201, stored_rule(migration_id));
    EXPECT_EQ(front_error_of([&] { fleet->install(a_rule()); }),
              "the redirect rule for my-app.example.com was not installed on 1 of 2 front servers of region "
              "osc-fr1: " +
                  a.url() + " answered 500 Internal Server Error: disk full");
    EXPECT_EQ(a.requests().size(), 3u);  // three tries
    ASSERT_EQ(b.requests().size(), 1u);
    EXPECT_EQ(b.requests()[0].body, a_rule_json);
}

TEST_F(front_fleet_loopback, a_transient_503_is_tried_again)
{
    a.answer(503, "restarting\n");
    a.answer(201, stored_rule(migration_id));
    b.answer(201, stored_rule(migration_id));
    fleet->install(a_rule());
    const auto requests = a.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[1].body, a_rule_json);
}

TEST_F(front_fleet_loopback, a_refusal_is_not_tried_again_and_names_the_field)
{
    a.answer(201, {});
    b.answer(400, R"({"error":"is not a host:port","field":"upstream"})");
    EXPECT_EQ(front_error_of([&] { fleet->install(a_rule()); }),
              "the redirect rule for my-app.example.com was not installed on 1 of 2 front servers of region "
              "osc-fr1: " +
                  b.url() + " answered 400 Bad Request: is not a host:port (field upstream)");
    EXPECT_EQ(b.requests().size(), 1u);
}

TEST_F(front_fleet_loopback, a_refused_token_names_the_token_file)
{
    a.answer(401, R"({"error":"unauthorized"})");
    b.answer(401, R"({"error":"unauthorized"})");
    EXPECT_EQ(front_error_of([&] { fleet->install(a_rule()); }),
              "the redirect rule for my-app.example.com was not installed on 2 of 2 front servers of region "
              "osc-fr1: " +
                  a.url() + " answered 401 Unauthorized: it refused the token of /etc/stork/token-a.token; " +
                  b.url() + " answered 401 Unauthorized: it refused the token of /etc/stork/token-b.token");
}

TEST_F(front_fleet_loopback, remove_deletes_the_rule_of_this_migration)
{
    a.answer(200, stored_rule(migration_id));
    a.answer(204, {});
    b.answer(200, stored_rule(migration_id));
    b.answer(404, R"({"error":"no rule"})");  // gone in between: as good as deleted
    fleet->remove("my-app.example.com", migration_id);
    for (auto* s : {&a, &b}) {
        const auto requests = s->requests();
        ASSERT_EQ(requests.size(), 2u);
        EXPECT_EQ(requests[0].method, "GET");
        EXPECT_EQ(requests[0].target, "/v1/rules/my-app.example.com");
        EXPECT_EQ(requests[1].method, "DELETE");
        EXPECT_EQ(requests[1].target, "/v1/rules/my-app.example.com");
        EXPECT_EQ(requests[1].body, "");
    }
    EXPECT_EQ(a.requests()[1].authorization, "Bearer token-a");
}

TEST_F(front_fleet_loopback, remove_leaves_another_migrations_rule_and_absent_is_done)
{
    a.answer(200, stored_rule("another-migration"));
    b.answer(404, R"({"error":"no rule"})");
    fleet->remove("my-app.example.com", migration_id);
    ASSERT_EQ(a.requests().size(), 1u);
    EXPECT_EQ(a.requests()[0].method, "GET");
    ASSERT_EQ(b.requests().size(), 1u);
    EXPECT_EQ(b.requests()[0].method, "GET");
}

TEST_F(front_fleet_loopback, remove_names_a_server_that_answers_what_is_not_a_rule)
{
    a.answer(scripted_response{.status = 200, .body = "<html>hi</html>", .content_type = "text/html"});
    b.answer(404, {});
    EXPECT_EQ(front_error_of([&] { fleet->remove("my-app.example.com", migration_id); }),
              "the redirect rule for my-app.example.com was not removed on 1 of 2 front servers of region osc-fr1: " +
                  a.url() + " answered 200 with a body that is not JSON (\"<html>hi</html>\")");
}

TEST_F(front_fleet_loopback, remove_retries_a_failing_delete_then_names_the_server)
{
    a.answer(404, {});
    b.answer(200, stored_rule(migration_id));
    for (int i = 0; i < 3; ++i) {
        b.answer(502, {});
    }
    EXPECT_EQ(front_error_of([&] { fleet->remove("my-app.example.com", migration_id); }),
              "the redirect rule for my-app.example.com was not removed on 1 of 2 front servers of region osc-fr1: " +
                  b.url() + " answered 502 Bad Gateway");
    EXPECT_EQ(b.requests().size(), 4u);  // the GET, three DELETEs
}

TEST(front_fleet_unreachable_loopback, a_server_nobody_listens_on_is_named_after_its_tries)
{
    test::scripted_http_server up;
    up.answer(201, {});
    const std::uint16_t port = dnscheck::test::free_port();  // nothing listens there
    const std::string url = "http://127.0.0.1:" + std::to_string(port);
    const auto fleet = open_front_fleet(region_of({front_at(url, port, "t"), front_of(up, "u")}));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(front_error_of([&] { fleet->install(a_rule()); }),
              "the redirect rule for my-app.example.com was not installed on 1 of 2 front servers of region "
              "osc-fr1: cannot reach the admin API at " +
                  url + ": Connection refused \u2014 is storkd running?");
    // 200 ms + 400 ms of back-off, and not much more: refusals are immediate.
    EXPECT_GE(std::chrono::steady_clock::now() - start, 600ms);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(up.requests().size(), 1u);
}

TEST(front_fleet, a_region_without_front_servers_has_nothing_to_do)
{
    const auto fleet = open_front_fleet(region_of({}));
    EXPECT_EQ(fleet->size(), 0u);
    fleet->install(a_rule());
    fleet->remove("my-app.example.com", migration_id);
}

// ---- a real storkd -------------------------------------------------------------------

const std::string token = "0123456789abcdef0123456789abcdef";

TEST(front_fleet_process, install_then_remove_on_a_real_storkd)
{
    const test::temp_dir dir;
    dir.write("admin.token", token + "\n");
    const auto config = dir.write("storkd.yaml", "node: front-fleet-test\n"
                                                 "workers: 1\n"
                                                 "listen:\n"
                                                 "  http: [\"127.0.0.1:0\"]\n"
                                                 "admin:\n"
                                                 "  listen: \"127.0.0.1:0\"\n"
                                                 "  token_file: admin.token\n"
                                                 "rules:\n"
                                                 "  path: rules\n"
                                                 "access_log: \"off\"\n");
    test::storkd_instance storkd{config};
    const std::uint16_t port = storkd.admin_port();
    ASSERT_NE(port, 0);
    const auto fleet =
        open_front_fleet(region_of({front_at("http://127.0.0.1:" + std::to_string(port), port, token)}));
    const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + token}};

    auto rule = a_rule();
    rule.expires_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + 30 * 24h;
    fleet->install(rule);
    fleet->install(rule);  // a re-run replaces it: the same rule

    const auto got = test::http_request(port, "GET", "/v1/rules/my-app.example.com", auth);
    ASSERT_EQ(got.status, 200u) << got.body;
    const auto stored = json::parse(got.body).as_object();
    EXPECT_EQ(stored.at("target"), "my-app.osc-secnum-fr1.scalingo.io");
    EXPECT_EQ(stored.at("mode"), "proxy");
    EXPECT_EQ(stored.at("upstream"), "203.0.113.7:443");
    EXPECT_EQ(stored.at("upstream_tls"), true);
    EXPECT_EQ(stored.at("preserve_host"), true);
    EXPECT_EQ(stored.at("app"), "my-app");
    EXPECT_EQ(stored.at("migration"), migration_id.c_str());

    fleet->remove("my-app.example.com", "another-migration");
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules/my-app.example.com", auth).status, 200u);
    fleet->remove("my-app.example.com", migration_id);
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules/my-app.example.com", auth).status, 404u);
    fleet->remove("my-app.example.com", migration_id);  // absent: done

    storkd.process().send_signal(SIGTERM);
    const auto status = storkd.process().wait(60s);
    EXPECT_TRUE(status && status->code == 0) << storkd.process().err();
}

} // namespace
} // namespace stork::control
