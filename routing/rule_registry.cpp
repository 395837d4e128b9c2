#include "routing/rule_registry.hpp"

#include "config/printable.hpp"

namespace stork::routing {

rule_registry::rule_registry(file_store& store, warn_fn warn) : store_{store}
{
    for (const auto& [host, json] : store_.records()) {
        auto decoded = rule_from_stored(json);
        if (auto* error = std::get_if<field_error>(&decoded)) {
            ++unreadable_;
            if (warn) {
                warn("stored rule " + config::quoted(host) + " is not served: field " + config::quoted(error->field) +
                     ": " + error->message);
            }
            continue;
        }
        rule r = std::get<rule>(std::move(decoded));
        if (r.host != host) {
            ++unreadable_;
            if (warn) {
                warn("stored rule " + config::quoted(host) + " is not served: it names host " + config::quoted(r.host));
            }
            continue;
        }
        rules_.emplace(host, std::move(r));
    }
}

rule_registry::put_result rule_registry::put(rule r, time_point now)
{
    const auto existing = rules_.find(r.host);
    const bool created = existing == rules_.end();
    r.created_at = created ? now : existing->second.created_at;
    r.updated_at = now;
    store_.put(r.host, to_stored_json(r)); // durable, or throws with nothing changed
    ++generation_;
    if (created) {
        rules_.emplace(r.host, r);
    } else {
        existing->second = r;
    }
    return {std::move(r), created};
}

std::optional<rule> rule_registry::get(std::string_view host) const
{
    const auto it = rules_.find(host);
    if (it == rules_.end()) {
        return std::nullopt;
    }
    return it->second;
}

bool rule_registry::erase(std::string_view host)
{
    const auto it = rules_.find(host);
    if (it == rules_.end()) {
        return false;
    }
    store_.erase(host);
    rules_.erase(it);
    ++generation_;
    return true;
}

std::vector<rule> rule_registry::list(const filter& f, time_point now) const
{
    std::vector<rule> out;
    for (const auto& [host, r] : rules_) {
        if ((f.app && r.app != *f.app) || (f.migration && r.migration != *f.migration) ||
            (f.expired && r.expired(now) != *f.expired)) {
            continue;
        }
        out.push_back(r);
    }
    return out;
}

std::vector<std::string> rule_registry::purge(time_point now, std::chrono::seconds expired_for)
{
    std::vector<std::string> doomed;
    for (const auto& [host, r] : rules_) {
        if (r.expired(now) && now - r.expires_at >= expired_for) {
            doomed.push_back(host);
        }
    }
    for (const std::string& host : doomed) {
        erase(host);
    }
    return doomed;
}

std::size_t rule_registry::expired_count(time_point now) const
{
    std::size_t n = 0;
    for (const auto& [host, r] : rules_) {
        n += r.expired(now) ? 1 : 0;
    }
    return n;
}

} // namespace stork::routing
