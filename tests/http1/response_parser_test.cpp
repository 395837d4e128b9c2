#include "http1/message.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stork::http1 {
namespace {

using namespace std::string_literals;

struct bad_case {
    const char* what;
    std::string input;
    error expected;
};

const std::vector<bad_case> bad_responses{
    {"not HTTP", "HTTX/1.1 200 OK\r\n\r\n", error::bad_status_line},
    {"empty line first", "\r\nHTTP/1.1 200 OK\r\n\r\n", error::bad_status_line},
    {"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", error::bad_status_line},
    {"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", error::bad_status_line},
    {"status 099", "HTTP/1.1 099 Odd\r\n\r\n", error::bad_status_line},
    {"no status", "HTTP/1.1\r\n\r\n", error::bad_status_line},
    {"two SP", "HTTP/1.1  200 OK\r\n\r\n", error::bad_status_line},
    {"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", error::bad_status_line},
    {"HTTP/2", "HTTP/2 200 OK\r\n\r\n", error::bad_version},
    {"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", error::bad_version},
    {"HTTP/1.10", "HTTP/1.10 200 OK\r\n\r\n", error::bad_version},
    {"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", error::bad_line_ending},
    {"bare CR", "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n", error::bad_line_ending},
    {"SP before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", error::bad_header_name},
    {"NUL in value", "HTTP/1.1 200 OK\r\nX: \0\r\n\r\n"s, error::bad_header_value},
    {"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", error::obs_fold},
    {"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        error::length_and_chunked},
    {"bad CL", "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", error::bad_content_length},
    {"CL list", "HTTP/1.1 200 OK\r\nContent-Length: 5,5\r\n\r\n", error::repeated_content_length},
    {"CL twice", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        error::repeated_content_length},
    // RFC 9112 §6.3 would read until close; we refuse instead.
    {"TE not ending in chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", error::bad_transfer_encoding},
    {"TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", error::bad_transfer_encoding},
};

class response_errors : public testing::TestWithParam<bad_case> {};

TEST_P(response_errors, fail_with_their_error)
{
    const bad_case& c = GetParam();
    response_parser p;
    ASSERT_EQ(p.parse(c.input, false), parse_state::failed) << c.what;
    EXPECT_EQ(p.failure(), c.expected) << c.what << ": " << describe(p.failure());

    // And byte by byte.
    response_parser q;
    parse_state s = parse_state::incomplete;
    for (std::size_t n = 0; n <= c.input.size() && s == parse_state::incomplete; ++n) {
        s = q.parse(std::string_view{c.input}.substr(0, n), false);
    }
    ASSERT_EQ(s, parse_state::failed) << c.what;
    EXPECT_EQ(q.failure(), c.expected) << c.what;
}

INSTANTIATE_TEST_SUITE_P(response_parser, response_errors, testing::ValuesIn(bad_responses));

// The head's fields live in the parser: use them while `p` lives.
const response_head& parse_ok(response_parser& p, std::string_view in, bool head_request = false)
{
    p.reset();
    EXPECT_EQ(p.parse(in, head_request), parse_state::complete) << in << describe(p.failure());
    return p.head();
}

// For the scalar results only (the copy's fields would outlive their parser).
response_head parse_ok(std::string_view in, bool head_request = false)
{
    response_parser p;
    response_head h = parse_ok(p, in, head_request);
    h.headers = {};
    return h;
}

struct framing_case {
    std::string input;
    bool head_request;
    body_framing framing;
    std::uint64_t content_length;
};

TEST(response_parser, framing)
{
    const std::vector<framing_case> cases{
        {"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false, body_framing::length, 12},
        {"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true, body_framing::none, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, body_framing::none, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, body_framing::chunked, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, body_framing::none, 0},
        {"HTTP/1.1 200 OK\r\n\r\n", false, body_framing::until_close, 0},
        {"HTTP/1.0 200 OK\r\n\r\n", false, body_framing::until_close, 0},
        {"HTTP/1.1 100 Continue\r\n\r\n", false, body_framing::none, 0},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", false,
            body_framing::none, 0},
        {"HTTP/1.1 204 No Content\r\n\r\n", false, body_framing::none, 0},
        {"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", false, body_framing::none, 0},
        {"HTTP/1.1 999 Whatever\r\nContent-Length: 1\r\n\r\n", false, body_framing::length, 1},
    };
    for (const framing_case& c : cases) {
        const response_head h = parse_ok(c.input, c.head_request);
        EXPECT_EQ(h.framing, c.framing) << c.input;
        EXPECT_EQ(h.content_length, c.content_length) << c.input;
        EXPECT_EQ(h.head_bytes, c.input.size()) << c.input;
    }
}

TEST(response_parser, status_line)
{
    response_parser p;
    response_head h = parse_ok(p, "HTTP/1.1 404 Not Found\r\nServer: x\r\n\r\n");
    EXPECT_EQ(h.minor, 1u);
    EXPECT_EQ(h.status, 404u);
    EXPECT_EQ(h.reason, "Not Found");
    ASSERT_EQ(h.headers.size(), 1u);
    EXPECT_EQ(h.headers[0].value, "x");

    h = parse_ok("HTTP/1.0 200\r\n\r\n");  // no SP, no reason
    EXPECT_EQ(h.minor, 0u);
    EXPECT_EQ(h.status, 200u);
    EXPECT_EQ(h.reason, "");

    h = parse_ok("HTTP/1.1 200 \r\n\r\n");  // empty reason
    EXPECT_EQ(h.reason, "");

    h = parse_ok("HTTP/1.1 200 D\xc3\xa9j\xc3\xa0 vu\t!\r\n\r\n");  // obs-text and HTAB
    EXPECT_EQ(h.reason, "D\xc3\xa9j\xc3\xa0 vu\t!");
}

TEST(response_parser, keep_alive)
{
    EXPECT_TRUE(parse_ok("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
    EXPECT_FALSE(parse_ok("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").keep_alive);
    EXPECT_FALSE(parse_ok("HTTP/1.0 200 OK\r\n\r\n").keep_alive);
    EXPECT_TRUE(parse_ok("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n").keep_alive);
    // until_close framing does not touch keep_alive: it says what Connection says.
    EXPECT_TRUE(parse_ok("HTTP/1.1 200 OK\r\n\r\n").keep_alive);
}

TEST(response_parser, every_split_point_gives_the_same_head)
{
    const std::string in =
        "HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: text/html\r\n"
        "Content-Length: 1234\r\nConnection: keep-alive\r\n\r\n<html>";
    const response_head expected = parse_ok(in);
    for (std::size_t split = 0; split < expected.head_bytes; ++split) {
        response_parser p;
        ASSERT_EQ(p.parse(std::string_view{in}.substr(0, split), false), parse_state::incomplete) << split;
        ASSERT_EQ(p.parse(in, false), parse_state::complete) << split;
        EXPECT_EQ(p.head().status, 200u);
        EXPECT_EQ(p.head().framing, body_framing::length);
        EXPECT_EQ(p.head().content_length, 1234u);
        EXPECT_EQ(p.head().head_bytes, expected.head_bytes);
        EXPECT_EQ(p.head().headers.size(), 4u);
    }
}

TEST(response_parser, limits)
{
    const std::string in = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n";
    {
        response_parser p{limits{.max_head_bytes = in.size(), .max_headers = 2}};
        EXPECT_EQ(p.parse(in, false), parse_state::complete);
    }
    {
        response_parser p{limits{.max_head_bytes = in.size() - 1, .max_headers = 2}};
        EXPECT_EQ(p.parse(in, false), parse_state::failed);
        EXPECT_EQ(p.failure(), error::head_too_large);
    }
    {
        response_parser p{limits{.max_head_bytes = in.size(), .max_headers = 1}};
        EXPECT_EQ(p.parse(in, false), parse_state::failed);
        EXPECT_EQ(p.failure(), error::too_many_headers);
    }
}

TEST(response_parser, reset)
{
    response_parser p;
    EXPECT_EQ(p.parse("HTTP/1.1 100 Continue\r\n\r\n", false), parse_state::complete);
    p.reset();
    EXPECT_EQ(p.parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", false), parse_state::complete);
    EXPECT_EQ(p.head().status, 200u);
    EXPECT_EQ(p.head().headers.size(), 1u);
    p.reset();
    EXPECT_EQ(p.parse("nope", false), parse_state::failed);
    p.reset();
    EXPECT_EQ(p.parse("HTTP/1.1 204 No Content\r\n\r\n", false), parse_state::complete);
}

} // namespace
} // namespace stork::http1
