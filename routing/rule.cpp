#include "routing/rule.hpp"

#include "config/host_name.hpp"
#include "config/printable.hpp"
#include "config/timestamp.hpp"
#include "routing/host.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>

namespace stork::routing {

namespace json = boost::json;

std::string_view to_string(rule_mode m) noexcept
{
    switch (m) {
    case rule_mode::proxy:
        return "proxy";
    case rule_mode::redirect:
        return "redirect";
    case rule_mode::passthrough:
        return "passthrough";
    }
    return "proxy";
}

namespace {

constexpr std::size_t max_label_bytes = 256; // app, migration

struct decode_failure {
    field_error error;
};

[[noreturn]] void refuse(std::string field, std::string message)
{
    throw decode_failure{{std::move(field), std::move(message)}};
}

const json::value* find(const json::object& o, std::string_view key)
{
    const auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
}

std::string_view string_field(const json::value& v, std::string_view field)
{
    if (!v.is_string()) {
        refuse(std::string{field}, "must be a string");
    }
    return v.get_string();
}

bool bool_field(const json::value& v, std::string_view field)
{
    if (!v.is_bool()) {
        refuse(std::string{field}, "must be true or false");
    }
    return v.get_bool();
}

time_point time_field(const json::value& v, std::string_view field)
{
    auto t = config::parse_rfc3339(string_field(v, field));
    if (!t) {
        refuse(std::string{field}, t.error());
    }
    return *t;
}

// A host name that a rule points at: normalised like every host, and a real name (no
// leading or trailing hyphen, no all-numeric last label).
std::string target_field(const json::value& v)
{
    const std::string_view text = string_field(v, "target");
    host_buffer buffer;
    const auto n = normalise_host(text, host_kind::request, buffer);
    if (!n) {
        refuse("target", config::quoted(text) + ": " + std::string{describe(n.error)});
    }
    if (text.find(':') != std::string_view::npos) {
        refuse("target", config::quoted(text) + ": a host name without a port (the port goes in \"upstream\")");
    }
    if (const auto problem = config::host_name_problem(n.name)) {
        refuse("target", config::quoted(text) + ": " + *problem);
    }
    return std::string{n.name};
}

std::string label_field(const json::value& v, std::string_view field)
{
    const std::string_view text = string_field(v, field);
    if (text.size() > max_label_bytes) {
        refuse(std::string{field}, "longer than " + std::to_string(max_label_bytes) + " bytes");
    }
    for (const char c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            refuse(std::string{field}, "has a control character");
        }
    }
    return std::string{text};
}

json::object parse_object(std::string_view text)
{
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) {
        refuse("", "the body is not JSON: " + ec.message());
    }
    if (!v.is_object()) {
        refuse("", "the body must be a JSON object");
    }
    return std::move(v.get_object());
}

enum class origin { request, stored };

