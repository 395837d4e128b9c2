#pragma once

#include "config/dns_config.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

// What the owner must change in DNS after finalize (design.md §5, migration-flow.md §1.8
// "After done", without its quirks §1.9): one entry per custom domain, from the DNS
// advisor's view (dnscheck::advisor) of that domain against the new target.
namespace stork::control {

struct dns_change {
    std::string domain{};                 // "my-app.example.com"
    std::string record{};                 // what to edit: "CNAME", or "ALIAS/ANAME or A" at a zone apex
    std::string change_to{};              // "my-app.osc-secnum-fr1.scalingo.io" (or addresses for A)
    std::string current{};                // what it points to now: the CNAME's target, or the
                                          // addresses ("192.0.2.2, 192.0.2.3"); "" when unknown
    std::string verdict{};                // the advisor's: "ready", "pending", ...
    std::optional<std::uint32_t> ttl{};   // the record's TTL now, when known
    std::vector<std::string> advice{};    // the advisor's advice lines, in order (unresolvable: the reason first)
};

struct dns_changes_request {
    std::vector<std::string> domains{};   // the app's custom domains
    std::string new_target{};             // "<new app>.<destination domain>"
    std::string old_target{};             // "<app>.<source domain>"
    std::optional<std::chrono::sys_seconds> rule_expires_at{};
    config::dns_config dns{};             // the control configuration's resolvers
    std::chrono::milliseconds timeout{2000};
};

// Asks the advisor about every domain (concurrently). A domain the advisor cannot get an
// answer for still gets its entry (verdict "unresolvable", the reason as advice). Never
// throws for DNS failures.
std::vector<dns_change> advise_dns_changes(const dns_changes_request& request);

// The text for people, e.g.
//   -----> You need to make the following changes to your DNS records:
//
//          - CNAME record of my-app.example.com should be changed to my-app.osc-secnum-fr1.scalingo.io
//            (now: my-app.osc-fr1.scalingo.io, TTL 3600 s; pending)
//            Lower the TTL of ... first ...
// A domain already on the new target says so instead of asking for a change ("- D already
// points to the new region (T)"); when every domain does, the heading says no change is
// needed. Every domain gets exactly one "- " line (migration-flow.md §1.9); an empty list
// prints nothing.
void print_dns_changes(std::ostream& out, const std::vector<dns_change>& changes);

} // namespace stork::control
