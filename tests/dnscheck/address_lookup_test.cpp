#include "dnscheck/address_lookup.hpp"

#include "tests/dnscheck/knot_fixture.hpp"

#include <ares.h>

#include <boost/asio/io_context.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

namespace {

namespace dns = stork::dnscheck;
using namespace std::chrono_literals;
using boost::asio::ip::make_address;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

dns::family_answer ok(std::vector<std::string> ips, std::chrono::seconds ttl)
{
    dns::family_answer f;
    for (const auto& ip : ips) {
        f.addresses.push_back(make_address(ip));
    }
    f.ttl = ttl;
    return f;
}

dns::family_answer failed(int status)
{
    dns::family_answer f;
    f.code = dns::make_ares_error(status);
    return f;
}

// Table of how the A and AAAA answers combine (unit: no DNS).
TEST(address_lookup, combines_the_two_families)
{
    struct row {
        const char* what;
        dns::family_answer a, aaaa;
        std::size_t addresses;          // 0: an error
        std::chrono::seconds ttl;
        int status;                     // when an error
    };
    const std::vector<row> rows{
        {"both", ok({"192.0.2.1"}, 300s), ok({"2001:db8::1"}, 120s), 2, 120s, 0},
        {"A only, AAAA no data", ok({"192.0.2.1"}, 300s), failed(ARES_ENODATA), 1, 300s, 0},
        {"AAAA only", failed(ARES_ENODATA), ok({"2001:db8::1"}, 45s), 1, 45s, 0},
        {"A, AAAA timed out: retry soon", ok({"192.0.2.1"}, 300s), failed(ARES_ETIMEOUT), 1, 5s, 0},
        {"A servfail, AAAA ok", failed(ARES_ESERVFAIL), ok({"2001:db8::1"}, 300s), 1, 5s, 0},
        {"nxdomain", failed(ARES_ENOTFOUND), failed(ARES_ENOTFOUND), 0, 0s, ARES_ENOTFOUND},
        {"no data", failed(ARES_ENODATA), failed(ARES_ENODATA), 0, 0s, ARES_ENODATA},
        {"timeout", failed(ARES_ETIMEOUT), failed(ARES_ETIMEOUT), 0, 0s, ARES_ETIMEOUT},
        {"A no data, AAAA refused", failed(ARES_ENODATA), failed(ARES_EREFUSED), 0, 0s, ARES_EREFUSED},
        {"A servfail wins over AAAA", failed(ARES_ESERVFAIL), failed(ARES_ETIMEOUT), 0, 0s, ARES_ESERVFAIL},
    };
    for (const auto& r : rows) {
        SCOPED_TRACE(r.what);
        const auto got = dns::combine_answers("app.example", r.a, r.aaaa);
        if (r.addresses > 0) {
            ASSERT_TRUE(got);
            EXPECT_EQ(got->addresses.size(), r.addresses);
            EXPECT_EQ(got->ttl, r.ttl);
        } else {
            ASSERT_FALSE(got);
            EXPECT_EQ(got.error().code, dns::make_ares_error(r.status));
            EXPECT_THAT(got.error().message, HasSubstr("app.example: "));
        }
    }
}

TEST(address_lookup, error_messages_are_readable)
{
    EXPECT_EQ(dns::describe_lookup_error(dns::make_ares_error(ARES_ENOTFOUND)), "no such domain (NXDOMAIN)");
    EXPECT_THAT(dns::describe_lookup_error(dns::make_ares_error(ARES_ETIMEOUT)), HasSubstr("timeout"));
    EXPECT_EQ(dns::make_ares_error(ARES_ENOTFOUND).message(), "Domain name not found");
    EXPECT_STREQ(dns::make_ares_error(ARES_ENOTFOUND).category().name(), "c-ares");
}

TEST(address_lookup, an_empty_answer_is_a_bad_response)
{
    const auto f = dns::parse_family_answer(1, {}, {});
    EXPECT_EQ(f.code, dns::make_ares_error(ARES_EBADRESP));
}

// --- against a real knotd ---------------------------------------------------------------

class address_lookup_process : public ::testing::Test {
protected:
    dns::lookup_result resolve(const std::string& host)
    {
        dns::channel ch{io_, {.servers = {knot_.server()}, .timeout = 1000ms, .tries = 2}};
        dns::address_lookup lookup{ch};
        std::optional<dns::lookup_result> got;
        lookup.resolve(host, [&](dns::lookup_result r) { got = std::move(r); });
        io_.restart();
        while (!got && io_.run_one_for(10s) != 0) {
        }
        if (!got) {
            ADD_FAILURE() << "no result for " << host;
            return dns::lookup_error{};
        }
        return std::move(*got);
    }

