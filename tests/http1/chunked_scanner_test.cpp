#include "http1/message.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stork::http1 {
namespace {

using namespace std::string_literals;

struct scan_result {
    std::size_t consumed = 0;  // over all calls
    bool done = false;
    error failure = error::none;
    std::uint64_t data = 0;
};

// Feeds `body` in pieces of `piece` bytes (0: all at once), as a connection would: what a
// call does not consume is offered again with the next bytes.
scan_result scan_in_pieces(std::string_view body, std::size_t piece, limits l = {})
{
    chunked_scanner s{l};
    scan_result r;
    std::size_t offered = 0;
    while (!r.done && r.failure == error::none) {
        const std::size_t end = piece == 0 ? body.size() : std::min(body.size(), offered + piece);
        const auto step = s.scan(body.substr(r.consumed, end - r.consumed));
        r.consumed += step.consumed;
        r.done = step.done;
        r.failure = step.failure;
        if (!step.done && step.failure == error::none) {
            EXPECT_EQ(r.consumed, end);  // everything before the end is consumed
        }
        if (end == body.size()) {
            break;
        }
        offered = end;
    }
    r.data = s.data_bytes();
    return r;
}

struct valid_case {
    const char* what;
    std::string body;
    std::uint64_t data;
};

const std::vector<valid_case> valid_bodies{
    {"empty", "0\r\n\r\n", 0},
    {"one chunk", "5\r\nhello\r\n0\r\n\r\n", 5},
    {"two chunks, upper-case hex", "A\r\n0123456789\r\n1\r\n!\r\n0\r\n\r\n", 11},
    {"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", 5},
    {"16 digits", "0000000000000003\r\nabc\r\n0\r\n\r\n", 3},
    {"extensions", "5;name=value;q=\"a b\"\r\nhello\r\n0;last\r\n\r\n", 5},
    {"extension with BWS", "5; a = 1\r\nhello\r\n0\r\n\r\n", 5},
    {"trailers", "5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:\t1 2 \r\nEmpty:\r\n\r\n", 5},
    {"CRLF in data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", 4},
};

TEST(chunked_scanner, valid_bodies_at_every_split)
{
    for (const valid_case& c : valid_bodies) {
        const std::string with_next = c.body + "GET / HTTP/1.1\r\n";
        for (std::size_t piece = 0; piece <= c.body.size(); ++piece) {
            const scan_result r = scan_in_pieces(with_next, piece);
            EXPECT_TRUE(r.done) << c.what << " piece " << piece;
            EXPECT_EQ(r.failure, error::none) << c.what << " piece " << piece;
            EXPECT_EQ(r.consumed, c.body.size()) << c.what << " piece " << piece;
            EXPECT_EQ(r.data, c.data) << c.what << " piece " << piece;
        }
        // One split point anywhere, then the rest.
        for (std::size_t split = 0; split <= c.body.size(); ++split) {
            chunked_scanner s;
            const auto a = s.scan(std::string_view{with_next}.substr(0, split));
            ASSERT_EQ(a.failure, error::none) << c.what << " split " << split;
            if (a.done) {
                EXPECT_EQ(split, c.body.size());
                EXPECT_EQ(a.consumed, c.body.size());
                continue;
            }
            EXPECT_EQ(a.consumed, split);
            const auto b = s.scan(std::string_view{with_next}.substr(split));
            EXPECT_TRUE(b.done) << c.what << " split " << split;
            EXPECT_EQ(split + b.consumed, c.body.size()) << c.what << " split " << split;
        }
    }
}

TEST(chunked_scanner, incomplete_consumes_everything)
{
    chunked_scanner s;
    const std::string part = "10;x\r\n0123456";
    const auto r = s.scan(part);
    EXPECT_FALSE(r.done);
    EXPECT_EQ(r.failure, error::none);
    EXPECT_EQ(r.consumed, part.size());
    EXPECT_EQ(s.data_bytes(), 7u);
    const auto r2 = s.scan("789abcdef\r\n0\r\n\r\nextra");
    EXPECT_TRUE(r2.done);
    EXPECT_EQ(r2.consumed, 16u);
    EXPECT_EQ(s.data_bytes(), 16u);
    // done is final until reset
    EXPECT_TRUE(s.scan("5\r\n").done);
    EXPECT_EQ(s.scan("5\r\n").consumed, 0u);
    s.reset();
    EXPECT_EQ(s.data_bytes(), 0u);
    EXPECT_TRUE(s.scan("0\r\n\r\n").done);
}

TEST(chunked_scanner, large_sizes_are_counted_not_buffered)
{
    chunked_scanner s;
    EXPECT_EQ(s.scan("ffffffffffffffff\r\n").consumed, 18u);
    const std::string data(1 << 16, 'x');
    for (int i = 0; i < 16; ++i) {
        EXPECT_EQ(s.scan(data).consumed, data.size());
    }
    EXPECT_EQ(s.data_bytes(), 16u << 16);
}

struct bad_case {
    const char* what;
    std::string body;
    error expected;
    std::size_t at;  // consumed: where the bad byte is
};

std::vector<bad_case> bad_bodies()
{
    return {
        {"g", "g\r\n", error::bad_chunk_size, 0},
        {"-1", "-1\r\n", error::bad_chunk_size, 0},
        {"empty size", "\r\nhello\r\n", error::bad_chunk_size, 0},
        {"17 hex digits", "00000000000000001\r\nx\r\n0\r\n\r\n", error::bad_chunk_size, 16},
        {"ffffffffffffffffff", "ffffffffffffffffff\r\n", error::bad_chunk_size, 16},
        {"0x prefix", "0x5\r\nhello\r\n", error::bad_chunk_size, 1},
        {"SP after size", "5 \r\nhello\r\n0\r\n\r\n", error::bad_chunk_size, 1},
        {"SP before size", " 5\r\nhello\r\n", error::bad_chunk_size, 0},
        {"bare LF after size", "5\nhello\r\n0\r\n\r\n", error::bad_chunk_size, 1},
        {"bare CR after size", "5\rhello\r\n", error::bad_chunk_size, 2},
        {"bare LF in extension", "5;a\nhello\r\n", error::bad_chunk_size, 3},
        {"NUL in extension", "5;a\0b\r\nhello\r\n"s, error::bad_chunk_extension, 3},
        {"over-long extension", "5;" + std::string(4100, 'a') + "\r\nhello\r\n", error::bad_chunk_extension, 4096},
        {"data longer than size", "5\r\nhello!\r\n0\r\n\r\n", error::bad_chunk_end, 8},
        {"no CRLF after data", "5\r\nhello0\r\n\r\n", error::bad_chunk_end, 8},
        {"bare LF after data", "5\r\nhello\n0\r\n\r\n", error::bad_chunk_end, 8},
        {"bare CR after data", "5\r\nhello\r0\r\n\r\n", error::bad_chunk_end, 9},
        {"obs-fold in trailer", "0\r\nA: b\r\n c\r\n\r\n", error::bad_trailer, 9},
        {"SP before colon in trailer", "0\r\nA : b\r\n\r\n", error::bad_trailer, 4},
        {"empty trailer name", "0\r\n: b\r\n\r\n", error::bad_trailer, 3},
        {"NUL in trailer", "0\r\nA: \0\r\n\r\n"s, error::bad_trailer, 6},
        {"bare LF in trailer", "0\r\nA: b\n\r\n", error::bad_trailer, 7},
        {"bare LF ending", "0\r\n\n", error::bad_trailer, 3},
        {"bare CR ending", "0\r\n\rx", error::bad_trailer, 4},
    };
}

TEST(chunked_scanner, errors_whole_and_byte_by_byte)
{
    for (const bad_case& c : bad_bodies()) {
        for (const std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
            const scan_result r = scan_in_pieces(c.body, piece);
            EXPECT_FALSE(r.done) << c.what;
            EXPECT_EQ(r.failure, c.expected) << c.what << " piece " << piece << ": " << describe(r.failure);
            EXPECT_EQ(r.consumed, c.at) << c.what << " piece " << piece;
        }
    }
}

TEST(chunked_scanner, failed_is_final)
{
    chunked_scanner s;
    EXPECT_EQ(s.scan("z").failure, error::bad_chunk_size);
    const auto again = s.scan("0\r\n\r\n");
    EXPECT_EQ(again.failure, error::bad_chunk_size);
    EXPECT_EQ(again.consumed, 0u);
    EXPECT_FALSE(again.done);
    s.reset();
    EXPECT_TRUE(s.scan("0\r\n\r\n").done);
}

TEST(chunked_scanner, extension_limit_boundary)
{
    // 4096 bytes in the size line before its CR are fine, 4097 are not.
    const std::string ok = "5;" + std::string(4094, 'a') + "\r\nhello\r\n0\r\n\r\n";
    EXPECT_TRUE(scan_in_pieces(ok, 0).done);
    const std::string bad = "5;" + std::string(4095, 'a') + "\r\nhello\r\n0\r\n\r\n";
    EXPECT_EQ(scan_in_pieces(bad, 0).failure, error::bad_chunk_extension);
}

TEST(chunked_scanner, trailer_too_large)
{
    std::string body = "0\r\n";
    while (body.size() < 2000) {
        body += "X-Trailer: 0123456789\r\n";
    }
    body += "\r\n";
    const std::size_t trailer = body.size() - 3;
    EXPECT_TRUE(scan_in_pieces(body, 0, limits{.max_head_bytes = trailer, .max_headers = 256}).done);
    for (const std::size_t piece : {std::size_t{0}, std::size_t{7}}) {
        const scan_result r = scan_in_pieces(body, piece, limits{.max_head_bytes = trailer - 1, .max_headers = 256});
        EXPECT_EQ(r.failure, error::trailer_too_large);
        EXPECT_EQ(r.consumed, body.size() - 1);
    }
}


TEST(chunked_scanner, decode_gives_the_payload_without_framing_across_reads)
{
    const std::string body = "5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    for (std::size_t split = 0; split <= body.size(); ++split) {
        chunked_scanner s;
        std::string payload;
        const auto first = s.decode(std::string_view{body}.substr(0, split), payload);
        ASSERT_EQ(first.failure, error::none);
        std::size_t consumed = first.consumed;
        bool done = first.done;
        if (!done) {
            const auto second = s.decode(std::string_view{body}.substr(consumed), payload);
            ASSERT_EQ(second.failure, error::none);
            consumed += second.consumed;
            done = second.done;
        }
        EXPECT_TRUE(done) << split;
        EXPECT_EQ(payload, "helloabc") << split;
        EXPECT_EQ(body.substr(consumed), "NEXT") << split;
    }
}

TEST(chunked_scanner, decode_stops_at_a_bad_size_with_what_came_before)
{
    chunked_scanner s;
    std::string payload;
    const auto step = s.decode("2\r\nok\r\nzz\r\n", payload);
    EXPECT_EQ(step.failure, error::bad_chunk_size);
    EXPECT_EQ(payload, "ok");
}

} // namespace
} // namespace stork::http1
