// GET /v1/dns/check and /v1/dns/report of a real storkd whose resolver is a real knotd
// (design.md §2, §4; issue 6 part 5): verdicts, the order by days left, the token, the
// refusals, and a reload that changes the resolvers.
#include "config/timestamp.hpp"
#include "tests/dnscheck/knot_fixture.hpp"
#include "tests/dnscheck/report_zones.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/storkd_instance.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

namespace stork {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace json = boost::json;

const std::string token = "0123456789abcdef0123456789abcdef";
const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + token}};

std::string in(std::chrono::hours from_now)
{
    return config::format_rfc3339(
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + from_now);
}

class dns_api_process : public ::testing::Test {
protected:
    dns_api_process()
    {
        dir_.write("admin.token", token + "\n");
        write_config(knot_.server());
    }

    void write_config(const std::string& resolver)
    {
        config_ = dir_.write("storkd.yaml", "node: dns-test\n"
                                            "workers: 1\n"
                                            "listen:\n"
                                            "  http: [\"127.0.0.1:0\"]\n"
                                            "admin:\n"
                                            "  listen: \"127.0.0.1:0\"\n"
                                            "  token_file: admin.token\n"
                                            "rules:\n"
                                            "  path: rules\n"
                                            "dns:\n"
                                            "  resolvers: [\"" + resolver + "\"]\n"
                                            "access_log: \"off\"\n");
    }

    // Starts storkd and installs the rules: expiries 2 days ago, in 3, 10 and 20 days
    // (an hour more each, so that days_left is not on a boundary).
    std::uint16_t start()
    {
        storkd_.emplace(config_);
        const std::uint16_t port = storkd_->admin_port();
        const auto put = [&](const std::string& host, const std::string& target, std::chrono::hours from_now) {
            const auto r = test::http_request(port, "PUT", "/v1/rules/" + host, auth,
                                              R"({"target":")" + target + R"(","expires_at":")" + in(from_now) +
                                                  R"(","app":")" + host.substr(0, host.find('.')) + R"("})");
            EXPECT_EQ(r.status, 201u) << host << ": " << r.body;
        };
        put("ready.example.test", "ready.osc-secnum-fr1.scalingo.test", 20 * 24h + 1h);
        put("pending.example.test", "pending.osc-secnum-fr1.scalingo.test", 3 * 24h + 1h);
        put("gone.example.test", "gone.osc-secnum-fr1.scalingo.test", -2 * 24h + 1h);
        put("*.shop.example.test", "shop.osc-secnum-fr1.scalingo.test", 10 * 24h + 1h);
        return port;
    }

    void stop()
    {
        storkd_->process().send_signal(SIGTERM);
        const auto status = storkd_->process().wait(60s);
        ASSERT_TRUE(status);
        EXPECT_EQ(status->code, 0) << storkd_->process().err();
    }

    json::object get(std::uint16_t port, const std::string& target, unsigned status = 200)
    {
        const auto r = test::http_request(port, "GET", target, auth);
        EXPECT_EQ(r.status, status) << target << ": " << r.body;
        EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "", "application/json") << target;
        return json::parse(r.body).as_object();
    }

    std::string authoritative() const { return "authoritative=" + knot_.server(); }

    dnscheck::test::knot_server knot_{dnscheck::test::report_zones()};
    test::temp_dir dir_;
    std::filesystem::path config_;
    std::optional<test::storkd_instance> storkd_;
};

TEST_F(dns_api_process, check_uses_the_rule_and_answers_the_advisor_report)
{
    ASSERT_NE(knot_.port(), 0);
    const std::uint16_t port = start();
    ASSERT_NE(port, 0);

    // The rule gives expect and the days left.
    auto ready = get(port, "/v1/dns/check?host=Ready.Example.Test.&" + authoritative());
    EXPECT_EQ(ready.at("host"), "ready.example.test");
    EXPECT_EQ(ready.at("expect"), "ready.osc-secnum-fr1.scalingo.test");
    EXPECT_EQ(ready.at("verdict"), "ready") << json::serialize(ready);
    EXPECT_EQ(ready.at("days_left"), 20);
    EXPECT_TRUE(ready.at("rule_expires_at").is_string());
    EXPECT_EQ(std::string{ready.at("authoritative").as_array().at(0).at("server").as_string()}, knot_.server());
    EXPECT_EQ(std::string{ready.at("resolvers").as_array().at(0).at("server").as_string()}, knot_.server());

    auto pending = get(port, "/v1/dns/check?host=pending.example.test&old=pending.osc-fr1.scalingo.test&" +
                                 authoritative());
    EXPECT_EQ(pending.at("verdict"), "pending");
    EXPECT_EQ(pending.at("points_to"), "old");
    EXPECT_EQ(pending.at("days_left"), 3);

    // expect given: it wins over the rule's target.
    auto other = get(port, "/v1/dns/check?host=pending.example.test&expect=pending.osc-fr1.scalingo.test&" +
                               authoritative());
    EXPECT_EQ(other.at("verdict"), "ready");

    // No rule: expect is required, and there are no days left to count.
    auto lone = get(port, "/v1/dns/check?host=www.shop.example.test&expect=shop.osc-secnum-fr1.scalingo.test");
    EXPECT_EQ(lone.at("verdict"), "ready");
    EXPECT_EQ(lone.at("days_left"), 10);   // the wildcard rule covers it
    auto none = get(port, "/v1/dns/check?host=nobody.example.test", 400);
    EXPECT_EQ(none.at("field"), "expect");
    auto unknown = get(port, "/v1/dns/check?host=nobody.example.test&expect=x.scalingo.test");
    EXPECT_EQ(unknown.at("verdict"), "unresolvable");
    EXPECT_TRUE(unknown.at("days_left").is_null());
    stop();
}

