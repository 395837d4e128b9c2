// The report as JSON: GET /v1/dns/check and `stork dns check --json`.
#include "dnscheck/report.hpp"

#include "config/timestamp.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>


namespace stork::dnscheck {
namespace {

namespace json = boost::json;

std::string rfc3339(std::chrono::sys_seconds t)
{
    return config::format_rfc3339(t);
}

json::value optional_number(const std::optional<std::uint32_t>& v)
{
    return v ? json::value(*v) : json::value(nullptr);
}

json::value optional_seconds(const std::optional<std::chrono::seconds>& v)
{
    return v ? json::value(v->count()) : json::value(nullptr);
}

json::array strings(const std::vector<std::string>& v)
{
    json::array out;
    for (const auto& s : v) {
        out.emplace_back(s);
    }
    return out;
}

json::array hops(const std::vector<chain_hop>& chain)
{
    json::array out;
    for (const auto& h : chain) {
        out.push_back(json::object{{"name", h.name}, {"type", h.type}, {"ttl", h.ttl}, {"data", h.data},
                                   {"source", h.source}});
    }
    return out;
}

json::array views(const std::vector<server_view>& list, bool authoritative)
{
    json::array out;
    for (const auto& v : list) {
        json::object o{{"server", v.server},
                       {"answered", v.answered},
                       {"status", v.status},
                       {"points_to", to_string(v.points_to)},
                       {"ttl", optional_number(v.ttl)},
                       {"negative_ttl", optional_number(v.negative_ttl)},
                       {"answer", hops(v.answer)}};
        if (authoritative) {
            o["aa"] = v.aa;
            o["serial"] = optional_number(v.serial);
        }
        if (!v.error.empty()) {
            o["error"] = v.error;
        }
        out.push_back(std::move(o));
    }
    return out;
}

} // namespace

json::object to_json(const report& r)
{
    json::object o;
    o["host"] = r.host;
    o["expect"] = r.expect;
    o["old"] = r.old ? json::value(*r.old) : json::value(nullptr);
    o["checked_at"] = rfc3339(r.checked_at);
    o["verdict"] = to_string(r.outcome);
    o["points_to"] = to_string(r.points_to);
    o["zone"] = r.zone;
    o["nameservers"] = strings(r.nameservers);
    o["chain"] = hops(r.chain);
    json::object end{{"status", to_string(r.chain_status)}};
    if (!r.chain_stop.empty()) {
        end["at"] = r.chain_stop;
    }
    if (!r.chain_error.empty()) {
        end["error"] = r.chain_error;
    }
    o["chain_end"] = std::move(end);
    o["negative_ttl"] = optional_number(r.negative_ttl);
    json::object targets{{"expect", strings(r.expect_addresses)}};
    if (!r.expect_error.empty()) {
        targets["expect_error"] = r.expect_error;
    }
    if (r.old) {
        targets["old"] = strings(r.old_addresses);
    }
    o["target_addresses"] = std::move(targets);
    o["authoritative"] = views(r.authoritative, true);
    o["resolvers"] = views(r.resolvers, false);
    json::array caa_records;
    for (const auto& c : r.caa.records) {
        caa_records.push_back(json::object{{"flags", c.flags}, {"tag", c.tag}, {"value", c.value}});
    }
    o["caa"] = json::object{{"checked", r.caa.checked},
                            {"owner", r.caa.owner.empty() ? json::value(nullptr) : json::value(r.caa.owner)},
                            {"records", std::move(caa_records)},
                            {"letsencrypt_allowed", r.caa.allowed},
                            {"reason", r.caa.reason}};
    o["leftover_aaaa"] = strings(r.own_aaaa);
    o["beside_cname"] = strings(r.beside_cname);
    o["problems"] = strings(r.problems);
    o["advice"] = strings(r.advice);
    o["change_visible_within"] = optional_seconds(r.change_visible_within);
    o["propagation_left"] = optional_seconds(r.propagation_left);
    o["rule_expires_at"] = r.rule_expires_at ? json::value(rfc3339(*r.rule_expires_at)) : json::value(nullptr);
    o["days_left"] = r.days_left ? json::value(*r.days_left) : json::value(nullptr);
    o["no_server_answered"] = r.no_server_answered;
    return o;
}

} // namespace stork::dnscheck
