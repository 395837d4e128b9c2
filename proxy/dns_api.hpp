#pragma once

#include "config/storkd_config.hpp"
#include "dnscheck/advisor.hpp"
#include "proxy/admin_handler.hpp"
#include "routing/rule_registry.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// The DNS endpoints of the admin API (design.md §2, §4; issue 6 part 5):
//   GET /v1/dns/check?host=H[&expect=T][&old=O][&authoritative=IP[:PORT]]...
//       200 the advisor's report of H (dnscheck::to_json). Without expect, the target of
//       H's rule; with a rule, its expiry gives days_left.
//   GET /v1/dns/report[?authoritative=IP[:PORT]]...
//       200 {"checked_at", "hosts": [...]}: every rule's host checked against its target,
//       soonest expiry first (report_order).
// Refusals are {"error", "field"} like the rules API: 400 for a bad or missing parameter,
// 405 for a method other than GET/HEAD, 429 when the limit below is reached.
//
// Everything runs on storkd's control thread: the advisor is single-threaded (c-ares
// 1.18 channels have no locking), and the rule registry lives there too.
namespace stork::proxy {

// ---- the pure parts: query strings, the report's rows and their order ----------------

struct dns_check_query {
    std::string host{};                      // normalised (routing/host.hpp)
    std::optional<std::string> expect{};     // normalised
    std::optional<std::string> old{};        // normalised
    std::vector<std::string> authoritative{};  // "IP:PORT", "[IPv6]:PORT"
    friend bool operator==(const dns_check_query&, const dns_check_query&) = default;
};

struct dns_report_query {
    std::vector<std::string> authoritative{};
    friend bool operator==(const dns_report_query&, const dns_report_query&) = default;
};

// The query string (after '?', form-encoded). A refusal is the 400 to send.
std::variant<dns_check_query, admin_response> parse_dns_check_query(std::string_view query);
std::variant<dns_report_query, admin_response> parse_dns_report_query(std::string_view query);

// The rule that covers `host` (normalised): its own, else the wildcard of its parent
// ("*.example.com" covers one label below, as the data plane's table matches).
std::optional<routing::rule> rule_for(const routing::rule_registry& registry, std::string_view host);

// One line of GET /v1/dns/report: a rule, and what the advisor found about its host.
struct report_row {
    std::string host{};
    std::string target{};
    std::string app{};
    std::string migration{};
    std::chrono::sys_seconds expires_at{};
    long days_left = 0;                        // floor((expires_at - checked_at) / 1 day)
    std::optional<dnscheck::report> checked{};   // absent: not checked (skipped says why)
    std::string skipped{};
};

// Wildcard rules cannot be checked (no concrete name to ask for).
inline constexpr std::string_view wildcard_skipped = "wildcard rule: check a concrete name with stork dns check";

// A row per rule, `reports` matching the non-wildcard rules in order (as check_all
// returns them); days_left from the report when there is one (its own checked_at).
std::vector<report_row> report_rows(const std::vector<routing::rule>& rules, std::vector<dnscheck::report> reports,
                                    std::chrono::sys_seconds checked_at);

// Soonest expiry first (days left ascending, expired rules first of all), then host:
// the operator sees at a glance who has not moved yet.
void report_order(std::vector<report_row>& rows);

// {"checked_at", "hosts": [{host, target, app, migration, expires_at, days_left, verdict,
// points_to, advice, problems} | {..., "skipped"}]}
boost::json::object report_json(const std::vector<report_row>& rows, std::chrono::sys_seconds checked_at);

// ---- the endpoints ---------------------------------------------------------------------

// The advisor's settings from storkd's dns section (dnscheck::advisor_options_from,
// shared with the CLI).
using dnscheck::advisor_options_from;

class dns_api {
public:
    using clock_fn = std::function<std::chrono::sys_seconds()>;

    struct limits {
        std::size_t report_in_flight = 64;   // hosts checked at once by a report
        std::size_t checks = 64;             // GET /v1/dns/check running at once
        std::size_t reports = 1;             // GET /v1/dns/report running at once
    };

    dns_api(boost::asio::io_context& io, const routing::rule_registry& registry, clock_fn now,
            dnscheck::advisor_options options, limits l);
    dns_api(boost::asio::io_context& io, const routing::rule_registry& registry, clock_fn now,
            dnscheck::advisor_options options)
        : dns_api(io, registry, std::move(now), std::move(options), limits{})
    {
    }
    dns_api(const dns_api&) = delete;
    dns_api& operator=(const dns_api&) = delete;

    // A reload: new settings take effect with the next request; checks already running
    // finish with the advisor they started with.
    void set_options(dnscheck::advisor_options options);

    // Nothing when the target is not under /v1/dns/ (the caller answers 404).
    std::optional<admin_answer> handle(const admin_request& request);

    std::size_t checks_running() const noexcept { return checks_running_; }
    std::size_t reports_running() const noexcept { return reports_running_; }

private:
    class running_slot;

    // Created at the first request, so a storkd that is never asked opens no channel.
    // Shared with the running checks: a reload that replaces it leaves them theirs.
    std::shared_ptr<dnscheck::advisor> advisor();

    // Coroutines: everything by value, the advisor included (a reload may drop
    // storkd's reference meanwhile), and the slot they hold until they end.
    admin_deferred check(dns_check_query query, std::optional<routing::rule> rule,
                         std::shared_ptr<dnscheck::advisor> advisor, running_slot slot);
    admin_deferred report(dns_report_query query, std::vector<routing::rule> rules,
                          std::shared_ptr<dnscheck::advisor> advisor, running_slot slot);

    boost::asio::io_context& io_;
    const routing::rule_registry& registry_;
    clock_fn now_;
    dnscheck::advisor_options options_;
    limits limits_;
    std::shared_ptr<dnscheck::advisor> advisor_;
    std::size_t checks_running_ = 0;
    std::size_t reports_running_ = 0;
};

} // namespace stork::proxy
