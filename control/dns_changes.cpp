#include "control/dns_changes.hpp"

#include "dnscheck/advisor.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <exception>
#include <string_view>
#include <utility>

namespace stork::control {

namespace {

namespace asio = boost::asio;

// A host name as DNS compares it: without the trailing dot of the absolute form, in lower
// case (RFC 4343). Scalingo's CLI compared "x." with "x" and so took every domain for a
// CNAME (migration-flow.md §1.9); every name here goes through this before it is compared.
std::string normalised(std::string_view name)
{
    while (!name.empty() && name.back() == '.') {
        name.remove_suffix(1);
    }
    std::string out{name};
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    return out;
}

std::string joined(const std::vector<std::string>& items)
{
    std::string out;
    for (const std::string& item : items) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return out;
}

// The records the walk found at the host itself (the first hops, before any CNAME leads
// elsewhere).
std::vector<const dnscheck::chain_hop*> own_hops(const dnscheck::report& r)
{
    std::vector<const dnscheck::chain_hop*> hops;
    for (const auto& hop : r.chain) {
        if (normalised(hop.name) != normalised(r.host)) {
            break;
        }
        hops.push_back(&hop);
    }
    return hops;
}

// What the host points to now: its CNAME's target, else its addresses.
std::string current_of(const dnscheck::report& r)
{
    std::vector<std::string> addresses;
    for (const auto* hop : own_hops(r)) {
        if (hop->type == "CNAME") {
            return normalised(hop->data);
        }
        addresses.push_back(hop->data);
    }
    return joined(addresses);
}

// The TTL the owner set: the authoritative servers' answer (the zone file's value), else
// the walk's first hop at the host (a resolver's, possibly counting down).
std::optional<std::uint32_t> ttl_of(const dnscheck::report& r)
{
    for (const auto& view : r.authoritative) {
        if (view.answered && view.ttl) {
            return view.ttl;
        }
    }
    const auto hops = own_hops(r);
    if (!hops.empty()) {
        return hops.front()->ttl;
    }
    return std::nullopt;
}

dns_change change_of(const dnscheck::report& r)
{
    dns_change c;
    c.domain = r.host;
    // At a zone apex a CNAME is not allowed beside the SOA and NS (RFC 1034 §3.6.2): the
    // owner needs their provider's ALIAS/ANAME, or A records with the target's addresses.
    if (!r.zone.empty() && normalised(r.zone) == normalised(r.host)) {
        c.record = "ALIAS/ANAME or A";
        // Without the target's addresses (it does not resolve yet), its name is still
        // what an ALIAS takes.
        c.change_to = r.expect_addresses.empty() ? r.expect : joined(r.expect_addresses);
    } else {
        c.record = "CNAME";
        c.change_to = r.expect;
    }
    c.current = current_of(r);
    c.verdict = std::string{dnscheck::to_string(r.outcome)};
    c.ttl = ttl_of(r);
    // Unresolvable: the reason comes first, or "create a CNAME" would not say why.
    if (r.outcome == dnscheck::verdict::unresolvable) {
        c.advice = r.problems;
    }
    c.advice.insert(c.advice.end(), r.advice.begin(), r.advice.end());
    return c;
}

} // namespace

std::vector<dns_change> advise_dns_changes(const dns_changes_request& request)
{
    if (request.domains.empty()) {
        return {};
    }
    std::vector<dnscheck::check_request> checks;
    for (const std::string& domain : request.domains) {
        checks.push_back(dnscheck::check_request{
            .host = normalised(domain),
            .expect = normalised(request.new_target),
            .old = request.old_target.empty() ? std::nullopt : std::optional{normalised(request.old_target)},
            .authoritative = {},
            .rule_expires_at = request.rule_expires_at,
        });
    }
    dnscheck::advisor_options options = dnscheck::advisor_options_from(request.dns);
    options.timeout = request.timeout;

    std::vector<dnscheck::report> reports;
    std::string failure;
    try {
        asio::io_context io{1};
        dnscheck::advisor advisor{io, std::move(options)};
        asio::co_spawn(io, advisor.check_all(checks),
                       [&reports](std::exception_ptr e, std::vector<dnscheck::report> done) {
                           if (e) {
                               std::rethrow_exception(e);
                           }
                           reports = std::move(done);
                       });
        io.run();
    } catch (const std::exception& e) {
        // Not a DNS failure (those are facts in the reports) but the advisor refusing to
        // start, e.g. a resolver address c-ares will not take: every domain still gets its
        // entry, with the reason.
        failure = e.what();
    }

    std::vector<dns_change> changes;
    for (std::size_t i = 0; i < checks.size(); ++i) {
        if (i < reports.size()) {
            changes.push_back(change_of(reports[i]));
            continue;
        }
        changes.push_back(dns_change{
            .domain = checks[i].host,
            .record = "CNAME",
            .change_to = checks[i].expect,
            .current = {},
            .verdict = std::string{dnscheck::to_string(dnscheck::verdict::unresolvable)},
            .ttl = std::nullopt,
            .advice = {"The DNS advisor could not check " + checks[i].host + ": " +
                       (failure.empty() ? std::string{"no report"} : failure) + "."},
        });
    }
    return changes;
}

void print_dns_changes(std::ostream& out, const std::vector<dns_change>& changes)
{
    if (changes.empty()) {
        return;
    }
    const bool to_do = std::any_of(changes.begin(), changes.end(),
                                   [](const dns_change& c) { return c.verdict != "ready"; });
    out << (to_do ? "-----> You need to make the following changes to your DNS records:\n"
                  : "-----> Your DNS records need no change:\n")
        << "\n";
    constexpr std::string_view item = "       - ";
    constexpr std::string_view under = "         ";
    for (const dns_change& c : changes) {
        // One line per domain, whatever its state (migration-flow.md §1.9: Scalingo's
        // unresolvable path printed a second one).
        if (c.verdict == "ready") {
            out << item << c.domain << " already points to the new region (" << c.change_to << ")\n";
        } else {
            out << item << c.record << " record of " << c.domain << " should be changed to " << c.change_to << "\n";
            std::string state;
            if (!c.current.empty()) {
                state = "now: " + c.current;
            }
            if (c.ttl) {
                state += (state.empty() ? "" : ", ") + std::string{"TTL "} + std::to_string(*c.ttl) + " s";
            }
            out << under << "(" << state << (state.empty() ? "" : "; ") << c.verdict << ")\n";
        }
        for (const std::string& line : c.advice) {
            out << under << line << "\n";
        }
    }
}

} // namespace stork::control
