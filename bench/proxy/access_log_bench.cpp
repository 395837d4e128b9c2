#include "proxy/access_log.hpp"

#include <benchmark/benchmark.h>

#include <boost/asio/ip/address.hpp>

#include <string>

namespace stork::proxy {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

access_record typical_record()
{
    access_record r;
    r.time = std::chrono::system_clock::now();
    r.worker = 3;
    r.client = {net::ip::make_address("203.0.113.54"), 53422};
    r.host = "my-app.example.com";
    r.method = "GET";
    r.path = "/api/v1/items/12345?expand=owner&sort=-created_at";
    r.status = 200;
    r.bytes_in = 412;
    r.bytes_out = 18734;
    r.upstream = "10.0.0.5:80";
    r.rule = "my-app.example.com";
    r.mode = "proxy";
    r.duration_us = 1345;
    return r;
}

// Formatting only, into a buffer cleared at the writer's threshold: the per-request cost.
void format_record(benchmark::State& state, access_record r)
{
    std::string out;
    out.reserve(access_log_writer::initial_capacity);
    access_line_formatter formatter;
    std::uint64_t i = 0;
    for (auto _ : state) {
        r.time += 7us;   // a new second every ~143k records, as at 7k req/s per worker
        r.duration_us = ++i;
        formatter.append(out, r);
        if (out.size() >= access_log_writer::flush_threshold) {
            out.clear();
        }
    }
    benchmark::DoNotOptimize(out.data());
    state.SetItemsProcessed(state.iterations());
}

void bm_format_typical(benchmark::State& state)
{
    format_record(state, typical_record());
}
BENCHMARK(bm_format_typical);

void bm_format_ipv6_utf8(benchmark::State& state)
{
    auto r = typical_record();
    r.client = {net::ip::make_address("2001:db8:85a3::8a2e:370:7334"), 443};
    r.host = "b\xc3\xbc\x63her.example";
    r.path = "/suche?q=\xc3\xa4pfel%20und%20\xe2\x82\xac&x=\"y\"";
    format_record(state, r);
}
BENCHMARK(bm_format_ipv6_utf8);

// Formatting plus the write(2) to /dev/null every 32 KiB: what a worker pays with a sink.
void bm_writer_dev_null(benchmark::State& state)
{
    config::access_log_config c;
    c.where = config::access_log_config::kind::file;
    c.path = "/dev/null";
    access_log_writer writer{access_log_sink::open(c)};
    auto r = typical_record();
    std::uint64_t i = 0;
    for (auto _ : state) {
        r.time += 7us;
        r.duration_us = ++i;
        writer.append(r);
    }
    writer.flush();
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_writer_dev_null);

} // namespace
} // namespace stork::proxy
