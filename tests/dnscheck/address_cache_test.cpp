#include "dnscheck/address_cache.hpp"

#include "tests/dnscheck/knot_fixture.hpp"

#include <ares.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace {

namespace dns = stork::dnscheck;
using dns::lookup_result;
using dns::lookup_error;
using dns::resolved_addresses;
using dns::make_ares_error;

using namespace std::chrono_literals;
using boost::asio::ip::make_address;

// Lookups that the test answers by hand, and a clock it moves by hand.
struct fake_lookup {
    struct request {
        std::string host;
        std::function<void(lookup_result)> done;
    };
    std::vector<request> requests;

    dns::address_cache::lookup_function function()
    {
        return [this](std::string_view host, std::function<void(lookup_result)> done) {
            requests.push_back({std::string{host}, std::move(done)});
        };
    }

    void answer(std::size_t i, lookup_result r)
    {
        auto done = std::move(requests.at(i).done);
        done(std::move(r));
    }
};

struct fake_clock {
    dns::address_cache::clock::time_point now{std::chrono::hours{1}};
};

lookup_result addresses(std::chrono::seconds ttl, std::vector<std::string> ips = {"192.0.2.1"})
{
    resolved_addresses r;
    for (const auto& ip : ips) {
        r.addresses.push_back(make_address(ip));
    }
    r.ttl = ttl;
    return r;
}

lookup_result nxdomain(const std::string& host)
{
    return lookup_error{make_ares_error(ARES_ENOTFOUND), host + ": no such domain (NXDOMAIN)"};
}

