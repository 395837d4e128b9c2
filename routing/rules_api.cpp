#include "routing/rules_api.hpp"

#include "config/printable.hpp"
#include "routing/host.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/decode_view.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>

#include <system_error>

namespace stork::routing {

namespace json = boost::json;
namespace urls = boost::urls;

api_response json_error(unsigned status, std::string_view message, std::string_view field)
{
    json::object o;
    o["error"] = message;
    if (!field.empty()) {
        o["field"] = field;
    }
    return {status, "application/json", json::serialize(o) + "\n", {}};
}

namespace {

api_response json_answer(unsigned status, const json::value& v)
{
    return {status, "application/json", json::serialize(v) + "\n", {}};
}

api_response method_not_allowed(std::string_view allow)
{
    api_response r = json_error(405, "method not allowed here; allowed: " + std::string{allow});
    r.headers.emplace_back("Allow", std::string{allow});
    return r;
}

// Percent-decoding of one path segment (RFC 3986 §2.1); nothing when it is malformed.
std::optional<std::string> decode_segment(std::string_view encoded)
{
    auto checked = urls::make_pct_string_view(encoded);
    if (!checked) {
        return std::nullopt;
    }
    std::string out;
    for (char c : urls::decode_view{*checked}) {
        out += c;
    }
    return out;
}

} // namespace

rules_api::rules_api(rule_registry& registry, clock_fn now, config::duration default_ttl,
                     std::function<void()> on_change)
    : registry_{registry}, now_{std::move(now)}, default_ttl_{default_ttl}, on_change_{std::move(on_change)}
{
}

std::optional<api_response> rules_api::handle(const api_request& request)
{
    const std::string_view target = request.target;
    const std::size_t q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    constexpr std::string_view base = "/v1/rules";
    if (path == base || path == "/v1/rules/") {
        return collection(request, query);
    }
    if (path.starts_with("/v1/rules/")) {
        const std::string_view segment = path.substr(base.size() + 1);
        if (segment.find('/') != std::string_view::npos) {
            return json_error(404, "no such endpoint");
        }
        if (!query.empty()) {
            return json_error(400, "this endpoint takes no query parameters", "query");
        }
        return one(request, segment);
    }
    return std::nullopt;
}

api_response rules_api::collection(const api_request& request, std::string_view query)
{
    const bool get = request.method == "GET" || request.method == "HEAD";
    if (!get && request.method != "DELETE") {
        return method_not_allowed("GET, HEAD, DELETE");
    }
    // An empty query has no parameters; parse_query is not asked (Boost.URL 1.81 reads an
    // empty view with a null pointer as a C string).
    const std::string query_text{query.empty() ? std::string_view{""} : query};
    auto params = urls::parse_query(urls::string_view{query_text.data(), query_text.size()});
    if (!params) {
        return json_error(400, "the query string is malformed", "query");
    }

    rule_registry::filter filter;
    std::optional<config::duration> expired_for;
    urls::encoding_opts form;
    form.space_as_plus = true; // a query string is form-encoded: '+' is a space
    for (const auto p : *params) {
        const std::string key = p.key.decode(form);
        const std::string value = p.has_value ? p.value.decode(form) : std::string{};
        if (get && key == "app") {
            filter.app = value;
        } else if (get && key == "migration") {
            filter.migration = value;
        } else if (get && key == "expired") {
            if (value != "true" && value != "false") {
                return json_error(400, "expired is true or false, not " + config::quoted(value), "expired");
            }
            filter.expired = value == "true";
        } else if (!get && key == "expired_for") {
            auto d = config::parse_duration(value);
            if (!d) {
                return json_error(400, d.error(), "expired_for");
            }
            expired_for = *d;
        } else {
            return json_error(400, "unknown query parameter " + config::quoted(key), config::printable(key));
        }
    }

    const time_point now = now_();
    if (get) {
        json::array rules;
        for (const rule& r : registry_.list(filter, now)) {
            rules.push_back(to_json(r, now));
        }
        json::object o;
        o["rules"] = std::move(rules);
        return json_answer(200, o);
    }
    // DELETE on the collection is a purge, and only with its one parameter: a bare
    // DELETE /v1/rules must never wipe the rule set.
    if (!expired_for) {
        return json_error(400, "DELETE /v1/rules purges expired rules and needs ?expired_for=DURATION", "expired_for");
    }
    std::vector<std::string> purged;
    try {
        purged = registry_.purge(now, std::chrono::duration_cast<std::chrono::seconds>(*expired_for));
    } catch (const std::system_error& e) {
        return json_error(500, std::string{"could not write the rule store: "} + e.what());
    }
    if (!purged.empty() && on_change_) {
        on_change_();
    }
    json::array hosts;
    for (const std::string& h : purged) {
        hosts.emplace_back(h);
    }
    json::object o;
    o["purged"] = std::move(hosts);
    return json_answer(200, o);
}

api_response rules_api::one(const api_request& request, std::string_view encoded_host)
{
    const auto decoded = decode_segment(encoded_host);
    if (!decoded) {
        return json_error(400, "the host in the URL is not validly percent-encoded", "host");
    }
    host_buffer buffer;
    const auto host = normalise_host(*decoded, host_kind::rule, buffer);
    if (!host) {
        return json_error(400, config::quoted(*decoded) + ": " + std::string{describe(host.error)}, "host");
    }
    if (decoded->find(':') != std::string::npos) {
        return json_error(400, config::quoted(*decoded) + ": a rule's host has no port", "host");
    }
    const std::string name{host.name};
    const time_point now = now_();

    if (request.method == "GET" || request.method == "HEAD") {
        const auto r = registry_.get(name);
        if (!r) {
            return json_error(404, "no rule for " + name);
        }
        return json_answer(200, to_json(*r, now));
    }
    if (request.method == "PUT") {
        auto decoded_rule = rule_from_request(request.body, request_context{name, now, default_ttl_});
        if (auto* error = std::get_if<field_error>(&decoded_rule)) {
            // "upstream is not used by a redirect rule": the message reads whole on its own.
            const std::string message = error->field.empty() ? error->message : error->field + " " + error->message;
            return json_error(400, message, error->field);
        }
        rule_registry::put_result result;
        try {
            result = registry_.put(std::get<rule>(std::move(decoded_rule)), now);
        } catch (const std::system_error& e) {
            return json_error(500, std::string{"could not write the rule store: "} + e.what());
        }
        if (on_change_) {
            on_change_();
        }
        return json_answer(result.created ? 201 : 200, to_json(result.stored, now));
    }
    if (request.method == "DELETE") {
        bool erased = false;
        try {
            erased = registry_.erase(name);
        } catch (const std::system_error& e) {
            return json_error(500, std::string{"could not write the rule store: "} + e.what());
        }
        if (!erased) {
            return json_error(404, "no rule for " + name);
        }
        if (on_change_) {
            on_change_();
        }
        return {204, "application/json", {}, {}};
    }
    return method_not_allowed("GET, HEAD, PUT, DELETE");
}

} // namespace stork::routing
