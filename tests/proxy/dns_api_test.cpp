// The DNS endpoints' pure parts: query strings, the rule behind a host, the report's rows,
// their order and JSON; and the refusals dns_api answers before any DNS query is sent.
#include "proxy/dns_api.hpp"

#include "config/timestamp.hpp"
#include "routing/file_store.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stork::proxy {
namespace {

using ::testing::HasSubstr;
namespace json = boost::json;

std::chrono::sys_seconds at(std::string_view text)
{
    return *config::parse_rfc3339(text);
}

// The refusal's status, error and field, or 0 when the query was accepted.
struct refusal {
    unsigned status = 0;
    std::string error{};
    std::string field{};
};

template <class T>
refusal refusal_of(const std::variant<T, admin_response>& parsed)
{
    const auto* r = std::get_if<admin_response>(&parsed);
    if (r == nullptr) {
        return {};
    }
    const auto o = json::parse(r->body).as_object();
    return {r->status, std::string{o.at("error").as_string()},
            o.contains("field") ? std::string{o.at("field").as_string()} : std::string{}};
}

TEST(dns_api_query, check_parameters_are_normalised)
{
    const auto parsed = parse_dns_check_query(
        "host=My-App.Example.COM.&expect=my-app.osc-secnum-fr1.scalingo.io&old=my-app.osc-fr1.scalingo.io"
        "&authoritative=127.0.0.1:5353&authoritative=192.0.2.53&authoritative=%5B2001:db8::53%5D:53");
    ASSERT_EQ(refusal_of(parsed).status, 0u) << refusal_of(parsed).error;
    EXPECT_EQ(std::get<dns_check_query>(parsed),
              (dns_check_query{.host = "my-app.example.com",
                               .expect = "my-app.osc-secnum-fr1.scalingo.io",
                               .old = "my-app.osc-fr1.scalingo.io",
                               .authoritative = {"127.0.0.1:5353", "192.0.2.53:53", "[2001:db8::53]:53"}}));

    // expect may be left to the rule.
    const auto bare = parse_dns_check_query("host=a.example.com");
    ASSERT_EQ(refusal_of(bare).status, 0u);
    EXPECT_EQ(std::get<dns_check_query>(bare), (dns_check_query{.host = "a.example.com"}));
}

TEST(dns_api_query, bad_check_parameters_are_400_naming_the_field)
{
    const struct {
        std::string query;
        std::string_view field;
        std::string_view says;
    } cases[] = {
        {"", "host", "host is required"},
        {"expect=t.example.net", "host", "host is required"},
        {"host=", "host", "empty"},
        {"host", "host", "empty"},
        {"host=a..example.com", "host", "empty label"},
        {"host=a_b.example.com", "host", "outside letters"},
        {"host=*.example.com", "host", "wildcard"},
        {"host=a.example.com:443", "host", "without a port"},
        {"host=%E2%82%AC.example.com", "host", "outside letters"},
        {"host=" + std::string(64, 'a') + ".example.com", "host", "longer than 63"},
        {"host=a.example.com&host=b.example.com", "host", "more than once"},
        {"host=a.example.com&expect=bad%20name", "expect", "outside letters"},
        {"host=a.example.com&expect=t.example.net&expect=u.example.net", "expect", "more than once"},
        {"host=a.example.com&old=", "old", "empty"},
        {"host=a.example.com&authoritative=ns1.example.com", "authoritative", "IP"},
        {"host=a.example.com&authoritative=127.0.0.1:0", "authoritative", ""},
        {"host=a.example.com&authoritative=127.0.0.1:99999", "authoritative", ""},
        {"host=a.example.com&resolver=127.0.0.1", "resolver", "unknown query parameter \"resolver\""},
        {"host=a.example.com&%ZZ=1", "query", "malformed"},
    };
    for (const auto& c : cases) {
        const auto r = refusal_of(parse_dns_check_query(c.query));
        EXPECT_EQ(r.status, 400u) << c.query;
        EXPECT_EQ(r.field, c.field) << c.query;
        EXPECT_THAT(r.error, HasSubstr(std::string{c.says})) << c.query;
    }
}

TEST(dns_api_query, report_takes_only_authoritative_servers)
{
    const auto none = parse_dns_report_query("");
    ASSERT_EQ(refusal_of(none).status, 0u);
    EXPECT_TRUE(std::get<dns_report_query>(none).authoritative.empty());

    const auto two = parse_dns_report_query("authoritative=127.0.0.1:5300&authoritative=127.0.0.2");
    ASSERT_EQ(refusal_of(two).status, 0u);
    EXPECT_EQ(std::get<dns_report_query>(two).authoritative,
              (std::vector<std::string>{"127.0.0.1:5300", "127.0.0.2:53"}));

    EXPECT_EQ(refusal_of(parse_dns_report_query("host=a.example.com")).field, "host");
    EXPECT_EQ(refusal_of(parse_dns_report_query("authoritative=localhost")).field, "authoritative");
}

routing::rule make_rule(std::string host, std::string target, std::string_view expires_at)
{
    routing::rule r;
    r.host = std::move(host);
    r.target = std::move(target);
    r.expires_at = at(expires_at);
    return r;
}

dnscheck::report checked(std::string host, dnscheck::verdict v, std::optional<long> days_left)
{
    dnscheck::report r;
    r.host = std::move(host);
    r.outcome = v;
    r.days_left = days_left;
    r.advice = {"first advice", "second advice"};
    return r;
}

TEST(dns_api_report, rows_pair_reports_with_rules_and_skip_wildcards)
{
    const auto now = at("2026-11-21T10:00:00Z");
    const std::vector<routing::rule> rules{
        make_rule("*.shop.example.com", "shop.scalingo.test", "2026-11-25T10:00:00Z"),
        make_rule("a.example.com", "a.scalingo.test", "2026-12-01T10:00:00Z"),
        make_rule("b.example.com", "b.scalingo.test", "2026-11-20T09:00:00Z"),
    };
    std::vector<dnscheck::report> reports{checked("a.example.com", dnscheck::verdict::ready, 10),
                                          checked("b.example.com", dnscheck::verdict::pending, -2)};
    const auto rows = report_rows(rules, std::move(reports), now);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].host, "*.shop.example.com");
    EXPECT_FALSE(rows[0].checked);
    EXPECT_EQ(rows[0].skipped, wildcard_skipped);
    EXPECT_EQ(rows[0].days_left, 4);
    ASSERT_TRUE(rows[1].checked);
    EXPECT_EQ(rows[1].checked->host, "a.example.com");
    EXPECT_EQ(rows[1].days_left, 10);
    ASSERT_TRUE(rows[2].checked);
    EXPECT_EQ(rows[2].checked->outcome, dnscheck::verdict::pending);
    EXPECT_EQ(rows[2].days_left, -2);
}

