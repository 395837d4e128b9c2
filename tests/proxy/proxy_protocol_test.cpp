// The PROXY protocol v2 encoder against byte vectors written out by hand from the spec
// (https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt §2.2), and against a small
// reader written here from the same text, so that a mistake has to be made twice to pass.
#include "proxy/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stork::proxy {
namespace {

namespace asio = boost::asio;
using asio::ip::make_address;
using asio::ip::tcp;

tcp::endpoint ep(const char* address, std::uint16_t port)
{
    return {make_address(address), port};
}

std::vector<std::byte> bytes(std::initializer_list<int> values)
{
    std::vector<std::byte> out;
    for (const int v : values) {
        out.push_back(static_cast<std::byte>(v));
    }
    return out;
}

std::string hex(std::span<const std::byte> b)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const std::byte x : b) {
        const auto v = std::to_integer<unsigned>(x);
        out += digits[v >> 4];
        out += digits[v & 0xf];
        out += ' ';
    }
    return out;
}

// The encoder's output, with the rest of the buffer checked to be untouched.
std::vector<std::byte> encode(const tcp::endpoint& source, const tcp::endpoint& destination)
{
    std::array<std::byte, proxy_v2_max_size> buffer;
    buffer.fill(std::byte{0xaa});
    const std::size_t n = encode_proxy_v2(source, destination, buffer);
    EXPECT_LE(n, buffer.size());
    EXPECT_TRUE(std::all_of(buffer.begin() + static_cast<std::ptrdiff_t>(n), buffer.end(),
                            [](std::byte b) { return b == std::byte{0xaa}; }))
        << "wrote past its length";
    return {buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n)};
}

// The receiving side of §2.2, as a receiver that knows only the spec would write it.
struct received {
    int family = 0; // 1 AF_INET, 2 AF_INET6
    tcp::endpoint source;
    tcp::endpoint destination;
};

std::optional<received> read_proxy_v2(std::span<const std::byte> in)
{
    const auto u8 = [&](std::size_t i) { return std::to_integer<unsigned>(in[i]); };
    const auto u16 = [&](std::size_t i) { return static_cast<std::uint16_t>(u8(i) << 8 | u8(i + 1)); };
    static constexpr unsigned char signature[] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                  0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
    if (in.size() < 16) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < 12; ++i) {
        if (u8(i) != signature[i]) {
            return std::nullopt;
        }
    }
    if (u8(12) >> 4 != 2 || (u8(12) & 0xf) != 1) { // version 2, PROXY
        return std::nullopt;
    }
    if ((u8(13) & 0xf) != 1) { // STREAM
        return std::nullopt;
    }
    const std::size_t len = u16(14);
    if (in.size() != 16 + len) {
        return std::nullopt;
    }
    received r;
    r.family = static_cast<int>(u8(13) >> 4);
    if (r.family == 1 && len >= 12) {
        const auto v4 = [&](std::size_t at) {
            return asio::ip::address_v4{{static_cast<unsigned char>(u8(at)), static_cast<unsigned char>(u8(at + 1)),
                                         static_cast<unsigned char>(u8(at + 2)), static_cast<unsigned char>(u8(at + 3))}};
        };
        r.source = {v4(16), u16(24)};
        r.destination = {v4(20), u16(26)};
        return r;
    }
    if (r.family == 2 && len >= 36) {
        const auto v6 = [&](std::size_t at) {
            asio::ip::address_v6::bytes_type b;
            for (std::size_t i = 0; i < 16; ++i) {
                b[i] = static_cast<unsigned char>(u8(at + i));
            }
            return asio::ip::address_v6{b};
        };
        r.source = {v6(16), u16(48)};
        r.destination = {v6(32), u16(50)};
        return r;
    }
    return std::nullopt;
}

TEST(proxy_protocol, ipv4_bytes_from_the_spec)
{
    // 192.0.2.7:51234 -> 198.51.100.1:443
    const auto expected = bytes({
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, // signature
        0x21,                                                                   // v2, PROXY
        0x11,                                                                   // AF_INET, STREAM
        0x00, 0x0c,                                                             // 12 address bytes
        0xc0, 0x00, 0x02, 0x07,                                                 // 192.0.2.7
        0xc6, 0x33, 0x64, 0x01,                                                 // 198.51.100.1
        0xc8, 0x22,                                                             // 51234
        0x01, 0xbb,                                                             // 443
    });
    const auto got = encode(ep("192.0.2.7", 51234), ep("198.51.100.1", 443));
    EXPECT_EQ(got.size(), proxy_v2_inet_size);
    EXPECT_EQ(hex(got), hex(expected));
}

