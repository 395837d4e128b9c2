#include "proxy/proxy_protocol.hpp"

#include <algorithm>
#include <cstdint>

namespace stork::proxy {

namespace {

using boost::asio::ip::address;

constexpr std::byte version_2_proxy{0x21};   // §2.2: version 2 << 4 | command PROXY (1)
constexpr std::byte tcp_over_ipv4{0x11};     // AF_INET (1) << 4 | STREAM (1)
constexpr std::byte tcp_over_ipv6{0x21};     // AF_INET6 (2) << 4 | STREAM (1)

std::byte* put_u16(std::byte* at, std::uint16_t v) noexcept
{
    at[0] = static_cast<std::byte>(v >> 8);
    at[1] = static_cast<std::byte>(v & 0xff);
    return at + 2;
}

std::byte* put_v4(std::byte* at, const address& a) noexcept
{
    const auto bytes = a.to_v4().to_bytes();
    return std::transform(bytes.begin(), bytes.end(), at, [](unsigned char c) { return std::byte{c}; });
}

// The address as 16 bytes: IPv6 as it is, IPv4 as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
std::byte* put_v6(std::byte* at, const address& a) noexcept
{
    if (a.is_v6()) {
        const auto bytes = a.to_v6().to_bytes();
        return std::transform(bytes.begin(), bytes.end(), at, [](unsigned char c) { return std::byte{c}; });
    }
    at = std::fill_n(at, 10, std::byte{0});
    at = std::fill_n(at, 2, std::byte{0xff});
    return put_v4(at, a);
}

} // namespace

std::size_t encode_proxy_v2(const boost::asio::ip::tcp::endpoint& source,
                            const boost::asio::ip::tcp::endpoint& destination,
                            std::span<std::byte, proxy_v2_max_size> out) noexcept
{
    const address src = source.address();
    const address dst = destination.address();
    const bool inet = src.is_v4() && dst.is_v4();
    const std::size_t size = inet ? proxy_v2_inet_size : proxy_v2_inet6_size;

    std::byte* at = std::copy(proxy_v2_signature.begin(), proxy_v2_signature.end(), out.data());
    *at++ = version_2_proxy;
    *at++ = inet ? tcp_over_ipv4 : tcp_over_ipv6;
    at = put_u16(at, static_cast<std::uint16_t>(size - proxy_v2_fixed_size));
    if (inet) {
        at = put_v4(at, src);
        at = put_v4(at, dst);
    } else {
        at = put_v6(at, src);
        at = put_v6(at, dst);
    }
    at = put_u16(at, source.port());
    at = put_u16(at, destination.port());
    return static_cast<std::size_t>(at - out.data());
}

} // namespace stork::proxy
