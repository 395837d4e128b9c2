#include "dnscheck/advisor.hpp"

#include "dnscheck/caa.hpp"

#include <ares.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <exception>
#include <set>

namespace stork::dnscheck {

namespace asio = boost::asio;

namespace {

constexpr int max_cnames = 16;

// Runs every task concurrently on the current executor and returns when all are done;
// the first exception, if any, is rethrown then.
asio::awaitable<void> all_of(std::vector<asio::awaitable<void>> tasks)
{
    if (tasks.empty()) {
        co_return;
    }
    auto ex = co_await asio::this_coro::executor;
    using op = decltype(asio::co_spawn(ex, std::declval<asio::awaitable<void>>(), asio::deferred));
    std::vector<op> ops;
    ops.reserve(tasks.size());
    for (auto& t : tasks) {
        ops.push_back(asio::co_spawn(ex, std::move(t), asio::deferred));
    }
    auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                               .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    (void)order;
    for (const auto& e : errors) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
}

std::string lower(std::string_view s)
{
    std::string out{s};
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

bool in_zone(std::string_view name, std::string_view zone)
{
    if (zone.empty()) {
        return false;
    }
    if (same_name(name, zone)) {
        return true;
    }
    return name.size() > zone.size() + 1 && name[name.size() - zone.size() - 1] == '.' &&
           same_name(name.substr(name.size() - zone.size()), zone);
}

std::string parent_of(std::string_view name)
{
    const auto dot = name.find('.');
    return dot == std::string_view::npos ? std::string{} : std::string{name.substr(dot + 1)};
}

std::string address_text(const record& rec)
{
    if (const auto* a = std::get_if<asio::ip::address>(&rec.data)) {
        return a->to_string();
    }
    return rec.data_text();
}

chain_hop hop_of(const record& rec, const std::string& source)
{
    return chain_hop{rec.name, type_name(rec.type), rec.ttl,
                     rec.type == rr::cname ? std::get<std::string>(rec.data) : address_text(rec), source};
}

// The records of an answer section on the way from `name`: its CNAMEs in order, then the
// addresses of the name they end at. Stops on a loop.
std::vector<chain_hop> chain_in(const message& m, std::string_view name, const std::string& source,
                                std::string* end_name = nullptr)
{
    std::vector<chain_hop> out;
    std::string cur{name};
    std::set<std::string> seen{lower(cur)};
    for (int i = 0; i <= max_cnames; ++i) {
        const auto cnames = records_of(m.answers, cur, rr::cname);
        if (cnames.empty()) {
            break;
        }
        out.push_back(hop_of(*cnames.front(), source));
        cur = std::get<std::string>(cnames.front()->data);
        if (!seen.insert(lower(cur)).second) {
            break;
        }
    }
    for (const std::uint16_t type : {rr::a, rr::aaaa}) {
        for (const auto* rec : records_of(m.answers, cur, type)) {
            out.push_back(hop_of(*rec, source));
        }
    }
    if (end_name != nullptr) {
        *end_name = cur;
    }
    return out;
}

std::string describe(boost::system::error_code ec)
{
    if (ec.category() == ares_category()) {
        switch (ec.value()) {
        case ARES_ETIMEOUT: return "timeout";
        case ARES_ECONNREFUSED: return "connection refused";
        case ARES_EBADNAME: return "not a valid DNS name";
        case ARES_EDESTRUCTION:
        case ARES_ECANCELLED: return "cancelled";
        default: return ares_strerror(ec.value());
        }
    }
    return ec.message();
}

bool is_failure_rcode(int code)
{
    return code != rcode::noerror && code != rcode::nxdomain;
}

} // namespace

struct advisor::query_answer {
    std::string server;                 // as asked, "" for resolv.conf
    bool responded = false;             // bytes came back (a message, or garbage)
    std::optional<message> reply;       // a DNS message that parsed
    std::string error;                  // no usable message: why ("timeout", "malformed answer: ...")

