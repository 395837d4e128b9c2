#pragma once

#include "dnscheck/address_lookup.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace stork::dnscheck {

// A worker's cache of host name → addresses (docs/data-plane.md: one per worker, on the
// worker's thread, no locks; not thread-safe by design).
//
// - A fresh entry answers at once, inline (the hot path: no allocation, no post).
// - A miss starts one lookup; every resolve() for the same name while it runs waits for
//   that lookup (coalescing), and all of them get its result.
// - Success is kept for the answer's TTL (capped at max_ttl); TTL 0 is not kept, but
//   still shared by the waiters of that lookup. Failures are kept for negative_ttl, so a
//   dead name does not send a query per request. IP literals bypass the cache.
// - At most max_entries names; when full, expired entries go first, then the oldest.
// Names are compared case-insensitively, a trailing dot ignored (RFC 4343).
class address_cache {
public:
    using clock = std::chrono::steady_clock;
    using handler = std::function<void(const lookup_result&)>;
    // Starts a lookup and calls the handler once with its result (address_lookup::resolve
    // in storkd, a fake in tests).
    using lookup_function = std::function<void(std::string_view host, std::function<void(lookup_result)>)>;

    struct options {
        std::size_t max_entries = 10'000;
        std::chrono::seconds negative_ttl{5};
        std::chrono::seconds max_ttl{3600};
        std::function<clock::time_point()> now = [] { return clock::now(); };   // tests inject theirs
    };

    struct statistics {
        std::uint64_t hits = 0;         // answered from a fresh entry (errors included)
        std::uint64_t misses = 0;       // started a lookup
        std::uint64_t coalesced = 0;    // joined a lookup already running
        std::uint64_t failures = 0;     // lookups that ended in an error
        std::uint64_t evictions = 0;    // fresh entries dropped because the cache was full
        std::size_t entries = 0;        // names held now
        std::size_t in_flight = 0;      // lookups running now
    };

    address_cache(lookup_function lookup, options opts);
    explicit address_cache(lookup_function lookup) : address_cache(std::move(lookup), options{}) {}
    // Lookups still running end quietly: their results are dropped, and their waiters
    // are called with operation_aborted from here.
    ~address_cache();
    address_cache(const address_cache&) = delete;
    address_cache& operator=(const address_cache&) = delete;

    // Calls `h` once with the addresses of `host` (or why there are none): inline when
    // cached or an IP literal, otherwise when the lookup ends.
    void resolve(std::string_view host, handler h);

    // The same as an Asio operation, signature void(lookup_result); always completes
    // through a post to `ex`, so coroutines can `co_await cache.async_resolve(h, ex,
    // use_awaitable)`.
    template <typename CompletionToken>
    auto async_resolve(std::string host, boost::asio::any_io_executor ex, CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken, void(lookup_result)>(
            [this](auto h, const std::string& name, boost::asio::any_io_executor e) {
                resolve(name, [h = std::make_shared<decltype(h)>(std::move(h)), e](const lookup_result& r) {
                    boost::asio::post(e, boost::asio::append(std::move(*h), r));
                });
            },
            token, std::move(host), std::move(ex));
    }

    // Drops expired entries (the worker's sweep may call it; resolve() also drops the
    // expired entry it meets).
    void purge_expired();

    statistics stats() const noexcept;

private:
    struct entry {
        lookup_result result;
        clock::time_point expires;
        std::list<std::string>::iterator age;   // position in age_ (oldest first)
    };

    void on_lookup_done(const std::string& key, lookup_result result);
    void store(const std::string& key, const lookup_result& result);
    void erase(std::unordered_map<std::string, entry>::iterator it);

    lookup_function lookup_;
    options options_;
    std::unordered_map<std::string, entry> entries_;
    std::list<std::string> age_;
    std::unordered_map<std::string, std::vector<handler>> waiting_;
    statistics stats_;
    bool closing_ = false;
    // Lookup handlers hold this, so a lookup that ends after the cache is gone does nothing.
    std::shared_ptr<address_cache*> self_ = std::make_shared<address_cache*>(this);
};

// The cache key: lower case, without a trailing dot.
std::string cache_key(std::string_view host);

} // namespace stork::dnscheck