    stork::dnscheck::test::knot_server knot_;
    boost::asio::io_context io_{1};
};

TEST_F(address_lookup_process, resolves_a_and_aaaa_with_the_zone_ttls)
{
    const auto r = resolve("www.test");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_THAT(r->addresses, UnorderedElementsAre(make_address("192.0.2.20"), make_address("192.0.2.21"),
                                                   make_address("2001:db8::20")));
    EXPECT_EQ(r->ttl, 120s) << "min(A 600, AAAA 120)";

    const auto v4 = resolve("v4only.test");
    ASSERT_TRUE(v4) << v4.error().message;
    EXPECT_THAT(v4->addresses, UnorderedElementsAre(make_address("192.0.2.30")));
    EXPECT_EQ(v4->ttl, 300s);

    const auto v6 = resolve("v6only.test");
    ASSERT_TRUE(v6) << v6.error().message;
    EXPECT_THAT(v6->addresses, UnorderedElementsAre(make_address("2001:db8::40")));
    EXPECT_EQ(v6->ttl, 45s);

    const auto app = resolve("my-app.osc-secnum-fr1.test.");
    ASSERT_TRUE(app) << app.error().message;
    EXPECT_THAT(app->addresses, UnorderedElementsAre(make_address("198.51.100.7")));
    EXPECT_EQ(app->ttl, 60s);

    const auto zero = resolve("zero.test");
    ASSERT_TRUE(zero) << zero.error().message;
    EXPECT_EQ(zero->ttl, 0s);
}

TEST_F(address_lookup_process, follows_a_cname_chain_to_the_final_addresses)
{
    // chain (120) -> chain2 (30) -> www (A 600, AAAA 120): c-ares folds the CNAME TTLs in.
    const auto r = resolve("chain.test");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_THAT(r->addresses, UnorderedElementsAre(make_address("192.0.2.20"), make_address("192.0.2.21"),
                                                   make_address("2001:db8::20")));
    EXPECT_EQ(r->ttl, 30s);
}

TEST_F(address_lookup_process, reports_nxdomain_and_no_data_naming_the_host)
{
    const auto r = resolve("missing.test");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, dns::make_ares_error(ARES_ENOTFOUND));
    EXPECT_EQ(r.error().message, "missing.test: no such domain (NXDOMAIN)");

    const auto t = resolve("text.test");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, dns::make_ares_error(ARES_ENODATA));
    EXPECT_EQ(t.error().message, "text.test: no A or AAAA records");
}

TEST_F(address_lookup_process, out_of_zone_names_are_refused_not_retried)
{
    // knotd REFUSEs names outside its zones; with ARES_FLAG_NOCHECKRESP the handler sees
    // it (without it c-ares would retry and end with ARES_ECONNREFUSED).
    const auto r = resolve("elsewhere.example");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, dns::make_ares_error(ARES_EREFUSED));
}

TEST(address_lookup_loopback, ip_literals_resolve_without_dns)
{
    boost::asio::io_context io{1};
    // A server nobody listens on: any query would fail.
    dns::channel ch{io, {.servers = {"127.0.0.1:1"}, .timeout = 100ms, .tries = 1}};
    dns::address_lookup lookup{ch};
    std::vector<dns::lookup_result> got;
    lookup.resolve("192.0.2.9", [&](dns::lookup_result r) { got.push_back(std::move(r)); });
    lookup.resolve("[2001:db8::9]", [&](dns::lookup_result r) { got.push_back(std::move(r)); });
    ASSERT_EQ(got.size(), 2u) << "inline, without running the io_context";
    EXPECT_EQ(ch.pending(), 0u);
    EXPECT_EQ(got[0]->addresses.front(), make_address("192.0.2.9"));
    EXPECT_EQ(got[1]->addresses.front(), make_address("2001:db8::9"));
    EXPECT_EQ(got[0]->ttl, std::chrono::seconds::max());
}

} // namespace
