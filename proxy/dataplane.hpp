#pragma once

#include "config/storkd_config.hpp"
#include "proxy/byte_buffer.hpp"
#include "proxy/upstream_pool.hpp"
#include "routing/table.hpp"
#include "tls/certificate_set.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stork::dnscheck {
class address_cache;
class address_lookup;
class channel;
}

namespace stork::proxy {

class access_log_sink;
class access_log_writer;
class http_session;

using steady = std::chrono::steady_clock;

// The coarse clocks (the kernel's tick, read from the vDSO without touching the TSC):
// deadlines are checked by a 250 ms sweep and rules expire by the second, so neither needs
// more, and the request path reads them several times per request.
steady::time_point coarse_steady_now() noexcept;
std::chrono::sys_seconds coarse_system_seconds() noexcept;

// What the data plane reads of the configuration, as one immutable snapshot per reload,
// posted to every worker like a routing table (docs/data-plane.md).
struct dataplane_settings {
    std::string node;
    std::string via;                          // "1.1 <node>"
    std::optional<config::endpoint> fallback_http;
    std::optional<config::endpoint> fallback_https;   // where a TLS connection no certificate covers is relayed
    // The client context towards TLS upstreams (CA bundle upstream.ca_file), built by
    // storkd at start and at every reload; shared by all workers (SSL_new is thread-safe).
    std::shared_ptr<SSL_CTX> upstream_tls;
    steady::duration header_read{};
    steady::duration keepalive{};
    steady::duration drain{};
    steady::duration connect_timeout{};
    steady::duration read_timeout{};
    steady::duration idle_timeout{};
    unsigned max_idle_per_key = 0;
    unsigned connections_per_worker = 0;
    std::vector<std::string> dns_servers;     // "IP:PORT"; empty: /etc/resolv.conf

    static std::shared_ptr<const dataplane_settings> from(const config::storkd_config& c,
                                                          std::shared_ptr<SSL_CTX> upstream_tls = {});
};

// How a request was handled, for metrics and the access log.
enum class route_kind : std::uint8_t { proxy, redirect, fallback, expired, acme, not_found, invalid, passthrough, count };
std::string_view to_string(route_kind k) noexcept;

// Counters of one worker. Only that worker writes them (a relaxed load + store, no locked
// instruction); the metrics page reads them from the control thread.
struct dataplane_counters {
    using counter = std::atomic<std::uint64_t>;
    static void bump(counter& c, std::uint64_t n = 1) noexcept
    {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    // [route_kind][status class 1..5 → 0..4]
    std::array<std::array<counter, 5>, static_cast<std::size_t>(route_kind::count)> requests{};
    counter connections_accepted{0};
    counter connections_active{0};
    counter upstream_opened{0};
    counter upstream_reused{0};
    counter upstream_pooled{0};               // idle in the pool now
    counter upstream_connect_refused{0};
    counter upstream_connect_timeout{0};
    counter upstream_resolve_failed{0};
    counter upstream_other_errors{0};
    counter upstream_response_timeouts{0};
    counter bytes_in{0};
    counter bytes_out{0};
    counter tunnels_active{0};
    counter tls_handshakes{0};                // completed, client side
    counter tls_resumed{0};                   // of which resumed a session
    counter tls_handshake_failures{0};        // client side: bad ClientHello, no shared cipher, timeout ...
    counter upstream_tls_failures{0};         // handshakes towards upstreams that failed (verification included)
    counter upstream_tls_resumed{0};          // upstream handshakes that resumed a session
    counter passthrough_connections{0};       // TLS connections relayed without decrypting
};

// Everything one worker owns to carry requests. Lives on the worker's thread; nothing
// here is touched from elsewhere except through posts (and the counters, read-only).
class dataplane_worker {
public:
    dataplane_worker(boost::asio::io_context& io, unsigned index, std::shared_ptr<access_log_sink> log);
    ~dataplane_worker();
    dataplane_worker(const dataplane_worker&) = delete;
    dataplane_worker& operator=(const dataplane_worker&) = delete;

    boost::asio::io_context& io() noexcept { return io_; }
    unsigned index() const noexcept { return index_; }

    // The routing table and settings in force on this worker (swapped by posts).
    std::shared_ptr<const routing::table> table = std::make_shared<const routing::table>();
    std::shared_ptr<const dataplane_settings> settings;
    // The server certificates (null without listen.https); swapped by posts on reload.
    std::shared_ptr<const tls::certificate_set> certificates;
    // The last resumable TLS session per upstream (address, SNI), offered on the next
    // connect to it (tls-design.md §4).
    boost::unordered_flat_map<upstream_key, tls::ssl_session_ptr, upstream_key_hash> upstream_sessions;

    upstream_pool pool;
    block_pool buffers{16 * 1024, 4096};
    // Rule targets by name: c-ares on this worker's loop, cached by TTL (set up by start()).
    std::unique_ptr<dnscheck::channel> dns_channel;
    std::unique_ptr<dnscheck::address_lookup> dns_lookup;
    std::unique_ptr<dnscheck::address_cache> resolver;
    std::unique_ptr<access_log_writer> access_log;
    dataplane_counters counters;

    // A listening socket of this worker (bound with SO_REUSEPORT) and what it serves.
    struct listener {
        boost::asio::ip::tcp::acceptor acceptor;
        bool tls = false;                     // listen.https: TLS (or passthrough by SNI)
    };
    // Starts accepting on already-bound listening sockets (one per listen.http and
    // listen.https address) and the sweep timer.
    void start(std::vector<listener> listeners);

    // SIGTERM: stop accepting, close idle connections, let the others finish their
    // response; calls `done` (on this worker) when the last session ended or the drain
    // timeout passed and every connection was cut.
    void drain(std::function<void()> done);
    bool draining() const noexcept { return draining_; }

    // The end, drained or not: closes listeners, timers and every connection at once.
    // The worker's loop must then run until sessions() is 0.
    void shutdown();

    // Sessions register themselves for the deadline sweep and for draining.
    void attach(http_session* s) noexcept;
    void detach(http_session* s) noexcept;
    std::size_t sessions() const noexcept { return session_count_; }

    // The clock of this worker's loop: refreshed once per sweep and by callers that need
    // precision (deadline arithmetic needs no more than the sweep's 250 ms).
    steady::time_point now() const noexcept { return steady::now(); }

private:
    void accept_next(std::size_t listener);
    void on_flush(const boost::system::error_code& ec);
    void sweep();
    void finish_drain_if_done();

    boost::asio::io_context& io_;
    unsigned index_;
    std::vector<boost::asio::ip::tcp::acceptor> acceptors_;
    std::vector<bool> tls_listener_;
    std::vector<bool> accept_paused_;
    std::vector<boost::asio::ip::tcp::endpoint> peers_;
    boost::asio::steady_timer sweep_timer_;
    boost::asio::steady_timer flush_timer_;
    http_session* first_ = nullptr;           // intrusive list of live sessions
    std::size_t session_count_ = 0;
    bool draining_ = false;
    steady::time_point drain_deadline_{};
    std::function<void()> drained_;
};

} // namespace stork::proxy