TEST(proxy_protocol, ipv6_bytes_from_the_spec)
{
    // [2001:db8::7]:51234 -> [2001:db8:1::443]:443
    const auto expected = bytes({
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, // signature
        0x21,                                                                   // v2, PROXY
        0x21,                                                                   // AF_INET6, STREAM
        0x00, 0x24,                                                             // 36 address bytes
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,                         // 2001:db8::7
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,                         // 2001:db8:1::443
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x43,
        0xc8, 0x22,                                                             // 51234
        0x01, 0xbb,                                                             // 443
    });
    const auto got = encode(ep("2001:db8::7", 51234), ep("2001:db8:1::443", 443));
    EXPECT_EQ(got.size(), proxy_v2_inet6_size);
    EXPECT_EQ(hex(got), hex(expected));
}

TEST(proxy_protocol, ipv4_mapped_client_on_an_ipv6_listener_stays_inet6)
{
    const auto expected = bytes({
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
        0x21, 0x21, 0x00, 0x24,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x07, // ::ffff:192.0.2.7
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xc6, 0x33, 0x64, 0x01, // ::ffff:198.51.100.1
        0xc8, 0x22, 0x01, 0xbb,
    });
    EXPECT_EQ(hex(encode(ep("::ffff:192.0.2.7", 51234), ep("::ffff:198.51.100.1", 443))), hex(expected));
}

TEST(proxy_protocol, mixed_families_are_both_written_as_inet6)
{
    // An IPv4 client towards an IPv6 local address, and the other way round: the header has
    // one family for both, so the IPv4 side becomes its mapped IPv6 address.
    const auto v4_to_v6 = bytes({
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
        0x21, 0x21, 0x00, 0x24,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x07, // ::ffff:192.0.2.7
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x43, // 2001:db8:1::443
        0xc8, 0x22, 0x01, 0xbb,
    });
    EXPECT_EQ(hex(encode(ep("192.0.2.7", 51234), ep("2001:db8:1::443", 443))), hex(v4_to_v6));

    const auto v6_to_v4 = bytes({
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
        0x21, 0x21, 0x00, 0x24,
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, // 2001:db8::7
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xc6, 0x33, 0x64, 0x01, // ::ffff:198.51.100.1
        0x00, 0x50, 0x00, 0x00,                                                                         // 80 -> 0
    });
    EXPECT_EQ(hex(encode(ep("2001:db8::7", 80), ep("198.51.100.1", 0))), hex(v6_to_v4));
}

TEST(proxy_protocol, a_spec_reader_gets_back_what_was_encoded)
{
    const auto mapped = [](const char* v4) {
        return asio::ip::address{asio::ip::make_address_v6(asio::ip::v4_mapped, asio::ip::make_address_v4(v4))};
    };
    const struct {
        tcp::endpoint source;
        tcp::endpoint destination;
        int family;
        asio::ip::address source_read;      // what a receiver sees
        asio::ip::address destination_read;
    } cases[] = {
        {ep("192.0.2.7", 51234), ep("198.51.100.1", 443), 1, make_address("192.0.2.7"), make_address("198.51.100.1")},
        {ep("0.0.0.0", 0), ep("255.255.255.255", 65535), 1, make_address("0.0.0.0"), make_address("255.255.255.255")},
        {ep("127.0.0.1", 1), ep("127.0.0.1", 65535), 1, make_address("127.0.0.1"), make_address("127.0.0.1")},
        {ep("2001:db8::7", 51234), ep("2001:db8:1::443", 443), 2, make_address("2001:db8::7"),
         make_address("2001:db8:1::443")},
        {ep("::1", 65535), ep("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1), 2, make_address("::1"),
         make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")},
        {ep("::ffff:192.0.2.7", 4000), ep("::ffff:198.51.100.1", 443), 2, mapped("192.0.2.7"), mapped("198.51.100.1")},
        {ep("192.0.2.7", 4000), ep("2001:db8::1", 443), 2, mapped("192.0.2.7"), make_address("2001:db8::1")},
        {ep("2001:db8::7", 4000), ep("198.51.100.1", 443), 2, make_address("2001:db8::7"), mapped("198.51.100.1")},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.source.address().to_string() + " -> " + c.destination.address().to_string());
        const auto header = encode(c.source, c.destination);
        const auto r = read_proxy_v2(header);
        ASSERT_TRUE(r) << hex(header);
        EXPECT_EQ(r->family, c.family);
        EXPECT_EQ(header.size(), c.family == 1 ? proxy_v2_inet_size : proxy_v2_inet6_size);
        EXPECT_EQ(r->source, tcp::endpoint(c.source_read, c.source.port()));
        EXPECT_EQ(r->destination, tcp::endpoint(c.destination_read, c.destination.port()));
    }
}

TEST(proxy_protocol, sizes)
{
    static_assert(proxy_v2_inet_size == 28);
    static_assert(proxy_v2_inet6_size == 52);
    static_assert(proxy_v2_max_size == proxy_v2_inet6_size);
    EXPECT_EQ(proxy_v2_signature[7], std::byte{'Q'}); // "\r\n\r\n\0\r\nQUIT\n"
}

} // namespace
} // namespace stork::proxy