    std::string status() const { return reply ? rcode_name(reply->rcode) : error; }
};

bool advisor::fill_view(server_view& view, const query_answer& a, const std::string& host, std::string_view role)
{
    view.answered = a.responded;
    view.status = a.status();
    if (!a.reply) {
        view.error = a.error;
        return false;
    }
    const auto& m = *a.reply;
    view.aa = m.aa;
    view.answer = chain_in(m, host, view.server + " (" + std::string{role} + ")");
    if (!view.answer.empty() && same_name(view.answer.front().name, host)) {
        view.ttl = view.answer.front().ttl;
    }
    if (m.rcode == rcode::nxdomain || (m.rcode == rcode::noerror && view.answer.empty())) {
        view.negative_ttl = negative_ttl(m);
    }
    if (is_failure_rcode(m.rcode)) {
        view.error = view.server + " answers " + rcode_name(m.rcode) + " for " + host;
    }
    return true;
}

advisor::advisor(asio::io_context& io, advisor_options options)
    : io_{io}, options_{std::move(options)}, first_resolver_{options_.resolvers.empty() ? "" : options_.resolvers.front()}
{
}

advisor::~advisor() = default;

channel& advisor::channel_for(const std::string& server, bool recurse)
{
    auto& slot = channels_[{server, recurse}];
    if (!slot) {
        channel_options o;
        if (!server.empty()) {
            o.servers = {server};
        }
        o.timeout = options_.timeout;
        o.tries = options_.tries;
        o.no_recurse = !recurse;
        o.max_outstanding = options_.max_outstanding;
        slot = std::make_unique<channel>(io_, std::move(o));
    }
    return *slot;
}

asio::awaitable<advisor::query_answer> advisor::ask(std::string server, bool recurse, std::string name,
                                                    int qtype)
{
    auto& ch = channel_for(server, recurse);
    auto [ec, bytes] = co_await ch.async_query(std::move(name), qtype, asio::as_tuple(asio::use_awaitable));
    query_answer out;
    out.server = std::move(server);
    if (bytes.empty()) {
        out.error = describe(ec);
        co_return out;
    }
    out.responded = true;
    auto parsed = parse_message(bytes);
    if (!parsed) {
        out.error = "malformed answer: " + parsed.error().what;
        co_return out;
    }
    out.reply = std::move(*parsed);
    co_return out;
}

asio::awaitable<void> advisor::find_zone(report& r, const check_request& q, std::vector<std::string>& servers)
{
    // Named servers are asked without recursion: they answer for their own zones only.
    const bool named = !q.authoritative.empty();
    const std::string source = named ? q.authoritative.front() : first_resolver_;
    std::string name = r.host;
    while (!name.empty()) {
        const auto a = co_await ask(source, !named, name, rr::soa);
        if (!a.reply) {
            break;   // no answer: the zone stays unknown; the views say why
        }
        const auto& m = *a.reply;
        if (m.rcode == rcode::refused || m.rcode == rcode::servfail) {
            break;
        }
        if (!records_of(m.answers, name, rr::soa).empty()) {
            r.zone = name;
            break;
        }
        // NXDOMAIN / NODATA: the authority SOA names the zone. Not after a CNAME: that
        // SOA would be the target's zone.
        if (records_of(m.answers, name, rr::cname).empty()) {
            const auto soa = std::find_if(m.authority.begin(), m.authority.end(),
                                          [](const record& rec) { return rec.type == rr::soa; });
            if (soa != m.authority.end() && in_zone(name, soa->name)) {
                r.zone = soa->name;
                break;
            }
        }
        name = parent_of(name);
    }
    if (named || r.zone.empty()) {
        co_return;
    }
    // The zone's NS and their IPv4 addresses, through the resolver, on port 53.
    const auto ns = co_await ask(first_resolver_, true, r.zone, rr::ns);
    if (!ns.reply) {
        co_return;
    }
    for (const auto* rec : records_of(ns.reply->answers, r.zone, rr::ns)) {
        r.nameservers.push_back(std::get<std::string>(rec->data));
    }
    for (const auto& host : r.nameservers) {
        const auto a = co_await ask(first_resolver_, true, host, rr::a);
        if (!a.reply) {
            continue;
        }
        std::string end;
        for (const auto& hop : chain_in(*a.reply, host, {}, &end)) {
            if (hop.type == "A") {
                const std::string server = hop.data + ":53";
                if (std::find(servers.begin(), servers.end(), server) == servers.end()) {
                    servers.push_back(server);
                }
            }
        }
    }
}

asio::awaitable<void> advisor::ask_authoritative(report& r, server_view& view)
{
    query_answer a, aaaa, soa;
    std::vector<asio::awaitable<void>> tasks;
    auto run = [this](query_answer& out, std::string server, std::string name, int type) -> asio::awaitable<void> {
        out = co_await ask(server, false, std::move(name), type);
    };
    tasks.push_back(run(a, view.server, r.host, rr::a));
    tasks.push_back(run(aaaa, view.server, r.host, rr::aaaa));
    if (!r.zone.empty()) {
        tasks.push_back(run(soa, view.server, r.zone, rr::soa));
    }
    co_await all_of(std::move(tasks));

    if (!fill_view(view, a, r.host, "authoritative")) {
        co_return;
    }
    const auto& m = *a.reply;
    if (!is_failure_rcode(m.rcode) && !m.aa) {
        view.error = view.server + " is not authoritative for " + r.host + " (AA bit clear)";
    }
    // A CNAME must be alone at its name: other records owned by the host beside one.
    for (const auto* reply : {&a.reply, &aaaa.reply}) {
        if (!*reply) {
            continue;
        }
        const auto& answers = (*reply)->answers;
        if (records_of(answers, r.host, rr::cname).empty()) {
            continue;
        }
        for (const auto& rec : answers) {
            if (same_name(rec.name, r.host) && rec.type != rr::cname) {
                const auto t = type_name(rec.type);
                if (std::find(r.beside_cname.begin(), r.beside_cname.end(), t) == r.beside_cname.end()) {
                    r.beside_cname.push_back(t);
                }
            }
        }
    }
    if (aaaa.reply && records_of(aaaa.reply->answers, r.host, rr::cname).empty()) {
        for (const auto* rec : records_of(aaaa.reply->answers, r.host, rr::aaaa)) {
            const auto text = address_text(*rec);
            if (std::find(r.own_aaaa.begin(), r.own_aaaa.end(), text) == r.own_aaaa.end()) {
                r.own_aaaa.push_back(text);
            }
        }
    }
    if (soa.reply) {
        if (const auto recs = records_of(soa.reply->answers, r.zone, rr::soa); !recs.empty()) {
            const auto& s = std::get<soa_data>(recs.front()->data);
            view.serial = s.serial;
            view.refresh = s.refresh;
        }
    }
}

asio::awaitable<void> advisor::ask_resolver(report& r, server_view& view)
{
    std::string server = view.server == "resolv.conf" ? std::string{} : view.server;
    const auto a = co_await ask(std::move(server), true, r.host, rr::a);
    fill_view(view, a, r.host, "resolver");
}

asio::awaitable<void> advisor::walk_chain(report& r, std::vector<std::string> zone_servers)
{
    std::string name = r.host;
    std::set<std::string> seen{lower(name)};
    int cnames = 0;
    for (;;) {
        // Who to ask for this hop: the zone's own servers in turn, then the resolver.
        std::vector<std::pair<std::string, bool>> candidates;
        if (in_zone(name, r.zone)) {
            for (const auto& s : zone_servers) {
                candidates.emplace_back(s, false);
            }
        }
        candidates.emplace_back(first_resolver_, true);

        std::optional<query_answer> got;
        std::string failure;
        for (const auto& [server, recurse] : candidates) {
            auto a = co_await ask(server, recurse, name, rr::a);
            const std::string label = (server.empty() ? std::string{"resolv.conf"} : server);
            if (a.reply && !is_failure_rcode(a.reply->rcode)) {
                a.server = label + (recurse ? " (resolver)" : " (authoritative)");
                got = std::move(a);
                break;
            }
            if (failure.empty()) {
                failure = label + (a.reply ? " answers " + rcode_name(a.reply->rcode) : ": " + a.error) + " for " + name;
                // An answer that does not parse is the server's failure, like SERVFAIL.
                r.chain_status = a.responded ? chain_end::servfail : chain_end::no_answer;
            }
        }
        if (!got) {
            r.chain_error = failure;
            r.chain_stop = name;
            co_return;
        }
        const auto& m = *got->reply;
        std::string end;
        auto hops = chain_in(m, name, got->server, &end);
        bool have_address = false;
        for (auto& hop : hops) {
            if (hop.type == "CNAME") {
                if (++cnames > max_cnames) {
                    r.chain_status = chain_end::too_long;
                    r.chain_stop = hop.name;
                    co_return;
                }
                r.chain.push_back(hop);
                if (!seen.insert(lower(hop.data)).second) {
                    r.chain_status = chain_end::loop;
                    r.chain_stop = hop.data;
                    co_return;
                }
            } else {
                have_address = true;
                r.chain.push_back(std::move(hop));
            }
        }
        if (have_address) {
            // The final name's IPv6 addresses too, from the same server.
            const bool recurse = got->server.ends_with("(resolver)");
            const std::string server = got->server.substr(0, got->server.rfind(" ("));
            std::string six_server = server == "resolv.conf" ? std::string{} : server;
            auto six = co_await ask(std::move(six_server), recurse, end, rr::aaaa);
            if (six.reply) {
                for (const auto* rec : records_of(six.reply->answers, end, rr::aaaa)) {
                    r.chain.push_back(hop_of(*rec, got->server));
                }
            }
            r.chain_status = chain_end::complete;
            co_return;
        }
        if (m.rcode == rcode::nxdomain) {
            r.chain_status = chain_end::nxdomain;
            r.chain_stop = end;
            r.negative_ttl = negative_ttl(m);
            r.chain_error = got->server + ": " + end + " does not exist (NXDOMAIN)";
            co_return;
        }
        if (same_name(end, name)) {
            r.chain_status = chain_end::nodata;
            r.chain_stop = end;
            r.negative_ttl = negative_ttl(m);
            r.chain_error = got->server + ": " + end + " has no A record (NODATA)";
            co_return;
        }
        name = end;   // the answer stopped at a CNAME into another zone: ask for its target
    }
}

asio::awaitable<void> advisor::resolve_target(std::string name, std::vector<std::string>& addresses,
                                              std::string* error)
{
    query_answer a, aaaa;
    auto run = [this](query_answer& out, std::string n, int type) -> asio::awaitable<void> {
        out = co_await ask(first_resolver_, true, std::move(n), type);
    };
    std::vector<asio::awaitable<void>> tasks;
    tasks.push_back(run(a, name, rr::a));
    tasks.push_back(run(aaaa, name, rr::aaaa));
    co_await all_of(std::move(tasks));
    for (const auto* q : {&a, &aaaa}) {
        if (!q->reply) {
            continue;
        }
        for (const auto& hop : chain_in(*q->reply, name, {})) {
            if (hop.type != "CNAME") {
                addresses.push_back(hop.data);
            }
        }
    }
    if (addresses.empty() && error != nullptr) {
        *error = name + ": " + (a.reply ? (a.reply->rcode == rcode::noerror ? std::string{"no address"}
                                                                              : rcode_name(a.reply->rcode))
                                        : a.error);
    }
}

asio::awaitable<void> advisor::check_caa(report& r)
{
    // RFC 8659 §3: the first non-empty CAA set climbing from the name through its parents;
    // CNAMEs are followed at each step (the resolver does it), and the climb goes on from
    // the original name's parent, never the CNAME target's.
    r.caa.checked = true;
    const bool wildcard = r.host.starts_with("*.");
    std::string name = wildcard ? r.host.substr(2) : r.host;
    while (!name.empty()) {
        const auto a = co_await ask(first_resolver_, true, name, rr::caa);
        if (!a.reply || is_failure_rcode(a.reply->rcode)) {
            r.caa.allowed = false;
            r.caa.owner = name;
            r.caa.reason = "the CAA lookup for " + name + " failed (" + a.status() +
                           "), and Let's Encrypt refuses to issue while it cannot read CAA";
            co_return;
        }
        std::vector<caa_data> set;
        for (const auto& rec : a.reply->answers) {
            if (rec.type == rr::caa) {
                set.push_back(std::get<caa_data>(rec.data));
            }
        }
        if (!set.empty()) {
            auto decision = evaluate_caa(set, name, wildcard, options_.ca);
            r.caa.owner = name;
            r.caa.records = std::move(set);
            r.caa.allowed = decision.allowed;
            r.caa.reason = std::move(decision.reason);
            co_return;
        }
        name = parent_of(name);
    }
    auto decision = evaluate_caa({}, {}, wildcard, options_.ca);
    r.caa.allowed = decision.allowed;
    r.caa.reason = std::move(decision.reason);
}

asio::awaitable<report> advisor::check(check_request q)
{
    report r;
    r.host = q.host;
    r.expect = q.expect;
    r.old = q.old;
    r.rule_expires_at = q.rule_expires_at;
    r.checked_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());

