#pragma once

#include "tls/openssl_handles.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stork::proxy {

// Which upstream connections are interchangeable: the same address, the same transport,
// and for TLS the same server name (issue 5 verifies the certificate against it).
struct upstream_key {
    boost::asio::ip::tcp::endpoint address;
    bool tls = false;
    std::string sni;

    bool operator==(const upstream_key&) const = default;
};

struct upstream_key_hash {
    std::size_t operator()(const upstream_key& k) const noexcept;
};

// One connection to an upstream: a socket, and for TLS the SSL that OpenSSL runs on it
// (proxy/tls_io.hpp).
struct upstream_connection {
    explicit upstream_connection(boost::asio::any_io_executor ex, upstream_key k)
        : socket{std::move(ex)}, key{std::move(k)}
    {
    }

    boost::asio::ip::tcp::socket socket;
    tls::ssl_ptr ssl;              // TLS upstreams only
    upstream_key key;
    std::chrono::steady_clock::time_point idle_since{};
    std::uint64_t exchanges = 0;   // responses read on it
    std::uint64_t watch = 0;       // generation of the idle watch; bumped when taken
    bool pooled = false;
    bool watched = false;          // the idle watch's read is pending
    bool session_saved = false;    // TLS: its session was kept for resumption
    char probe = 0;                // the idle watch reads into this
};

// Idle upstream connections of one worker, LIFO per key (the most recently used one is
// the most likely to still be open), at most `max_idle_per_key` each. A connection that
// stays idle gets a one-byte read pending (watch_idle(), from the worker's sweep): it
// completes only if the upstream closes the connection or sends bytes nobody asked for,
// and either way the connection leaves the pool. Under load a connection is idle for
// microseconds, so it is not watched at all: arming the read at every return to the pool
// would cost a failed recv() per request (Asio tries a read at once). A connection the
// upstream closed in between is caught by the session's retry on a fresh connection.
class upstream_pool {
public:
    using ptr = std::shared_ptr<upstream_connection>;

    // `changed(+1/-1)` reports the idle count to the worker's counters.
    explicit upstream_pool(std::function<void(int)> changed = {}) : changed_{std::move(changed)} {}
    ~upstream_pool();

    ptr take(const upstream_key& key);
    // Keeps `c` for reuse unless the key is at its cap (then it is closed).
    void put(ptr c, unsigned max_idle_per_key);
    // Closes the connections idle since before `cutoff`.
    void evict_idle_before(std::chrono::steady_clock::time_point cutoff);
    // Arms the idle watch of every pooled connection that has none yet.
    void watch_idle();
    void clear();
    std::size_t idle() const noexcept { return idle_; }

private:
    void remove(const ptr& c);
    void watch(const ptr& c);

    boost::unordered_flat_map<upstream_key, std::vector<ptr>, upstream_key_hash> idle_by_key_;
    std::size_t idle_ = 0;
    std::function<void(int)> changed_;
};

} // namespace stork::proxy
