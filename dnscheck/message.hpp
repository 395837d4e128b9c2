#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// A DNS message as the advisor reads it (RFC 1035 §4.1). c-ares 1.18's ares_parse_*_reply
// helpers drop what the advisor needs (CNAME TTLs, the authority SOA of NXDOMAIN/NODATA,
// the AA bit, CAA beside a CNAME), so answers are parsed here: every record of the
// answer, authority and additional sections with its TTL. Names are expanded with
// c-ares' ares_expand_name (compression pointers, loops refused), everything else is
// read with explicit bounds checks. No I/O, no allocation beyond the result (and c-ares'
// short-lived name strings).
namespace stork::dnscheck {

// Record types the advisor looks at (IANA "Resource Record (RR) TYPEs").
namespace rr {
inline constexpr std::uint16_t a = 1;
inline constexpr std::uint16_t ns = 2;
inline constexpr std::uint16_t cname = 5;
inline constexpr std::uint16_t soa = 6;
inline constexpr std::uint16_t txt = 16;
inline constexpr std::uint16_t aaaa = 28;
inline constexpr std::uint16_t opt = 41;
inline constexpr std::uint16_t caa = 257;
} // namespace rr

// "A", "CNAME", "CAA", ... or "TYPE65" (RFC 3597) for the others.
std::string type_name(std::uint16_t type);

// RCODEs (RFC 1035 §4.1.1, RFC 6895): the 4 header bits, extended by EDNS is not needed.
namespace rcode {
inline constexpr int noerror = 0;
inline constexpr int formerr = 1;
inline constexpr int servfail = 2;
inline constexpr int nxdomain = 3;
inline constexpr int notimp = 4;
inline constexpr int refused = 5;
} // namespace rcode

// "NOERROR", "SERVFAIL", "NXDOMAIN", ... or "RCODE11".
std::string rcode_name(int code);

struct soa_data {
    std::string mname;        // primary server, without the trailing dot
    std::string rname;        // hostmaster mailbox as a name
    std::uint32_t serial = 0;
    std::uint32_t refresh = 0;
    std::uint32_t retry = 0;
    std::uint32_t expire = 0;
    std::uint32_t minimum = 0;    // the negative-caching TTL bound (RFC 2308 §4)
    friend bool operator==(const soa_data&, const soa_data&) = default;
};

// RFC 8659 §4.1: flags, a tag of 1-15 ASCII letters and digits, and the raw value.
struct caa_data {
    std::uint8_t flags = 0;   // bit 128: issuer critical
    std::string tag;          // as received (compare case-insensitively)
    std::string value;        // raw bytes, may be empty
    bool critical() const noexcept { return (flags & 0x80) != 0; }
    friend bool operator==(const caa_data&, const caa_data&) = default;
};

// The RDATA of a record the advisor understands; anything else keeps its raw bytes.
//   A / AAAA           → address
//   CNAME / NS         → std::string (the target name, no trailing dot)
//   SOA                → soa_data
//   CAA                → caa_data
//   TXT                → std::vector<std::string> (the character-strings, in order)
//   other              → std::vector<std::uint8_t> (raw RDATA)
using record_data = std::variant<std::vector<std::uint8_t>, boost::asio::ip::address, std::string, soa_data, caa_data,
                                 std::vector<std::string>>;

struct record {
    std::string name;          // owner, without the trailing dot ("" for the root), case kept
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
    std::uint32_t ttl = 0;     // seconds; values with the top bit set read as 0 (RFC 2181 §8),
                               // except OPT's, which holds EDNS flags (RFC 6891 §6.1.3): kept as sent
    record_data data;

    // The data as a zone file would show it: "192.0.2.1", "my-app.example.net" (no dot),
    // "ns1.example.com hostmaster.example.com 2024010101 3600 600 604800 60",
    // "0 issue \"letsencrypt.org\"", "\"part one \" \"part two\"", or RFC 3597 "\# 4 0a0b0c0d".
    // Quoted strings escape `"` and `\` and show bytes outside printable ASCII as \DDD;
    // a name that is the root shows as ".".
    std::string data_text() const;
    friend bool operator==(const record&, const record&) = default;
};

struct question {
    std::string name;
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
    friend bool operator==(const question&, const question&) = default;
};

struct message {
    std::uint16_t id = 0;
    bool qr = false;           // a response
    bool aa = false;           // authoritative answer
    bool tc = false;           // truncated
    bool rd = false;
    bool ra = false;
    int rcode = 0;             // header RCODE (4 bits)
    std::vector<question> questions;
    std::vector<record> answers;
    std::vector<record> authority;
    std::vector<record> additional;   // OPT (type 41) included as a raw record
};

// Why a message could not be read: which section and record, and what was wrong
// ("answer record 2: RDATA length 9 runs past the end of the message (120 bytes)").
// Records and questions are counted from 1, as they appear in dig's output.
struct message_error {
    std::string what;
};

using message_result = boost::system::result<message, message_error>;

[[noreturn]] void throw_exception_from_error(const message_error& e, const boost::source_location& loc);

// Parses a whole DNS message. Every length is checked against the buffer: a truncated,
// oversized or inconsistent message gives an error, never a read past the end. Known
// types whose RDATA does not match their format (an A record of 5 bytes, a CAA tag
// longer than its RDATA, a name running past RDLENGTH) are errors too. Trailing bytes
// after the last record are accepted (some servers pad) but counts larger than the
// records present are not.
message_result parse_message(std::span<const unsigned char> bytes);

// Names compare case-insensitively and without a trailing dot (RFC 4343).
bool same_name(std::string_view a, std::string_view b) noexcept;

// The records of `section` owned by `name` (same_name) and of type `type`.
std::vector<const record*> records_of(const std::vector<record>& section, std::string_view name, std::uint16_t type);

// The negative-caching TTL of an NXDOMAIN / NODATA answer: min(SOA TTL, SOA MINIMUM) of
// the first SOA in the authority section (RFC 2308 §5). Nothing without an SOA.
std::optional<std::uint32_t> negative_ttl(const message& m);

// Text as a zone file shows it inside quotes (RFC 1035 §5.1), without the quotes: `"` and
// `\` escaped, bytes outside printable ASCII as \DDD. What data_text() uses for CAA values
// and TXT strings, and what CAA reasons use, so no text shown carries control bytes.
std::string zone_escaped(std::string_view bytes);

} // namespace stork::dnscheck