// Suite name `address_cache`: unit tests (no sockets).
class address_cache : public ::testing::Test {
protected:
    dns::address_cache make(std::size_t max_entries = 10'000)
    {
        dns::address_cache::options o;
        o.max_entries = max_entries;
        o.now = [this] { return clock_.now; };
        return dns::address_cache{lookup_.function(), o};
    }

    // resolve() and keep what the handler got.
    std::function<void(const lookup_result&)> keep(std::vector<lookup_result>& into)
    {
        return [&into](const lookup_result& r) { into.push_back(r); };
    }

    fake_lookup lookup_;
    fake_clock clock_;
};

TEST_F(address_cache, serves_from_the_cache_until_the_ttl_expires)
{
    std::vector<lookup_result> got;   // outlives the cache: its destructor may call handlers
    auto cache = make();
    cache.resolve("app.example", keep(got));
    ASSERT_EQ(lookup_.requests.size(), 1u);
    EXPECT_EQ(lookup_.requests[0].host, "app.example");
    lookup_.answer(0, addresses(30s));
    ASSERT_EQ(got.size(), 1u);

    clock_.now += 29s;
    cache.resolve("app.example", keep(got));
    EXPECT_EQ(lookup_.requests.size(), 1u) << "still fresh: no new lookup";
    ASSERT_EQ(got.size(), 2u);
    ASSERT_TRUE(got[1]);
    EXPECT_EQ(got[1]->addresses.front(), make_address("192.0.2.1"));

    clock_.now += 1s;   // 30 s after the answer: expired
    cache.resolve("app.example", keep(got));
    EXPECT_EQ(lookup_.requests.size(), 2u);
    EXPECT_EQ(got.size(), 2u) << "waits for the new lookup";

    const auto s = cache.stats();
    EXPECT_EQ(s.hits, 1u);
    EXPECT_EQ(s.misses, 2u);
    EXPECT_EQ(s.in_flight, 1u);
}

TEST_F(address_cache, coalesces_concurrent_lookups_of_one_name)
{
    std::vector<lookup_result> got;   // outlives the cache: its destructor may call handlers
    auto cache = make();
    cache.resolve("app.example", keep(got));
    cache.resolve("APP.example.", keep(got));   // same name: case and trailing dot ignored
    cache.resolve("app.example", keep(got));
    cache.resolve("other.example", keep(got));
    ASSERT_EQ(lookup_.requests.size(), 2u);
    lookup_.answer(0, addresses(60s, {"192.0.2.1", "2001:db8::1"}));
    ASSERT_EQ(got.size(), 3u);
    for (const auto& r : got) {
        ASSERT_TRUE(r);
        EXPECT_EQ(r->addresses.size(), 2u);
    }
    const auto s = cache.stats();
    EXPECT_EQ(s.misses, 2u);
    EXPECT_EQ(s.coalesced, 2u);
    EXPECT_EQ(s.entries, 1u);
    EXPECT_EQ(s.in_flight, 1u);
}

TEST_F(address_cache, ttl_zero_is_shared_by_the_waiters_but_not_kept)
{
    std::vector<lookup_result> got;   // outlives the cache: its destructor may call handlers
    auto cache = make();
    cache.resolve("zero.example", keep(got));
    cache.resolve("zero.example", keep(got));
    ASSERT_EQ(lookup_.requests.size(), 1u);
    lookup_.answer(0, addresses(0s));
    EXPECT_EQ(got.size(), 2u);
    EXPECT_EQ(cache.stats().entries, 0u);
    cache.resolve("zero.example", keep(got));
    EXPECT_EQ(lookup_.requests.size(), 2u);
}

TEST_F(address_cache, failures_are_cached_for_the_negative_ttl)
{
    std::vector<lookup_result> got;   // outlives the cache: its destructor may call handlers
    auto cache = make();
    cache.resolve("gone.example", keep(got));
    lookup_.answer(0, nxdomain("gone.example"));
    ASSERT_EQ(got.size(), 1u);
    ASSERT_FALSE(got[0]);
    EXPECT_EQ(got[0].error().code, make_ares_error(ARES_ENOTFOUND));
    EXPECT_THAT(got[0].error().message, ::testing::HasSubstr("gone.example"));

    clock_.now += 4s;
    cache.resolve("gone.example", keep(got));
    EXPECT_EQ(lookup_.requests.size(), 1u);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_FALSE(got[1]);

    clock_.now += 1s;   // 5 s: the negative entry expires
    cache.resolve("gone.example", keep(got));
    EXPECT_EQ(lookup_.requests.size(), 2u);
    EXPECT_EQ(cache.stats().failures, 1u);
}

TEST_F(address_cache, long_ttls_are_capped)
{
    std::vector<lookup_result> got;   // outlives the cache: its destructor may call handlers
    auto cache = make();
    cache.resolve("long.example", keep(got));
    lookup_.answer(0, addresses(std::chrono::seconds{86400 * 7}));
    clock_.now += 3599s;
    cache.resolve("long.example", keep(got));
    EXPECT_EQ(lookup_.requests.size(), 1u);
    clock_.now += 1s;
    cache.resolve("long.example", keep(got));
    EXPECT_EQ(lookup_.requests.size(), 2u);
}

TEST_F(address_cache, evicts_expired_entries_first_then_the_oldest)
{
    std::vector<lookup_result> got;   // outlives the cache: its destructor may call handlers
    auto cache = make(3);
    const std::vector<std::pair<std::string, std::chrono::seconds>> names{
        {"a.example", 100s}, {"b.example", 10s}, {"c.example", 100s}};
    for (std::size_t i = 0; i < names.size(); ++i) {
        cache.resolve(names[i].first, keep(got));
        lookup_.answer(i, addresses(names[i].second));
    }
    EXPECT_EQ(cache.stats().entries, 3u);

    clock_.now += 20s;   // b expired
    cache.resolve("d.example", keep(got));
    lookup_.answer(3, addresses(100s));
    EXPECT_EQ(cache.stats().entries, 3u);
    EXPECT_EQ(cache.stats().evictions, 0u) << "the expired entry made room";

    cache.resolve("e.example", keep(got));   // full of fresh entries: a (the oldest) goes
    lookup_.answer(4, addresses(100s));
    EXPECT_EQ(cache.stats().evictions, 1u);

    const std::size_t before = lookup_.requests.size();
    cache.resolve("c.example", keep(got));
    cache.resolve("d.example", keep(got));
    cache.resolve("e.example", keep(got));
    EXPECT_EQ(lookup_.requests.size(), before) << "c, d, e are still cached";
    cache.resolve("a.example", keep(got));
    EXPECT_EQ(lookup_.requests.size(), before + 1) << "a was evicted";
}

TEST_F(address_cache, ip_literals_need_no_lookup)
{
    std::vector<lookup_result> got;   // outlives the cache: its destructor may call handlers
    auto cache = make();
    cache.resolve("192.0.2.7", keep(got));
    cache.resolve("[2001:db8::7]", keep(got));
    cache.resolve("2001:db8::8", keep(got));
    EXPECT_TRUE(lookup_.requests.empty());
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0]->addresses.front(), make_address("192.0.2.7"));
    EXPECT_EQ(got[1]->addresses.front(), make_address("2001:db8::7"));
    EXPECT_EQ(got[2]->addresses.front(), make_address("2001:db8::8"));
}