TEST(dns_api_report, soonest_expiry_first_then_host)
{
    const auto row = [](std::string host, long days) {
        return report_row{.host = std::move(host), .days_left = days};
    };
    std::vector<report_row> rows{row("c.example.com", 29), row("b.example.com", 3),   row("z.example.com", -1),
                                 row("a.example.com", 3),  row("d.example.com", 0),   row("y.example.com", -40),
                                 row("b.example.org", 29)};
    report_order(rows);
    std::vector<std::string> order;
    for (const auto& r : rows) {
        order.push_back(r.host + " " + std::to_string(r.days_left));
    }
    EXPECT_EQ(order, (std::vector<std::string>{"y.example.com -40", "z.example.com -1", "d.example.com 0",
                                               "a.example.com 3", "b.example.com 3", "b.example.org 29",
                                               "c.example.com 29"}));
}

TEST(dns_api_report, json_has_every_field_and_null_verdicts_for_skipped_rules)
{
    const auto now = at("2026-11-21T10:00:00Z");
    auto a = make_rule("a.example.com", "a.scalingo.test", "2026-12-01T10:00:00Z");
    a.app = "app-a";
    a.migration = "m-1";
    const std::vector<routing::rule> rules{a, make_rule("*.example.org", "o.scalingo.test", "2026-11-22T10:00:00Z")};
    auto rows = report_rows(rules, {checked("a.example.com", dnscheck::verdict::propagating, 10)}, now);
    report_order(rows);
    const auto o = report_json(rows, now);
    EXPECT_EQ(o.at("checked_at"), "2026-11-21T10:00:00Z");
    const auto& hosts = o.at("hosts").as_array();
    ASSERT_EQ(hosts.size(), 2u);
    EXPECT_EQ(json::serialize(hosts[0]),
              R"({"host":"*.example.org","target":"o.scalingo.test","app":"","migration":"",)"
              R"("expires_at":"2026-11-22T10:00:00Z","days_left":1,"verdict":null,"points_to":null,)"
              R"("advice":[],"problems":[],"skipped":"wildcard rule: check a concrete name with stork dns check"})");
    EXPECT_EQ(json::serialize(hosts[1]),
              R"({"host":"a.example.com","target":"a.scalingo.test","app":"app-a","migration":"m-1",)"
              R"("expires_at":"2026-12-01T10:00:00Z","days_left":10,"verdict":"propagating","points_to":"nothing",)"
              R"("advice":["first advice","second advice"],"problems":[]})");
}

TEST(dns_api_options, explicit_resolvers_else_resolv_conf_and_short_timeouts)
{
    const auto o = advisor_options_from(config::dns_config{
        .system_resolvers = true, .resolvers = {{"127.0.0.1", 5353, true}, {"2001:db8::53", 53, true}}});
    EXPECT_EQ(o.resolvers, (std::vector<std::string>{"127.0.0.1:5353", "[2001:db8::53]:53"}));
    EXPECT_EQ(o.timeout, std::chrono::milliseconds{2000});
    EXPECT_EQ(o.tries, 2);
    EXPECT_TRUE(advisor_options_from(config::dns_config{.system_resolvers = true, .resolvers = {}}).resolvers.empty());
}

