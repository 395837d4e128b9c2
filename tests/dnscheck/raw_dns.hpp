#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// DNS over plain UDP sockets for the test fixtures: their readiness probes and the
// process tests' checks go through this, not through c-ares or dnscheck's parser, so a
// fixture does not depend on the code it helps to test. Minimal on purpose: the answer and
// authority sections, with the RDATA of the few types the tests look at as text.
namespace stork::dnscheck::test {

// A port that was free for UDP and TCP on `address` (an IPv4 loopback address such as
// 127.0.0.2: Linux routes all of 127/8 to lo) a moment ago (bound to port 0, then
// closed): the caller's server binds it next, and retries with another if it lost a race.
// 0 when none was found.
std::uint16_t free_port(std::string_view address = "127.0.0.1");

struct raw_record {
    std::string name;          // lower case, without the trailing dot
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    // A: "192.0.2.1"; AAAA: "2001:db8::1"; CNAME, NS: the target (lower case, no dot);
    // SOA: "mname rname serial refresh retry expire minimum"; others: "\# <len> <hex>".
    std::string data;
};

struct raw_reply {
    std::uint16_t id = 0;
    bool aa = false;
    int rcode = 0;             // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED
    std::vector<raw_record> answers;
    std::vector<raw_record> authority;

    // The records of `section` of type `type` (and owned by `name` when not empty).
    static std::vector<raw_record> of(const std::vector<raw_record>& section, std::uint16_t type,
                                      std::string_view name = {});
};

// Reads a reply; nothing when it is not a well-formed response.
std::optional<raw_reply> parse_raw_reply(std::span<const unsigned char> message);

// Sends one query (class IN, RD set when `recurse`) over UDP to address:port and waits
// up to `timeout` for the reply with the same id. Nothing on timeout, on ICMP port
// unreachable (nothing listens yet) or when the reply can't be read.
std::optional<raw_reply> raw_query(std::string_view address, std::uint16_t port, std::string_view name,
                                   std::uint16_t qtype, bool recurse, std::chrono::milliseconds timeout);

// The serial of the SOA for `zone` in the answer section, if there is one.
std::optional<std::uint32_t> soa_serial(const raw_reply& reply, std::string_view zone);

// true when an SOA query for `name` (no recursion) to 127.0.0.1:port gets a NOERROR
// answer within `timeout_ms`.
bool answers_soa(std::uint16_t port, std::string_view name, int timeout_ms);

} // namespace stork::dnscheck::test
