#pragma once

#include "config/parsed.hpp"
#include "control/admin_access.hpp"
#include "control/admin_client.hpp"
#include "control/cli.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

// `stork dns report`: GET /v1/dns/report from a storkd (design.md §2), shown as a table,
// soonest expiry first (the server's order), or as the server's JSON with --json.
//   stdout  the report;  stderr  "stork: ..." one line per failure.
// Exit codes of control/cli.hpp: 0 every checked host is ready, 1 some host is not
// (wildcard rules are listed but not checked, and do not count), 2 error.
namespace stork::control {

// A report over many hosts takes a while on a slow DNS: the whole exchange may last
// minutes, unlike a rules call.
inline constexpr admin_timeouts dns_report_timeouts{.connect = std::chrono::seconds{5},
                                                    .total = std::chrono::minutes{5}};

// Everything the command takes from the world, injected for tests.
struct dns_report_io {
    std::ostream& out;
    std::ostream& err;
    env_lookup env;
    bool colour = false;  // ANSI colours: only when stdout is a terminal
    admin_timeouts timeouts = dns_report_timeouts;
};

// What the table shows of one host of the answer.
struct dns_report_line {
    std::string host{};
    std::string target{};
    long days_left = 0;
    std::string verdict{};       // "ready", "pending", ...; empty when not checked
    std::string first_advice{};  // the first thing to do; empty when there is no advice
    std::string skipped{};       // why it was not checked (a wildcard rule)

    friend bool operator==(const dns_report_line&, const dns_report_line&) = default;
};

// The answer of GET /v1/dns/report: {"checked_at", "hosts": [...]}, in the server's
// order. Fails when it is not that shape (host, target, days_left are required).
config::parsed<std::vector<dns_report_line>> dns_report_lines(const boost::json::value& answer);

// The table: HOST  TARGET  DAYS LEFT  VERDICT, each host's first advice (or why it was
// skipped) indented on the line below, then a count by verdict. DAYS LEFT is
// right-aligned, negative once the rule has expired. Everything from the server goes
// through config::printable.
std::string format_dns_report(const std::vector<dns_report_line>& lines, bool colour);

// 0 when every checked host is ready (or there is none), 1 otherwise.
int dns_report_exit_code(const std::vector<dns_report_line>& lines);

int run_dns_report(const dns_report_command& cmd, const dns_report_io& io);

} // namespace stork::control
