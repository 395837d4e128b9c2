// Fuzz target: the HTTP/2 server engine (http2/server_connection.hpp) on arbitrary bytes
// after the client connection preface, with a handler that answers, streams, resets,
// consumes and drains depending on the requests, so the response side runs too. Checked on
// every input: no memory error (ASan/UBSan), the handler's calls follow the promised order
// (on_request once, then on_data/on_end, then exactly one on_close; nothing for unknown or
// dead streams), idle() and queued() agree with that record, produce() stays within its
// bound, and a failed connection stays failed and says why.
//
// Input: the first byte chooses how the rest is cut into reads (its low 7 bits: 1..64
// bytes, or all at once) and whether shutdown() comes halfway (its high bit) rather than
// at the end; the rest is what the client sends after "PRI * HTTP/2.0...".
#include "http2/server_connection.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

using stork::fuzz::require;

namespace {

using namespace stork::http2;

enum class phase : std::uint8_t { open, ended, closed };

struct tracked {
    phase state = phase::open;
    bool answered = false;
};

class scripted final : public handler {
public:
    server_connection* server = nullptr;
    std::map<std::int32_t, tracked> streams;

    std::size_t open() const
    {
        std::size_t n = 0;
        for (const auto& [id, s] : streams) {
            n += s.state != phase::closed ? 1 : 0;
        }
        return n;
    }

    void on_request(const request& r) override
    {
        require(r.stream_id > 0 && r.stream_id % 2 == 1);
        require(streams.count(r.stream_id) == 0);
        require(!r.path.empty() && r.method != "CONNECT");
        for (const auto& f : r.fields) {
            require(!f.name.empty() && f.name[0] != ':' && f.name != "host" && f.name != "content-length");
        }
        auto& s = streams[r.stream_id];
        s.state = r.end_stream ? phase::ended : phase::open;
        const std::array<header_field, 2> fields{{{"Content-Type", "text/plain"}, {"Connection", "close"}}};
        switch (r.path.size() % 5) {
        case 0:
            server->respond(r.stream_id, 200, fields, false);
            server->send_data(r.stream_id, r.path, false);
            server->send_data(r.stream_id, std::string(r.path.size() * 300, 'b'), true);
            s.answered = true;
            break;
        case 1:
            server->respond(r.stream_id, 204, {}, true);
            s.answered = true;
            break;
        case 2:
            server->reset(r.stream_id, NGHTTP2_INTERNAL_ERROR);
            break;
        case 3:
            server->respond(r.stream_id, 103, fields, false);
            break;  // the final answer comes at on_end
        default:
            break;  // left open: the drain at the end meets it
        }
    }

    void on_data(std::int32_t id, std::string_view bytes) override
    {
        require(streams.count(id) == 1 && streams[id].state == phase::open);
        require(!bytes.empty());
        if (id % 4 == 1) {
            server->consumed(id, bytes.size());
        }
    }

    void on_end(std::int32_t id) override
    {
        require(streams.count(id) == 1 && streams[id].state == phase::open);
        auto& s = streams[id];
        s.state = phase::ended;
        if (!s.answered) {
            server->respond(id, 200, {}, false);
            server->send_data(id, "end", true);
            s.answered = true;
        }
    }

    void on_close(std::int32_t id, std::uint32_t) override
    {
        require(streams.count(id) == 1 && streams[id].state != phase::closed);
        streams[id].state = phase::closed;
        // Every call on a dead stream is ignored.
        server->respond(id, 200, {}, true);
        server->send_data(id, "late", true);
        server->consumed(id, 1);
        server->reset(id, NGHTTP2_CANCEL);
    }
};

void produce_checked(server_connection& server, std::size_t max_bytes)
{
    std::string out;
    server.produce(out, max_bytes);
    require(out.size() < max_bytes + 16384 + 9 || out.size() == 0);
}

void check(const scripted& h, const server_connection& server)
{
    require(server.idle() == (h.open() == 0));
    std::size_t sum = 0;
    for (const auto& [id, s] : h.streams) {
        sum += server.queued(id);
    }
    require(sum == server.queued());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    const std::size_t cut = (data[0] & 0x7f) % 65;  // 0: one read
    const std::string_view in{reinterpret_cast<const char*>(data + 1), size - 1};

    scripted h;
    limits l;
    l.max_concurrent_streams = 8;   // small, so that refusals happen
    l.max_header_list_size = 4096;  // and 431s
    l.initial_window_size = 1024;
    server_connection server{h, l};
    h.server = &server;

    bool ok = server.receive("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    require(ok);
    // The drain starts halfway through when the high bit is set, so that the second half
    // can answer its PING (the seed "drain" does).
    const bool drain_midway = (data[0] & 0x80) != 0;
    bool drained = false;
    for (std::size_t at = 0; at < in.size();) {
        if (drain_midway && !drained && at >= in.size() / 2) {
            server.shutdown();
            drained = true;
        }
        const std::size_t n = cut == 0 ? in.size() : cut;
        const bool now = server.receive(in.substr(at, n));
        require(!now || ok);  // once failed, failed for good
        if (!now) {
            require(!server.error().empty());
        }
        ok = now;
        at += n;
        produce_checked(server, 1 + (at % 3) * 8192);
        check(h, server);
    }
    server.shutdown();
    for (int i = 0; i < 4; ++i) {
        produce_checked(server, 64 * 1024);
        check(h, server);
    }
    return 0;
}
