#include "http2/server_connection.hpp"

#include "tests/http2/test_client.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace stork::http2 {
namespace {

using testing::client_options;
using testing::field_list;
using testing::test_client;

// What the handler saw of one stream, copied out of the calls.
struct seen {
    std::string method, scheme, authority, path;
    field_list fields;
    bool end_stream = false;
    std::optional<std::uint64_t> content_length;
    std::string body;
    int ends = 0;
    int closes = 0;
    std::uint32_t close_code = 0;
};

class recorder final : public handler {
public:
    void on_request(const request& r) override
    {
        auto& s = streams[r.stream_id];
        s.method = r.method;
        s.scheme = r.scheme;
        s.authority = r.authority;
        s.path = r.path;
        for (const auto& f : r.fields) {
            s.fields.emplace_back(f.name, f.value);
        }
        s.end_stream = r.end_stream;
        s.content_length = r.content_length;
        order.push_back(r.stream_id);
        if (then_request) {
            then_request(r);
        }
    }
    void on_data(std::int32_t id, std::string_view bytes) override
    {
        streams.at(id).body.append(bytes);
        if (then_data) {
            then_data(id, bytes);
        }
    }
    void on_end(std::int32_t id) override { ++streams.at(id).ends; }
    void on_close(std::int32_t id, std::uint32_t code) override
    {
        auto& s = streams.at(id);
        ++s.closes;
        s.close_code = code;
    }

    std::map<std::int32_t, seen> streams;
    std::vector<std::int32_t> order;
    std::function<void(const request&)> then_request;
    std::function<void(std::int32_t, std::string_view)> then_data;
};

// Moves bytes both ways until neither side has anything to say.
void pump(test_client& client, server_connection& server)
{
    for (int turns = 0; turns < 10000; ++turns) {
        const std::string up = client.take_output();
        if (!up.empty()) {
            server.receive(up);
        }
        std::string down;
        server.produce(down);
        if (!down.empty()) {
            client.feed(down);
        }
        if (up.empty() && down.empty()) {
            return;
        }
    }
    FAIL() << "pump did not settle";
}

const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// A raw frame: 9-byte header then the payload (RFC 9113 §4.1).
std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const std::string& payload)
{
    std::string f;
    const auto n = payload.size();
    f += static_cast<char>(n >> 16 & 0xff);
    f += static_cast<char>(n >> 8 & 0xff);
    f += static_cast<char>(n & 0xff);
    f += static_cast<char>(type);
    f += static_cast<char>(flags);
    f += static_cast<char>(stream >> 24 & 0x7f);
    f += static_cast<char>(stream >> 16 & 0xff);
    f += static_cast<char>(stream >> 8 & 0xff);
    f += static_cast<char>(stream & 0xff);
    return f + payload;
}

// The frame types in a byte string the server produced, in order.
std::vector<int> frame_types(const std::string& bytes)
{
    std::vector<int> types;
    std::size_t at = 0;
    while (at + 9 <= bytes.size()) {
        const std::size_t n = (static_cast<unsigned char>(bytes[at]) << 16) |
                              (static_cast<unsigned char>(bytes[at + 1]) << 8) | static_cast<unsigned char>(bytes[at + 2]);
        types.push_back(static_cast<unsigned char>(bytes[at + 3]));
        at += 9 + n;
    }
    return types;
}

bool has_field(const field_list& fields, const std::string& name, const std::string& value)
{
    for (const auto& [n, v] : fields) {
        if (n == name && v == value) {
            return true;
        }
    }
    return false;
}

bool has_name(const field_list& fields, const std::string& name)
{
    for (const auto& f : fields) {
        if (f.first == name) {
            return true;
        }
    }
    return false;
}

struct http2_server : ::testing::Test {
    recorder h;
    limits l;
    server_connection server{h, l};
    test_client client;
};

// --- requests --------------------------------------------------------------------------

