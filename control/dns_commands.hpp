#pragma once

#include "control/admin_access.hpp"
#include "control/admin_client.hpp"
#include "control/cli.hpp"
#include "dnscheck/advisor.hpp"

#include <ostream>

// `stork dns check HOST --expect TARGET ...` (design.md §2, §4): the DNS advisor run from
// the command line, against the resolvers and authoritative servers it names (or the
// system's resolvers and the zone's NS).
//   stdout  the report: text for people (colour on a terminal), or one JSON object;
//           with --watch, the first report and then one entry per change.
//   stderr  "stork: ..." when no DNS server answered.
// Exit codes: 0 ready, 1 not ready, 2 error (no server answered; bad arguments are
// refused earlier, by the parser).
namespace stork::control {

struct dns_io {
    std::ostream& out;
    std::ostream& err;
    bool colour = false;    // stdout is a terminal
    env_lookup env = process_environment();
    admin_timeouts timeouts{.connect = std::chrono::seconds{2}, .total = std::chrono::seconds{5}};
};

// When the operator said where storkd is (--admin, or STORK_ADMIN), the expiry of the
// host's redirect rule, for the days left. No rule (404): nothing. The admin API not
// answering is not the DNS check's failure: a line on stderr, and nothing.
std::optional<std::chrono::sys_seconds> rule_expiry(const dns_check_command& cmd, const dns_io& io);

// The advisor's inputs from the command.
dnscheck::advisor_options advisor_options_of(const dns_check_command& cmd);
dnscheck::check_request check_request_of(const dns_check_command& cmd);

// The exit code a report means (0 ready, 1 not ready, 2 when no server answered).
int exit_code_of(const dnscheck::report& r);

// One line for --watch when something changed: "12:00:05 pending -> propagating: ...".
std::string change_line(const dnscheck::report& before, const dnscheck::report& now);

int run_dns_check(const dns_check_command& cmd, const dns_io& io);

} // namespace stork::control
