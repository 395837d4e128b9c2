// decide(): from the facts the advisor gathered to a verdict and advice. No I/O.
#include "dnscheck/report.hpp"

#include "config/timestamp.hpp"

#include <algorithm>
#include <set>

namespace stork::dnscheck {
namespace {

using std::chrono::seconds;

// Above this TTL, lowering it first shortens the window where resolvers mix old and new
// answers; 60 s is what the platforms recommend (reference/dns-advisor.md §3).
constexpr std::uint32_t lower_ttl_above = 300;
constexpr std::uint32_t lowered_ttl = 60;

std::string list(const std::vector<std::string>& items, std::string_view separator = ", ")
{
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) {
            out += separator;
        }
        out += item;
    }
    return out;
}

bool contains_name(const std::vector<chain_hop>& chain, std::string_view name)
{
    return std::any_of(chain.begin(), chain.end(), [&](const chain_hop& h) {
        return same_name(h.name, name) || (h.type == "CNAME" && same_name(h.data, name));
    });
}

std::set<std::string> addresses_of(const std::vector<chain_hop>& chain, std::string_view type)
{
    std::set<std::string> out;
    for (const auto& h : chain) {
        if (h.type == type) {
            out.insert(h.data);
        }
    }
    return out;
}

std::set<std::string> v4_of(const std::vector<std::string>& addresses)
{
    std::set<std::string> out;
    for (const auto& a : addresses) {
        if (a.find(':') == std::string::npos) {
            out.insert(a);
        }
    }
    return out;
}

bool host_has_cname(const report& r)
{
    return !r.chain.empty() && r.chain.front().type == "CNAME" && same_name(r.chain.front().name, r.host);
}

// The TTL of the host's own first record as its authoritative servers give it (the wait
// a change implies), else as the walk found it.
std::optional<std::uint32_t> host_ttl(const report& r)
{
    for (const auto& v : r.authoritative) {
        if (v.answered && v.ttl) {
            return v.ttl;
        }
    }
    if (!r.chain.empty() && same_name(r.chain.front().name, r.host)) {
        return r.chain.front().ttl;
    }
    return std::nullopt;
}

std::string seconds_text(std::uint32_t s)
{
    return std::to_string(s) + " s";
}

std::string date_text(std::chrono::sys_seconds t)
{
    return config::format_rfc3339(t).substr(0, 10);   // "2026-12-18"
}

std::string time_text(std::chrono::sys_seconds t)
{
    return config::format_rfc3339(t).substr(11, 8);   // "10:40:00"
}

// "Change the CNAME of HOST to EXPECT", with the TTL step first when the TTL is long.
void advise_switch(report& r)
{
    const auto ttl = host_ttl(r);
    const bool lower = ttl && *ttl > lower_ttl_above;
    const std::string lower_first = lower ? "Lower the TTL of " + r.host + " from " + seconds_text(*ttl) + " to " +
                                                seconds_text(lowered_ttl) + ", wait " +
                                                human_duration(seconds{*ttl}) + ", then "
                                          : std::string{};
    if (host_has_cname(r) || r.chain.empty()) {
        if (lower) {
            r.advice.push_back(lower_first + "change its CNAME to " + r.expect + ".");
        } else {
            r.advice.push_back("Change the CNAME of " + r.host + " to " + r.expect +
                               (ttl ? "; resolvers follow within " + human_duration(seconds{*ttl}) : std::string{}) +
                               ".");
        }
        return;
    }
    // The host owns its addresses: a zone apex, or a provider that flattens CNAMEs.
    const auto own = addresses_of(r.chain, "A");
    std::string text = r.host + " has A records (" + list({own.begin(), own.end()}) +
                       ") rather than a CNAME, as a zone apex must. Point it at " + r.expect +
                       " with an ALIAS/ANAME or flattened CNAME if your DNS provider offers one";
    const auto expect_v4 = v4_of(r.expect_addresses);
    if (!expect_v4.empty()) {
        text += ", otherwise replace its A records with " + r.expect + "'s addresses: " +
                list({expect_v4.begin(), expect_v4.end()});
    }
    if (lower) {
        r.advice.push_back(lower_first + "repoint it.");
    }
    r.advice.push_back(text + ".");
}

void advise_days_left(report& r)
{
    if (!r.days_left) {
        return;
    }
    const std::string until = r.rule_expires_at ? date_text(*r.rule_expires_at) : std::string{};
    if (*r.days_left <= 0) {
        r.advice.push_back("The redirect rule for " + r.host + " expired on " + until +
                           ": the old region no longer forwards its traffic.");
    } else {
        r.advice.push_back(std::to_string(*r.days_left) + (*r.days_left == 1 ? " day" : " days") +
                           " left before the old region stops forwarding " + r.host + " (the rule expires on " +
                           until + ").");
    }
}

