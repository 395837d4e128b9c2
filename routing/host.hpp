#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace stork::routing {

// Host names as stork compares them (design.md §2): case-insensitive, without one trailing
// dot, without a port. One function serves the data plane (Host, :authority, SNI) and the
// admin API (rule hosts), so a rule always matches what a client sends.

enum class host_kind : std::uint8_t {
    request, // what a client names: no wildcard
    rule,    // a rule's host: exact, or "*" as the whole first label
};

enum class host_error : std::uint8_t {
    none,
    empty,          // nothing left once the port and the trailing dot are gone
    too_long,       // more than 253 bytes (RFC 1035 §2.3.4, without the trailing dot)
    empty_label,    // "a..b", ".a"
    label_too_long, // more than 63 bytes
    bad_byte,       // outside letters, digits, '-', '.' (and '*' where allowed)
    bad_wildcard,   // '*' anywhere but as the whole first label of a rule host
    bad_port,       // ":" followed by something other than digits
};

// Why a host was refused, for messages.
std::string_view describe(host_error e) noexcept;

// Room for the longest normalised host (253 bytes) and a little slack.
using host_buffer = std::array<char, 256>;

struct normalised_host {
    std::string_view name;             // into the caller's buffer; empty on error
    host_error error = host_error::none;
    explicit operator bool() const noexcept { return error == host_error::none; }
};

// Lower-cases ASCII, strips ":port" (digits only, possibly empty as RFC 3986 §3.2.3 allows)
// and one trailing dot, then checks the label syntax. Allocation-free: the result lives in
// `buffer`. IP literals in brackets ("[::1]:80") are not host names and are refused.
normalised_host normalise_host(std::string_view raw, host_kind kind, host_buffer& buffer) noexcept;

} // namespace stork::routing
