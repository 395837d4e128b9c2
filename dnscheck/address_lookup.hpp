#pragma once

#include "dnscheck/channel.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stork::dnscheck {

// A host name's addresses and how long they may be used.
struct resolved_addresses {
    std::vector<boost::asio::ip::address> addresses;   // A records first, then AAAA, as answered
    // min over the records used, CNAMEs of the chain included (c-ares' addrttl already
    // folds the chain in). An IP literal never expires: seconds::max().
    std::chrono::seconds ttl{0};
};

// Why a host name has no addresses: the c-ares status (ares_category(): ARES_ENOTFOUND
// for NXDOMAIN, ARES_ENODATA, ARES_ETIMEOUT, ARES_ESERVFAIL, ARES_EREFUSED,
// ARES_ECONNREFUSED, ARES_EDESTRUCTION...) and a message naming the host, for a 502 page
// or a log line: "my-app.example.com: no such domain (NXDOMAIN)".
struct lookup_error {
    boost::system::error_code code;
    std::string message;
};

using lookup_result = boost::system::result<resolved_addresses, lookup_error>;

// boost::system::result<T, E>::value() throws what this returns (found by ADL).
[[noreturn]] void throw_exception_from_error(const lookup_error& e, const boost::source_location& loc);

// What the A and the AAAA query each returned, before they are combined; pure, so that
// the combination rules are table-tested without DNS.
struct family_answer {
    boost::system::error_code code;                     // from the channel
    std::vector<boost::asio::ip::address> addresses;    // parsed from the answer
    std::chrono::seconds ttl{0};
};

// Combines the A and AAAA answers for `host`:
// - addresses from either family → success; TTL = min over both families' records;
//   when the other family failed for another reason than "no such name/no data"
//   (timeout, SERVFAIL...), the TTL is capped at `partial_ttl_cap` so the missing
//   family is asked again soon;
// - no address: NXDOMAIN if either said so, otherwise "no A or AAAA records", otherwise
//   the A query's error (the AAAA one when A had none).
lookup_result combine_answers(std::string_view host, const family_answer& a, const family_answer& aaaa,
                              std::chrono::seconds partial_ttl_cap = std::chrono::seconds{5});

// Parses an A (qtype 1) or AAAA (28) answer with ares_parse_a_reply/ares_parse_aaaa_reply.
// A CNAME-only answer (the chain ends in a name without this type) gives ARES_ENODATA.
family_answer parse_family_answer(int qtype, boost::system::error_code code, std::span<const unsigned char> answer);

// The readable reason for a lookup error ("no such domain (NXDOMAIN)", "DNS timeout"...).
std::string describe_lookup_error(boost::system::error_code code);

// Resolves host names to addresses on one channel: A and AAAA in parallel, TTLs from the
// answers. An IP literal (also "[v6]") resolves at once, without DNS. Lives on the
// channel's io_context thread; the channel must outlive it or the lookups in flight
// (their handlers run from ~channel with ARES_EDESTRUCTION).
class address_lookup {
public:
    using handler = std::function<void(lookup_result)>;

    explicit address_lookup(channel& ch) : channel_{ch} {}

    // Calls `h` once: inline for an IP literal or a malformed name, otherwise when both
    // queries have answered.
    void resolve(std::string_view host, handler h);

private:
    channel& channel_;
};

} // namespace stork::dnscheck
