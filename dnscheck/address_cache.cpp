#include "dnscheck/address_cache.hpp"

#include <ares.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>

#include <optional>
#include <utility>

namespace stork::dnscheck {

std::string cache_key(std::string_view host)
{
    if (!host.empty() && host.back() == '.') {
        host.remove_suffix(1);
    }
    std::string key{host};
    for (char& c : key) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return key;
}

namespace {

std::optional<boost::asio::ip::address> ip_literal(std::string_view key)
{
    if (key.size() > 2 && key.front() == '[' && key.back() == ']') {
        key = key.substr(1, key.size() - 2);
    }
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(std::string{key}, ec);
    if (ec) {
        return std::nullopt;
    }
    return ip;
}

} // namespace

address_cache::address_cache(lookup_function lookup, options opts)
    : lookup_{std::move(lookup)}, options_{std::move(opts)}
{
}

address_cache::~address_cache()
{
    closing_ = true;
    *self_ = nullptr;
    auto waiting = std::move(waiting_);
    waiting_.clear();
    const lookup_result aborted =
        lookup_error{make_error_code(boost::asio::error::operation_aborted), "DNS lookup cancelled (worker stopping)"};
    for (auto& [key, handlers] : waiting) {
        for (auto& h : handlers) {
            h(aborted);
        }
    }
}

void address_cache::resolve(std::string_view host, handler h)
{
    if (closing_) {
        h(lookup_error{make_error_code(boost::asio::error::operation_aborted), std::string{host} +
                                                                                    ": DNS lookup cancelled (worker stopping)"});
        return;
    }
    std::string key = cache_key(host);
    if (auto ip = ip_literal(key)) {
        h(resolved_addresses{{*ip}, std::chrono::seconds::max()});
        return;
    }
    if (auto it = entries_.find(key); it != entries_.end()) {
        if (options_.now() < it->second.expires) {
            ++stats_.hits;
            h(it->second.result);
            return;
        }
        erase(it);
    }
    if (auto it = waiting_.find(key); it != waiting_.end()) {
        ++stats_.coalesced;
        it->second.push_back(std::move(h));
        return;
    }
    ++stats_.misses;
    waiting_[key].push_back(std::move(h));
    // The lookup may complete inline (IP literal, malformed name): on_lookup_done then
    // runs before lookup_ returns, which is fine as the waiter is already registered.
    lookup_(key, [self = self_, key](lookup_result result) {
        if (*self != nullptr) {
            (*self)->on_lookup_done(key, std::move(result));
        }
    });
}

void address_cache::on_lookup_done(const std::string& key, lookup_result result)
{
    auto it = waiting_.find(key);
    if (it == waiting_.end()) {
        return;
    }
    std::vector<handler> handlers = std::move(it->second);
    waiting_.erase(it);
    if (!result) {
        ++stats_.failures;
    }
    store(key, result);
    // A handler may call resolve() again (even for this name): the waiters are out of the
    // map, and the entry is already in place.
    for (auto& h : handlers) {
        h(result);
    }
}

void address_cache::store(const std::string& key, const lookup_result& result)
{
    std::chrono::seconds ttl = options_.negative_ttl;
    if (result) {
        ttl = std::min(result->ttl, options_.max_ttl);
    } else if (result.error().code == boost::asio::error::operation_aborted ||
               result.error().code == make_ares_error(ARES_EDESTRUCTION) ||
               result.error().code == make_ares_error(ARES_ECANCELLED)) {
        return;   // the lookup was cancelled, not answered
    }
    if (ttl <= std::chrono::seconds::zero() || options_.max_entries == 0) {
        return;
    }
    if (auto it = entries_.find(key); it != entries_.end()) {
        erase(it);
    }
    if (entries_.size() >= options_.max_entries) {
        purge_expired();
    }
    while (entries_.size() >= options_.max_entries) {
        ++stats_.evictions;
        erase(entries_.find(age_.front()));
    }
    age_.push_back(key);
    entries_.insert_or_assign(key, entry{result, options_.now() + ttl, std::prev(age_.end())});
}

void address_cache::erase(std::unordered_map<std::string, entry>::iterator it)
{
    age_.erase(it->second.age);
    entries_.erase(it);
}

void address_cache::purge_expired()
{
    const auto now = options_.now();
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (now >= it->second.expires) {
            age_.erase(it->second.age);
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
}

address_cache::statistics address_cache::stats() const noexcept
{
    statistics s = stats_;
    s.entries = entries_.size();
    s.in_flight = waiting_.size();
    return s;
}

} // namespace stork::dnscheck