// Problems that make the setup wrong whatever else is true.
void find_problems(report& r)
{
    if (r.chain_status == chain_end::loop) {
        r.problems.push_back("the CNAME chain loops at " + r.chain_stop + ".");
        r.advice.push_back("Fix the CNAME of " + r.chain_stop + ": it leads back to a name already on the chain.");
    } else if (r.chain_status == chain_end::too_long) {
        r.problems.push_back("the CNAME chain is longer than 16 names (stopped at " + r.chain_stop + ").");
        r.advice.push_back("Shorten the CNAME chain: point " + r.host + " at " + r.expect + " directly.");
    }
    if (!r.beside_cname.empty()) {
        r.problems.push_back(r.host + " has a CNAME and other records (" + list(r.beside_cname) +
                             "); a CNAME must be alone at its name (RFC 1034 §3.6.2, RFC 2181 §10.1).");
        r.advice.push_back("Remove the " + list(r.beside_cname) + " records of " + r.host +
                           ": resolvers see either the CNAME or them, never reliably both.");
    }
    if (!r.own_aaaa.empty() && !host_has_cname(r)) {
        std::vector<std::string> leftover;
        for (const auto& a : r.own_aaaa) {
            if (std::find(r.expect_addresses.begin(), r.expect_addresses.end(), a) == r.expect_addresses.end()) {
                leftover.push_back(a);
            }
        }
        if (!leftover.empty()) {
            r.problems.push_back(r.host + " keeps AAAA records (" + list(leftover) + ") that are not " + r.expect +
                                 "'s: IPv6 clients still go there.");
            r.advice.push_back("Remove the AAAA records of " + r.host + " (" + list(leftover) + ")" +
                               (v4_of(r.expect_addresses).size() == r.expect_addresses.size()
                                    ? std::string{": "} + r.expect + " has no IPv6 address."
                                    : std::string{", or replace them with " + r.expect + "'s."}));
        }
    }
    if (r.caa.checked && !r.caa.allowed) {
        r.problems.push_back("Let's Encrypt may not issue a certificate for " + r.host + ": " + r.caa.reason + ".");
        const std::string owner = r.caa.owner.empty() ? r.host : r.caa.owner;
        r.advice.push_back("Add the CAA record `" + owner +
                           " CAA 0 issue \"letsencrypt.org\"` (keep those of your other CAs), or the new region "
                           "cannot obtain a certificate for " +
                           r.host + ".");
    }
    if (r.points_to == pointing::elsewhere && r.old) {
        std::string where;
        for (const auto& h : r.chain) {
            if (h.type == "CNAME" && same_name(h.name, r.host)) {
                where = h.data;
            }
        }
        if (where.empty()) {
            const auto own = addresses_of(r.chain, "A");
            where = list({own.begin(), own.end()});
        }
        r.problems.push_back(r.host + " points to " + where + ", neither " + r.expect + " nor " + *r.old + ".");
    }
}

void decide_unresolvable(report& r)
{
    r.outcome = verdict::unresolvable;
    const std::string stop = r.chain_stop.empty() ? r.host : r.chain_stop;
    switch (r.chain_status) {
    case chain_end::nxdomain:
        if (same_name(stop, r.host)) {
            r.problems.push_back(r.host + " does not exist (NXDOMAIN).");
            r.advice.push_back("Create a CNAME record for " + r.host + " pointing to " + r.expect + ".");
        } else if (same_name(stop, r.expect)) {
            r.problems.push_back(r.expect + " does not exist (NXDOMAIN): the new region has not published it.");
            r.advice.push_back("Nothing to change on your side for this: the platform must publish " + r.expect +
                               ".");
        } else {
            r.problems.push_back(r.host + " leads to " + stop + ", which does not exist (NXDOMAIN).");
            r.advice.push_back("Change the CNAME of " + r.host + " to " + r.expect + ".");
        }
        if (r.negative_ttl) {
            r.advice.push_back("Resolvers that asked recently remember that " + stop + " does not exist for up to " +
                               human_duration(seconds{*r.negative_ttl}) + " (negative caching, RFC 2308).");
        }
        break;
    case chain_end::nodata:
        r.problems.push_back(stop + " has no address record (NODATA).");
        r.advice.push_back((same_name(stop, r.host) ? "Create a CNAME record for " + r.host + " pointing to "
                                                    : "Change the CNAME of " + r.host + " to ") +
                           r.expect + ".");
        break;
    case chain_end::servfail:
        r.problems.push_back(r.chain_error + ".");
        r.advice.push_back("The zone of " + stop +
                           " is broken on that server (a DNSSEC failure, an expired or refused zone): ask your DNS "
                           "provider to fix it.");
        break;
    case chain_end::no_answer:
    default:
        r.problems.push_back(r.chain_error.empty() ? "no DNS server answered for " + stop + "." : r.chain_error + ".");
        r.advice.push_back("Check that the servers asked are reachable, or retry with a longer --timeout.");
        break;
    }
}

} // namespace

