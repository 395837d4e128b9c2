#include "tls/client_hello.hpp"

#include "tests/support/process.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace stork::tls {
namespace {

// --- building ClientHellos byte by byte ------------------------------------------------

std::string u8(std::size_t v)
{
    return std::string(1, static_cast<char>(v & 0xff));
}

std::string u16(std::size_t v)
{
    return u8(v >> 8) + u8(v);
}

std::string u24(std::size_t v)
{
    return u8(v >> 16) + u16(v & 0xffff);
}

std::string extension(std::size_t type, const std::string& data)
{
    return u16(type) + u16(data.size()) + data;
}

std::string sni_entry(const std::string& name, std::size_t type = 0)
{
    return u8(type) + u16(name.size()) + name;
}

std::string sni(const std::string& name)
{
    const std::string entry = sni_entry(name);
    return extension(0, u16(entry.size()) + entry);
}

std::string alpn(const std::vector<std::string>& protocols)
{
    std::string list;
    for (const auto& p : protocols) {
        list += u8(p.size()) + p;
    }
    return extension(16, u16(list.size()) + list);
}

struct hello_spec {
    std::string version = "\x03\x03";
    std::string session_id = std::string(32, '\x11');
    std::string suites = std::string{"\x13\x01\x13\x02\x00\xff", 6};
    std::string compressions = std::string(1, '\0');
    std::optional<std::string> extensions = sni("a.example.com") + extension(43, std::string{"\x02\x03\x04", 3});
};

std::string body(const hello_spec& s)
{
    std::string b = s.version + std::string(32, '\x5a') + u8(s.session_id.size()) + s.session_id +
                    u16(s.suites.size()) + s.suites + u8(s.compressions.size()) + s.compressions;
    if (s.extensions) {
        b += u16(s.extensions->size()) + *s.extensions;
    }
    return b;
}

std::string handshake(const std::string& body, std::size_t type = 1)
{
    return u8(type) + u24(body.size()) + body;
}

std::string record(const std::string& fragment, std::size_t type = 22, const std::string& version = "\x03\x01")
{
    return u8(type) + version + u16(fragment.size()) + fragment;
}

// The message in records, cut before each offset of `cuts` (ascending, inside the message).
std::string records(const std::string& message, const std::vector<std::size_t>& cuts = {})
{
    std::string out;
    std::size_t from = 0;
    for (const std::size_t cut : cuts) {
        out += record(message.substr(from, cut - from));
        from = cut;
    }
    return out + record(message.substr(from));
}

std::string hello(const hello_spec& s = {})
{
    return records(handshake(body(s)));
}

struct result {
    hello_state state = hello_state::failed;
    hello_error error = hello_error::none;
    std::string server_name;
    bool has_alpn = false;
    std::size_t bytes = 0;

    bool operator==(const result&) const = default;
};

std::ostream& operator<<(std::ostream& os, const result& r)
{
    return os << "{state " << static_cast<int>(r.state) << ", " << describe(r.error) << ", '" << r.server_name
              << "', alpn " << r.has_alpn << ", bytes " << r.bytes << "}";
}

result parse(std::string_view bytes)
{
    std::string scratch;
    client_hello out;
    hello_error error = hello_error::none;
    result r;
    r.state = parse_client_hello(bytes, scratch, out, error);
    r.error = error;
    r.server_name = std::string{out.server_name};
    r.has_alpn = out.has_alpn;
    r.bytes = out.bytes;
    return r;
}

result complete(std::string name, bool has_alpn, std::size_t bytes)
{
    return {hello_state::complete, hello_error::none, std::move(name), has_alpn, bytes};
}

result failed(hello_error e)
{
    return {hello_state::failed, e, "", false, 0};
}

// Every strict prefix parses incomplete; the whole parses as `expected`.
void expect_prefixes_incomplete(const std::string& in)
{
    for (std::size_t n = 0; n < in.size(); ++n) {
        const result r = parse(std::string_view{in}.substr(0, n));
        ASSERT_EQ(r.state, hello_state::incomplete) << "prefix of " << n << " bytes: " << r;
        ASSERT_EQ(r.error, hello_error::none);
    }
}

// --- valid hellos ----------------------------------------------------------------------

TEST(client_hello, with_sni)
{
    const std::string in = hello();
    EXPECT_EQ(parse(in), complete("a.example.com", false, in.size()));
}

TEST(client_hello, without_sni)
{
    const std::string in = hello({.extensions = extension(43, std::string{"\x02\x03\x04", 3})});
    EXPECT_EQ(parse(in), complete("", false, in.size()));
}

TEST(client_hello, without_extensions)
{
    const std::string in = hello({.version = "\x03\x01", .extensions = std::nullopt});
    EXPECT_EQ(parse(in), complete("", false, in.size()));
}

TEST(client_hello, with_alpn)
{
    const std::string in = hello({.extensions = alpn({"h2", "http/1.1"}) + sni("Www.Example.org_x-1")});
    EXPECT_EQ(parse(in), complete("Www.Example.org_x-1", true, in.size()));
}

TEST(client_hello, bytes_after_the_hello_are_not_counted)
{
    const std::string in = hello();
    const std::string more = in + record(std::string(10, 'x'), 23, "\x03\x03");
    EXPECT_EQ(parse(more), complete("a.example.com", false, in.size()));
}

TEST(client_hello, every_prefix_is_incomplete)
{
    expect_prefixes_incomplete(hello());
    expect_prefixes_incomplete(hello({.extensions = alpn({"h2"}) + sni("b.example.net")}));
    expect_prefixes_incomplete(hello({.extensions = std::nullopt}));
}

TEST(client_hello, split_over_two_records_at_every_point)
{
    const std::string message = handshake(body({.extensions = alpn({"h2"}) + sni("split.example.com")}));
    for (std::size_t cut = 1; cut < message.size(); ++cut) {
        const std::string in = records(message, {cut});
        ASSERT_EQ(parse(in), complete("split.example.com", true, in.size())) << "cut at " << cut;
    }
    expect_prefixes_incomplete(records(message, {message.size() / 2}));
}

TEST(client_hello, split_into_one_byte_records)
{
    const std::string message = handshake(body({}));
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < message.size(); ++i) {
        cuts.push_back(i);
    }
    const std::string in = records(message, cuts);
    EXPECT_EQ(parse(in), complete("a.example.com", false, in.size()));
}