    std::vector<std::string> servers = q.authoritative;
    co_await find_zone(r, q, servers);

    for (const auto& s : servers) {
        r.authoritative.push_back(server_view{.server = s});
    }
    if (options_.resolvers.empty()) {
        r.resolvers.push_back(server_view{.server = "resolv.conf"});
    }
    for (const auto& s : options_.resolvers) {
        r.resolvers.push_back(server_view{.server = s});
    }

    std::vector<asio::awaitable<void>> tasks;
    for (auto& v : r.authoritative) {
        tasks.push_back(ask_authoritative(r, v));
    }
    for (auto& v : r.resolvers) {
        tasks.push_back(ask_resolver(r, v));
    }
    tasks.push_back(walk_chain(r, servers));
    tasks.push_back(resolve_target(r.expect, r.expect_addresses, &r.expect_error));
    if (r.old) {
        tasks.push_back(resolve_target(*r.old, r.old_addresses, nullptr));
    }
    tasks.push_back(check_caa(r));
    co_await all_of(std::move(tasks));

    // Each server's answer, continued by the walked chain where it leaves the zone, says
    // where that server sends clients.
    auto extended = [&r](const std::vector<chain_hop>& answer) {
        auto out = answer;
        if (!out.empty() && out.back().type == "CNAME") {
            const auto& next = out.back().data;
            const auto at = std::find_if(r.chain.begin(), r.chain.end(),
                                         [&](const chain_hop& h) { return same_name(h.name, next); });
            out.insert(out.end(), at, r.chain.end());
        }
        return out;
    };
    bool any_answered = r.chain_status != chain_end::no_answer;
    for (auto* views : {&r.authoritative, &r.resolvers}) {
        for (auto& v : *views) {
            any_answered = any_answered || v.answered;
            v.points_to = v.answered ? classify(r, extended(v.answer)) : pointing::nothing;
        }
    }
    r.no_server_answered = !any_answered;
    decide(r);
    co_return r;
}

namespace {

asio::awaitable<void> check_worker(advisor& a, std::vector<check_request>& requests, std::vector<report>& out,
                                   std::size_t& next)
{
    while (next < requests.size()) {
        const std::size_t i = next++;
        out[i] = co_await a.check(std::move(requests[i]));
    }
}

} // namespace

asio::awaitable<std::vector<report>> advisor::check_all(std::vector<check_request> requests, std::size_t in_flight)
{
    std::vector<report> out(requests.size());
    std::size_t next = 0;
    std::vector<asio::awaitable<void>> workers;
    const std::size_t n = std::min(std::max<std::size_t>(in_flight, 1), requests.size());
    for (std::size_t i = 0; i < n; ++i) {
        workers.push_back(check_worker(*this, requests, out, next));
    }
    co_await all_of(std::move(workers));
    co_return out;
}

advisor_options advisor_options_from(const config::dns_config& dns)
{
    advisor_options o;
    // "system" beside explicit entries: the explicit ones, as the data plane does
    // (dataplane_settings::from); resolv.conf only when there is nothing else.
    for (const auto& r : dns.resolvers) {
        o.resolvers.push_back(r.to_string());
    }
    // Two tries of 2 s (c-ares doubles the second): a silent server costs a check 6 s,
    // not the 5 s x 4 tries of the system defaults.
    o.timeout = std::chrono::milliseconds{2000};
    o.tries = 2;
    return o;
}

} // namespace stork::dnscheck
