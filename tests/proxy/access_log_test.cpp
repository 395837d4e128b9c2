#include "proxy/access_log.hpp"

#include "tests/support/temp_dir.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace stork::proxy {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

// 2026-11-21T10:00:00.123456Z
std::chrono::system_clock::time_point sample_time()
{
    using namespace std::chrono;
    return sys_days{year{2026} / November / 21} + 10h + 123456us;
}

access_record sample_record()
{
    access_record r;
    r.time = sample_time();
    r.worker = 0;
    r.client = {net::ip::make_address("127.0.0.1"), 53422};
    r.host = "my-app.example.com";
    r.method = "GET";
    r.path = "/x?y";
    r.status = 200;
    r.bytes_in = 123;
    r.bytes_out = 456;
    r.upstream = "10.0.0.5:80";
    r.rule = "my-app.example.com";
    r.mode = "proxy";
    r.duration_us = 345;
    return r;
}

std::string format(const access_record& r)
{
    std::string out;
    access_line_formatter{}.append(out, r);
    return out;
}

std::string json_string(std::string_view s)
{
    std::string out;
    append_json_string(out, s);
    return out;
}

// Splits on '\n'; the text must end with one.
std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
        lines.emplace_back(text, start, nl - start);
    }
    EXPECT_EQ(start, text.size()) << "text does not end with a whole line";
    return lines;
}

// Well-formed UTF-8 (RFC 3629), written independently of the code under test.
bool valid_utf8(std::string_view s)
{
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t n;
        char32_t cp;
        if (b < 0x80) {
            n = 1;
            cp = b;
        } else if ((b & 0xe0) == 0xc0) {
            n = 2;
            cp = b & 0x1f;
        } else if ((b & 0xf0) == 0xe0) {
            n = 3;
            cp = b & 0x0f;
        } else if ((b & 0xf8) == 0xf0) {
            n = 4;
            cp = b & 0x07;
        } else {
            return false;
        }
        if (i + n > s.size()) {
            return false;
        }
        for (std::size_t k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (c & 0x3f);
        }
        const char32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += n;
    }
    return true;
}

config::access_log_config file_config(const std::filesystem::path& path)
{
    config::access_log_config c;
    c.where = config::access_log_config::kind::file;
    c.path = path;
    return c;
}

TEST(access_log, sample_line_exactly)
{
    EXPECT_EQ(format(sample_record()),
              R"({"time":"2026-11-21T10:00:00.123456Z","worker":0,"client":"127.0.0.1:53422",)"
              R"("host":"my-app.example.com","method":"GET","path":"/x?y","status":200,"bytes_in":123,)"
              R"("bytes_out":456,"upstream":"10.0.0.5:80","rule":"my-app.example.com","mode":"proxy",)"
              R"("duration_us":345})"
              "\n");
}

TEST(access_log, empty_fields_and_large_numbers)
{
    auto r = sample_record();
    r.host = "";
    r.upstream = "";
    r.rule = "";
    r.mode = "fallback";
    r.worker = 17;
    r.status = 502;
    r.bytes_in = 18446744073709551615ull;
    r.bytes_out = 0;
    r.duration_us = 0;
    EXPECT_EQ(format(r),
              R"({"time":"2026-11-21T10:00:00.123456Z","worker":17,"client":"127.0.0.1:53422",)"
              R"("host":"","method":"GET","path":"/x?y","status":502,"bytes_in":18446744073709551615,)"
              R"("bytes_out":0,"upstream":"","rule":"","mode":"fallback","duration_us":0})"
              "\n");
}

TEST(access_log, time_formatting)
{
    using namespace std::chrono;
    struct row {
        system_clock::time_point time;
        const char* expected;
    };
    const row rows[] = {
        {system_clock::time_point{}, "1970-01-01T00:00:00.000000Z"},
        {sys_days{year{2024} / February / 29} + 23h + 59min + 59s + 999999us, "2024-02-29T23:59:59.999999Z"},
        {sys_days{year{2000} / January / 1} + 1us, "2000-01-01T00:00:00.000001Z"},
        // Sub-microsecond parts are cut, not rounded into the next second.
        {sys_days{year{2030} / December / 31} + 12h + 999999999ns, "2030-12-31T12:00:00.999999Z"},
    };
    // One formatter for all rows, in an order that changes second, so the cached prefix must
    // be refreshed each time; then the first row again.
    access_line_formatter formatter;
    for (const auto& row : rows) {
        auto r = sample_record();
        r.time = row.time;
        std::string out;
        formatter.append(out, r);
        EXPECT_EQ(out.substr(9, 27), row.expected) << out;
    }
    auto r = sample_record();
    r.time = rows[0].time;
    std::string out;
    formatter.append(out, r);
    EXPECT_EQ(out.substr(9, 27), rows[0].expected);
}

