#pragma once

#include "config/parsed.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stork::config {

// A "host:port" from a configuration file: an IP literal or a host name, and a port.
struct endpoint {
    std::string host;        // IPv6 without brackets
    std::uint16_t port = 0;  // 0 only where the rules allow it (bind to an ephemeral port)
    bool is_ip = false;      // host is an IP literal, not a name to resolve

    // "1.2.3.4:80", "[::1]:443", "router.internal:8080".
    std::string to_string() const;

    friend bool operator==(const endpoint&, const endpoint&) = default;
};

struct endpoint_rules {
    bool require_ip = false;                  // listeners bind to addresses, not names
    bool allow_port_zero = false;             // port 0: the kernel picks (tests)
    std::optional<std::uint16_t> default_port; // "IP" alone is accepted, e.g. DNS :53
};

// "IPv4:PORT", "[IPv6]:PORT", "name:PORT", and "IPv4", "IPv6", "[IPv6]", "name" when the
// rules give a default port. A bare IPv6 address with a port is ambiguous and refused.
parsed<endpoint> parse_endpoint(std::string_view text, const endpoint_rules& rules);

} // namespace stork::config
