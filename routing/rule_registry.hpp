#pragma once

#include "routing/file_store.hpp"
#include "routing/rule.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stork::routing {

// The rule set of one storkd: every rule by host, durable in the file store before any
// change is acknowledged. Lives on storkd's control thread (the admin API); the data
// plane never touches it, it reads tables built from rules().
class rule_registry {
public:
    using warn_fn = std::function<void(std::string_view)>;

    // Decodes every stored record. A record that is no longer a valid rule (written by
    // another version, edited by hand) is reported through `warn`, left in the store
    // untouched, and not served.
    rule_registry(file_store& store, warn_fn warn);

    struct put_result {
        rule stored;
        bool created = false;
    };
    // Stores `r` (created_at kept from the rule it replaces, updated_at = now). Durable on
    // return; throws std::system_error when the store cannot write, and nothing changes.
    put_result put(rule r, time_point now);

    std::optional<rule> get(std::string_view host) const;
    bool erase(std::string_view host);

    struct filter {
        std::optional<std::string> app;
        std::optional<std::string> migration;
        std::optional<bool> expired;
    };
    std::vector<rule> list(const filter& f, time_point now) const;

    // Removes the rules that expired at least `expired_for` ago; returns their hosts.
    std::vector<std::string> purge(time_point now, std::chrono::seconds expired_for);

    const std::map<std::string, rule, std::less<>>& rules() const noexcept { return rules_; }
    std::size_t expired_count(time_point now) const;
    std::size_t unreadable_count() const noexcept { return unreadable_; }
    // Increases with every change; a table built from rules() carries it.
    std::uint64_t generation() const noexcept { return generation_; }

private:
    file_store& store_;
    std::map<std::string, rule, std::less<>> rules_;
    std::size_t unreadable_ = 0;
    std::uint64_t generation_ = 1;
};

} // namespace stork::routing
