#include "proxy/dns_api.hpp"

#include "config/endpoint.hpp"
#include "config/printable.hpp"
#include "config/timestamp.hpp"
#include "routing/host.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>

#include <algorithm>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace stork::proxy {

namespace json = boost::json;
namespace urls = boost::urls;

namespace {

admin_response json_answer(unsigned status, const json::value& v)
{
    return {status, "application/json", json::serialize(v) + "\n", {}};
}

// The parameters of a query string, decoded; a refusal when it is malformed.
struct parameter {
    std::string key;
    std::string value;
};

std::variant<std::vector<parameter>, admin_response> parameters_of(std::string_view query)
{
    std::vector<parameter> out;
    if (query.empty()) {
        // parse_query is not asked: Boost.URL 1.81 reads an empty view with a null
        // pointer as a C string (as in rules_api).
        return out;
    }
    const std::string text{query};
    auto params = urls::parse_query(urls::string_view{text.data(), text.size()});
    if (!params) {
        return routing::json_error(400, "the query string is malformed", "query");
    }
    urls::encoding_opts form;
    form.space_as_plus = true; // a query string is form-encoded: '+' is a space
    for (const auto p : *params) {
        out.push_back({p.key.decode(form), p.has_value ? p.value.decode(form) : std::string{}});
    }
    return out;
}

admin_response unknown_parameter(std::string_view key)
{
    return routing::json_error(400, "unknown query parameter " + config::quoted(key), config::printable(key));
}

admin_response given_twice(std::string_view key)
{
    return routing::json_error(400, std::string{key} + " is given more than once", key);
}

// A host name as the data plane compares it: lower case, no trailing dot, no port.
std::variant<std::string, admin_response> host_parameter(std::string_view key, std::string_view value)
{
    if (value.empty()) {
        return routing::json_error(400, std::string{key} + " is empty", key);
    }
    if (value.starts_with("*.")) {
        return routing::json_error(400,
                                   config::quoted(value) +
                                       ": a wildcard has no DNS records of its own; check a concrete name under it",
                                   key);
    }
    if (value.find(':') != std::string_view::npos) {
        return routing::json_error(400, config::quoted(value) + ": a host name, without a port", key);
    }
    routing::host_buffer buffer;
    const auto host = routing::normalise_host(value, routing::host_kind::request, buffer);
    if (!host) {
        return routing::json_error(400, config::quoted(value) + ": " + std::string{routing::describe(host.error)},
                                   key);
    }
    return std::string{host.name};
}

std::variant<std::string, admin_response> server_parameter(std::string_view key, std::string_view value)
{
    auto ep = config::parse_endpoint(
        value, config::endpoint_rules{.require_ip = true, .allow_port_zero = false, .default_port = 53});
    if (!ep) {
        return routing::json_error(400, std::string{key} + ": " + ep.error(), key);
    }
    return ep->to_string();
}

// Moves the value of `parsed` into `out`, or answers its refusal.
#define STORK_TAKE(out, parsed)                                                                                      \
    do {                                                                                                             \
        auto stork_taken = (parsed);                                                                                 \
        if (auto* refusal = std::get_if<admin_response>(&stork_taken)) {                                            \
            return std::move(*refusal);                                                                              \
        }                                                                                                            \
        (out) = std::get<0>(std::move(stork_taken));                                                                 \
    } while (false)

long days_between(std::chrono::sys_seconds from, std::chrono::sys_seconds to)
{
    return std::chrono::floor<std::chrono::days>(to - from).count();
}

json::array strings(const std::vector<std::string>& v)
{
    json::array out;
    for (const auto& s : v) {
        out.emplace_back(s);
    }
    return out;
}

bool is_wildcard(const routing::rule& r)
{
    return r.host.starts_with("*.");
}

admin_response busy(std::string_view what)
{
    admin_response r = routing::json_error(429, std::string{what});
    r.headers.emplace_back("Retry-After", "5");
    return r;
}

} // namespace

