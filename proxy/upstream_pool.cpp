#include "proxy/upstream_pool.hpp"

#include <boost/container_hash/hash.hpp>

#include <algorithm>

namespace stork::proxy {

std::size_t upstream_key_hash::operator()(const upstream_key& k) const noexcept
{
    std::size_t h = 0;
    if (k.address.address().is_v4()) {
        boost::hash_combine(h, k.address.address().to_v4().to_uint());
    } else {
        const auto bytes = k.address.address().to_v6().to_bytes();
        boost::hash_combine(h, boost::hash_range(bytes.begin(), bytes.end()));
    }
    boost::hash_combine(h, k.address.port());
    boost::hash_combine(h, k.tls);
    boost::hash_combine(h, std::hash<std::string>{}(k.sni));
    return h;
}

upstream_pool::~upstream_pool()
{
    clear();
}

upstream_pool::ptr upstream_pool::take(const upstream_key& key)
{
    const auto it = idle_by_key_.find(key);
    if (it == idle_by_key_.end() || it->second.empty()) {
        return nullptr;
    }
    ptr c = std::move(it->second.back());
    it->second.pop_back();
    --idle_;
    if (changed_) {
        changed_(-1);
    }
    c->pooled = false;
    ++c->watch;
    if (c->watched) {
        c->watched = false;
        boost::system::error_code ignored;
        c->socket.cancel(ignored);
    }
    return c;
}

void upstream_pool::put(ptr c, unsigned max_idle_per_key)
{
    auto& list = idle_by_key_[c->key];
    if (list.size() >= max_idle_per_key) {
        boost::system::error_code ignored;
        c->socket.close(ignored);
        return;
    }
    c->pooled = true;
    c->idle_since = std::chrono::steady_clock::now();
    ++c->watch;
    list.push_back(c);
    ++idle_;
    if (changed_) {
        changed_(+1);
    }
}

void upstream_pool::watch_idle()
{
    for (auto& [key, list] : idle_by_key_) {
        for (auto& c : list) {
            if (!c->watched) {
                watch(c);
            }
        }
    }
}

void upstream_pool::watch(const ptr& c)
{
    c->watched = true;
    if (c->ssl) {
        // TLS: a record may arrive that is not data (a TLS 1.3 NewSessionTicket or
        // KeyUpdate); OpenSSL reads it and the connection stays usable. Only data nobody
        // asked for, a close or an error make it unusable.
        c->socket.async_wait(boost::asio::ip::tcp::socket::wait_read,
                             [this, c, generation = c->watch](const boost::system::error_code& ec) {
                                 if (ec == boost::asio::error::operation_aborted || !c->pooled ||
                                     c->watch != generation) {
                                     return;
                                 }
                                 char byte = 0;
                                 std::size_t n = 0;
                                 const int ret = SSL_peek_ex(c->ssl.get(), &byte, 1, &n);
                                 if (ret != 1 && SSL_get_error(c->ssl.get(), ret) == SSL_ERROR_WANT_READ) {
                                     ERR_clear_error();
                                     watch(c);
                                     return;
                                 }
                                 ERR_clear_error();
                                 remove(c);
                             });
        return;
    }
    c->socket.async_read_some(boost::asio::buffer(&c->probe, 1),
                              [this, c, generation = c->watch](const boost::system::error_code& ec, std::size_t) {
                                  // Cancelled because it was taken (or the pool is going): not ours any more.
                                  if (ec == boost::asio::error::operation_aborted || !c->pooled ||
                                      c->watch != generation) {
                                      return;
                                  }
                                  // Closed by the upstream, or stray bytes: either way unusable.
                                  remove(c);
                              });
}

void upstream_pool::remove(const ptr& c)
{
    const auto it = idle_by_key_.find(c->key);
    if (it == idle_by_key_.end()) {
        return;
    }
    auto& list = it->second;
    const auto pos = std::find(list.begin(), list.end(), c);
    if (pos == list.end()) {
        return;
    }
    list.erase(pos);
    --idle_;
    if (changed_) {
        changed_(-1);
    }
    c->pooled = false;
    boost::system::error_code ignored;
    c->socket.close(ignored);
}

void upstream_pool::evict_idle_before(std::chrono::steady_clock::time_point cutoff)
{
    for (auto& [key, list] : idle_by_key_) {
        // LIFO: the oldest are at the front.
        const auto keep = std::find_if(list.begin(), list.end(), [&](const ptr& c) { return c->idle_since >= cutoff; });
        for (auto it = list.begin(); it != keep; ++it) {
            (*it)->pooled = false;
            boost::system::error_code ignored;
            (*it)->socket.close(ignored);
            --idle_;
            if (changed_) {
                changed_(-1);
            }
        }
        list.erase(list.begin(), keep);
    }
}

void upstream_pool::clear()
{
    for (auto& [key, list] : idle_by_key_) {
        for (auto& c : list) {
            c->pooled = false;
            boost::system::error_code ignored;
            c->socket.close(ignored);
            if (changed_) {
                changed_(-1);
            }
        }
    }
    idle_by_key_.clear();
    idle_ = 0;
}

} // namespace stork::proxy