TEST(access_log, ipv6_and_ipv4_mapped_clients)
{
    struct row {
        const char* address;
        unsigned short port;
        const char* expected;
    };
    const row rows[] = {
        {"::1", 8080, "[::1]:8080"},
        {"2001:db8::5", 443, "[2001:db8::5]:443"},
        {"::ffff:192.0.2.1", 1, "[::ffff:192.0.2.1]:1"},
        {"255.255.255.255", 65535, "255.255.255.255:65535"},
        {"0.0.0.0", 0, "0.0.0.0:0"},
        // RFC 5952: longest zero run compressed, the first on a tie, never a single group;
        // lowercase, no leading zeros.
        {"::", 1, "[::]:1"},
        {"1::", 1, "[1::]:1"},
        {"2001:DB8:0:0:1:0:0:1", 1, "[2001:db8::1:0:0:1]:1"},
        {"2001:db8:0:0:0:0:2:1", 1, "[2001:db8::2:1]:1"},
        {"2001:db8:0:1:1:1:1:1", 1, "[2001:db8:0:1:1:1:1:1]:1"},
        {"2001:0:0:1:0:0:0:1", 1, "[2001:0:0:1::1]:1"},
        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:1"},
        {"0:0:0:0:0:0:0:2", 1, "[::2]:1"},
        {"0:0:0:0:0:0:2:3", 1, "[::2:3]:1"},
        {"::ffff:0:1", 1, "[::ffff:0.0.0.1]:1"},
    };
    for (const auto& row : rows) {
        std::string out;
        append_endpoint(out, {net::ip::make_address(row.address), row.port});
        EXPECT_EQ(out, row.expected);
    }
    auto link_local = net::ip::make_address_v6("fe80::1");
    link_local.scope_id(3);
    std::string out;
    append_endpoint(out, {link_local, 80});
    EXPECT_EQ(out, "[fe80::1%3]:80");

    auto r = sample_record();
    r.client = {net::ip::make_address("::1"), 53422};
    EXPECT_NE(format(r).find(R"("client":"[::1]:53422")"), std::string::npos);
}

// The hand-written IPv6 form agrees with inet_ntop (behind Asio's to_string) wherever
// inet_ntop does not use its embedded-IPv4 forms (::a.b.c.d and ::ffff:a.b.c.d).
TEST(access_log, ipv6_matches_inet_ntop)
{
    std::mt19937 random{12345};
    for (int n = 0; n < 100000; ++n) {
        net::ip::address_v6::bytes_type bytes{};
        for (std::size_t g = 0; g < 8; ++g) {
            // Mostly zero groups, so that runs of every length and position occur.
            const unsigned value = random() % 3 == 0 ? static_cast<unsigned>(random() % 0x10000) : 0;
            bytes[2 * g] = static_cast<unsigned char>(value >> 8);
            bytes[2 * g + 1] = static_cast<unsigned char>(value);
        }
        const net::ip::address_v6 address{bytes};
        if (std::all_of(bytes.begin(), bytes.begin() + 10, [](unsigned char b) { return b == 0; }) &&
            ((bytes[10] == 0 && bytes[11] == 0) || (bytes[10] == 0xff && bytes[11] == 0xff))) {
            continue;
        }
        std::string out;
        append_endpoint(out, {address, 7});
        ASSERT_EQ(out, "[" + address.to_string() + "]:7");
    }
}