std::variant<dns_check_query, admin_response> parse_dns_check_query(std::string_view query)
{
    std::vector<parameter> params;
    STORK_TAKE(params, parameters_of(query));
    dns_check_query q;
    bool have_host = false;
    for (const auto& p : params) {
        if (p.key == "host") {
            if (have_host) {
                return given_twice(p.key);
            }
            STORK_TAKE(q.host, host_parameter(p.key, p.value));
            have_host = true;
        } else if (p.key == "expect") {
            if (q.expect) {
                return given_twice(p.key);
            }
            std::string expect;
            STORK_TAKE(expect, host_parameter(p.key, p.value));
            q.expect = std::move(expect);
        } else if (p.key == "old") {
            if (q.old) {
                return given_twice(p.key);
            }
            std::string old;
            STORK_TAKE(old, host_parameter(p.key, p.value));
            q.old = std::move(old);
        } else if (p.key == "authoritative") {
            std::string server;
            STORK_TAKE(server, server_parameter(p.key, p.value));
            q.authoritative.push_back(std::move(server));
        } else {
            return unknown_parameter(p.key);
        }
    }
    if (!have_host) {
        return routing::json_error(400, "host is required: /v1/dns/check?host=H&expect=T", "host");
    }
    return q;
}

std::variant<dns_report_query, admin_response> parse_dns_report_query(std::string_view query)
{
    std::vector<parameter> params;
    STORK_TAKE(params, parameters_of(query));
    dns_report_query q;
    for (const auto& p : params) {
        if (p.key != "authoritative") {
            return unknown_parameter(p.key);
        }
        std::string server;
        STORK_TAKE(server, server_parameter(p.key, p.value));
        q.authoritative.push_back(std::move(server));
    }
    return q;
}

#undef STORK_TAKE

std::optional<routing::rule> rule_for(const routing::rule_registry& registry, std::string_view host)
{
    if (auto own = registry.get(host)) {
        return own;
    }
    const auto dot = host.find('.');
    if (dot == std::string_view::npos) {
        return std::nullopt;
    }
    return registry.get("*." + std::string{host.substr(dot + 1)});
}

