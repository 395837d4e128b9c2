#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The ClientHello a TLS client opens with, read without terminating TLS (tls-design.md §5,
// passthrough): enough to pick a route by SNI and to know the bytes to forward. Like the
// HTTP/1.1 parsers it does no I/O and is strict: every length field is checked against
// what remains of the structure holding it, and anything a real client would not send is
// an error, never a guess (RFC 8446 §5.1 and §4.1.2, RFC 6066 §3, RFC 7301 §3.1).
namespace stork::tls {

enum class hello_error : std::uint8_t {
    none,
    not_tls,           // the first byte is not 0x16 (handshake record)
    bad_record,        // a later record not of type handshake, or an empty or over-long record
    bad_version,       // record or ClientHello version outside 0x0301..0x0304
    not_client_hello,  // the first handshake message is not a ClientHello
    bad_length,        // a ClientHello length field that does not fit, or bytes left over
    bad_extension,     // a malformed extension block, a repeated SNI/ALPN, a bad ALPN list
    bad_server_name,   // a malformed server_name extension or a host_name outside [A-Za-z0-9.-_]
    too_large,         // the records holding the ClientHello exceed max_hello_bytes
};

// A short English description ("not a TLS handshake").
std::string_view describe(hello_error e) noexcept;

enum class hello_state : std::uint8_t { complete, incomplete, failed };

// The cap on the records holding a ClientHello: the size of the peek buffer (§5).
inline constexpr std::size_t max_hello_bytes = 16 * 1024;

struct client_hello {
    std::string_view server_name;  // host_name from SNI, as sent (not normalised); empty if none
    bool has_alpn = false;         // the client offered ALPN
    std::size_t bytes = 0;         // bytes of the records holding the whole ClientHello
};

// The body of a server_name extension (RFC 6066 §3): the one host_name it carries, checked
// as parse_client_hello() checks it. Also used on OpenSSL's view of the extension at
// handshake time (certificate selection).
hello_error parse_server_name(std::string_view data, std::string_view& name) noexcept;

// Parses the ClientHello at the start of `bytes`: TLS records of type 22, record version
// 0x0301..0x0304, length 1..16384+256. A ClientHello split over several records is
// reassembled into `scratch` (owned by the caller, reusable; the only allocation), and
// `server_name` then points into `scratch`; otherwise it points into `bytes`. `incomplete`
// means "a valid prefix so far": call again with the same bytes plus more. Each check is
// made as soon as its bytes are there, so a prefix never completes or fails differently
// from the whole. `out` and `error` are always set (none unless failed).
hello_state parse_client_hello(std::string_view bytes, std::string& scratch, client_hello& out,
                               hello_error& error);

} // namespace stork::tls