std::string_view to_string(verdict v) noexcept
{
    switch (v) {
    case verdict::ready: return "ready";
    case verdict::pending: return "pending";
    case verdict::propagating: return "propagating";
    case verdict::misconfigured: return "misconfigured";
    case verdict::unresolvable: return "unresolvable";
    }
    return "unresolvable";
}

std::string_view to_string(pointing p) noexcept
{
    switch (p) {
    case pointing::new_target: return "new";
    case pointing::old_target: return "old";
    case pointing::elsewhere: return "elsewhere";
    case pointing::nothing: return "nothing";
    }
    return "nothing";
}

std::string_view to_string(chain_end e) noexcept
{
    switch (e) {
    case chain_end::complete: return "complete";
    case chain_end::nxdomain: return "nxdomain";
    case chain_end::nodata: return "nodata";
    case chain_end::servfail: return "servfail";
    case chain_end::no_answer: return "no_answer";
    case chain_end::loop: return "loop";
    case chain_end::too_long: return "too_long";
    }
    return "no_answer";
}

std::string human_duration(seconds s)
{
    auto n = s.count();
    if (n < 0) {
        n = 0;
    }
    if (n < 60) {
        return std::to_string(n) + " s";
    }
    if (n < 3600) {
        const auto m = n / 60;
        const auto rest = n % 60;
        return std::to_string(m) + " min" + (rest != 0 ? " " + std::to_string(rest) + " s" : "");
    }
    if (n < 2 * 86400) {
        const auto h = n / 3600;
        const auto m = (n % 3600) / 60;
        return std::to_string(h) + " h" + (m != 0 ? " " + std::to_string(m) + " min" : "");
    }
    const auto d = n / 86400;
    const auto h = (n % 86400) / 3600;
    return std::to_string(d) + " days" + (h != 0 ? " " + std::to_string(h) + " h" : "");
}

pointing classify(const report& r, const std::vector<chain_hop>& chain)
{
    if (chain.empty()) {
        return pointing::nothing;
    }
    if (contains_name(chain, r.expect)) {
        return pointing::new_target;
    }
    if (r.old && contains_name(chain, *r.old)) {
        return pointing::old_target;
    }
    // No name matches: a zone apex, a flattened CNAME, or a chain through a name of the
    // platform's that stork does not know. Same IPv4 set as a target: the same place.
    const auto v4 = addresses_of(chain, "A");
    if (!v4.empty()) {
        if (v4 == v4_of(r.expect_addresses)) {
            return pointing::new_target;
        }
        if (!r.old_addresses.empty() && v4 == v4_of(r.old_addresses)) {
            return pointing::old_target;
        }
    }
    return pointing::elsewhere;
}

