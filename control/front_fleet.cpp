#include "control/front_fleet.hpp"

#include "config/printable.hpp"
#include "control/rule_json.hpp"
#include "control/rules_commands.hpp"

#include <boost/json/serialize.hpp>

#include <array>
#include <optional>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace stork::control {

namespace {

// Three tries, 200 ms then 400 ms apart: long enough to ride out a storkd restarting
// (systemd brings it back in well under a second), short enough that a server that is
// really down costs finalize well under a second before it is named.
constexpr std::array<std::chrono::milliseconds, 2> backoff{std::chrono::milliseconds{200},
                                                           std::chrono::milliseconds{400}};

// Worth another try: no answer at all, or a server error. A 4xx will say the same again.
bool transient(const admin_outcome& outcome)
{
    const auto* reply = std::get_if<admin_reply>(&outcome);
    return reply == nullptr || reply->status >= 500;
}

struct front {
    admin_client client;
    std::string url;            // printable, for messages
    std::string token_file;     // printable, for a refused token
};

// One call with its retries. PUT and DELETE are idempotent (design.md §2: PUT replaces),
// so sending one again after a timeout whose fate is unknown is safe.
admin_outcome send(const front& f, admin_method method, const std::string& target, const std::string& body = {})
{
    for (std::size_t attempt = 0;; ++attempt) {
        admin_outcome outcome = f.client.send(method, target, body);
        if (attempt == backoff.size() || !transient(outcome)) {
            return outcome;
        }
        std::this_thread::sleep_for(backoff[attempt]);
    }
}

// What a server that did not do it said, in one line that names it.
std::string failure(const front& f, const admin_outcome& outcome)
{
    if (const auto* unreachable = std::get_if<admin_unreachable>(&outcome)) {
        return unreachable->message;  // already names the URL
    }
    const auto& reply = std::get<admin_reply>(outcome);
    std::string line = f.url + " answered " + std::to_string(reply.status);
    if (!reply.reason.empty()) {
        line += " " + config::printable(reply.reason);
    }
    if (reply.status == 401) {
        return line + ": it refused the token of " + f.token_file;
    }
    const api_error e = api_error_from_body(reply.body);
    std::string_view text = e.error.empty() ? std::string_view{reply.body} : std::string_view{e.error};
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
        text.remove_suffix(1);
    }
    if (!text.empty()) {
        line += ": " + config::printable(text, 200);
    }
    if (!e.field.empty()) {
        line += " (field " + config::printable(e.field) + ")";
    }
    return line;
}

// The one front_error for every server that failed: "... on 1 of 2 front servers of
// osc-fr1: WHY; WHY".
[[noreturn]] void fail(std::string_view what, std::size_t total, std::string_view region,
                       const std::vector<std::string>& failures)
{
    std::string message = std::string{what} + " on " + std::to_string(failures.size()) + " of " +
                          std::to_string(total) + " front servers of region " + config::printable(region) + ": ";
    for (std::size_t i = 0; i < failures.size(); ++i) {
        message += (i == 0 ? "" : "; ") + failures[i];
    }
    throw migrate::front_error{message};
}

class admin_fleet final : public migrate::front_servers {
public:
    admin_fleet(const config::region_config& region, admin_timeouts timeouts) : region_{region.name}
    {
        for (const config::front_server& s : region.front_servers) {
            // The configuration has parsed the URL already (config::front_server::admin);
            // building admin_url from it cannot fail, parsing the text again could.
            admin_access access{.url = admin_url{.text = s.admin_url,
                                                 .host = s.admin.host,
                                                 .port = s.admin.port,
                                                 .host_is_ip = s.admin.is_ip},
                                .token = s.token};
            fronts_.push_back(front{.client = admin_client{std::move(access), timeouts},
                                    .url = config::printable(s.admin_url),
                                    .token_file = config::printable(s.token_file.string())});
        }
    }

    std::size_t size() const override { return fronts_.size(); }

    // Every server is asked, even after one failed: the ones that take the rule keep it
    // (a re-run PUTs it again), and the error names every server that did not.
    void install(const migrate::redirect_rule& rule) override
    {
        const std::string target = rule_path(rule.host);
        const std::string body = boost::json::serialize(rule_body(rule));
        std::vector<std::string> failures;
        for (const front& f : fronts_) {
            const admin_outcome outcome = send(f, admin_method::put, target, body);
            const auto* reply = std::get_if<admin_reply>(&outcome);
            if (reply == nullptr || (reply->status != 200 && reply->status != 201)) {
                failures.push_back(failure(f, outcome));
            }
        }
        if (!failures.empty()) {
            fail("the redirect rule for " + config::printable(rule.host) + " was not installed", fronts_.size(),
                 region_, failures);
        }
    }

    void remove(std::string_view host, std::string_view migration) override
    {
        const std::string target = rule_path(host);
        std::vector<std::string> failures;
        for (const front& f : fronts_) {
            if (auto why = remove_from(f, target, migration)) {
                failures.push_back(*std::move(why));
            }
        }
        if (!failures.empty()) {
            fail("the redirect rule for " + config::printable(host) + " was not removed", fronts_.size(), region_,
                 failures);
        }
    }

private:
    // Nothing when the rule is gone from `f` or is not this migration's; else why not.
    // Between the GET and the DELETE someone could replace the rule: the admin API has no
    // conditional DELETE, and an operator racing an abort on the same host is not a case
    // worth more than this window.
    static std::optional<std::string> remove_from(const front& f, const std::string& target,
                                                  std::string_view migration)
    {
        const admin_outcome got = send(f, admin_method::get, target);
        const auto* reply = std::get_if<admin_reply>(&got);
        if (reply != nullptr && reply->status == 404) {
            return std::nullopt;
        }
        if (reply == nullptr || reply->status != 200) {
            return failure(f, got);
        }
        const auto value = parse_answer(reply->body);
        if (!value) {
            return f.url + " answered 200 with " + value.error();
        }
        const auto row = rule_row_from_json(*value);
        if (!row) {
            return f.url + " answered 200, but " + row.error();
        }
        if (row->migration != migration) {
            return std::nullopt;
        }
        const admin_outcome deleted = send(f, admin_method::del, target);
        const auto* answer = std::get_if<admin_reply>(&deleted);
        if (answer != nullptr && (answer->status == 204 || answer->status == 200 || answer->status == 404)) {
            return std::nullopt;
        }
        return failure(f, deleted);
    }

    std::string region_;
    std::vector<front> fronts_;
};

} // namespace

std::unique_ptr<migrate::front_servers> open_front_fleet(const config::region_config& region, admin_timeouts timeouts)
{
    return std::make_unique<admin_fleet>(region, timeouts);
}

} // namespace stork::control