// dns_api over a real rule registry; nothing here sends a DNS query (the io_context never runs).
class dns_api_test : public ::testing::Test {
protected:
    dns_api_test()
    {
        store_ = routing::file_store::open(routing::file_store::options{.dir = dir_.path() / "rules"}, {});
        registry_.emplace(*store_, [](std::string_view) {});
        registry_->put(make_rule("a.example.com", "a.scalingo.test", "2026-12-01T10:00:00Z"), now_);
        registry_->put(make_rule("*.shop.example.com", "shop.scalingo.test", "2026-12-02T10:00:00Z"), now_);
        api_.emplace(io_, *registry_, [this] { return now_; },
                     advisor_options_from(config::dns_config{.system_resolvers = false,
                                                             .resolvers = {{"127.0.0.1", 53, true}}}),
                     dns_api::limits{.report_in_flight = 64, .checks = 2, .reports = 1});
    }

    std::optional<admin_answer> get(std::string_view target, std::string_view method = "GET")
    {
        return api_->handle(admin_request{method, target, "Bearer x", {}});
    }

    static admin_response now(const std::optional<admin_answer>& a)
    {
        if (!a || !std::holds_alternative<admin_response>(*a)) {
            ADD_FAILURE() << "expected an answer now";
            return {};
        }
        return std::get<admin_response>(*a);
    }

    static bool deferred(const std::optional<admin_answer>& a)
    {
        return a && std::holds_alternative<admin_deferred>(*a);
    }

    test::temp_dir dir_;
    std::chrono::sys_seconds now_ = at("2026-11-21T10:00:00Z");
    boost::asio::io_context io_{1};
    std::unique_ptr<routing::file_store> store_;
    std::optional<routing::rule_registry> registry_;
    std::optional<dns_api> api_;
};

TEST_F(dns_api_test, only_its_own_paths)
{
    EXPECT_FALSE(get("/v1/rules"));
    EXPECT_FALSE(get("/v1/dns"));
    EXPECT_FALSE(get("/v1/dns/other"));
    EXPECT_FALSE(get("/v1/dns/checkx?host=a.example.com"));
    const auto wrong = now(get("/v1/dns/report", "POST"));
    EXPECT_EQ(wrong.status, 405u);
    ASSERT_EQ(wrong.headers.size(), 1u);
    EXPECT_EQ(wrong.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, HEAD"}));
}

TEST_F(dns_api_test, the_rule_is_found_exact_or_by_its_wildcard)
{
    EXPECT_EQ(rule_for(*registry_, "a.example.com")->target, "a.scalingo.test");
    EXPECT_EQ(rule_for(*registry_, "www.shop.example.com")->target, "shop.scalingo.test");
    EXPECT_FALSE(rule_for(*registry_, "a.b.shop.example.com"));   // a wildcard covers one label
    EXPECT_FALSE(rule_for(*registry_, "shop.example.com"));
    EXPECT_FALSE(rule_for(*registry_, "com"));
}

TEST_F(dns_api_test, expect_comes_from_the_rule_or_is_required)
{
    EXPECT_TRUE(deferred(get("/v1/dns/check?host=a.example.com")));
    EXPECT_TRUE(deferred(get("/v1/dns/check?host=x.shop.example.com")));
    const auto missing = now(get("/v1/dns/check?host=nobody.example.com"));
    EXPECT_EQ(missing.status, 400u);
    EXPECT_THAT(missing.body, HasSubstr(R"("field":"expect")"));
    EXPECT_THAT(missing.body, HasSubstr("no rule for nobody.example.com"));
    EXPECT_TRUE(deferred(get("/v1/dns/check?host=nobody.example.com&expect=t.example.net")));
    EXPECT_EQ(now(get("/v1/dns/check?host=bad_host")).status, 400u);
}

TEST_F(dns_api_test, one_report_at_a_time_and_a_bounded_number_of_checks)
{
    auto first = get("/v1/dns/report");
    ASSERT_TRUE(deferred(first));
    EXPECT_EQ(api_->reports_running(), 1u);
    const auto second = now(get("/v1/dns/report"));
    EXPECT_EQ(second.status, 429u);
    EXPECT_THAT(second.body, HasSubstr("already running"));
    // The place is given back when the report's coroutine ends, even one never run.
    first.reset();
    EXPECT_EQ(api_->reports_running(), 0u);
    EXPECT_TRUE(deferred(get("/v1/dns/report")));

    auto c1 = get("/v1/dns/check?host=a.example.com");
    auto c2 = get("/v1/dns/check?host=a.example.com");
    EXPECT_TRUE(deferred(c1) && deferred(c2));
    EXPECT_EQ(now(get("/v1/dns/check?host=a.example.com")).status, 429u);
    c1.reset();
    EXPECT_TRUE(deferred(get("/v1/dns/check?host=a.example.com")));
}

} // namespace
} // namespace stork::proxy