TEST(client_hello, server_name_points_into_scratch_when_split)
{
    const std::string in = records(handshake(body({})), {10});
    std::string scratch = "left over from an earlier hello";
    client_hello out;
    hello_error error = hello_error::bad_record;
    ASSERT_EQ(parse_client_hello(in, scratch, out, error), hello_state::complete);
    EXPECT_EQ(error, hello_error::none);
    EXPECT_GE(out.server_name.data(), scratch.data());
    EXPECT_LE(out.server_name.data() + out.server_name.size(), scratch.data() + scratch.size());

    const std::string one = hello();
    ASSERT_EQ(parse_client_hello(one, scratch, out, error), hello_state::complete);
    EXPECT_GE(out.server_name.data(), one.data());
    EXPECT_LE(out.server_name.data() + out.server_name.size(), one.data() + one.size());
}

// --- errors ----------------------------------------------------------------------------

struct error_case {
    const char* name;
    std::string bytes;
    hello_error error;
};

std::string with_record_length(std::string in, std::size_t length)
{
    in[3] = static_cast<char>(length >> 8);
    in[4] = static_cast<char>(length & 0xff);
    return in;
}

std::string with_handshake_length(std::string in, std::size_t length)
{
    in[6] = static_cast<char>(length >> 16);
    in[7] = static_cast<char>(length >> 8);
    in[8] = static_cast<char>(length & 0xff);
    return in;
}