TEST_F(address_cache, a_waiter_may_resolve_again_from_its_handler)
{
    std::vector<lookup_result> got;   // outlives the cache: its destructor may call handlers
    auto cache = make();
    cache.resolve("app.example", [&](const lookup_result& r) {
        got.push_back(r);
        cache.resolve("app.example", keep(got));   // hits the entry just stored
    });
    lookup_.answer(0, addresses(60s));
    EXPECT_EQ(got.size(), 2u);
    EXPECT_EQ(lookup_.requests.size(), 1u);
}

TEST_F(address_cache, cancelled_lookups_are_not_cached)
{
    std::vector<lookup_result> got;   // outlives the cache: its destructor may call handlers
    auto cache = make();
    cache.resolve("app.example", keep(got));
    lookup_.answer(0, lookup_error{make_ares_error(ARES_EDESTRUCTION), "app.example: DNS lookup cancelled"});
    EXPECT_EQ(cache.stats().entries, 0u);
}

TEST_F(address_cache, destruction_aborts_the_waiters_and_ignores_late_answers)
{
    std::vector<lookup_result> got;
    {
        auto cache = make();
        cache.resolve("app.example", keep(got));
        cache.resolve("app.example", keep(got));
    }
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].error().code, boost::asio::error::operation_aborted);
    lookup_.answer(0, addresses(60s));   // the cache is gone: nothing happens
    EXPECT_EQ(got.size(), 2u);
}

// --- the whole path against a real knotd: cache -> address_lookup -> channel ---------

TEST(address_cache_process, coalesces_real_lookups_and_serves_the_second_wave_from_the_cache)
{
    stork::dnscheck::test::knot_server knot;
    boost::asio::io_context io{1};
    dns::channel ch{io, {.servers = {knot.server()}, .timeout = 1000ms}};
    dns::address_lookup lookup{ch};
    std::vector<lookup_result> got;
    dns::address_cache cache{[&lookup](std::string_view host, std::function<void(lookup_result)> done) {
        lookup.resolve(host, std::move(done));
    }};
    for (int i = 0; i < 10; ++i) {
        cache.resolve("www.test", [&](const lookup_result& r) { got.push_back(r); });
    }
    cache.resolve("missing.test", [&](const lookup_result& r) { got.push_back(r); });
    EXPECT_EQ(ch.pending(), 4u) << "one A + one AAAA per distinct name";
    io.run_for(5s);   // returns early: nothing is left to wait for once both are answered
    ASSERT_EQ(got.size(), 11u);
    EXPECT_EQ(got.front()->addresses.size(), 3u);
    EXPECT_EQ(got.front()->ttl, 120s);

    cache.resolve("WWW.test.", [&](const lookup_result& r) { got.push_back(r); });
    cache.resolve("missing.test", [&](const lookup_result& r) { got.push_back(r); });
    EXPECT_EQ(got.size(), 13u) << "both answered inline from the cache";
    EXPECT_EQ(ch.pending(), 0u);
    const auto s = cache.stats();
    EXPECT_EQ(s.misses, 2u);
    EXPECT_EQ(s.coalesced, 9u);
    EXPECT_EQ(s.hits, 2u);
    EXPECT_EQ(s.failures, 1u);
}

boost::asio::awaitable<void> resolve_in_coroutine(dns::address_cache& cache, std::string host, lookup_result& out)
{
    out = co_await cache.async_resolve(std::move(host), co_await boost::asio::this_coro::executor,
                                       boost::asio::use_awaitable);
}

TEST(address_cache_process, works_as_an_awaitable)
{
    stork::dnscheck::test::knot_server knot;
    boost::asio::io_context io{1};
    dns::channel ch{io, {.servers = {knot.server()}, .timeout = 1000ms}};
    dns::address_lookup lookup{ch};
    dns::address_cache cache{[&lookup](std::string_view host, std::function<void(lookup_result)> done) {
        lookup.resolve(host, std::move(done));
    }};
    lookup_result first = lookup_error{};
    lookup_result second = lookup_error{};
    boost::asio::co_spawn(io, resolve_in_coroutine(cache, "chain.test", first), boost::asio::detached);
    io.run_for(5s);
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->ttl, 30s);
    io.restart();
    boost::asio::co_spawn(io, resolve_in_coroutine(cache, "chain.test", second), boost::asio::detached);
    io.run_for(5s);
    ASSERT_TRUE(second);
    EXPECT_EQ(cache.stats().hits, 1u);
}

} // namespace
