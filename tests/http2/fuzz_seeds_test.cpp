// Writes the seed corpus of the http2_server fuzz target (tests/fuzz/corpus/http2_server):
// what an nghttp2 client sends in a few conversations, after the preface, behind one byte
// that chooses how the fuzz target cuts it into reads. Disabled: run it by hand when the
// seeds should change,
//   STORK_HTTP2_SEED_DIR=tests/fuzz/corpus/http2_server build/tests/http2_test
//     --gtest_also_run_disabled_tests --gtest_filter='http2_fuzz_seeds.*'
#include "http2/server_connection.hpp"

#include "tests/http2/test_client.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace stork::http2 {
namespace {

using testing::field_list;
using testing::test_client;

class answer_all final : public handler {
public:
    server_connection* server = nullptr;
    void on_request(const request& r) override
    {
        if (r.end_stream) {
            server->respond(r.stream_id, 200, {}, false);
            server->send_data(r.stream_id, "seed", true);
        }
    }
    void on_data(std::int32_t id, std::string_view bytes) override { server->consumed(id, bytes.size()); }
    void on_end(std::int32_t id) override { server->respond(id, 204, {}, true); }
    void on_close(std::int32_t, std::uint32_t) override {}
};

// Runs `script` against a server and returns everything the client wrote after the preface.
// With `drain`, the server starts shutdown() after the first turn, so the client's bytes
// include the ACK of the drain PING.
std::string conversation(const std::function<void(test_client&)>& script, bool drain = false)
{
    answer_all h;
    limits l;
    server_connection server{h, l};
    h.server = &server;
    test_client client;
    script(client);
    std::string sent;
    for (int turn = 0; turn < 1000; ++turn) {
        if (drain && turn == 1) {
            server.shutdown();
        }
        const std::string up = client.take_output();
        sent += up;
        server.receive(up);
        std::string down;
        server.produce(down);
        client.feed(down);
        if (up.empty() && down.empty()) {
            break;
        }
    }
    return sent.substr(24);
}

TEST(http2_fuzz_seeds, DISABLED_write)
{
    const char* dir = std::getenv("STORK_HTTP2_SEED_DIR");
    ASSERT_NE(dir, nullptr);
    const auto write = [&](const std::string& name, char cut, const std::string& bytes) {
        std::ofstream{std::filesystem::path{dir} / name, std::ios::binary} << cut << bytes;
    };
    const field_list post{{":method", "POST"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/upload"},
                          {"content-length", "3000"}};

    write("get", 0, conversation([](test_client& c) { c.get("/index.html"); }));
    write("get_split", 7, conversation([](test_client& c) { c.get("/index.html"); }));
    write("post", 0, conversation([&](test_client& c) { c.request(post, std::string(3000, 'p')); }));
    write("post_trailers", 13, conversation([&](test_client& c) {
              c.request({{":method", "POST"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/t"}},
                        std::string(100, 't'), {{"x-sum", "1"}});
          }));
    write("many_streams", 0, conversation([](test_client& c) {
              for (int i = 0; i < 12; ++i) {
                  c.get("/" + std::string(static_cast<std::size_t>(i), 'x'));
              }
          }));
    write("cookies_host", 0, conversation([](test_client& c) {
              c.request({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"host", "h.example"},
                         {"cookie", "a=1"}, {"cookie", "b=2"}, {"te", "trailers"}});
          }));
    write("big_head", 0, conversation([](test_client& c) {
              field_list f{{":method", "GET"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/big"}};
              for (int i = 0; i < 8; ++i) {
                  f.emplace_back("x-h" + std::to_string(i), std::string(700, static_cast<char>('a' + i)));
              }
              c.request(f);
          }));
    write("reset_and_ping", 0, conversation([](test_client& c) {
              const auto id = c.get("/slow");
              const std::uint8_t opaque[8]{1, 2, 3, 4, 5, 6, 7, 8};
              nghttp2_submit_ping(c.session(), NGHTTP2_FLAG_NONE, opaque);
              nghttp2_submit_rst_stream(c.session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
              nghttp2_submit_goaway(c.session(), NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
          }));
    // High bit of the first byte: the fuzz target drains halfway, before the PING ACK;
    // reads of 64 bytes, so that there is a halfway.
    write("drain", static_cast<char>(0x80 | 64), conversation([](test_client& c) {
              c.get("/a");
              c.request({{":method", "POST"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/b"}},
                        std::string(5000, 'd'));
          }, true));
    write("connect_and_bad", 0, conversation([](test_client& c) {
              c.request({{":method", "CONNECT"}, {":authority", "e.com:443"}});
              c.request({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"connection", "close"}});
              c.request({{":method", "GET"}, {":path", "/"}});
          }));
}

} // namespace
} // namespace stork::http2
