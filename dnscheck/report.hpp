#pragma once

#include "dnscheck/message.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// What the DNS advisor found about one custom domain, and what it concludes (design.md §4).
// The advisor (advisor.hpp) fills the facts from real DNS; decide() turns facts into a
// verdict and advice without any I/O, so every rule of the verdict is table-tested.
namespace stork::dnscheck {

enum class verdict {
    ready,          // the new target everywhere: authoritative servers and every resolver
    pending,        // still the old target (or, without --old, not the new one yet)
    propagating,    // authoritative servers say new, some resolver or secondary still old
    misconfigured,  // points elsewhere, CAA blocks Let's Encrypt, CNAME beside other data,
                    // a leftover AAAA, a CNAME loop
    unresolvable,   // NXDOMAIN, SERVFAIL, timeout: no answer to act on
};
std::string_view to_string(verdict v) noexcept;

// Where one view of the name leads.
enum class pointing {
    new_target,   // the chain reaches the expected target, or (apex) the same addresses
    old_target,   // the chain reaches --old, or its addresses
    elsewhere,    // some other name or addresses
    nothing,      // no answer to classify (NXDOMAIN, NODATA, error)
};
std::string_view to_string(pointing p) noexcept;

// How the walk from the host to its addresses ended.
enum class chain_end {
    complete,       // addresses reached
    nxdomain,       // a name on the way does not exist
    nodata,         // a name on the way has no A/AAAA (and no CNAME)
    servfail,       // a server answered SERVFAIL (or REFUSED, NOTIMP, a malformed answer)
    no_answer,      // no server answered (timeout, connection refused)
    loop,           // a CNAME leads back to a name already on the chain
    too_long,       // more than 16 CNAMEs
};
std::string_view to_string(chain_end e) noexcept;

struct report;

// One record on the way from the host to its addresses.
struct chain_hop {
    std::string name{};
    std::string type{};       // "CNAME", "A", "AAAA"
    std::uint32_t ttl = 0;
    std::string data{};       // the CNAME target or the address
    std::string source{};     // the server that answered this hop: "127.0.0.1:53 (authoritative)"
    friend bool operator==(const chain_hop&, const chain_hop&) = default;
};

// What one server said about the host.
struct server_view {
    std::string server{};                     // "127.0.0.1:5353", or "resolv.conf"
    bool answered = false;                  // a DNS message came back
    std::string status{};                     // "NOERROR", "NXDOMAIN", "SERVFAIL", "timeout", ...
    bool aa = false;                        // authoritative answer bit
    std::optional<std::uint32_t> serial{};    // the zone's SOA serial (authoritative servers)
    std::optional<std::uint32_t> refresh{};   // SOA refresh: how soon secondaries catch up
    std::vector<chain_hop> answer{};          // the answer section's records on the host's chain
    std::optional<std::uint32_t> ttl{};       // TTL of the host's own record (remaining, for resolvers)
    std::optional<std::uint32_t> negative_ttl{};  // NXDOMAIN / NODATA: how long it is cached
    pointing points_to = pointing::nothing;
    std::string error{};                      // why there is no usable answer, in words
};

struct caa_view {
    bool checked = false;
    std::string owner{};                      // where the relevant set was found ("" when none)
    std::vector<caa_data> records{};
    bool allowed = true;
    std::string reason{};                     // evaluate_caa's reason, or the lookup failure
};

struct report {
    // The question.
    std::string host{};
    std::string expect{};
    std::optional<std::string> old{};
    std::chrono::sys_seconds checked_at{};
    std::optional<std::chrono::sys_seconds> rule_expires_at{};   // the redirect rule, when known

    // The facts.
    std::string zone{};                           // the host's zone apex ("" when not found)
    std::vector<std::string> nameservers{};       // NS names of the zone, when discovered
    std::vector<chain_hop> chain{};               // followed by stork, hop by hop, to A/AAAA
    chain_end chain_status = chain_end::complete;
    std::string chain_error{};                    // why the chain stops short, in words
    std::string chain_stop{};                     // the name where it stops
    std::optional<std::uint32_t> negative_ttl{};  // host (or a hop) does not exist: cached this long
    std::vector<std::string> expect_addresses{};  // the new target's A and AAAA
    std::vector<std::string> old_addresses{};     // --old's, when given
    std::string expect_error{};                   // the new target does not resolve: why
    std::vector<std::string> beside_cname{};      // types found beside a CNAME at the host ("A")
    std::vector<std::string> own_aaaa{};          // AAAA records owned by the host itself
    std::vector<server_view> authoritative{};
    std::vector<server_view> resolvers{};
    caa_view caa{};

    // The conclusion (decide()).
    verdict outcome = verdict::unresolvable;
    pointing points_to = pointing::nothing;
    std::vector<std::string> problems{};          // what is wrong, one sentence each
    std::vector<std::string> advice{};            // what to do, in order
    std::optional<std::chrono::seconds> change_visible_within{};  // a change made now reaches every resolver within
    std::optional<std::chrono::seconds> propagation_left{};       // propagating: until every resolver has it
    std::optional<long> days_left{};              // before the rule expires
    bool no_server_answered = false;            // every server asked was silent or unreachable
};

// Where a chain (host first) leads, against the report's expect/old names and addresses.
pointing classify(const report& r, const std::vector<chain_hop>& chain);

// Fills outcome, points_to, problems, advice and the durations from the facts.
void decide(report& r);

// "45 s", "5 min", "1 h", "1 h 30 min", "2 days": the waits in advice.
std::string human_duration(std::chrono::seconds s);

// The JSON of GET /v1/dns/check and `stork dns check --json`: host, expect, old,
// checked_at, verdict, points_to, zone, chain [{name,type,ttl,data,source}], addresses,
// authoritative [...], resolvers [...], caa {...}, negative_ttl, problems[], advice[],
// change_visible_within, propagation_left, days_left, rule_expires_at.
boost::json::object to_json(const report& r);

// The report for people: aligned sections, the verdict first. `colour`: ANSI colours
// (only on a terminal).
std::string render_text(const report& r, bool colour);

} // namespace stork::dnscheck