// The one decoder behind both entry points: the fields and their checks are the same;
// a stored record also carries host, created_at and updated_at.
rule decode(const json::object& o, origin from, const request_context* context)
{
    static constexpr std::array known{
        std::string_view{"host"}, std::string_view{"target"}, std::string_view{"mode"},
        std::string_view{"upstream"}, std::string_view{"upstream_tls"}, std::string_view{"preserve_host"},
        std::string_view{"proxy_protocol"}, std::string_view{"redirect_code"}, std::string_view{"expires_at"}, std::string_view{"app"},
        std::string_view{"migration"}, std::string_view{"created_at"}, std::string_view{"updated_at"},
        std::string_view{"expired"}};
    for (const auto& kv : o) {
        if (std::find(known.begin(), known.end(), std::string_view{kv.key()}) == known.end()) {
            refuse(config::printable(kv.key()), "unknown field");
        }
    }

    rule r;
    if (const auto* v = find(o, "host")) {
        const std::string_view text = string_field(*v, "host");
        host_buffer buffer;
        const auto n = normalise_host(text, host_kind::rule, buffer);
        if (!n) {
            refuse("host", config::quoted(text) + ": " + std::string{describe(n.error)});
        }
        if (from == origin::request && n.name != context->path_host) {
            refuse("host", config::quoted(text) + " is not the host of the URL (" + std::string{context->path_host} +
                               ")");
        }
        r.host = std::string{n.name};
    } else if (from == origin::request) {
        r.host = std::string{context->path_host};
    } else {
        refuse("host", "is required");
    }

    const auto* target = find(o, "target");
    if (target == nullptr) {
        refuse("target", "is required");
    }
    r.target = target_field(*target);

    if (const auto* v = find(o, "mode")) {
        const std::string_view m = string_field(*v, "mode");
        if (m == "proxy") {
            r.mode = rule_mode::proxy;
        } else if (m == "redirect") {
            r.mode = rule_mode::redirect;
        } else if (m == "passthrough") {
            r.mode = rule_mode::passthrough;
        } else {
            refuse("mode", "is \"proxy\", \"redirect\" or \"passthrough\", not " + config::quoted(m));
        }
    }

    if (const auto* v = find(o, "upstream"); v != nullptr && !v->is_null()) {
        if (r.mode == rule_mode::redirect) {
            refuse("upstream", "is not used by a redirect rule");
        }
        auto e = config::parse_endpoint(string_field(*v, "upstream"), config::endpoint_rules{});
        if (!e) {
            refuse("upstream", e.error());
        }
        r.upstream = *e;
    }
    if (const auto* v = find(o, "upstream_tls")) {
        r.upstream_tls = bool_field(*v, "upstream_tls");
    }
    if (const auto* v = find(o, "preserve_host")) {
        r.preserve_host = bool_field(*v, "preserve_host");
    }
    if (const auto* v = find(o, "proxy_protocol")) {
        r.proxy_protocol = bool_field(*v, "proxy_protocol");
        // The header goes in front of the client's untouched TLS bytes (issue 5 §5): a proxy
        // rule speaks HTTP to its upstream, which would read the header as a broken request,
        // and a redirect rule has none. false is every rule's default, so any mode may say it.
        if (r.proxy_protocol && r.mode != rule_mode::passthrough) {
            refuse("proxy_protocol", std::string{"is only for mode \"passthrough\" (the PROXY v2 header goes in front "
                                                 "of the client's TLS bytes; "} +
                                         (r.mode == rule_mode::redirect ? "a redirect rule has no upstream)"
                                                                        : "a proxy rule speaks HTTP to its upstream)"));
        }
    }
    if (const auto* v = find(o, "redirect_code")) {
        if (r.mode != rule_mode::redirect) {
            refuse("redirect_code", "is only for mode \"redirect\"");
        }
        const auto code = v->if_int64();
        if (code == nullptr || (*code != 301 && *code != 302 && *code != 307 && *code != 308)) {
            refuse("redirect_code", "is 301, 302, 307 or 308");
        }
        r.redirect_code = static_cast<std::uint16_t>(*code);
    }
    if (const auto* v = find(o, "app")) {
        r.app = label_field(*v, "app");
    }
    if (const auto* v = find(o, "migration")) {
        r.migration = label_field(*v, "migration");
    }

    if (from == origin::request) {
        if (const auto* v = find(o, "expires_at")) {
            r.expires_at = time_field(*v, "expires_at");
        } else {
            r.expires_at = context->now + std::chrono::duration_cast<std::chrono::seconds>(context->default_ttl);
        }
        // created_at and updated_at are the server's (set when stored); "expired" is derived.
        return r;
    }
    for (const char* required : {"expires_at", "created_at", "updated_at"}) {
        if (find(o, required) == nullptr) {
            refuse(required, "is required in a stored rule");
        }
    }
    r.expires_at = time_field(*find(o, "expires_at"), "expires_at");
    r.created_at = time_field(*find(o, "created_at"), "created_at");
    r.updated_at = time_field(*find(o, "updated_at"), "updated_at");
    return r;
}

} // namespace

std::variant<rule, field_error> rule_from_request(std::string_view body, const request_context& context)
{
    try {
        return decode(parse_object(body), origin::request, &context);
    } catch (decode_failure& f) {
        return std::move(f.error);
    }
}

std::variant<rule, field_error> rule_from_stored(std::string_view text)
{
    try {
        return decode(parse_object(text), origin::stored, nullptr);
    } catch (decode_failure& f) {
        return std::move(f.error);
    }
}

boost::json::object to_json(const rule& r, time_point now)
{
    json::object o;
    o["host"] = r.host;
    o["target"] = r.target;
    o["mode"] = to_string(r.mode);
    if (r.upstream) {
        o["upstream"] = r.upstream->to_string();
    }
    o["upstream_tls"] = r.upstream_tls;
    o["preserve_host"] = r.preserve_host;
    // Only when set: every rule without it keeps the JSON it had before the field existed
    // (API answers, stored records), and a storkd that predates the field can still read
    // every stored rule but the ones that use it.
    if (r.proxy_protocol) {
        o["proxy_protocol"] = true;
    }
    if (r.mode == rule_mode::redirect) {
        o["redirect_code"] = r.redirect_code;
    }
    o["expires_at"] = config::format_rfc3339(r.expires_at);
    if (!r.app.empty()) {
        o["app"] = r.app;
    }
    if (!r.migration.empty()) {
        o["migration"] = r.migration;
    }
    o["created_at"] = config::format_rfc3339(r.created_at);
    o["updated_at"] = config::format_rfc3339(r.updated_at);
    o["expired"] = r.expired(now);
    return o;
}

std::string to_stored_json(const rule& r)
{
    json::object o = to_json(r, r.expires_at);
    o.erase("expired"); // derived, never stored
    return json::serialize(o);
}

} // namespace stork::routing
