#pragma once

#include "config/dns_config.hpp"
#include "dnscheck/channel.hpp"
#include "dnscheck/report.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stork::dnscheck {

struct check_request {
    std::string host{};                     // the custom domain
    std::string expect{};                   // the app's host name in the new region
    std::optional<std::string> old{};       // ... in the old region, when known
    // "IP[:PORT]" of the zone's authoritative servers; empty: found from the zone's NS
    // records through the first resolver (port 53).
    std::vector<std::string> authoritative{};
    std::optional<std::chrono::sys_seconds> rule_expires_at{};
};

struct advisor_options {
    // "IP[:PORT]" resolvers asked for their (cached) view; empty: /etc/resolv.conf.
    std::vector<std::string> resolvers{};
    std::chrono::milliseconds timeout{2000};    // per try; c-ares doubles it on the next round
    int tries = 2;
    std::string ca = "letsencrypt.org";         // whose CAA permission matters
    // Queries in flight per server and channel; more wait their turn (channel_options::
    // max_outstanding). check_all's 64 hosts start ~600 queries at once, which overflow
    // UDP receive buffers and then wait a whole timeout for the retry.
    std::size_t max_outstanding = 128;
};

// The options from a `dns` section (storkd.yaml, control.yaml): the explicit resolvers
// when there are any (as the data plane uses them), else /etc/resolv.conf; short
// timeouts, so that a report over many hosts stays interactive. One place for storkd's
// DNS API and the CLI's finalize, so both ask the same servers the same way.
advisor_options advisor_options_from(const config::dns_config& dns);

// The DNS advisor (design.md §4): asks real servers and fills a report (report.hpp).
//
// The flow of one check, every query with ares_query on a channel of its own server:
//  1. the zone: SOA queries climbing from the host (RD=0 at the named authoritative
//     servers, else through the first resolver), then NS and their addresses when the
//     servers were not named;
//  2. at once: every authoritative server (A, AAAA and the zone's SOA, RD=0: answer, AA
//     bit, serial), every resolver (A: its cached view, remaining or negative TTL), the
//     expected and old targets' addresses, the CAA climb, and the chain walk: one hop at
//     a time, a name inside the host's zone asked of its authoritative server, any other
//     name of the first resolver, at most 16 CNAMEs, loops detected;
//  3. decide() (verdict.cpp).
// Lives on one io_context thread (c-ares channels are single-threaded); channels are kept
// per server for the advisor's life, so a report over many hosts reuses them.
class advisor {
public:
    advisor(boost::asio::io_context& io, advisor_options options);
    ~advisor();
    advisor(const advisor&) = delete;
    advisor& operator=(const advisor&) = delete;

    // Never throws for DNS failures: they are facts in the report. Throws
    // std::invalid_argument for a server address c-ares refuses.
    boost::asio::awaitable<report> check(check_request request);

    // Every request checked, at most `in_flight` at a time; reports in request order.
    boost::asio::awaitable<std::vector<report>> check_all(std::vector<check_request> requests,
                                                          std::size_t in_flight = 64);

    const advisor_options& options() const noexcept { return options_; }

private:
    struct query_answer;

    // What a server's answer about `host` says, into its view: the status, the host's
    // chain in the answer, its TTL or negative TTL, and a failure in words. False when no
    // message came back (or none that parses): the view then holds only the reason.
    static bool fill_view(server_view& view, const query_answer& a, const std::string& host, std::string_view role);
    struct walk_state;

    channel& channel_for(const std::string& server, bool recurse);
    boost::asio::awaitable<query_answer> ask(std::string server, bool recurse, std::string name, int qtype);
    boost::asio::awaitable<void> find_zone(report& r, const check_request& q, std::vector<std::string>& servers);
    boost::asio::awaitable<void> ask_authoritative(report& r, server_view& view);
    boost::asio::awaitable<void> ask_resolver(report& r, server_view& view);
    boost::asio::awaitable<void> walk_chain(report& r, std::vector<std::string> zone_servers);
    boost::asio::awaitable<void> resolve_target(std::string name, std::vector<std::string>& addresses,
                                                std::string* error);
    boost::asio::awaitable<void> check_caa(report& r);

    boost::asio::io_context& io_;
    advisor_options options_;
    std::string first_resolver_;    // "" means resolv.conf
    std::map<std::pair<std::string, bool>, std::unique_ptr<channel>> channels_;
};

} // namespace stork::dnscheck
