// What one HTTP/2 request costs the protocol engine: receive a GET's HEADERS frame, answer
// 200 with a 5-byte body from inside on_request, produce the response frames. The client
// side is not measured: its frames are captured once and replayed with the stream id
// patched (after the first request HPACK encodes the same request to the same bytes).
// Allocations are counted by interposing malloc/calloc/realloc (glibc's __libc_* entry
// points), so nghttp2's own allocations are included, not just operator new.
//
//   build/bench/http2_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "http2/server_connection.hpp"
#include "tests/http2/test_client.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <new>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" {
void* __libc_malloc(std::size_t n);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t n);
}

namespace {
std::uint64_t allocations = 0;      // every malloc/calloc/realloc; benchmarks run on one thread
std::uint64_t cxx_allocations = 0;  // the subset made by operator new (ours and the STL's)
} // namespace

void* operator new(std::size_t n)
{
    ++cxx_allocations;
    if (void* p = malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc{};
}

void operator delete(void* p) noexcept
{
    free(p);
}

void operator delete(void* p, std::size_t) noexcept
{
    free(p);
}

extern "C" void* malloc(std::size_t n)
{
    ++allocations;
    return __libc_malloc(n);
}

extern "C" void* calloc(std::size_t n, std::size_t size)
{
    ++allocations;
    return __libc_calloc(n, size);
}

extern "C" void* realloc(void* p, std::size_t n)
{
    ++allocations;
    return __libc_realloc(p, n);
}

namespace {

using namespace stork::http2;

class answer_hello final : public handler {
public:
    server_connection* server = nullptr;
    std::size_t requests = 0;

    void on_request(const request& r) override
    {
        ++requests;
        server->respond(r.stream_id, 200, fields_, false);
        server->send_data(r.stream_id, "hello", true);
    }
    void on_data(std::int32_t, std::string_view) override {}
    void on_end(std::int32_t) override {}
    void on_close(std::int32_t, std::uint32_t) override {}

private:
    const std::array<header_field, 2> fields_{{{"content-type", "text/plain"}, {"cache-control", "no-store"}}};
};

// The first HEADERS frame in bytes a client wrote (it may follow WINDOW_UPDATEs).
std::string headers_frame(const std::string& bytes)
{
    std::size_t at = 0;
    while (at + 9 <= bytes.size()) {
        const std::size_t n = (static_cast<unsigned char>(bytes[at]) << 16) |
                              (static_cast<unsigned char>(bytes[at + 1]) << 8) | static_cast<unsigned char>(bytes[at + 2]);
        if (bytes[at + 3] == NGHTTP2_HEADERS) {
            return bytes.substr(at, 9 + n);
        }
        at += 9 + n;
    }
    return {};
}

void set_stream_id(std::string& frame, std::uint32_t id)
{
    frame[5] = static_cast<char>(id >> 24 & 0x7f);
    frame[6] = static_cast<char>(id >> 16 & 0xff);
    frame[7] = static_cast<char>(id >> 8 & 0xff);
    frame[8] = static_cast<char>(id & 0xff);
}

std::string window_update(std::uint32_t increment)
{
    std::string f{"\x00\x00\x04\x08\x00\x00\x00\x00\x00", 9};
    f += static_cast<char>(increment >> 24 & 0x7f);
    f += static_cast<char>(increment >> 16 & 0xff);
    f += static_cast<char>(increment >> 8 & 0xff);
    f += static_cast<char>(increment & 0xff);
    return f;
}

// A browser-like GET: 4 pseudo-fields and 6 regular ones.
std::int32_t browser_get(testing::test_client& client)
{
    return client.request({{":method", "GET"},
                           {":scheme", "https"},
                           {":authority", "www.customer-app.example.com"},
                           {":path", "/static/js/app.3f9c2b1e.js?v=20240101"},
                           {"user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"},
                           {"accept", "*/*"},
                           {"accept-language", "fr-FR,fr;q=0.8,en-US;q=0.5,en;q=0.3"},
                           {"accept-encoding", "gzip, deflate, br"},
                           {"referer", "https://www.customer-app.example.com/"},
                           {"cookie", "session=4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a"}});
}

void get_and_hello(benchmark::State& state)
{
    answer_hello h;
    server_connection server{h, limits{}};
    h.server = &server;
    testing::test_client client;
    std::string out;

    // Two requests through the real client: the first fills both HPACK tables, the second's
    // HEADERS frame is what every later request looks like on the wire.
    browser_get(client);
    for (int i = 0; i < 2; ++i) {
        server.receive(client.take_output());
        out.clear();
        server.produce(out);
        client.feed(out);
        if (i == 0) {
            browser_get(client);
        }
    }
    std::string headers;
    {
        browser_get(client);
        headers = headers_frame(client.take_output());
    }
    std::uint32_t id = 7;
    std::size_t since_update = 0;
    const std::size_t before_requests = h.requests;
    out.reserve(64 * 1024);

    const std::uint64_t before = allocations;
    const std::uint64_t cxx_before = cxx_allocations;
    for (auto _ : state) {
        set_stream_id(headers, id);
        id += 2;
        server.receive(headers);
        out.clear();
        server.produce(out);
        benchmark::DoNotOptimize(out.data());
        if (++since_update == 10000) {  // give back the connection window the bodies used
            server.receive(window_update(static_cast<std::uint32_t>(5 * since_update)));
            since_update = 0;
        }
    }
    const std::uint64_t counted = allocations - before;
    if (h.requests - before_requests != static_cast<std::size_t>(state.iterations()) || !server.idle()) {
        state.SkipWithError("requests were not all answered");
    }
    const auto per_request = [&](std::uint64_t n) {
        return benchmark::Counter(static_cast<double>(n) / static_cast<double>(state.iterations()));
    };
    state.counters["allocs/req"] = per_request(counted);
    state.counters["new/req"] = per_request(cxx_allocations - cxx_before);
    state.SetLabel(std::to_string(headers.size()) + " bytes in, " + std::to_string(out.size()) + " bytes out");
}
BENCHMARK(get_and_hello);

// Response body throughput: a 1 MiB body through send_data and produce() in 64 KiB
// writes, against windows wide open, so the cost is framing and the two copies (queue ->
// nghttp2's frame buffer -> out). Says whether NGHTTP2_DATA_FLAG_NO_COPY is worth doing.
class answer_big final : public handler {
public:
    server_connection* server = nullptr;
    std::string body = std::string(1 << 20, 'x');
    void on_request(const request& r) override
    {
        server->respond(r.stream_id, 200, {}, false);
        server->send_data(r.stream_id, body, true);
    }
    void on_data(std::int32_t, std::string_view) override {}
    void on_end(std::int32_t) override {}
    void on_close(std::int32_t, std::uint32_t) override {}
};

void body_1mib(benchmark::State& state)
{
    answer_big h;
    server_connection server{h, limits{}};
    h.server = &server;
    testing::client_options o;
    o.settings = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (1u << 31) - 1}};
    testing::test_client client{o};
    std::string out;
    // The client only writes requests here: the windows below are granted in its name, so
    // it must not read the bodies (its own connection window is the default 64 KiB).
    client.get("/big");
    const std::string first = client.take_output();
    client.get("/big");
    std::string headers = headers_frame(client.take_output());
    server.receive(first);
    server.receive(window_update((1u << 31) - 1 - 65535));  // the connection window, wide open
    do {
        out.clear();
        server.produce(out);
    } while (!out.empty());
    const std::string more_window = window_update(1 << 20);  // what each body takes back

    std::uint32_t id = 5;
    std::size_t bytes = 0;
    for (auto _ : state) {
        set_stream_id(headers, id);
        id += 2;
        server.receive(headers);
        server.receive(more_window);
        do {
            out.clear();
            server.produce(out);
            bytes += out.size();
            benchmark::DoNotOptimize(out.data());
        } while (!out.empty());
    }
    if (!server.idle() || server.queued() != 0 || !server.error().empty() ||
        bytes < static_cast<std::size_t>(state.iterations()) * h.body.size()) {
        state.SkipWithError(("bodies were not all sent: " + std::string{server.error()}).c_str());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(body_1mib);

// A whole connection: construct, preface + SETTINGS + the first GET, answer, produce
// SETTINGS + ACK + WINDOW_UPDATE + response. What a short-lived client costs.
void connection_with_one_get(benchmark::State& state)
{
    testing::test_client client;
    browser_get(client);
    const std::string first_flight = client.take_output();
    std::string out;
    out.reserve(64 * 1024);
    const std::uint64_t before = allocations;
    for (auto _ : state) {
        answer_hello h;
        server_connection server{h, limits{}};
        h.server = &server;
        server.receive(first_flight);
        out.clear();
        server.produce(out);
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["allocs/conn"] = benchmark::Counter(static_cast<double>(allocations - before) /
                                                       static_cast<double>(state.iterations()));
}
BENCHMARK(connection_with_one_get);

} // namespace
