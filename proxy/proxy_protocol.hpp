#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <cstddef>
#include <span>

// The PROXY protocol version 2 header that a passthrough rule with "proxy_protocol": true
// sends to its upstream before the client's first byte (issue 5 §5, tls-design.md §5), so
// the new region sees the client's address although storkd splices TLS it never decrypts.
// Spec: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt §2.2.
//
// Layout (all multi-byte fields in network byte order):
//
//   0       12     13     14       16
//   +-------+------+------+--------+--------------------------------------------+
//   | sig   | 0x21 | fam  | len    | src addr | dst addr | src port | dst port  |
//   +-------+------+------+--------+--------------------------------------------+
//   sig  = 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
//   0x21 = version 2 (high nibble), command PROXY (low nibble)
//   fam  = 0x11 TCP over IPv4: addresses 4 + 4 bytes, len 12  -> 28 bytes in all
//          0x21 TCP over IPv6: addresses 16 + 16 bytes, len 36 -> 52 bytes in all
//
// No TLVs (§2.2's type-length-value extensions, optional for a sender): the ones a splice
// could fill, PP2_TYPE_ALPN and PP2_TYPE_AUTHORITY, repeat the client's own ClientHello,
// which follows the header byte for byte and which the upstream reads anyway; the SSL ones
// describe a TLS session storkd does not terminate; CRC32C, NOOP and the rest add bytes no
// one asked for. A fixed size also keeps the encoder allocation-free and its output a
// constant the tests can spell out.
namespace stork::proxy {

inline constexpr std::array<std::byte, 12> proxy_v2_signature{
    std::byte{0x0d}, std::byte{0x0a}, std::byte{0x0d}, std::byte{0x0a}, std::byte{0x00}, std::byte{0x0d},
    std::byte{0x0a}, std::byte{0x51}, std::byte{0x55}, std::byte{0x49}, std::byte{0x54}, std::byte{0x0a}};

inline constexpr std::size_t proxy_v2_fixed_size = 16;                    // signature, ver_cmd, fam, len
inline constexpr std::size_t proxy_v2_inet_size = proxy_v2_fixed_size + 12;  // 28
inline constexpr std::size_t proxy_v2_inet6_size = proxy_v2_fixed_size + 36; // 52
inline constexpr std::size_t proxy_v2_max_size = proxy_v2_inet6_size;

// Writes the header for a TCP connection from `source` (the client's address, the accepted
// socket's remote endpoint) to `destination` (the address the client connected to, the
// accepted socket's local endpoint) at the start of `out`, and returns how many bytes it
// wrote: proxy_v2_inet_size or proxy_v2_inet6_size. No allocation, no I/O.
//
// Families:
// - both IPv4: AF_INET (0x11).
// - both IPv6: AF_INET6 (0x21), the addresses as the socket reports them. An IPv4-mapped
//   client (::ffff:192.0.2.7, seen on an IPv6 listener without IPV6_V6ONLY) stays mapped
//   inside an INET6 header rather than being turned back into INET: the header then says
//   exactly what the accepted socket said, its family is always the listener's, and the
//   mapped address is still the client's, for a receiver to unmap if it cares. storkd's
//   own IPv6 listeners set IPV6_V6ONLY (worker_pool.cpp), so there it does not arise.
// - one of each (the spec has one family for both addresses): AF_INET6, the IPv4 one
//   written as its IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2), which loses nothing.
std::size_t encode_proxy_v2(const boost::asio::ip::tcp::endpoint& source,
                            const boost::asio::ip::tcp::endpoint& destination,
                            std::span<std::byte, proxy_v2_max_size> out) noexcept;

} // namespace stork::proxy
