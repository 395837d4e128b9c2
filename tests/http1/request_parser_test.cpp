#include "http1/message.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stork::http1 {
namespace {

using namespace std::string_literals;

// --- errors: one row per shape, every error a request can have ---------------------

struct bad_case {
    const char* what;
    std::string input;
    error expected;
};

const std::vector<bad_case> bad_requests{
    // request line
    {"no target", "GET\r\nHost: a\r\n\r\n", error::bad_request_line},
    {"HTTP/0.9", "GET /\r\nHost: a\r\n\r\n", error::bad_request_line},
    {"SP after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", error::bad_request_line},
    {"method not a token", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", error::bad_method},
    {"empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", error::bad_method},
    {"tab after method", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", error::bad_method},
    {"two SP", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", error::bad_target},
    {"obs-text target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", error::bad_target},
    {"DEL in target", "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", error::bad_target},
    {"NUL in target", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"s, error::bad_target},
    {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", error::bad_version},
    {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", error::bad_version},
    {"HTTP/1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", error::bad_version},
    {"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", error::bad_version},
    // line endings
    {"bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", error::bad_line_ending},
    {"bare LF after field", "GET / HTTP/1.1\r\nHost: a\n\r\n", error::bad_line_ending},
    {"bare LF as blank line", "GET / HTTP/1.1\r\nHost: a\r\n\n", error::bad_line_ending},
    {"bare CR in value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", error::bad_line_ending},
    {"bare CR as blank line", "GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n", error::bad_line_ending},
    {"leading bare LF", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", error::bad_line_ending},
    {"leading bare CR", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", error::bad_line_ending},
    {"bare LF in target", "GET /\n HTTP/1.1\r\nHost: a\r\n\r\n", error::bad_line_ending},
    // field lines
    {"SP before colon", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", error::bad_header_name},
    {"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", error::bad_header_name},
    {"empty name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", error::bad_header_name},
    {"no colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", error::bad_header_name},
    {"name not a token", "GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n", error::bad_header_name},
    {"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"s, error::bad_header_value},
    {"DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", error::bad_header_value},
    {"VT in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x0b\r\n\r\n", error::bad_header_value},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", error::obs_fold},
    {"obs-fold tab", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", error::obs_fold},
    {"fold right after request line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", error::obs_fold},
    // Host
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX: a\r\n\r\n", error::missing_host},
    {"HTTP/1.1 empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", error::missing_host},
    {"two Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", error::repeated_host},
    {"two Host in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n", error::repeated_host},
    // Content-Length
    {"CL +5", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", error::bad_content_length},
    {"CL -1", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", error::bad_content_length},
    {"CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", error::bad_content_length},
    {"CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", error::bad_content_length},
    {"CL inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", error::bad_content_length},
    {"CL overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
        error::bad_content_length},
    {"CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", error::repeated_content_length},
    {"CL twice equal", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        error::repeated_content_length},
    {"CL twice different", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
        error::repeated_content_length},
    // Transfer-Encoding and the smuggling classics
    {"CL.TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n",
        error::length_and_chunked},
    {"TE.CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n",
        error::length_and_chunked},
    {"chunked, identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        error::bad_transfer_encoding},
    {"xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", error::bad_transfer_encoding},
    {"gzip only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", error::bad_transfer_encoding},
    {"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        error::bad_transfer_encoding},
    {"chunked twice over lines",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        error::bad_transfer_encoding},
    {"chunked then gzip line",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
        error::bad_transfer_encoding},
    {"empty member", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,,chunked\r\n\r\n",
        error::bad_transfer_encoding},
    {"empty TE", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", error::bad_transfer_encoding},
    {"chunked with parameter", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
        error::bad_transfer_encoding},
    {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", error::bad_transfer_encoding},
};

class request_errors : public testing::TestWithParam<bad_case> {};

TEST_P(request_errors, fail_with_their_error)
{
    const bad_case& c = GetParam();
    request_parser p;
    ASSERT_EQ(p.parse(c.input), parse_state::failed) << c.what;
    EXPECT_EQ(p.failure(), c.expected) << c.what << ": " << describe(p.failure());
    // failed is final
    EXPECT_EQ(p.parse(c.input), parse_state::failed);
    EXPECT_EQ(status_for(p.failure()), 400u);
}

INSTANTIATE_TEST_SUITE_P(request_parser, request_errors, testing::ValuesIn(bad_requests));

// Fed one byte more at a time, a bad request fails with the same error as when whole
// (maybe later, never differently).
TEST(request_parser, errors_are_the_same_byte_by_byte)
{
    for (const bad_case& c : bad_requests) {
        request_parser p;
        parse_state s = parse_state::incomplete;
        for (std::size_t n = 0; n <= c.input.size() && s == parse_state::incomplete; ++n) {
            s = p.parse(std::string_view{c.input}.substr(0, n));
        }
        ASSERT_EQ(s, parse_state::failed) << c.what;
        EXPECT_EQ(p.failure(), c.expected) << c.what;
    }
}

// --- valid requests -----------------------------------------------------------------

request_head parse_ok(request_parser& p, std::string_view in)
{
    EXPECT_EQ(p.parse(in), parse_state::complete) << in << describe(p.failure());
    return p.head();
}

TEST(request_parser, get)
{
    const std::string in = "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent:  curl/8 \t\r\nAccept: */*\r\n\r\n";
    request_parser p;
    const request_head h = parse_ok(p, in);
    EXPECT_EQ(h.method, "GET");
    EXPECT_EQ(h.target, "/a?b=c");
    EXPECT_EQ(h.minor, 1u);
    EXPECT_EQ(h.host, "example.com");
    EXPECT_EQ(h.framing, body_framing::none);
    EXPECT_EQ(h.content_length, 0u);
    EXPECT_TRUE(h.keep_alive);
    EXPECT_FALSE(h.expect_continue);
    EXPECT_FALSE(h.upgrade);
    EXPECT_EQ(h.head_bytes, in.size());
    ASSERT_EQ(h.headers.size(), 3u);
    EXPECT_EQ(h.headers[1].name, "User-Agent");
    EXPECT_EQ(h.headers[1].value, "curl/8");  // OWS trimmed both sides
    // zero-copy: the views point into the input
    EXPECT_EQ(h.method.data(), in.data());
    EXPECT_EQ(h.headers[2].value.data(), in.data() + in.find("*/*"));
}

TEST(request_parser, field_values)
{
    request_parser p;
    const request_head h = parse_ok(p,
        "GET / HTTP/1.1\r\nHost: a\r\nEmpty:\r\nSpaces:   \r\nObs: caf\xc3\xa9\r\nInner: a \t b\r\n\r\n");
    ASSERT_EQ(h.headers.size(), 5u);
    EXPECT_EQ(h.headers[1].value, "");
    EXPECT_EQ(h.headers[2].value, "");
    EXPECT_EQ(h.headers[3].value, "caf\xc3\xa9");
    EXPECT_EQ(h.headers[4].value, "a \t b");
}

TEST(request_parser, post_with_content_length)
{
    const std::string in = "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world";
    request_parser p;
    const request_head h = parse_ok(p, in);
    EXPECT_EQ(h.framing, body_framing::length);
    EXPECT_EQ(h.content_length, 11u);
    EXPECT_EQ(in.substr(h.head_bytes), "hello world");
}

TEST(request_parser, content_length_limits)
{
    request_parser p;
    EXPECT_EQ(parse_ok(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n").content_length,
        18446744073709551615u);
    p.reset();
    EXPECT_EQ(parse_ok(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n").content_length, 7u);
}

// "Content-Length: 0" is no body: framing none (documented in message.cpp).
TEST(request_parser, content_length_zero_is_no_body)
{
    request_parser p;
    const request_head h = parse_ok(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(h.framing, body_framing::none);
    EXPECT_EQ(h.content_length, 0u);
}

TEST(request_parser, chunked)
{
    for (const char* te : {"chunked", "CHUNKED", "gzip, chunked", "gzip,chunked", "\tchunked"}) {
        request_parser p;
        const std::string in = std::string{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:"} + te + "\r\n\r\n";
        EXPECT_EQ(parse_ok(p, in).framing, body_framing::chunked) << te;
    }
    request_parser p;
    EXPECT_EQ(parse_ok(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n")
                  .framing,
        body_framing::chunked);
}

TEST(request_parser, pipelined)
{
    const std::string first = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string second = "GET /2 HTTP/1.1\r\nHost: b\r\n\r\n";
    const std::string in = first + second;
    request_parser p;
    request_head h = parse_ok(p, in);
    EXPECT_EQ(h.target, "/1");
    ASSERT_EQ(h.head_bytes, first.size());
    p.reset();
    h = parse_ok(p, std::string_view{in}.substr(h.head_bytes));
    EXPECT_EQ(h.target, "/2");
    EXPECT_EQ(h.host, "b");
    EXPECT_EQ(h.head_bytes, second.size());
}

TEST(request_parser, leading_empty_lines_are_skipped_and_counted)
{
    const std::string in = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    request_parser p;
    const request_head h = parse_ok(p, in);
    EXPECT_EQ(h.method, "GET");
    EXPECT_EQ(h.head_bytes, in.size());
}

TEST(request_parser, http10)
{
    request_parser p;
    request_head h = parse_ok(p, "GET / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(h.minor, 0u);
    EXPECT_EQ(h.host, "");
    EXPECT_FALSE(h.keep_alive);

    p.reset();
    h = parse_ok(p, "GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n");
    EXPECT_EQ(h.host, "a");
    EXPECT_TRUE(h.keep_alive);

    p.reset();
    h = parse_ok(p, "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
    EXPECT_FALSE(h.keep_alive);

    // Expect and Upgrade mean nothing in HTTP/1.0 (RFC 9110 §10.1.1, §7.8).
    p.reset();
    h = parse_ok(p, "GET / HTTP/1.0\r\nExpect: 100-continue\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
    EXPECT_FALSE(h.expect_continue);
    EXPECT_FALSE(h.upgrade);
}

TEST(request_parser, connection_close)
{
    request_parser p;
    EXPECT_FALSE(parse_ok(p, "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n").keep_alive);
    p.reset();
    EXPECT_FALSE(parse_ok(p, "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: close\r\n\r\n").keep_alive);
    p.reset();
    EXPECT_TRUE(parse_ok(p, "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n").keep_alive);
}

TEST(request_parser, upgrade)
{
    request_parser p;
    request_head h = parse_ok(p,
        "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n");
    EXPECT_TRUE(h.upgrade);
    EXPECT_TRUE(h.keep_alive);

    p.reset();
    h = parse_ok(p, "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
    EXPECT_FALSE(h.upgrade);  // not a Connection option

    p.reset();
    h = parse_ok(p, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n");
    EXPECT_FALSE(h.upgrade);  // no Upgrade field
}

TEST(request_parser, expect)
{
    request_parser p;
    EXPECT_TRUE(
        parse_ok(p, "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n").expect_continue);
    p.reset();
    EXPECT_FALSE(parse_ok(p, "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continued\r\n\r\n").expect_continue);
}

TEST(request_parser, targets)
{
    for (const char* target : {"*", "http://a.example/x", "a.example:443", "/%C3%A9?q=\"x\"#f"}) {
        request_parser p;
        const std::string in = std::string{"OPTIONS "} + target + " HTTP/1.1\r\nHost: a\r\n\r\n";
        EXPECT_EQ(parse_ok(p, in).target, target);
    }
}

TEST(request_parser, reset_reuses_storage)
{
    request_parser p;
    const std::string in = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    const header* storage = parse_ok(p, in).headers.data();
    p.reset();
    EXPECT_EQ(parse_ok(p, in).headers.data(), storage);
    // complete stays complete
    EXPECT_EQ(p.parse(in), parse_state::complete);
}

// --- incremental feeding --------------------------------------------------------------

std::vector<std::string> valid_requests()
{
    return {
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\nGET /x HTTP/1.0\r\n\r\n",
        "POST /upload?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 42\r\nConnection: close\r\n"
        "Expect: 100-continue\r\nX-Empty:\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
}

TEST(request_parser, every_split_point_gives_the_same_head)
{
    for (const std::string& in : valid_requests()) {
        request_parser whole;
        const request_head expected = parse_ok(whole, in);
        for (std::size_t split = 0; split < in.size(); ++split) {
            request_parser p;
            ASSERT_EQ(p.parse(std::string_view{in}.substr(0, split)), parse_state::incomplete) << split;
            ASSERT_EQ(p.parse(in), parse_state::complete) << split;
            const request_head& h = p.head();
            EXPECT_EQ(h.method, expected.method);
            EXPECT_EQ(h.target, expected.target);
            EXPECT_EQ(h.host, expected.host);
            EXPECT_EQ(h.framing, expected.framing);
            EXPECT_EQ(h.content_length, expected.content_length);
            EXPECT_EQ(h.keep_alive, expected.keep_alive);
            EXPECT_EQ(h.expect_continue, expected.expect_continue);
            EXPECT_EQ(h.head_bytes, expected.head_bytes);
            ASSERT_EQ(h.headers.size(), expected.headers.size());
        }
    }
}

TEST(request_parser, byte_by_byte)
{
    for (const std::string& in : valid_requests()) {
        request_parser p;
        for (std::size_t n = 0; n < in.size(); ++n) {
            ASSERT_EQ(p.parse(std::string_view{in}.substr(0, n)), parse_state::incomplete) << n;
        }
        ASSERT_EQ(p.parse(in), parse_state::complete);
        EXPECT_EQ(p.head().head_bytes, in.size());
    }
}

// --- limits ---------------------------------------------------------------------------

TEST(request_parser, head_too_large_at_the_exact_boundary)
{
    const std::string prefix = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    const std::string in = prefix + std::string(100, 'x') + "\r\n\r\n";
    {
        request_parser p{limits{.max_head_bytes = in.size(), .max_headers = 256}};
        EXPECT_EQ(p.parse(in + "GET"), parse_state::complete);
        EXPECT_EQ(p.head().head_bytes, in.size());
    }
    {
        request_parser p{limits{.max_head_bytes = in.size() - 1, .max_headers = 256}};
        // Exactly the limit without the blank line: still incomplete.
        EXPECT_EQ(p.parse(std::string_view{in}.substr(0, in.size() - 1)), parse_state::incomplete);
        // One byte over it: too large.
        EXPECT_EQ(p.parse(in), parse_state::failed);
        EXPECT_EQ(p.failure(), error::head_too_large);
        EXPECT_EQ(status_for(p.failure()), 431u);
    }
    {
        // Whole at once, too.
        request_parser p{limits{.max_head_bytes = in.size() - 1, .max_headers = 256}};
        EXPECT_EQ(p.parse(in), parse_state::failed);
        EXPECT_EQ(p.failure(), error::head_too_large);
    }
}

TEST(request_parser, head_too_large_with_the_default_limit)
{
    std::string in = "GET / HTTP/1.1\r\nHost: a\r\n";
    while (in.size() <= 64 * 1024) {
        in += "X-Filler: " + std::string(1000, 'x') + "\r\n";
    }
    request_parser p;
    EXPECT_EQ(p.parse(in), parse_state::failed);
    EXPECT_EQ(p.failure(), error::head_too_large);
}

TEST(request_parser, endless_empty_lines_are_too_large)
{
    std::string in;
    while (in.size() <= 1024) {
        in += "\r\n";
    }
    request_parser p{limits{.max_head_bytes = 1024, .max_headers = 256}};
    EXPECT_EQ(p.parse(in), parse_state::failed);
    EXPECT_EQ(p.failure(), error::head_too_large);
}

TEST(request_parser, too_many_headers)
{
    std::string in = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 1; i < 256; ++i) {
        in += "X: y\r\n";
    }
    {
        request_parser p;
        EXPECT_EQ(p.parse(in + "\r\n"), parse_state::complete);
        EXPECT_EQ(p.head().headers.size(), 256u);
    }
    {
        request_parser p;
        EXPECT_EQ(p.parse(in + "X: y\r\n\r\n"), parse_state::failed);
        EXPECT_EQ(p.failure(), error::too_many_headers);
        EXPECT_EQ(status_for(p.failure()), 431u);
    }
}

// Bad bytes are reported as soon as they arrive, without waiting for the blank line.
TEST(request_parser, early_errors)
{
    request_parser p;
    EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHo"), parse_state::incomplete);
    EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHost\n"), parse_state::failed);
    EXPECT_EQ(p.failure(), error::bad_line_ending);

    request_parser q;
    EXPECT_EQ(q.parse("G(ET"), parse_state::failed);
    EXPECT_EQ(q.failure(), error::bad_method);
}

// --- helpers --------------------------------------------------------------------------

TEST(iequals, table)
{
    EXPECT_TRUE(iequals("Content-Length", "content-length"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("Host", "Hosts"));
    EXPECT_FALSE(iequals("[", "{"));  // 0x5B and 0x7B differ by 0x20 but are not letters
    EXPECT_FALSE(iequals("\xc3", "\xe3"));
}

TEST(has_token, table)
{
    EXPECT_TRUE(has_token("close", "close"));
    EXPECT_TRUE(has_token("keep-alive , Upgrade", "upgrade"));
    EXPECT_TRUE(has_token(",, \tclose\t,", "close"));
    EXPECT_FALSE(has_token("closed", "close"));
    EXPECT_FALSE(has_token("", "close"));
    EXPECT_FALSE(has_token("a, b", ""));
    EXPECT_FALSE(has_token("\"close\"", "close"));
}

TEST(is_hop_by_hop, table)
{
    const std::vector<std::string_view> connection{"keep-alive, X-Private", "close"};
    for (const char* name :
        {"Connection", "proxy-connection", "Keep-Alive", "TE", "Transfer-Encoding", "upgrade", "x-private"}) {
        EXPECT_TRUE(is_hop_by_hop(name, connection)) << name;
    }
    for (const char* name : {"Host", "Trailer", "Content-Length", "X-Other"}) {
        EXPECT_FALSE(is_hop_by_hop(name, connection)) << name;
    }
    EXPECT_FALSE(is_hop_by_hop("X-Private", {}));
}

TEST(describe, every_error_has_a_description)
{
    for (int e = 0; e <= static_cast<int>(error::trailer_too_large); ++e) {
        EXPECT_FALSE(describe(static_cast<error>(e)).empty());
    }
    EXPECT_EQ(describe(error::length_and_chunked), "both Content-Length and Transfer-Encoding");
    EXPECT_EQ(status_for(error::bad_chunk_size), 400u);
}

} // namespace
} // namespace stork::http1