std::vector<report_row> report_rows(const std::vector<routing::rule>& rules, std::vector<dnscheck::report> reports,
                                    std::chrono::sys_seconds checked_at)
{
    std::vector<report_row> rows;
    rows.reserve(rules.size());
    std::size_t next = 0;
    for (const auto& r : rules) {
        report_row row{.host = r.host,
                       .target = r.target,
                       .app = r.app,
                       .migration = r.migration,
                       .expires_at = r.expires_at,
                       .days_left = days_between(checked_at, r.expires_at)};
        if (is_wildcard(r)) {
            row.skipped = std::string{wildcard_skipped};
        } else if (next < reports.size()) {
            row.checked = std::move(reports[next++]);
            if (row.checked->days_left) {
                row.days_left = *row.checked->days_left;
            }
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

void report_order(std::vector<report_row>& rows)
{
    std::stable_sort(rows.begin(), rows.end(), [](const report_row& a, const report_row& b) {
        return std::tie(a.days_left, a.host) < std::tie(b.days_left, b.host);
    });
}

json::object report_json(const std::vector<report_row>& rows, std::chrono::sys_seconds checked_at)
{
    json::array hosts;
    for (const auto& row : rows) {
        json::object o{{"host", row.host},
                       {"target", row.target},
                       {"app", row.app},
                       {"migration", row.migration},
                       {"expires_at", config::format_rfc3339(row.expires_at)},
                       {"days_left", row.days_left}};
        if (row.checked) {
            o["verdict"] = dnscheck::to_string(row.checked->outcome);
            o["points_to"] = dnscheck::to_string(row.checked->points_to);
            o["advice"] = strings(row.checked->advice);
            o["problems"] = strings(row.checked->problems);
        } else {
            o["verdict"] = nullptr;
            o["points_to"] = nullptr;
            o["advice"] = json::array{};
            o["problems"] = json::array{};
            o["skipped"] = row.skipped;
        }
        hosts.push_back(std::move(o));
    }
    return json::object{{"checked_at", config::format_rfc3339(checked_at)}, {"hosts", std::move(hosts)}};
}

// Holds one of a limited number of places (running checks, running reports) and gives it
// back when destroyed. Passed by value into the coroutine, so the place is freed even if
// the coroutine is destroyed before it runs.
class dns_api::running_slot {
public:
    explicit running_slot(std::size_t& count) : count_{&count} { ++*count_; }
    running_slot(running_slot&& other) noexcept : count_{std::exchange(other.count_, nullptr)} {}
    running_slot(const running_slot&) = delete;
    running_slot& operator=(const running_slot&) = delete;
    running_slot& operator=(running_slot&&) = delete;
    ~running_slot()
    {
        if (count_ != nullptr) {
            --*count_;
        }
    }

private:
    std::size_t* count_;
};

dns_api::dns_api(boost::asio::io_context& io, const routing::rule_registry& registry, clock_fn now,
                 dnscheck::advisor_options options, limits l)
    : io_{io}, registry_{registry}, now_{std::move(now)}, options_{std::move(options)}, limits_{l}
{
}

void dns_api::set_options(dnscheck::advisor_options options)
{
    const bool same = options.resolvers == options_.resolvers && options.timeout == options_.timeout &&
                      options.tries == options_.tries && options.ca == options_.ca &&
                      options.max_outstanding == options_.max_outstanding;
    options_ = std::move(options);
    if (!same) {
        advisor_.reset();
    }
}

std::shared_ptr<dnscheck::advisor> dns_api::advisor()
{
    if (!advisor_) {
        advisor_ = std::make_shared<dnscheck::advisor>(io_, options_);
    }
    return advisor_;
}

std::optional<admin_answer> dns_api::handle(const admin_request& request)
{
    const std::string_view target = request.target;
    const std::size_t q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    const bool check_path = path == "/v1/dns/check";
    if (!check_path && path != "/v1/dns/report") {
        return std::nullopt;
    }
    if (request.method != "GET" && request.method != "HEAD") {
        admin_response r = routing::json_error(405, "method not allowed here; allowed: GET, HEAD");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return r;
    }

    if (check_path) {
        auto parsed = parse_dns_check_query(query);
        if (auto* refusal = std::get_if<admin_response>(&parsed)) {
            return std::move(*refusal);
        }
        auto& query_value = std::get<dns_check_query>(parsed);
        auto rule = rule_for(registry_, query_value.host);
        if (!query_value.expect) {
            if (!rule) {
                return routing::json_error(400, "expect is required: there is no rule for " + query_value.host,
                                           "expect");
            }
            query_value.expect = rule->target;
        }
        if (checks_running_ >= limits_.checks) {
            return busy("too many DNS checks running (" + std::to_string(limits_.checks) + "); retry shortly");
        }
        return check(std::move(query_value), std::move(rule), advisor(), running_slot{checks_running_});
    }

    auto parsed = parse_dns_report_query(query);
    if (auto* refusal = std::get_if<admin_response>(&parsed)) {
        return std::move(*refusal);
    }
    // One report at a time: a report already asks up to 64 hosts at once, and a second
    // one would only halve the speed of both. The second caller is told to come back.
    if (reports_running_ >= limits_.reports) {
        return busy("a DNS report is already running; retry when it is done");
    }
    std::vector<routing::rule> rules;
    rules.reserve(registry_.rules().size());
    for (const auto& [host, r] : registry_.rules()) {
        rules.push_back(r);
    }
    return report(std::get<dns_report_query>(std::move(parsed)), std::move(rules), advisor(),
                  running_slot{reports_running_});
}

admin_deferred dns_api::check(dns_check_query query, std::optional<routing::rule> rule,
                              std::shared_ptr<dnscheck::advisor> advisor, running_slot slot)
{
    (void)slot;
    dnscheck::check_request request{.host = std::move(query.host),
                                    .expect = *std::move(query.expect),
                                    .old = std::move(query.old),
                                    .authoritative = std::move(query.authoritative),
                                    .rule_expires_at = std::nullopt};
    if (rule) {
        request.rule_expires_at = rule->expires_at;
    }
    std::string refused;
    try {
        const dnscheck::report r = co_await advisor->check(std::move(request));
        co_return json_answer(200, dnscheck::to_json(r));
    } catch (const std::invalid_argument& e) {
        // c-ares refused a server address that passed our syntax check.
        refused = e.what();
    }
    co_return routing::json_error(400, refused, "authoritative");
}

admin_deferred dns_api::report(dns_report_query query, std::vector<routing::rule> rules,
                               std::shared_ptr<dnscheck::advisor> advisor, running_slot slot)
{
    (void)slot;
    const auto checked_at = now_();
    std::vector<dnscheck::check_request> requests;
    requests.reserve(rules.size());
    for (const auto& r : rules) {
        if (!is_wildcard(r)) {
            requests.push_back(dnscheck::check_request{.host = r.host,
                                                       .expect = r.target,
                                                       .old = std::nullopt,
                                                       .authoritative = query.authoritative,
                                                       .rule_expires_at = r.expires_at});
        }
    }
    std::string refused;
    try {
        auto reports = co_await advisor->check_all(std::move(requests), limits_.report_in_flight);
        auto rows = report_rows(rules, std::move(reports), checked_at);
        report_order(rows);
        co_return json_answer(200, report_json(rows, checked_at));
    } catch (const std::invalid_argument& e) {
        refused = e.what();
    }
    co_return routing::json_error(400, refused, "authoritative");
}

} // namespace stork::proxy
