// What parsing a head costs on the hot path: a typical browser GET (about 400 bytes, 9
// fields), a typical response head, and a chunked body's framing. One parser per
// connection, reset between messages, as the proxy uses it: no allocation per parse.
//
//   build/bench/http1_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "http1/message.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using namespace stork::http1;

const std::string browser_get =
    "GET /static/js/app.3f9c2b1e.js?v=20240101 HTTP/1.1\r\n"
    "Host: www.customer-app.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\n"
    "Accept: */*\r\n"
    "Accept-Language: fr-FR,fr;q=0.8,en-US;q=0.5,en;q=0.3\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.customer-app.example.com/\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a\r\n"
    "Sec-Fetch-Dest: script\r\n"
    "\r\n";

const std::string response =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx\r\n"
    "Date: Mon, 01 Jan 2024 12:00:00 GMT\r\n"
    "Content-Type: application/javascript; charset=utf-8\r\n"
    "Content-Length: 48213\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: public, max-age=31536000, immutable\r\n"
    "ETag: \"65929c80-bc55\"\r\n"
    "Vary: Accept-Encoding\r\n"
    "\r\n";

void request_head(benchmark::State& state)
{
    request_parser p;
    for (auto _ : state) {
        p.reset();
        benchmark::DoNotOptimize(p.parse(browser_get));
        benchmark::DoNotOptimize(p.head().head_bytes);
    }
    if (p.head().head_bytes != browser_get.size()) {
        state.SkipWithError("request did not parse");
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * browser_get.size()));
    state.SetLabel(std::to_string(browser_get.size()) + " bytes");
}
BENCHMARK(request_head);

// The same request arriving in two reads, split in the middle of a field.
void request_head_in_two_reads(benchmark::State& state)
{
    request_parser p;
    const std::string_view first = std::string_view{browser_get}.substr(0, 200);
    for (auto _ : state) {
        p.reset();
        benchmark::DoNotOptimize(p.parse(first));
        benchmark::DoNotOptimize(p.parse(browser_get));
    }
    if (p.head().head_bytes != browser_get.size()) {
        state.SkipWithError("request did not parse");
    }
}
BENCHMARK(request_head_in_two_reads);

void response_head(benchmark::State& state)
{
    response_parser p;
    for (auto _ : state) {
        p.reset();
        benchmark::DoNotOptimize(p.parse(response, false));
        benchmark::DoNotOptimize(p.head().head_bytes);
    }
    if (p.head().head_bytes != response.size()) {
        state.SkipWithError("response did not parse");
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * response.size()));
    state.SetLabel(std::to_string(response.size()) + " bytes");
}
BENCHMARK(response_head);

// 64 KiB of body in 4 KiB chunks: the framing is walked byte by byte, the data skipped.
void chunked_body(benchmark::State& state)
{
    std::string body;
    const std::string data(4096, 'x');
    for (int i = 0; i < 16; ++i) {
        body += "1000\r\n" + data + "\r\n";
    }
    body += "0\r\n\r\n";
    chunked_scanner s;
    for (auto _ : state) {
        s.reset();
        benchmark::DoNotOptimize(s.scan(body));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(chunked_body);

} // namespace
