#include "routing/table.hpp"


namespace stork::routing {

std::size_t table::string_hash::operator()(std::string_view s) const noexcept
{
    return std::hash<std::string_view>{}(s);
}

table::table(std::span<const rule> rules, std::uint64_t generation) : generation_{generation}
{
    build(rules, [](const rule& r) -> const rule& { return r; });
}

table::table(const std::map<std::string, rule, std::less<>>& rules, std::uint64_t generation)
    : generation_{generation}
{
    // Not std::views::values: clang 14 (the fuzz preset) cannot compile libstdc++ 12's ranges.
    build(rules, [](const auto& entry) -> const rule& { return entry.second; });
}

template <class Range, class Get>
void table::build(const Range& rules, Get get)
{
    // Size everything first, in one pass, so that the views taken below stay valid.
    std::size_t bytes = 0;
    std::size_t wildcards = 0;
    for (const auto& element : rules) {
        const rule& r = get(element);
        bytes += r.host.size() + r.target.size() + (r.upstream ? r.upstream->host.size() : 0);
        wildcards += r.host.starts_with("*.") ? 1 : 0;
    }
    storage_.reserve(bytes);
    rules_.reserve(rules.size());
    exact_.reserve(rules.size() - wildcards);
    wildcard_.reserve(wildcards);
    const auto keep = [this](std::string_view s) {
        const std::size_t at = storage_.size();
        storage_.append(s);
        return std::string_view{storage_.data() + at, s.size()};
    };

    for (const auto& element : rules) {
        const rule& r = get(element);
        rule_view v;
        v.host = keep(r.host);
        v.target = keep(r.target);
        if (r.upstream) {
            v.upstream_host = keep(r.upstream->host);
            v.upstream_port = r.upstream->port;
        }
        v.mode = r.mode;
        v.upstream_tls = r.upstream_tls;
        v.preserve_host = r.preserve_host;
        v.proxy_protocol = r.proxy_protocol;
        v.redirect_code = r.redirect_code;
        v.expires_at = r.expires_at;
        passthrough_ += v.mode == rule_mode::passthrough ? 1 : 0;
        const auto position = static_cast<std::uint32_t>(rules_.size());
        rules_.push_back(v);
        if (v.host.starts_with("*.")) {
            wildcard_.insert_or_assign(v.host.substr(2), position);
        } else {
            exact_.insert_or_assign(v.host, position);
        }
    }
}

match_result table::match(std::string_view host, time_point now) const noexcept
{
    const rule_view* found = nullptr;
    if (const auto it = exact_.find(host); it != exact_.end()) {
        found = &rules_[it->second];
    } else if (const auto dot = host.find('.'); dot != std::string_view::npos && !wildcard_.empty()) {
        if (const auto w = wildcard_.find(host.substr(dot + 1)); w != wildcard_.end()) {
            found = &rules_[w->second];
        }
    }
    if (found == nullptr) {
        return {};
    }
    return {found, now >= found->expires_at};
}

std::size_t table::memory_bytes() const noexcept
{
    // A flat map slot holds the pair and one byte of metadata.
    constexpr std::size_t slot = sizeof(index::value_type) + 1;
    return sizeof(*this) + storage_.capacity() + rules_.capacity() * sizeof(rule_view) +
           (exact_.bucket_count() + wildcard_.bucket_count()) * slot;
}

} // namespace stork::routing