TEST_F(http2_server, get_is_answered_and_closed)
{
    const auto id = client.request({{":method", "GET"},
                                    {":scheme", "https"},
                                    {":authority", "www.example.com"},
                                    {":path", "/index.html?q=1"},
                                    {"user-agent", "test"},
                                    {"accept", "*/*"}});
    pump(client, server);
    ASSERT_EQ(h.order, std::vector<std::int32_t>{id});
    const seen& s = h.streams[id];
    EXPECT_EQ(s.method, "GET");
    EXPECT_EQ(s.scheme, "https");
    EXPECT_EQ(s.authority, "www.example.com");
    EXPECT_EQ(s.path, "/index.html?q=1");
    EXPECT_EQ(s.fields, (field_list{{"user-agent", "test"}, {"accept", "*/*"}}));
    EXPECT_TRUE(s.end_stream);
    EXPECT_FALSE(s.content_length);
    EXPECT_EQ(s.ends, 0);  // end_stream said it already
    EXPECT_FALSE(server.idle());

    const std::vector<header_field> fields{{"Content-Type", "text/plain"},
                                           {"Connection", "keep-alive"},
                                           {"Keep-Alive", "timeout=5"},
                                           {"Transfer-Encoding", "chunked"},
                                           {"X-Upstream", "a"}};
    server.respond(id, 200, fields, false);
    server.send_data(id, "hello", true);
    pump(client, server);

    const auto& r = client.responses[id];
    EXPECT_EQ(r.statuses, std::vector<unsigned>{200});
    EXPECT_EQ(r.fields, (field_list{{"content-type", "text/plain"}, {"x-upstream", "a"}}));
    EXPECT_EQ(r.body, "hello");
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.error_code, NGHTTP2_NO_ERROR);
    EXPECT_EQ(s.closes, 1);
    EXPECT_EQ(s.close_code, NGHTTP2_NO_ERROR);
    EXPECT_TRUE(server.idle());
    EXPECT_EQ(server.queued(), 0u);
    EXPECT_TRUE(server.error().empty());
}

TEST_F(http2_server, response_without_body_and_interim_response)
{
    const auto a = client.get("/a");
    const auto b = client.get("/b");
    pump(client, server);
    server.respond(a, 204, {}, true);
    server.respond(b, 103, std::vector<header_field>{{"link", "</s.css>; rel=preload"}}, false);
    server.respond(b, 200, {}, false);
    server.send_data(b, "", true);
    pump(client, server);
    EXPECT_EQ(client.responses[a].statuses, std::vector<unsigned>{204});
    EXPECT_TRUE(client.responses[a].closed);
    EXPECT_EQ(client.responses[b].statuses, (std::vector<unsigned>{103, 200}));
    EXPECT_EQ(client.responses[b].body, "");
    EXPECT_TRUE(client.responses[b].closed);
    EXPECT_TRUE(server.idle());
}

TEST_F(http2_server, status_that_cannot_be_relayed_resets)
{
    const auto switching = client.get("/ws");
    const auto too_big = client.get("/odd");
    pump(client, server);
    server.respond(switching, 101, {}, false);
    server.respond(too_big, 600, {}, true);
    pump(client, server);
    EXPECT_TRUE(client.responses[switching].statuses.empty());
    EXPECT_EQ(client.responses[switching].error_code, NGHTTP2_INTERNAL_ERROR);
    EXPECT_EQ(client.responses[too_big].error_code, NGHTTP2_INTERNAL_ERROR);
    EXPECT_TRUE(server.idle());
}

TEST_F(http2_server, calls_on_a_dead_stream_are_ignored)
{
    const auto id = client.get();
    pump(client, server);
    server.respond(id, 200, {}, true);
    pump(client, server);
    ASSERT_EQ(h.streams[id].closes, 1);
    server.respond(id, 200, {}, true);
    server.send_data(id, "late", true);
    server.consumed(id, 10);
    server.reset(id, NGHTTP2_CANCEL);
    server.respond(99, 200, {}, true);
    std::string out;
    server.produce(out);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(server.queued(id), 0u);
}

TEST_F(http2_server, post_body_is_gated_by_consumed)
{
    const std::string body(200 * 1024, 'b');
    const auto id = client.request({{":method", "POST"},
                                    {":scheme", "https"},
                                    {":authority", "example.com"},
                                    {":path", "/upload"},
                                    {"content-length", std::to_string(body.size())}},
                                   body);
    pump(client, server);
    const seen& s = h.streams[id];
    EXPECT_FALSE(s.end_stream);
    EXPECT_EQ(s.content_length, body.size());
    EXPECT_FALSE(has_name(s.fields, "content-length"));
    // The client started on the default 65535 and got one byte more from our 64 KiB SETTINGS.
    EXPECT_EQ(s.body.size(), l.initial_window_size);
    pump(client, server);
    EXPECT_EQ(s.body.size(), l.initial_window_size) << "no WINDOW_UPDATE without consumed()";

    std::size_t given = 0;
    for (int round = 0; round < 100 && s.ends == 0; ++round) {
        server.consumed(id, s.body.size() - given);
        given = s.body.size();
        pump(client, server);
    }
    EXPECT_EQ(s.body, body);
    EXPECT_EQ(s.ends, 1);
    server.respond(id, 201, {}, true);
    pump(client, server);
    EXPECT_EQ(client.responses[id].statuses, std::vector<unsigned>{201});
    EXPECT_EQ(s.closes, 1);
}

