// The routing table at 10k and 1M rules: match (exact hit, wildcard hit, miss), build
// time, and memory per rule. Targets (issue 3): <= 100 ns median match at 1M rules,
// <= 200 bytes per rule, a 1M-rule rebuild <= 1 s.
//
//   build/bench/routing_bench --benchmark_filter=table --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include "routing/table.hpp"

#include <benchmark/benchmark.h>

#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace stork::routing;

const time_point now{std::chrono::seconds{1'800'000'000}};

// Realistic names: custom domains of customers, one rule in ten a wildcard.
std::vector<rule> make_rules(std::size_t n)
{
    std::vector<rule> rules;
    rules.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        rule r;
        const std::string app = "app-" + std::to_string(i);
        r.host = (i % 10 == 0 ? "*." : "www.") + app + ".customer-" + std::to_string(i % 997) + ".example.com";
        r.target = app + ".osc-secnum-fr1.scalingo.io";
        r.expires_at = now + std::chrono::days{30};
        r.app = app;
        rules.push_back(std::move(r));
    }
    return rules;
}

struct fixture {
    std::vector<rule> rules;
    std::unique_ptr<table> t;
    std::vector<std::string> exact_hosts;
    std::vector<std::string> wildcard_hosts;
    std::vector<std::string> missing_hosts;
};

const fixture& get(std::size_t n)
{
    static std::map<std::size_t, std::unique_ptr<fixture>> cache;
    auto& f = cache[n];
    if (!f) {
        f = std::make_unique<fixture>();
        f->rules = make_rules(n);
        f->t = std::make_unique<table>(f->rules, 1);
        std::mt19937_64 rng{42};
        for (int k = 0; k < 4096; ++k) {
            const std::size_t i = rng() % n;
            const std::string suffix = "app-" + std::to_string(i) + ".customer-" + std::to_string(i % 997) + ".example.com";
            (i % 10 == 0 ? f->wildcard_hosts : f->exact_hosts).push_back((i % 10 == 0 ? "shop." : "www.") + suffix);
            f->missing_hosts.push_back("www.app-" + std::to_string(n + i) + ".customer-1.example.com");
        }
    }
    return *f;
}

void run_match(benchmark::State& state, const std::vector<std::string> fixture::*hosts, bool expect_hit)
{
    const fixture& f = get(static_cast<std::size_t>(state.range(0)));
    const auto& list = f.*hosts;
    std::size_t k = 0;
    benchmark::IterationCount hits = 0;
    for (auto _ : state) {
        const auto m = f.t->match(list[k], now);
        hits += m ? 1 : 0;
        benchmark::DoNotOptimize(m);
        k = (k + 1) % list.size();
    }
    if ((hits == state.iterations()) != expect_hit) {
        state.SkipWithError("unexpected match result");
    }
}

void table_match_exact(benchmark::State& s) { run_match(s, &fixture::exact_hosts, true); }
void table_match_wildcard(benchmark::State& s) { run_match(s, &fixture::wildcard_hosts, true); }
void table_match_miss(benchmark::State& s) { run_match(s, &fixture::missing_hosts, false); }
BENCHMARK(table_match_exact)->Arg(10'000)->Arg(1'000'000);
BENCHMARK(table_match_wildcard)->Arg(10'000)->Arg(1'000'000);
BENCHMARK(table_match_miss)->Arg(10'000)->Arg(1'000'000);

long resident_kib()
{
    std::ifstream status{"/proc/self/status"};
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("VmRSS:")) {
            return std::stol(line.substr(6));
        }
    }
    return 0;
}

void table_build(benchmark::State& state)
{
    const auto rules = make_rules(static_cast<std::size_t>(state.range(0)));
    double bytes_per_rule = 0;
    double rss_per_rule = 0;
    for (auto _ : state) {
        const long before = resident_kib();
        auto t = std::make_unique<table>(rules, 2);
        const long after = resident_kib();
        benchmark::DoNotOptimize(t);
        bytes_per_rule = static_cast<double>(t->memory_bytes()) / static_cast<double>(t->size());
        rss_per_rule = static_cast<double>(after - before) * 1024.0 / static_cast<double>(t->size());
        state.PauseTiming();
        t.reset();
        state.ResumeTiming();
    }
    state.counters["bytes_per_rule"] = bytes_per_rule;
    state.counters["rss_bytes_per_rule"] = rss_per_rule;
}
BENCHMARK(table_build)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

} // namespace