TEST(access_log, escaping_table)
{
    struct row {
        std::string_view in;
        std::string_view expected;
    };
    using namespace std::string_view_literals;
    const row rows[] = {
        {"", R"("")"},
        {"plain /path?a=b&c", R"("plain /path?a=b&c")"},
        {R"(a"b\c)", R"("a\"b\\c")"},
        {"\n\r\t\x01\x1f\x7f", R"("\u000a\u000d\u0009\u0001\u001f\u007f")"},
        {"nul\0byte"sv, R"("nul\u0000byte")"},
        // Well-formed UTF-8 passes through: 2, 3 and 4 bytes, the edges of the ranges.
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
         "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""},
        {"\xed\x9f\xbf", "\"\xed\x9f\xbf\""},   // U+D7FF, just below the surrogates
        // Not UTF-8: each offending byte becomes \u00XX, what follows is read afresh.
        {"\x80", R"("\u0080")"},                                   // lone continuation
        {"\xff\xfe", R"("\u00ff\u00fe")"},                         // never in UTF-8
        {"\xc0\xaf", R"("\u00c0\u00af")"},                         // overlong '/'
        {"\xe0\x80\xaf", R"("\u00e0\u0080\u00af")"},               // overlong '/', 3 bytes
        {"\xed\xa0\x80", R"("\u00ed\u00a0\u0080")"},               // surrogate U+D800
        {"\xf4\x90\x80\x80", R"("\u00f4\u0090\u0080\u0080")"},     // above U+10FFFF
        {"\xe2\x82", R"("\u00e2\u0082")"},                         // truncated at the end
        {"\xe2\x82x", R"("\u00e2\u0082x")"},                       // truncated in the middle
        {"\xc3\xa9\xa9", "\"\xc3\xa9\\u00a9\""},                   // valid, then a stray byte
        {"\xc3\"", R"("\u00c3\"")"},                               // lead byte, then a quote
    };
    for (const auto& row : rows) {
        EXPECT_EQ(json_string(row.in), row.expected) << "input: " << testing::PrintToString(std::string{row.in});
    }
}

// Attacker-controlled host and path: the line must parse as JSON, be valid UTF-8, and give
// back the same fields (byte for byte where the input was valid UTF-8).
TEST(access_log, hostile_fields_parse_back)
{
    using namespace std::string_view_literals;
    const std::string_view valid_host = "\xc3\xa9t\xc3\xa9.example \"quoted\" back\\slash"sv;
    const std::string_view valid_path = "/\xe6\x97\xa5\xe6\x9c\xac?q=\xf0\x9f\x98\x80&a=\"b\"\t\n\r\x01\x7f\0end"sv;
    const std::string_view invalid_path = "/x\xff\xc0\xaf\xed\xa0\x80\xe2\x82"sv;

    auto r = sample_record();
    r.host = valid_host;
    r.path = valid_path;
    r.rule = invalid_path;
    r.mode = "expired";
    r.client = {net::ip::make_address("2001:db8::1"), 9};
    const std::string line = format(r);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_TRUE(valid_utf8(line));

    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << ec.message() << "\n" << line;
    const auto& o = v.as_object();
    ASSERT_EQ(o.size(), 13u);
    const char* keys[] = {"time",     "worker",   "client", "host", "method", "path",       "status",
                          "bytes_in", "bytes_out", "upstream", "rule", "mode", "duration_us"};
    std::size_t k = 0;
    for (const auto& member : o) {
        EXPECT_EQ(member.key(), keys[k++]);
    }
    EXPECT_EQ(o.at("time").as_string(), "2026-11-21T10:00:00.123456Z");
    EXPECT_EQ(o.at("client").as_string(), "[2001:db8::1]:9");
    EXPECT_EQ(o.at("host").as_string(), valid_host);
    EXPECT_EQ(o.at("path").as_string(), valid_path);
    // Invalid bytes come back as the code points U+0080..U+00FF of the same value.
    EXPECT_EQ(o.at("rule").as_string(),
              "/x\xc3\xbf\xc3\x80\xc2\xaf\xc3\xad\xc2\xa0\xc2\x80\xc3\xa2\xc2\x82");
    EXPECT_EQ(o.at("mode").as_string(), "expired");
    EXPECT_EQ(o.at("status").as_int64(), 200);
    EXPECT_EQ(o.at("bytes_in").as_int64(), 123);
    EXPECT_EQ(o.at("bytes_out").as_int64(), 456);
    EXPECT_EQ(o.at("duration_us").as_int64(), 345);
}

