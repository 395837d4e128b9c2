// What configuration parsing costs: the value parsers (also used on request paths later:
// host names, durations in admin API calls) and a whole storkd.yaml, as at every reload.
#include "config/diagnostic.hpp"
#include "config/duration.hpp"
#include "config/endpoint.hpp"
#include "config/host_name.hpp"
#include "config/storkd_config.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

using namespace stork::config;

void bm_parse_duration(benchmark::State& state)
{
    for (auto _ : state) {
        benchmark::DoNotOptimize(parse_duration("500ms"));
    }
}
BENCHMARK(bm_parse_duration);

void bm_host_name_problem(benchmark::State& state)
{
    const std::string name = "my-application.customer-domain.example.com";
    for (auto _ : state) {
        benchmark::DoNotOptimize(host_name_problem(name));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * name.size()));
}
BENCHMARK(bm_host_name_problem);

void bm_parse_endpoint(benchmark::State& state)
{
    for (auto _ : state) {
        benchmark::DoNotOptimize(parse_endpoint("[2001:db8::1]:8443", endpoint_rules{}));
    }
}
BENCHMARK(bm_parse_endpoint);

void bm_parse_example_config(benchmark::State& state)
{
    const auto path = std::filesystem::path{STORK_SOURCE_DIR} / "config/examples/storkd.yaml";
    std::ifstream in{path};
    std::ostringstream text;
    text << in.rdbuf();
    const std::string yaml = text.str();
    for (auto _ : state) {
        benchmark::DoNotOptimize(parse_storkd_config(yaml, path, load_options{.check_files = false, .cpu_count = 2}));
    }
}
BENCHMARK(bm_parse_example_config);

} // namespace