TEST_F(dns_api_process, bad_requests_and_no_token)
{
    const std::uint16_t port = start();
    ASSERT_NE(port, 0);
    for (const std::string target : {"/v1/dns/check?host=ready.example.test", "/v1/dns/report"}) {
        EXPECT_EQ(test::http_request(port, "GET", target).status, 401u) << target;
        const auto wrong = test::http_request(port, "GET", target, {{"Authorization", "Bearer nope"}});
        EXPECT_EQ(wrong.status, 401u) << target;
        EXPECT_EQ(wrong.headers.at("www-authenticate"), "Bearer realm=\"storkd\"");
    }
    const struct {
        std::string target;
        std::string field;
    } cases[] = {
        {"/v1/dns/check", "host"},
        {"/v1/dns/check?host=bad_host.example.test&expect=t.scalingo.test", "host"},
        {"/v1/dns/check?host=*.shop.example.test&expect=t.scalingo.test", "host"},
        {"/v1/dns/check?host=a.example.test:443&expect=t.scalingo.test", "host"},
        {"/v1/dns/check?host=a.example.test&expect=not%20a%20name", "expect"},
        {"/v1/dns/check?host=a.example.test&expect=t.scalingo.test&authoritative=ns1.test", "authoritative"},
        {"/v1/dns/check?host=a.example.test&expect=t.scalingo.test&timeout=1s", "timeout"},
        {"/v1/dns/report?authoritative=localhost", "authoritative"},
        {"/v1/dns/report?verbose=1", "verbose"},
    };
    for (const auto& c : cases) {
        const auto o = get(port, c.target, 400);
        EXPECT_EQ(o.at("field"), json::value(c.field)) << c.target;
        EXPECT_TRUE(o.at("error").is_string());
    }
    const auto post = test::http_request(port, "POST", "/v1/dns/report", auth);
    EXPECT_EQ(post.status, 405u);
    EXPECT_EQ(post.headers.at("allow"), "GET, HEAD");
    EXPECT_EQ(test::http_request(port, "GET", "/v1/dns/other", auth).status, 404u);
    stop();
}

TEST_F(dns_api_process, report_lists_every_rule_soonest_expiry_first)
{
    const std::uint16_t port = start();
    ASSERT_NE(port, 0);
    const auto report = get(port, "/v1/dns/report?" + authoritative());
    EXPECT_TRUE(report.at("checked_at").is_string());
    const auto& hosts = report.at("hosts").as_array();
    ASSERT_EQ(hosts.size(), 4u) << json::serialize(report);

    const auto row = [&](std::size_t i) { return hosts.at(i).as_object(); };
    EXPECT_EQ(row(0).at("host"), "gone.example.test");
    EXPECT_EQ(row(0).at("days_left"), -2);
    EXPECT_EQ(row(0).at("verdict"), "unresolvable");
    EXPECT_EQ(row(0).at("app"), "gone");

    EXPECT_EQ(row(1).at("host"), "pending.example.test");
    EXPECT_EQ(row(1).at("days_left"), 3);
    EXPECT_EQ(row(1).at("verdict"), "pending");
    EXPECT_EQ(row(1).at("target"), "pending.osc-secnum-fr1.scalingo.test");
    EXPECT_THAT(std::string{row(1).at("advice").as_array().at(0).as_string()},
                HasSubstr("pending.osc-secnum-fr1.scalingo.test"));

    EXPECT_EQ(row(2).at("host"), "*.shop.example.test");
    EXPECT_EQ(row(2).at("days_left"), 10);
    EXPECT_TRUE(row(2).at("verdict").is_null());
    EXPECT_EQ(row(2).at("skipped"), "wildcard rule: check a concrete name with stork dns check");

    EXPECT_EQ(row(3).at("host"), "ready.example.test");
    EXPECT_EQ(row(3).at("days_left"), 20);
    EXPECT_EQ(row(3).at("verdict"), "ready");
    for (const auto& h : hosts) {
        for (const char* key : {"host", "target", "app", "migration", "expires_at", "days_left", "verdict", "points_to",
                                "advice", "problems"}) {
            EXPECT_TRUE(h.as_object().contains(key)) << key;
        }
    }

    // HEAD gives the same status and no body; the rules are untouched by a report.
    EXPECT_EQ(test::http_request(port, "HEAD", "/v1/dns/report", auth).status, 200u);
    EXPECT_EQ(get(port, "/v1/rules").at("rules").as_array().size(), 4u);
    stop();
}

TEST_F(dns_api_process, a_reload_gives_the_checks_the_new_resolvers)
{
    // Start with a resolver nobody answers on (a port found free, bound by no one).
    write_config("127.0.0.1:" + std::to_string(dnscheck::test::free_port()));
    const std::uint16_t port = start();
    ASSERT_NE(port, 0);
    auto silent = get(port, "/v1/dns/check?host=ready.example.test");
    EXPECT_EQ(silent.at("verdict"), "unresolvable");
    EXPECT_EQ(silent.at("no_server_answered"), true);

    write_config(knot_.server());
    storkd_->process().send_signal(SIGHUP);
    ASSERT_TRUE(storkd_->notifications().wait_for("STORK_RELOAD", "ok", 30s));
    auto answered = get(port, "/v1/dns/check?host=ready.example.test&" + authoritative());
    EXPECT_EQ(answered.at("verdict"), "ready");
    EXPECT_EQ(std::string{answered.at("resolvers").as_array().at(0).at("server").as_string()}, knot_.server());
    stop();
}

} // namespace
} // namespace stork