// Every single byte value and every two-byte pair: the result is always valid JSON and UTF-8.
TEST(access_log, every_byte_pair_gives_valid_json)
{
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            const char in[3] = {static_cast<char>(a), static_cast<char>(b), '\xe2'};
            const std::string out = json_string({in, 3});
            ASSERT_TRUE(valid_utf8(out)) << a << " " << b;
            boost::system::error_code ec;
            boost::json::parse(out, ec);
            ASSERT_FALSE(ec) << a << " " << b << ": " << out;
        }
    }
}

TEST(access_log, off_gives_no_sink_and_a_disabled_writer)
{
    config::access_log_config c;
    c.where = config::access_log_config::kind::off;
    auto sink = access_log_sink::open(c);
    EXPECT_EQ(sink, nullptr);
    access_log_writer writer{sink};
    EXPECT_FALSE(writer.enabled());
    writer.append(sample_record());
    EXPECT_EQ(writer.buffered_bytes(), 0u);
    writer.flush();
}

TEST(access_log, stdout_sink)
{
    config::access_log_config c;
    c.where = config::access_log_config::kind::stdout_stream;
    auto sink = access_log_sink::open(c);
    ASSERT_NE(sink, nullptr);
    EXPECT_TRUE(sink->path().empty());
    EXPECT_FALSE(sink->reopen());
    access_log_writer writer{sink};
    EXPECT_TRUE(writer.enabled());
}

TEST(access_log, buffers_until_flush_or_32_kib)
{
    test::temp_dir dir;
    const auto path = dir.path() / "access.log";
    auto sink = access_log_sink::open(file_config(path));
    ASSERT_TRUE(std::filesystem::exists(path));
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::others_all,
              std::filesystem::perms::none);
    const std::string line = format(sample_record());

    access_log_writer writer{sink};
    EXPECT_TRUE(writer.enabled());
    writer.append(sample_record());
    writer.append(sample_record());
    EXPECT_EQ(test::read_file(path), "");
    EXPECT_EQ(writer.buffered_bytes(), 2 * line.size());
    writer.flush();
    EXPECT_EQ(test::read_file(path), line + line);
    EXPECT_EQ(writer.buffered_bytes(), 0u);
    EXPECT_EQ(sink->lines_written(), 2u);
    writer.flush();   // nothing buffered: nothing written
    EXPECT_EQ(sink->lines_written(), 2u);

    // Up to the threshold nothing more reaches the file; the line that passes it sends all.
    const std::size_t below = (access_log_writer::flush_threshold - 1) / line.size();
    for (std::size_t i = 0; i < below; ++i) {
        writer.append(sample_record());
    }
    EXPECT_EQ(test::read_file(path).size(), 2 * line.size());
    writer.append(sample_record());
    EXPECT_EQ(writer.buffered_bytes(), 0u);
    EXPECT_EQ(test::read_file(path).size(), (2 + below + 1) * line.size());
    EXPECT_EQ(sink->lines_written(), 2 + below + 1);
    EXPECT_EQ(sink->write_errors(), 0u);

    // The destructor flushes what is left.
    writer.append(sample_record());
    { access_log_writer moved{std::move(writer)}; }
    EXPECT_EQ(test::read_file(path).size(), (2 + below + 2) * line.size());
}

TEST(access_log, appends_to_an_existing_file)
{
    test::temp_dir dir;
    const auto path = dir.write("access.log", "earlier\n");
    {
        access_log_writer writer{access_log_sink::open(file_config(path))};
        writer.append(sample_record());
    }
    EXPECT_EQ(test::read_file(path), "earlier\n" + format(sample_record()));
}

TEST(access_log, reopen_after_rename)
{
    test::temp_dir dir;
    const auto path = dir.path() / "access.log";
    const auto rotated = dir.path() / "access.log.1";
    auto sink = access_log_sink::open(file_config(path));
    access_log_writer writer{sink};

    auto before = sample_record();
    before.path = "/before";
    writer.append(before);
    writer.flush();
    std::filesystem::rename(path, rotated);
    // Until the reopen, lines follow the open file to its new name.
    writer.append(before);
    writer.flush();
    ASSERT_FALSE(sink->reopen());
    auto after = sample_record();
    after.path = "/after";
    writer.append(after);
    writer.flush();

    EXPECT_EQ(test::read_file(rotated), format(before) + format(before));
    EXPECT_EQ(test::read_file(path), format(after));

    // The descriptor kept close-on-exec through the swap.
    int found = 0;
    for (const auto& entry : std::filesystem::directory_iterator{"/proc/self/fd"}) {
        std::error_code ec;
        if (std::filesystem::read_symlink(entry.path(), ec) == path) {
            const int fd = std::stoi(entry.path().filename().string());
            EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
            ++found;
        }
    }
    EXPECT_EQ(found, 1);
}