TEST_F(http2_server, early_response_stops_the_upload)
{
    const auto id = client.request({{":method", "POST"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/"}},
                                   std::string(500000, 'u'));
    pump(client, server);
    ASSERT_EQ(h.streams[id].body.size(), l.initial_window_size);
    server.respond(id, 413, {}, true);
    pump(client, server);
    EXPECT_EQ(client.responses[id].statuses, std::vector<unsigned>{413});
    EXPECT_TRUE(client.responses[id].closed);
    EXPECT_EQ(h.streams[id].closes, 1);
    EXPECT_EQ(h.streams[id].close_code, NGHTTP2_NO_ERROR);
    EXPECT_EQ(h.streams[id].ends, 0);
    EXPECT_TRUE(server.idle());
}

TEST_F(http2_server, unconsumed_body_returns_to_the_connection_window_on_close)
{
    // Thirty uploads of 60000 bytes that the proxy never forwards (it resets them): 1.8 MB
    // against a 1 MiB connection window. Without the bytes going back at close, the
    // connection would stall after the seventeenth.
    for (int i = 0; i < 30; ++i) {
        SCOPED_TRACE(i);
        const auto id = client.request({{":method", "POST"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/"}},
                                       std::string(60000, 'x'));
        pump(client, server);
        ASSERT_EQ(h.streams[id].body.size(), 60000u);
        server.reset(id, NGHTTP2_INTERNAL_ERROR);
        pump(client, server);
        EXPECT_EQ(h.streams[id].closes, 1);
        EXPECT_EQ(h.streams[id].close_code, NGHTTP2_INTERNAL_ERROR);
        EXPECT_EQ(client.responses[id].error_code, NGHTTP2_INTERNAL_ERROR);
    }
    EXPECT_TRUE(server.idle());
}

TEST(http2_server_flow, response_larger_than_the_client_window_waits_in_the_queue)
{
    recorder h;
    server_connection server{h, limits{}};
    client_options o;
    o.settings = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16384}};
    o.manual_window = true;
    test_client client{o};
    const auto id = client.get("/big");
    pump(client, server);

    const std::string body(100 * 1000, 'r');
    server.respond(id, 200, {}, false);
    server.send_data(id, body, true);
    EXPECT_EQ(server.queued(id), body.size());
    EXPECT_EQ(server.queued(), body.size());
    pump(client, server);
    EXPECT_EQ(client.responses[id].body.size(), 16384u);
    EXPECT_EQ(server.queued(id), body.size() - 16384);
    EXPECT_EQ(server.queued(), body.size() - 16384);
    pump(client, server);
    EXPECT_EQ(client.responses[id].body.size(), 16384u) << "nothing beyond the window";

    std::size_t given = 0;
    for (int round = 0; round < 100 && !client.responses[id].closed; ++round) {
        const std::size_t got = client.responses[id].body.size();
        client.consume(id, got - given);
        given = got;
        pump(client, server);
    }
    EXPECT_EQ(client.responses[id].body, body);
    EXPECT_TRUE(client.responses[id].closed);
    EXPECT_EQ(server.queued(), 0u);
    EXPECT_EQ(h.streams[id].closes, 1);
}

TEST(http2_server_flow, data_sent_in_pieces_resumes_a_deferred_stream)
{
    recorder h;
    server_connection server{h, limits{}};
    test_client client;
    const auto id = client.get();
    pump(client, server);
    server.respond(id, 200, {}, false);
    pump(client, server);  // the provider finds nothing and defers
    EXPECT_EQ(client.responses[id].statuses, std::vector<unsigned>{200});
    server.send_data(id, "one,", false);
    pump(client, server);
    server.send_data(id, "two,", false);
    server.send_data(id, "three", false);
    pump(client, server);
    EXPECT_EQ(client.responses[id].body, "one,two,three");
    EXPECT_FALSE(client.responses[id].closed);
    server.send_data(id, "", true);
    pump(client, server);
    EXPECT_TRUE(client.responses[id].closed);
}

TEST(http2_server_limits, streams_above_max_concurrent_are_refused)
{
    recorder h;
    server_connection server{h, limits{}};
    client_options o;
    o.assumed_server_streams = 1000;  // the client sends all 130 before it reads our SETTINGS
    test_client client{o};
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 130; ++i) {
        ids.push_back(client.get("/" + std::to_string(i)));
    }
    pump(client, server);
    EXPECT_EQ(h.order.size(), 128u);
    int refused = 0;
    for (const auto id : ids) {
        const auto& r = client.responses[id];
        if (r.closed) {
            EXPECT_EQ(r.error_code, NGHTTP2_REFUSED_STREAM);
            EXPECT_EQ(h.streams.count(id), 0u);
            ++refused;
        }
    }
    EXPECT_EQ(refused, 2);
    for (const auto id : h.order) {
        server.respond(id, 200, {}, true);
    }
    pump(client, server);
    for (const auto id : h.order) {
        EXPECT_EQ(client.responses[id].statuses, std::vector<unsigned>{200});
    }
    EXPECT_TRUE(server.idle());
}

TEST(http2_server_limits, header_list_above_the_limit_is_answered_431)
{
    recorder h;
    server_connection server{h, limits{}};
    test_client client;
    field_list fields{{":method", "GET"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/"}};
    for (int i = 0; i < 20; ++i) {
        fields.emplace_back("x-big-" + std::to_string(i), std::string(4000, 'a' + i % 26));
    }
    const auto get = client.request(fields);
    const auto post = client.request(fields, std::string(200000, 'p'));  // more than a window
    const auto fine = client.get("/after");  // HPACK state survived
    pump(client, server);
    EXPECT_EQ(h.order, std::vector<std::int32_t>{fine});
    EXPECT_EQ(client.responses[get].statuses, std::vector<unsigned>{431});
    EXPECT_TRUE(client.responses[get].closed);
    EXPECT_EQ(client.responses[post].statuses, std::vector<unsigned>{431});
    EXPECT_TRUE(client.responses[post].closed);
    EXPECT_EQ(client.responses[post].error_code, NGHTTP2_NO_ERROR);  // RST_STREAM(NO_ERROR): stop sending
    EXPECT_TRUE(server.error().empty());
}

// --- what a request must look like -------------------------------------------------------

TEST_F(http2_server, cookie_crumbs_are_joined)
{
    const auto id = client.request({{":method", "GET"},
                                    {":scheme", "https"},
                                    {":authority", "e.com"},
                                    {":path", "/"},
                                    {"cookie", "a=1"},
                                    {"accept", "*/*"},
                                    {"cookie", "b=2"},
                                    {"cookie", "c=3"}});
    const auto one = client.request(
        {{":method", "GET"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/"}, {"cookie", "only=1"}});
    pump(client, server);
    EXPECT_EQ(h.streams[id].fields, (field_list{{"cookie", "a=1; b=2; c=3"}, {"accept", "*/*"}}));
    EXPECT_EQ(h.streams[one].fields, (field_list{{"cookie", "only=1"}}));
}

TEST_F(http2_server, host_stands_in_for_a_missing_authority)
{
    const auto host_only =
        client.request({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"host", "app.example.com"}});
    const auto both = client.request(
        {{":method", "GET"}, {":scheme", "https"}, {":authority", "App.Example.com"}, {":path", "/"}, {"host", "app.example.COM"}});
    const auto neither = client.request({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}});
    const auto differ = client.request(
        {{":method", "GET"}, {":scheme", "https"}, {":authority", "a.example.com"}, {":path", "/"}, {"host", "b.example.com"}});
    pump(client, server);
    EXPECT_EQ(h.streams[host_only].authority, "app.example.com");
    EXPECT_FALSE(has_name(h.streams[host_only].fields, "host"));
    EXPECT_EQ(h.streams[both].authority, "App.Example.com");
    EXPECT_EQ(h.streams[neither].authority, "");
    EXPECT_EQ(h.streams.count(differ), 0u);
    EXPECT_EQ(client.responses[differ].error_code, NGHTTP2_PROTOCOL_ERROR);
}

struct malformed_case {
    const char* what;
    field_list fields;
    std::uint32_t code;
};

// nghttp2's own HTTP messaging checks (RFC 9113 §8.2, §8.3), kept on: each of these must end
// its stream, never reach the handler, and leave the connection usable.
TEST(http2_server_requests, malformed_requests_are_reset)
{
    const std::vector<malformed_case> cases{
        {"no :method", {{":scheme", "https"}, {":authority", "e.com"}, {":path", "/"}}, NGHTTP2_PROTOCOL_ERROR},
        {"no :path", {{":method", "GET"}, {":scheme", "https"}, {":authority", "e.com"}}, NGHTTP2_PROTOCOL_ERROR},
        {"no :scheme", {{":method", "GET"}, {":authority", "e.com"}, {":path", "/"}}, NGHTTP2_PROTOCOL_ERROR},
        {"empty :path", {{":method", "GET"}, {":scheme", "https"}, {":path", ""}}, NGHTTP2_PROTOCOL_ERROR},
        {"repeated :path",
         {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":path", "/x"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"unknown pseudo-field",
         {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":foo", "x"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"pseudo-field after a regular one",
         {{":method", "GET"}, {":scheme", "https"}, {"accept", "*/*"}, {":path", "/"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"upper-case name", {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"Accept", "*/*"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"connection", {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"connection", "close"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"keep-alive", {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"keep-alive", "1"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"transfer-encoding",
         {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"transfer-encoding", "chunked"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"upgrade", {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"upgrade", "websocket"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"te other than trailers", {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"te", "gzip"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"extended CONNECT without the setting",
         {{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"}, {":path", "/"}, {":authority", "e.com"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"NUL in a value", {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"x", std::string("a\0b", 3)}},
         NGHTTP2_PROTOCOL_ERROR},
        {"two content-lengths",
         {{":method", "POST"}, {":scheme", "https"}, {":path", "/"}, {"content-length", "1"}, {"content-length", "1"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"content-length not a number",
         {{":method", "POST"}, {":scheme", "https"}, {":path", "/"}, {"content-length", "1a"}},
         NGHTTP2_PROTOCOL_ERROR},
        {"CONNECT (not supported)", {{":method", "CONNECT"}, {":authority", "e.com:443"}}, NGHTTP2_REFUSED_STREAM},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        recorder h;
        server_connection server{h, limits{}};
        test_client client;
        const auto bad = client.request(c.fields);
        const auto good = client.get("/next");
        pump(client, server);
        EXPECT_EQ(h.streams.count(bad), 0u);
        EXPECT_TRUE(client.responses[bad].closed);
        EXPECT_EQ(client.responses[bad].error_code, c.code);
        EXPECT_EQ(h.order, std::vector<std::int32_t>{good});
        EXPECT_TRUE(server.error().empty()) << server.error();
        EXPECT_TRUE(server.idle() == false);
    }
}

TEST_F(http2_server, te_trailers_passes)
{
    const auto id =
        client.request({{":method", "GET"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/"}, {"te", "trailers"}});
    pump(client, server);
    EXPECT_TRUE(has_field(h.streams[id].fields, "te", "trailers"));
}

TEST_F(http2_server, body_longer_than_content_length_resets_the_stream)
{
    const auto id = client.request(
        {{":method", "POST"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/"}, {"content-length", "3"}},
        std::string{"12345"});
    pump(client, server);
    EXPECT_EQ(h.streams[id].ends, 0);
    EXPECT_EQ(h.streams[id].closes, 1);
    EXPECT_EQ(h.streams[id].close_code, NGHTTP2_PROTOCOL_ERROR);
    EXPECT_TRUE(server.idle());
}

TEST_F(http2_server, request_trailers_end_the_body)
{
    const auto id = client.request({{":method", "POST"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/t"}},
                                   std::string{"abc"}, {{"x-checksum", "900150983cd24fb0"}});
    pump(client, server);
    EXPECT_EQ(h.streams[id].body, "abc");
    EXPECT_EQ(h.streams[id].ends, 1);
    EXPECT_FALSE(has_name(h.streams[id].fields, "x-checksum"));
}

// --- the server's own decisions -----------------------------------------------------------

TEST_F(http2_server, reset_sends_rst_stream_and_closes)
{
    const auto id = client.get();
    pump(client, server);
    server.respond(id, 200, {}, false);
    server.send_data(id, std::string(1000, 'q'), false);
    server.reset(id, NGHTTP2_INTERNAL_ERROR);
    EXPECT_EQ(server.queued(), 0u);
    pump(client, server);
    EXPECT_TRUE(client.responses[id].closed);
    EXPECT_EQ(client.responses[id].error_code, NGHTTP2_INTERNAL_ERROR);
    EXPECT_EQ(h.streams[id].closes, 1);
    EXPECT_EQ(h.streams[id].close_code, NGHTTP2_INTERNAL_ERROR);
    EXPECT_TRUE(server.idle());
}

TEST_F(http2_server, reset_from_inside_on_request)
{
    h.then_request = [&](const request& r) { server.reset(r.stream_id, NGHTTP2_REFUSED_STREAM); };
    const auto id = client.get();
    pump(client, server);
    EXPECT_EQ(client.responses[id].error_code, NGHTTP2_REFUSED_STREAM);
    EXPECT_EQ(h.streams[id].closes, 1);
}

TEST_F(http2_server, client_reset_closes_the_stream)
{
    const auto id = client.request({{":method", "POST"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/"}},
                                   std::string(100, 'x'));
    pump(client, server);
    nghttp2_submit_rst_stream(client.session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    pump(client, server);
    EXPECT_EQ(h.streams[id].closes, 1);
    EXPECT_EQ(h.streams[id].close_code, NGHTTP2_CANCEL);
    EXPECT_TRUE(server.idle());
}

TEST_F(http2_server, client_goaway_lets_open_streams_finish)
{
    const auto id = client.get();
    pump(client, server);
    nghttp2_submit_goaway(client.session(), NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
    pump(client, server);
    EXPECT_TRUE(server.want_read());
    server.respond(id, 200, {}, false);
    server.send_data(id, "bye", true);
    pump(client, server);
    EXPECT_EQ(client.responses[id].body, "bye");
    EXPECT_FALSE(server.want_read());
    EXPECT_FALSE(server.want_write());
    EXPECT_TRUE(server.error().empty());
}

TEST_F(http2_server, shutdown_drains_in_two_goaways)
{
    const auto first = client.get("/slow");
    pump(client, server);
    server.shutdown();
    const auto racing = client.get("/sent-before-the-notice");  // in flight when the notice leaves
    server.receive(client.take_output());
    pump(client, server);

    ASSERT_EQ(client.goaways.size(), 2u);
    EXPECT_EQ(client.goaways[0].last_stream_id, (1u << 31) - 1);
    EXPECT_EQ(client.goaways[0].error_code, NGHTTP2_NO_ERROR);
    EXPECT_EQ(client.goaways[1].last_stream_id, racing);
    EXPECT_EQ(client.goaways[1].error_code, NGHTTP2_NO_ERROR);
    EXPECT_EQ(h.order, (std::vector<std::int32_t>{first, racing}));
    EXPECT_TRUE(server.want_read());  // streams still open

    server.respond(first, 200, {}, true);
    server.respond(racing, 200, {}, true);
    pump(client, server);
    EXPECT_TRUE(server.idle());
    EXPECT_FALSE(server.want_read());
    EXPECT_FALSE(server.want_write());
    EXPECT_TRUE(server.error().empty());
    server.shutdown();  // again: nothing
    std::string out;
    server.produce(out);
    EXPECT_TRUE(out.empty());
}

// The GOAWAY frames in bytes the server produced, as (last stream id, error code).
std::vector<std::pair<std::uint32_t, std::uint32_t>> goaways_in(const std::string& bytes)
{
    std::vector<std::pair<std::uint32_t, std::uint32_t>> found;
    const auto u32 = [&](std::size_t at) {
        return (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at])) << 24) |
               (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
               (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
               static_cast<unsigned char>(bytes[at + 3]);
    };
    std::size_t at = 0;
    while (at + 9 <= bytes.size()) {
        const std::size_t n = u32(at) >> 8;
        if (bytes[at + 3] == NGHTTP2_GOAWAY) {
            found.emplace_back(u32(at + 9) & 0x7fffffff, u32(at + 13));
        }
        at += 9 + n;
    }
    return found;
}

TEST_F(http2_server, shutdown_when_idle_ends_after_the_ping)
{
    // Stepped by hand: an idle nghttp2 client that has seen a GOAWAY ignores what follows,
    // so the server's bytes are read here instead.
    pump(client, server);
    server.shutdown();
    std::string notice;
    server.produce(notice);
    EXPECT_EQ(goaways_in(notice), (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{(1u << 31) - 1, 0}}));
    EXPECT_TRUE(server.want_read()) << "still waiting for the PING's answer";
    client.feed(notice);
    EXPECT_TRUE(server.receive(client.take_output()));  // the PING ACK
    std::string final_goaway;
    server.produce(final_goaway);
    EXPECT_EQ(goaways_in(final_goaway), (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 0}}));
    EXPECT_FALSE(server.want_read());
    EXPECT_FALSE(server.want_write());
}

// --- broken connections --------------------------------------------------------------------

TEST(http2_server_errors, garbage_preface_fails_with_goaway)
{
    recorder h;
    server_connection server{h, limits{}};
    EXPECT_FALSE(server.receive("GET / HTTP/1.1\r\nHost: e.com\r\n\r\n"));
    EXPECT_NE(server.error().find("preface"), std::string_view::npos) << server.error();
    std::string out;
    server.produce(out);
    const auto types = frame_types(out);
    ASSERT_FALSE(types.empty());
    EXPECT_EQ(types.back(), NGHTTP2_GOAWAY);
    EXPECT_FALSE(server.want_write());
    EXPECT_FALSE(server.want_read());
    EXPECT_FALSE(server.receive(preface));
}

TEST(http2_server_errors, bad_frame_fails_with_goaway)
{
    recorder h;
    server_connection server{h, limits{}};
    // A PING must carry 8 bytes (RFC 9113 §6.7): FRAME_SIZE_ERROR, a connection error.
    const std::string bytes = preface + frame(NGHTTP2_SETTINGS, 0, 0, "") + frame(NGHTTP2_PING, 0, 0, "1234");
    // nghttp2 queues the GOAWAY inside mem_recv without saying so: receive() can report it
    // only once produce() has taken the frame (docs/http2.md, "Errors").
    server.receive(bytes);
    std::string out;
    server.produce(out);
    const auto types = frame_types(out);
    ASSERT_FALSE(types.empty());
    EXPECT_EQ(types.back(), NGHTTP2_GOAWAY);
    EXPECT_NE(server.error().find("FRAME_SIZE_ERROR"), std::string_view::npos) << server.error();
    EXPECT_FALSE(server.receive(frame(NGHTTP2_PING, 0, 0, "12345678")));
    EXPECT_FALSE(server.want_read());
    EXPECT_FALSE(server.want_write());
}

TEST(http2_server_errors, data_on_stream_zero_fails_with_goaway)
{
    recorder h;
    server_connection server{h, limits{}};
    server.receive(preface + frame(NGHTTP2_SETTINGS, 0, 0, "") + frame(NGHTTP2_DATA, 0, 0, "x"));
    std::string out;
    server.produce(out);
    EXPECT_EQ(frame_types(out).back(), NGHTTP2_GOAWAY);
    EXPECT_NE(server.error().find("PROTOCOL_ERROR"), std::string_view::npos) << server.error();
}

// A request head in raw HPACK: :method GET, :scheme https, :path / (static table
// entries 2, 7, 4) and :authority e.com (a literal, not indexed).
const std::string raw_get{"\x82\x87\x84\x01\x05" "e.com", 10};

std::string rst_stream(std::uint32_t stream, std::uint32_t code)
{
    std::string payload;
    for (int shift = 24; shift >= 0; shift -= 8) {
        payload += static_cast<char>(code >> shift & 0xff);
    }
    return frame(NGHTTP2_RST_STREAM, 0, stream, payload);
}

TEST(http2_server_errors, rapid_reset_is_stopped)
{
    // CVE-2023-44487: open and reset streams faster than any client needs to. nghttp2's
    // token bucket (1000 burst, 33/s; Debian's backport) answers with GOAWAY, and from
    // then on no new stream reaches the handler.
    recorder h;
    server_connection server{h, limits{}};
    ASSERT_TRUE(server.receive(preface + frame(NGHTTP2_SETTINGS, 0, 0, "")));
    std::string out;
    bool refused = false;
    for (std::uint32_t id = 1; id < 2 * 2000 && !refused; id += 2) {
        const std::string pair = frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id, raw_get) +
                                 rst_stream(id, NGHTTP2_CANCEL);
        refused = !server.receive(pair);
        out.clear();
        server.produce(out);
    }
    EXPECT_TRUE(refused);
    EXPECT_NE(server.error().find("INTERNAL_ERROR"), std::string_view::npos) << server.error();
    EXPECT_GE(h.order.size(), 1000u);  // the burst
    EXPECT_LE(h.order.size(), 1010u);
    EXPECT_FALSE(server.want_read());
    EXPECT_FALSE(server.want_write());
}

TEST(http2_server_errors, continuation_flood_is_stopped)
{
    // CVE-2024-28182: a header block that never ends. nghttp2 allows 8 CONTINUATION
    // frames (Debian's backport), then ends the connection.
    recorder h;
    server_connection server{h, limits{}};
    std::string bytes = preface + frame(NGHTTP2_SETTINGS, 0, 0, "");
    bytes += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, raw_get);
    for (int i = 0; i < 20; ++i) {
        bytes += frame(NGHTTP2_CONTINUATION, 0, 1, std::string{"\x40\x01x\x01y", 5});  // x: y, literal
    }
    server.receive(bytes);
    std::string out;
    server.produce(out);
    EXPECT_EQ(frame_types(out).back(), NGHTTP2_GOAWAY);
    EXPECT_FALSE(server.error().empty());
    EXPECT_TRUE(h.order.empty());
}

TEST(http2_server_errors, raw_request_reaches_the_handler)
{
    // The raw frames above are right: the same head, ended properly, is a request.
    recorder h;
    server_connection server{h, limits{}};
    EXPECT_TRUE(server.receive(preface + frame(NGHTTP2_SETTINGS, 0, 0, "") +
                               frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1, raw_get)));
    ASSERT_EQ(h.order, std::vector<std::int32_t>{1});
    EXPECT_EQ(h.streams[1].authority, "e.com");
}

TEST(http2_server_errors, handler_exception_ends_the_connection)
{
    recorder h;
    h.then_request = [](const request&) { throw std::runtime_error{"upstream table gone"}; };
    server_connection server{h, limits{}};
    test_client client;
    client.get();
    EXPECT_FALSE(server.receive(client.take_output()));
    EXPECT_NE(server.error().find("upstream table gone"), std::string_view::npos) << server.error();
    std::string out;
    server.produce(out);
    EXPECT_EQ(frame_types(out).back(), NGHTTP2_GOAWAY);
    client.feed(out);
    ASSERT_FALSE(client.goaways.empty());
    EXPECT_EQ(client.goaways.back().error_code, NGHTTP2_INTERNAL_ERROR);
}

TEST(http2_server_errors, handler_exception_while_producing_ends_the_connection)
{
    struct throws_on_close final : public handler {
        server_connection* server = nullptr;
        void on_request(const request& r) override { server->respond(r.stream_id, 200, {}, true); }
        void on_data(std::int32_t, std::string_view) override {}
        void on_end(std::int32_t) override {}
        void on_close(std::int32_t, std::uint32_t) override { throw std::runtime_error{"log file full"}; }
    } h;
    server_connection server{h, limits{}};
    h.server = &server;
    test_client client;
    client.get();
    EXPECT_TRUE(server.receive(client.take_output()));
    std::string out;
    server.produce(out);  // the response's HEADERS closes the stream: on_close throws
    EXPECT_NE(server.error().find("log file full"), std::string_view::npos) << server.error();
    EXPECT_EQ(frame_types(out).back(), NGHTTP2_GOAWAY);
    EXPECT_FALSE(server.receive("x"));
    EXPECT_FALSE(server.want_write());
}

TEST(http2_server_errors, bytes_split_anywhere_give_the_same_requests)
{
    test_client client;
    client.get("/a");
    client.request({{":method", "POST"}, {":scheme", "https"}, {":authority", "e.com"}, {":path", "/b"}},
                   std::string(3000, 'z'));
    const std::string bytes = client.take_output();
    for (std::size_t step : {1u, 7u, 100u}) {
        recorder h;
        server_connection server{h, limits{}};
        for (std::size_t at = 0; at < bytes.size(); at += step) {
            ASSERT_TRUE(server.receive(std::string_view{bytes}.substr(at, step)));
        }
        EXPECT_EQ(h.order.size(), 2u);
        EXPECT_EQ(h.streams[3].body, std::string(3000, 'z'));
        EXPECT_EQ(h.streams[3].ends, 1);
    }
}

} // namespace
} // namespace stork::http2