void decide(report& r)
{
    r.problems.clear();
    r.advice.clear();
    r.propagation_left.reset();
    r.change_visible_within.reset();
    r.days_left.reset();
    if (r.rule_expires_at) {
        r.days_left = std::chrono::floor<std::chrono::days>(*r.rule_expires_at - r.checked_at).count();
    }
    r.points_to = classify(r, r.chain);

    // How long a change made now takes to reach every resolver: the TTL in force, or a
    // resolver's longer remaining TTL (a clamping resolver).
    std::optional<std::uint32_t> visible = host_ttl(r);
    if (r.chain.empty() && r.negative_ttl) {
        visible = r.negative_ttl;
    }
    for (const auto& v : r.resolvers) {
        const auto t = v.ttl ? v.ttl : v.negative_ttl;
        if (t && (!visible || *t > *visible)) {
            visible = t;
        }
    }
    if (visible) {
        r.change_visible_within = seconds{*visible};
    }

    if (r.no_server_answered) {
        r.outcome = verdict::unresolvable;
        std::vector<std::string> silent;
        for (const auto* views : {&r.authoritative, &r.resolvers}) {
            for (const auto& v : *views) {
                silent.push_back(v.server + " (" + (v.error.empty() ? v.status : v.error) + ")");
            }
        }
        r.problems.push_back("no DNS server answered: " + list(silent, "; ") + ".");
        r.advice.push_back("Check the addresses given with --resolver/--authoritative and that they are reachable, "
                           "or retry with a longer --timeout.");
        advise_days_left(r);
        return;
    }

    const bool chain_broken = r.chain_status == chain_end::nxdomain || r.chain_status == chain_end::nodata ||
                              r.chain_status == chain_end::servfail || r.chain_status == chain_end::no_answer;
    if (chain_broken) {
        decide_unresolvable(r);
        advise_days_left(r);
        return;
    }

    find_problems(r);

    // Authoritative servers that disagree: a secondary still on an older serial.
    bool auth_new = false;
    bool auth_not_new = false;
    for (const auto& v : r.authoritative) {
        if (!v.answered || v.points_to == pointing::nothing) {
            continue;
        }
        (v.points_to == pointing::new_target ? auth_new : auth_not_new) = true;
    }

    if (!r.problems.empty()) {
        r.outcome = verdict::misconfigured;
        if (r.points_to != pointing::new_target) {
            advise_switch(r);
        }
        advise_days_left(r);
        return;
    }

    if (r.points_to != pointing::new_target && !auth_new) {
        r.outcome = verdict::pending;
        advise_switch(r);
        if (r.change_visible_within) {
            r.advice.push_back("Once changed, every resolver sees it within " +
                               human_duration(*r.change_visible_within) + ".");
        }
        advise_days_left(r);
        return;
    }

    // The new target at the source (or at some authoritative server): is it everywhere?
    std::vector<std::string> lagging;
    std::uint32_t left = 0;
    if (auth_new && auth_not_new) {
        std::optional<std::uint32_t> newest;
        for (const auto& v : r.authoritative) {
            if (v.answered && v.points_to == pointing::new_target && v.serial) {
                newest = std::max(newest.value_or(0), *v.serial);
            }
        }
        for (const auto& v : r.authoritative) {
            if (v.answered && v.points_to != pointing::new_target && v.points_to != pointing::nothing) {
                std::string text = "Authoritative server " + v.server + " still answers the old record";
                if (v.serial) {
                    text += " (serial " + std::to_string(*v.serial) +
                            (newest ? ", the others serve " + std::to_string(*newest) : std::string{}) + ")";
                }
                text += "; it catches up when NOTIFY reaches it";
                if (v.refresh) {
                    text += ", at the latest within its refresh of " + human_duration(seconds{*v.refresh});
                    left = std::max(left, *v.refresh);
                }
                lagging.push_back(text + ".");
            }
        }
    }
    const auto now = r.checked_at;
    for (const auto& v : r.resolvers) {
        if (!v.answered || v.points_to == pointing::new_target) {
            continue;
        }
        const auto t = v.points_to == pointing::nothing ? v.negative_ttl : v.ttl;
        std::string text = "Resolver " + v.server + " still has the " +
                           (v.points_to == pointing::nothing ? std::string{"negative answer"}
                                                             : std::string{"old answer"});
        if (t) {
            text += " for " + human_duration(seconds{*t}) + " (until " + time_text(now + seconds{*t}) + " UTC)";
            left = std::max(left, *t);
        }
        lagging.push_back(text + ".");
    }
    if (!lagging.empty()) {
        r.outcome = verdict::propagating;
        r.propagation_left = seconds{left};
        r.advice.push_back("Nothing to change: the authoritative servers answer " + r.expect + ".");
        for (auto& l : lagging) {
            r.advice.push_back(std::move(l));
        }
        advise_days_left(r);
        return;
    }

    r.outcome = verdict::ready;
    r.advice.push_back("Nothing to do: " + r.host + " reaches " + r.expect + " on every server asked.");
    if (const auto ttl = host_ttl(r); ttl && *ttl <= lower_ttl_above) {
        r.advice.push_back("If you lowered its TTL for the move, you can raise it again (it is " + seconds_text(*ttl) +
                           ").");
    }
    for (const auto& v : r.authoritative) {
        if (!v.answered) {
            r.advice.push_back("Authoritative server " + v.server + " did not answer (" + v.error + "): not checked.");
        }
    }
    for (const auto& v : r.resolvers) {
        if (!v.answered) {
            r.advice.push_back("Resolver " + v.server + " did not answer (" + v.error + "): not checked.");
        }
    }
    advise_days_left(r);
}

} // namespace stork::dnscheck