std::vector<error_case> error_cases()
{
    const std::string good = hello();
    const std::string message = handshake(body({}));
    std::string long_name(256, 'a');
    return {
        {"http request", "GET / HTTP/1.1\r\n", hello_error::not_tls},
        {"alert record", record(std::string{"\x02\x28", 2}, 21), hello_error::not_tls},
        {"sslv2 hello", std::string{"\x80\x2e\x01\x03\x01", 5}, hello_error::not_tls},
        {"second record not handshake", records(message.substr(0, 20)) + record(message.substr(20), 23),
         hello_error::bad_record},
        {"empty record", record(""), hello_error::bad_record},
        {"record over 2^14+256", with_record_length(good, 16384 + 257), hello_error::bad_record},
        {"record major version 2", record(message, 22, std::string{"\x02\x01", 2}), hello_error::bad_version},
        {"record version 0x0300", record(message, 22, std::string{"\x03\x00", 2}), hello_error::bad_version},
        {"record version 0x0305", record(message, 22, std::string{"\x03\x05", 2}), hello_error::bad_version},
        {"hello version 0x0300", hello({.version = std::string{"\x03\x00", 2}}), hello_error::bad_version},
        {"server hello", records(handshake(body({}), 2)), hello_error::not_client_hello},
        {"handshake length 0", records(handshake("")), hello_error::bad_length},
        {"hello body truncated", records(handshake(body({}).substr(0, 20))), hello_error::bad_length},
        {"session id of 33", hello({.session_id = std::string(33, 'x')}), hello_error::bad_length},
        {"no cipher suites", hello({.suites = ""}), hello_error::bad_length},
        {"odd cipher suites", hello({.suites = "\x13\x01\x13"}), hello_error::bad_length},
        {"cipher suites past the end", records(handshake(body({.session_id = ""}).substr(0, 35) + u16(200) + "ab")),
         hello_error::bad_length},
        {"no compression", hello({.compressions = ""}), hello_error::bad_length},
        {"extensions length short",
         records(handshake(body({.extensions = std::nullopt}) + u16(3) + sni("a.example.com"))),
         hello_error::bad_length},
        {"extensions length long",
         records(handshake(body({.extensions = std::nullopt}) + u16(200) + sni("a.example.com"))),
         hello_error::bad_length},
        {"one byte of extensions length", records(handshake(body({.extensions = std::nullopt}) + u8(0))),
         hello_error::bad_length},
        {"record longer than the hello", records(message + "x"), hello_error::bad_length},
        {"second record longer than the hello", records(message + "xy", {10}), hello_error::bad_length},
        {"truncated extension header", hello({.extensions = sni("a.b") + std::string{"\x00\x10\x00", 3}}),
         hello_error::bad_extension},
        {"extension past the block", hello({.extensions = u16(43) + u16(9) + "abc"}), hello_error::bad_extension},
        {"two server_name extensions", hello({.extensions = sni("a.b") + sni("c.d")}), hello_error::bad_extension},
        {"two alpn extensions", hello({.extensions = alpn({"h2"}) + alpn({"h2"})}), hello_error::bad_extension},
        {"empty alpn list", hello({.extensions = extension(16, u16(0))}), hello_error::bad_extension},
        {"empty alpn protocol", hello({.extensions = extension(16, u16(1) + u8(0))}), hello_error::bad_extension},
        {"alpn protocol past the list", hello({.extensions = extension(16, u16(3) + u8(5) + "h2")}),
         hello_error::bad_extension},
        {"empty server_name data", hello({.extensions = extension(0, "")}), hello_error::bad_server_name},
        {"empty server_name list", hello({.extensions = extension(0, u16(0))}), hello_error::bad_server_name},
        {"server_name list short", hello({.extensions = extension(0, u16(3) + sni_entry("a.b"))}),
         hello_error::bad_server_name},
        {"server_name list long", hello({.extensions = extension(0, u16(9) + sni_entry("a.b"))}),
         hello_error::bad_server_name},
        {"host_name past the list", hello({.extensions = extension(0, u16(4) + u8(0) + u16(9) + "a")}),
         hello_error::bad_server_name},
        {"empty host_name", hello({.extensions = extension(0, u16(3) + sni_entry(""))}),
         hello_error::bad_server_name},
        {"name type 1", hello({.extensions = extension(0, u16(6) + sni_entry("a.b", 1))}),
         hello_error::bad_server_name},
        {"two host_names", hello({.extensions = extension(0, u16(12) + sni_entry("a.b") + sni_entry("c.d"))}),
         hello_error::bad_server_name},
        {"space in host_name", hello({.extensions = sni("a b.example")}), hello_error::bad_server_name},
        {"nul in host_name", hello({.extensions = sni(std::string{"a\0b", 3})}), hello_error::bad_server_name},
        {"slash in host_name", hello({.extensions = sni("a.example/x")}), hello_error::bad_server_name},
        {"high byte in host_name", hello({.extensions = sni("\xc3\xa9.example")}), hello_error::bad_server_name},
        {"host_name of 256", hello({.extensions = sni(long_name)}), hello_error::bad_server_name},
        {"handshake length over the cap", with_handshake_length(good, max_hello_bytes), hello_error::too_large},
        {"handshake length 2^24-1", with_handshake_length(good, 0xffffff), hello_error::too_large},
        {"records over the cap",
         records(handshake(body({.extensions = extension(21, std::string(16300, '\0'))})), {8000, 16000}),
         hello_error::too_large},
    };
}

TEST(client_hello, each_error)
{
    for (const auto& c : error_cases()) {
        EXPECT_EQ(parse(c.bytes), failed(c.error)) << c.name;
        EXPECT_NE(describe(c.error), "");
    }
}

TEST(client_hello, an_error_is_seen_in_every_longer_input)
{
    // What follows a bad hello changes nothing: the answer is decided by bytes already seen.
    for (const auto& c : error_cases()) {
        EXPECT_EQ(parse(c.bytes + std::string(64, '\x16')), failed(c.error)) << c.name;
    }
}

