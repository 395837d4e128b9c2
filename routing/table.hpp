#pragma once

#include "routing/rule.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stork::routing {

// What the data plane needs of a rule. The strings view the table's own storage, so a
// rule_view lives exactly as long as its table (hold the shared_ptr while using it).
struct rule_view {
    std::string_view host;
    std::string_view target;
    std::string_view upstream_host; // empty: resolve target
    std::uint16_t upstream_port = 0;
    rule_mode mode = rule_mode::proxy;
    bool upstream_tls = true;
    bool preserve_host = true;
    bool proxy_protocol = false; // passthrough: send a PROXY v2 header before the ClientHello
    std::uint16_t redirect_code = 308;
    time_point expires_at{};
};

struct match_result {
    const rule_view* rule = nullptr;
    bool expired = false;

    explicit operator bool() const noexcept { return rule != nullptr; }
};

// The routing table: immutable once built, compiled from a rule set, shared by every
// worker through a shared_ptr<const table>; a change builds a new table off the request
// path and replaces the pointer (design.md §1).
//
// Lookup: exact hosts in one flat hash map; wildcards in another, keyed by what follows
// the "*." ("*.example.com" is stored as "example.com"). A wildcard covers exactly one
// label (RFC 6125 §6.4.3, as certificates do), so the only wildcard that can match
// "a.example.com" is the one keyed by its parent "example.com": one more lookup, no
// trie needed. The exact rule of a host wins over a wildcard, even when it has expired:
// the host's own rule is the most specific statement about it.
class table {
public:
    table() = default;
    table(std::span<const rule> rules, std::uint64_t generation);
    // The rule set as a registry keeps it (host → rule), without copying the rules.
    table(const std::map<std::string, rule, std::less<>>& rules, std::uint64_t generation);

    // `host` must be normalised (routing/host.hpp). Allocation-free.
    match_result match(std::string_view host, time_point now) const noexcept;

    std::size_t size() const noexcept { return rules_.size(); }
    // Rules in passthrough mode: a TLS listener reads the ClientHello's SNI before the
    // handshake only when there is one (or a fallback.https).
    std::size_t passthrough_rules() const noexcept { return passthrough_; }
    std::uint64_t generation() const noexcept { return generation_; }
    // Bytes held by the table (storage, rule views, hash maps), for metrics and benchmarks.
    std::size_t memory_bytes() const noexcept;

private:
    // `get` turns an element of `rules` into the rule (identity, or a map's value).
    template <class Range, class Get>
    void build(const Range& rules, Get get);

    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept;
    };
    using index = boost::unordered_flat_map<std::string_view, std::uint32_t, string_hash, std::equal_to<>>;

    std::string storage_;           // every string of every rule, back to back; never grows after build
    std::vector<rule_view> rules_;
    index exact_;
    index wildcard_;
    std::uint64_t generation_ = 0;
    std::size_t passthrough_ = 0;
};

} // namespace stork::routing
