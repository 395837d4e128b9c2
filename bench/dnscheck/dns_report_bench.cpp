// `stork dns report` end to end (issue 6 part 5): advisor::check_all over 1,000 custom
// domains, each a CNAME to its app in the new region, against a real knotd on loopback
// that is both the resolver and the authoritative server. Target: under 5 s with 64
// hosts in flight. Without a limit on the queries in flight per server, the burst
// overflows knotd's UDP receive buffer and the report waits one timeout (2 s) for the
// retries; max_outstanding is measured with and without.
//
//   build/bench/dnscheck_bench --benchmark_filter=dns_report
//
// Each repetition builds a fresh advisor (new c-ares channels, as the first report after
// storkd starts) and checks every host. Every host is ready in this setup: the counter
// not_ready (per report) says how many were not, i.e. lost answers that the retry did
// not make up for, so a broken setup shows instead of timing timeouts. knotd serves:
//   test.            the TLD, so the CAA climb ends in real NODATA answers
//   bench.test.      h0000 .. h0999 CNAME app-NNNN.scalingo.test.
//   scalingo.test.   app-NNNN A 192.0.2.x
#include "dnscheck/advisor.hpp"
#include "dnscheck/channel.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace stork;

constexpr int host_count = 1000;

std::string name_of(const char* prefix, int i)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%04d", prefix, i);
    return buf;
}

std::string soa(const std::string& origin)
{
    return "$ORIGIN " + origin + ".\n$TTL 300\n"
           "@ IN SOA ns1.test. hostmaster.test. 2024010101 3600 600 604800 60\n"
           "@ IN NS ns1.test.\n";
}

std::string tld_zone()
{
    return soa("test") + "ns1 IN A 127.0.0.1\n";
}

std::string customer_zone()
{
    std::string z = soa("bench.test");
    for (int i = 0; i < host_count; ++i) {
        z += name_of("h", i) + " 300 IN CNAME " + name_of("app-", i) + ".scalingo.test.\n";
    }
    return z;
}

std::string platform_zone()
{
    std::string z = soa("scalingo.test");
    for (int i = 0; i < host_count; ++i) {
        z += name_of("app-", i) + " 60 IN A 192.0.2." + std::to_string(1 + i % 250) + "\n";
    }
    return z;
}