TEST(access_log, write_errors_are_counted_not_thrown)
{
    // /dev/full fails every write with ENOSPC, like a full disk.
    auto sink = access_log_sink::open(file_config("/dev/full"));
    access_log_writer writer{sink};
    writer.append(sample_record());
    writer.flush();
    writer.append(sample_record());
    writer.flush();
    EXPECT_EQ(sink->write_errors(), 2u);
    EXPECT_EQ(sink->lines_written(), 0u);
    EXPECT_EQ(writer.buffered_bytes(), 0u);   // dropped, not kept to grow without bound
}

TEST(access_log, failed_reopen_keeps_the_old_file)
{
    test::temp_dir dir;
    const auto sub = dir.path() / "logs";
    std::filesystem::create_directory(sub);
    const auto path = sub / "access.log";
    auto sink = access_log_sink::open(file_config(path));
    std::filesystem::rename(sub, dir.path() / "gone");
    EXPECT_EQ(sink->reopen(), std::errc::no_such_file_or_directory);
    access_log_writer writer{sink};
    writer.append(sample_record());
    writer.flush();
    EXPECT_EQ(test::read_file(dir.path() / "gone" / "access.log"), format(sample_record()));
}

TEST(access_log, unwritable_path_throws_with_the_path)
{
    test::temp_dir dir;
    // A regular file where a folder should be: fails even for root, unlike permissions.
    const auto not_a_folder = dir.write("plain-file", "x");
    const auto path = not_a_folder / "access.log";
    try {
        access_log_sink::open(file_config(path));
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string{e.what()}.find(path.string()), std::string::npos) << e.what();
        EXPECT_EQ(e.code(), std::errc::not_a_directory);
    }
}

TEST(access_log, concurrent_writers_never_interleave)
{
    test::temp_dir dir;
    const auto path = dir.path() / "access.log";
    auto sink = access_log_sink::open(file_config(path));
    constexpr unsigned threads = 4;
    constexpr unsigned per_thread = 10000;

    std::vector<std::thread> workers;
    for (unsigned w = 0; w < threads; ++w) {
        workers.emplace_back([sink, w] {
            access_log_writer writer{sink};
            // Lines of different lengths so that batch boundaries fall at different places.
            const std::string long_path = "/" + std::string(100 + 700 * w, 'a' + static_cast<char>(w));
            for (unsigned i = 0; i < per_thread; ++i) {
                auto r = sample_record();
                r.worker = w;
                r.path = i % 7 == 0 ? std::string_view{long_path} : std::string_view{"/short"};
                r.duration_us = i;
                writer.append(r);
            }
            writer.flush();
        });
    }
    for (auto& t : workers) {
        t.join();
    }

    const auto lines = lines_of(test::read_file(path));
    ASSERT_EQ(lines.size(), threads * per_thread);
    EXPECT_EQ(sink->lines_written(), threads * per_thread);
    EXPECT_EQ(sink->write_errors(), 0u);
    std::map<std::int64_t, std::vector<std::int64_t>> seen;
    for (const auto& line : lines) {
        boost::system::error_code ec;
        const auto v = boost::json::parse(line, ec);
        ASSERT_FALSE(ec) << line.substr(0, 200);
        const auto& o = v.as_object();
        ASSERT_EQ(o.size(), 13u);
        seen[o.at("worker").as_int64()].push_back(o.at("duration_us").as_int64());
    }
    ASSERT_EQ(seen.size(), threads);
    for (const auto& [worker, sequence] : seen) {
        ASSERT_EQ(sequence.size(), per_thread) << worker;
        for (unsigned i = 0; i < per_thread; ++i) {
            ASSERT_EQ(sequence[i], i) << "worker " << worker << " lines out of order";
        }
    }
}

} // namespace
} // namespace stork::proxy