TEST(client_hello, a_large_hello_under_the_cap)
{
    const std::string message = handshake(body({.extensions = sni("big.example") + extension(21, std::string(14000, '\0'))}));
    const std::string in = records(message, {7000});
    ASSERT_LE(in.size(), max_hello_bytes);
    EXPECT_EQ(parse(in), complete("big.example", false, in.size()));
}

TEST(client_hello, describe_names_every_error)
{
    EXPECT_EQ(describe(hello_error::not_tls), "not a TLS handshake");
    EXPECT_EQ(describe(hello_error::too_large), "ClientHello too large");
}

// --- ClientHellos from openssl s_client ------------------------------------------------

// A plain TCP listener on 127.0.0.1, port chosen by the kernel, bound before the
// constructor returns; it accepts one connection and reads until a ClientHello parses.
class hello_catcher {
public:
    hello_catcher()
    {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (listener_ < 0) {
            throw std::runtime_error{"socket failed"};
        }
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof a;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener_, 1) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &size) != 0) {
            throw std::runtime_error{"bind/listen failed"};
        }
        port_ = ntohs(a.sin_port);
    }
    ~hello_catcher()
    {
        if (conn_ >= 0) {
            ::close(conn_);
        }
        ::close(listener_);
    }
    hello_catcher(const hello_catcher&) = delete;
    hello_catcher& operator=(const hello_catcher&) = delete;

    unsigned short port() const noexcept { return port_; }

    // The first bytes the client sent, up to a complete (or failed) ClientHello; empty after
    // a 10 s timeout. The connection is closed afterwards, which ends the client.
    std::string catch_hello()
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
        if (!wait_readable(listener_, deadline)) {
            return {};
        }
        conn_ = ::accept(listener_, nullptr, nullptr);
        std::string in;
        std::string scratch;
        client_hello out;
        hello_error error = hello_error::none;
        char buf[4096];
        while (parse_client_hello(in, scratch, out, error) == hello_state::incomplete) {
            if (!wait_readable(conn_, deadline)) {
                return {};
            }
            const ssize_t n = ::recv(conn_, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            in.append(buf, static_cast<std::size_t>(n));
        }
        ::close(conn_);
        conn_ = -1;
        return in;
    }

private:
    static bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline)
    {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        return left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) == 1;
    }

    int listener_ = -1;
    int conn_ = -1;
    unsigned short port_ = 0;
};

std::string openssl_hello(std::vector<std::string> options)
{
    hello_catcher catcher;
    std::vector<std::string> argv{"/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(catcher.port())};
    argv.insert(argv.end(), options.begin(), options.end());
    test::child_process client{argv};
    std::string in = catcher.catch_hello();
    // The listener closed the connection: s_client fails its handshake and exits. If it
    // does not, the child_process destructor kills it.
    client.wait(std::chrono::seconds{5});
    return in;
}

// The handshake message of a single-record hello, to split differently.
std::string message_of(const std::string& single_record)
{
    return single_record.substr(5);
}

void check_captured(const std::string& in, const std::string& name, bool has_alpn)
{
    ASSERT_FALSE(in.empty()) << "openssl s_client sent nothing";
    const result whole = parse(in);
    ASSERT_EQ(whole, complete(name, has_alpn, in.size()));
    expect_prefixes_incomplete(in);
    // openssl sends its hello in one record; the same message over two or three records
    // reads the same.
    const std::string message = message_of(in);
    for (const std::size_t cut : {std::size_t{1}, std::size_t{4}, std::size_t{50}, message.size() - 1}) {
        const std::string split = records(message, {cut});
        EXPECT_EQ(parse(split), complete(name, has_alpn, split.size())) << "cut at " << cut;
    }
    const std::string three = records(message, {3, message.size() / 2});
    EXPECT_EQ(parse(three), complete(name, has_alpn, three.size()));
}

TEST(client_hello_process, openssl_with_sni)
{
    check_captured(openssl_hello({"-servername", "a.example.com"}), "a.example.com", false);
}

TEST(client_hello_process, openssl_without_sni)
{
    check_captured(openssl_hello({"-noservername"}), "", false);
}

TEST(client_hello_process, openssl_with_sni_and_alpn)
{
    check_captured(openssl_hello({"-servername", "a.example.com", "-alpn", "h2"}), "a.example.com", true);
}

TEST(client_hello_process, openssl_tls12_only)
{
    check_captured(openssl_hello({"-servername", "a.example.com", "-tls1_2", "-alpn", "h2,http/1.1"}),
                   "a.example.com", true);
}

} // namespace
} // namespace stork::tls