// A port that was free on 127.0.0.1 for UDP and TCP a moment ago.
std::uint16_t free_port()
{
    for (int attempt = 0; attempt < 20; ++attempt) {
        const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
        const int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        std::uint16_t port = 0;
        if (::bind(udp, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::getsockname(udp, reinterpret_cast<sockaddr*>(&a), &len) == 0 &&
            ::bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
            port = ntohs(a.sin_port);
        }
        ::close(udp);
        ::close(tcp);
        if (port != 0) {
            return port;
        }
    }
    throw std::runtime_error{"no free port on 127.0.0.1"};
}

// One SOA query through a c-ares channel, RD=0: true for a NOERROR answer.
asio::awaitable<void> probe(dnscheck::channel& ch, std::string zone, bool& ok)
{
    auto [ec, answer] = co_await ch.async_query(std::move(zone), ns_t_soa, asio::as_tuple(asio::use_awaitable));
    ok = !ec && !answer.empty();
}

bool answers(const std::string& server, const std::string& zone)
{
    asio::io_context io{1};
    dnscheck::channel ch{io, dnscheck::channel_options{
                                 .servers = {server}, .timeout = std::chrono::milliseconds{100}, .tries = 1,
                                 .no_recurse = true}};
    bool ok = false;
    asio::co_spawn(io, probe(ch, zone, ok), asio::detached);
    io.run();
    return ok;
}

// knotd with the three zones, for the whole run; stopped by pid at exit.
class knot {
public:
    knot()
    {
        dir_.write("test.zone", tld_zone());
        dir_.write("bench.test.zone", customer_zone());
        dir_.write("scalingo.test.zone", platform_zone());
        std::filesystem::create_directories(dir_.path() / "db");
        for (int attempt = 0; attempt < 5 && !ready_; ++attempt) {
            port_ = free_port();
            ready_ = start();
        }
        if (!ready_) {
            throw std::runtime_error{"knotd did not start: " + (knotd_ ? knotd_->err() : std::string{})};
        }
    }
    ~knot()
    {
        if (knotd_) {
            knotd_->send_signal(SIGTERM);
            knotd_->wait(std::chrono::seconds{10});
        }
    }
    knot(const knot&) = delete;
    knot& operator=(const knot&) = delete;

    std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    bool start()
    {
        const std::string d = dir_.path().string();
        std::string conf = "server:\n    listen: 127.0.0.1@" + std::to_string(port_) + "\n    rundir: \"" + d +
                           "\"\nlog:\n  - target: stderr\n    any: warning\ndatabase:\n    storage: \"" + d +
                           "/db\"\ncontrol:\n    listen: \"" + d + "/knot.sock\"\ntemplate:\n  - id: default\n"
                           "    storage: \"" + d + "\"\n    zonefile-sync: -1\n    journal-content: none\nzone:\n";
        for (const char* zone : {"test", "bench.test", "scalingo.test"}) {
            conf += "  - domain: \"" + std::string{zone} + "\"\n    file: " + zone + ".zone\n";
        }
        dir_.write("knot.conf", conf);
        knotd_ = std::make_unique<test::child_process>(
            std::vector<std::string>{"/usr/sbin/knotd", "-c", (dir_.path() / "knot.conf").string()});
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
        std::size_t serving = 0;
        const char* zones[] = {"test", "bench.test", "scalingo.test"};
        while (std::chrono::steady_clock::now() < deadline) {
            if (answers(server(), zones[serving]) && ++serving == std::size(zones)) {
                return true;
            }
            if (knotd_->wait(std::chrono::milliseconds{10})) {
                return false;   // exited: the port was taken, or a configuration error
            }
        }
        return false;
    }

    test::temp_dir dir_;
    std::unique_ptr<test::child_process> knotd_;
    std::uint16_t port_ = 0;
    bool ready_ = false;
};

const knot& server()
{
    static knot k;
    return k;
}

asio::awaitable<void> report_all(dnscheck::advisor& a, std::vector<dnscheck::check_request> requests,
                                 std::size_t in_flight, std::vector<dnscheck::report>& out)
{
    out = co_await a.check_all(std::move(requests), in_flight);
}

void BM_dns_report(benchmark::State& state)
{
    const std::size_t in_flight = static_cast<std::size_t>(state.range(0));
    const std::size_t max_outstanding = static_cast<std::size_t>(state.range(1));
    const std::string ns = server().server();
    std::vector<dnscheck::check_request> requests;
    for (int i = 0; i < host_count; ++i) {
        requests.push_back(dnscheck::check_request{.host = name_of("h", i) + ".bench.test",
                                                   .expect = name_of("app-", i) + ".scalingo.test",
                                                   .old = std::nullopt,
                                                   .authoritative = {ns},
                                                   .rule_expires_at = std::chrono::floor<std::chrono::seconds>(
                                                       std::chrono::system_clock::now() + std::chrono::days{20})});
    }
    std::size_t not_ready = 0;
    for (auto _ : state) {
        asio::io_context io{1};
        dnscheck::advisor a{io, dnscheck::advisor_options{.resolvers = {ns},
                                                          .timeout = std::chrono::milliseconds{2000},
                                                          .tries = 2,
                                                          .ca = "letsencrypt.org",
                                                          .max_outstanding = max_outstanding}};
        std::vector<dnscheck::report> reports;
        asio::co_spawn(io, report_all(a, requests, in_flight, reports), asio::detached);
        io.run();
        state.PauseTiming();
        // Not SkipWithError: libbenchmark 1.7.1 (Debian 12) crashes in ComputeStats when
        // a repetition of an aggregates-only run reports an error (seen here).
        not_ready += requests.size() - std::min(reports.size(), requests.size());
        for (const auto& r : reports) {
            if (r.outcome != dnscheck::verdict::ready) {
                if (not_ready++ == 0) {
                    std::fprintf(stderr, "not ready: %s: %s: %s\n", r.host.c_str(),
                                 std::string{dnscheck::to_string(r.outcome)}.c_str(),
                                 r.problems.empty() ? "" : r.problems.front().c_str());
                }
            }
        }
        state.ResumeTiming();
    }
    // Every host is ready in this setup: anything else is a lost answer (a UDP drop that
    // the retry did not make up for) and shows here, in the aggregates too.
    state.counters["not_ready"] = benchmark::Counter(static_cast<double>(not_ready), benchmark::Counter::kAvgIterations);
    state.counters["hosts_per_s"] =
        benchmark::Counter(static_cast<double>(host_count), benchmark::Counter::kIsIterationInvariantRate);
}

// One iteration is a whole report; five repetitions give the median. Hosts in flight
// (check_all), and queries in flight per server (advisor_options::max_outstanding, 0:
// no limit, as before it existed).
BENCHMARK(BM_dns_report)
    ->ArgNames({"in_flight", "max_outstanding"})
    ->Args({64, 128})
    ->Args({64, 0})
    ->Args({16, 128})
    ->Args({256, 128})
    ->Args({256, 0})
    ->Iterations(1)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace
