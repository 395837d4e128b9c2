#include "proxy/dataplane.hpp"

#include "dnscheck/address_cache.hpp"
#include "dnscheck/address_lookup.hpp"
#include "dnscheck/channel.hpp"
#include "proxy/access_log.hpp"
#include "proxy/http_session.hpp"
#include "proxy/log.hpp"

#include <time.h>

namespace stork::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto sweep_interval = 250ms;
constexpr auto flush_interval = 1s;
constexpr auto accept_retry = 100ms;

steady::duration to_steady(config::duration d)
{
    return std::chrono::duration_cast<steady::duration>(d);
}

} // namespace

steady::time_point coarse_steady_now() noexcept
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return steady::time_point{std::chrono::duration_cast<steady::duration>(std::chrono::seconds{ts.tv_sec} +
                                                                           std::chrono::nanoseconds{ts.tv_nsec})};
}

std::chrono::sys_seconds coarse_system_seconds() noexcept
{
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return std::chrono::sys_seconds{std::chrono::seconds{ts.tv_sec}};
}

std::shared_ptr<const dataplane_settings> dataplane_settings::from(const config::storkd_config& c,
                                                                   std::shared_ptr<SSL_CTX> upstream_tls)
{
    auto s = std::make_shared<dataplane_settings>();
    s->node = c.node;
    s->via = "1.1 " + c.node;
    s->fallback_http = c.fallback.http;
    s->fallback_https = c.fallback.https;
    s->upstream_tls = std::move(upstream_tls);
    s->header_read = to_steady(c.timeouts.header_read);
    s->keepalive = to_steady(c.timeouts.keepalive);
    s->drain = to_steady(c.timeouts.drain);
    s->connect_timeout = to_steady(c.upstream.connect_timeout);
    s->read_timeout = to_steady(c.upstream.read_timeout);
    s->idle_timeout = to_steady(c.upstream.idle_timeout);
    s->max_idle_per_key = c.upstream.max_idle_per_key;
    s->connections_per_worker = c.limits.connections_per_worker;
    for (const auto& r : c.dns.resolvers) {
        s->dns_servers.push_back(r.to_string());
    }
    return s;
}

std::string_view to_string(route_kind k) noexcept
{
    switch (k) {
    case route_kind::proxy: return "proxy";
    case route_kind::redirect: return "redirect";
    case route_kind::fallback: return "fallback";
    case route_kind::expired: return "expired";
    case route_kind::acme: return "acme";
    case route_kind::not_found: return "not_found";
    case route_kind::invalid: return "invalid";
    case route_kind::passthrough: return "passthrough";
    case route_kind::count: break;
    }
    return "unknown";
}

dataplane_worker::dataplane_worker(asio::io_context& io, unsigned index, std::shared_ptr<access_log_sink> log)
    : pool{[this](int delta) {
          counters.upstream_pooled.store(
              static_cast<std::uint64_t>(static_cast<std::int64_t>(counters.upstream_pooled.load(std::memory_order_relaxed)) + delta),
              std::memory_order_relaxed);
      }},
      io_{io},
      index_{index},
      sweep_timer_{io},
      flush_timer_{io}
{
    if (log) {
        access_log = std::make_unique<access_log_writer>(std::move(log));
    }
}

dataplane_worker::~dataplane_worker()
{
    if (access_log) {
        access_log->flush();
    }
    resolver.reset();
    dns_lookup.reset();
    dns_channel.reset();
}

void dataplane_worker::start(std::vector<listener> listeners)
{
    for (auto& l : listeners) {
        acceptors_.push_back(std::move(l.acceptor));
        tls_listener_.push_back(l.tls);
    }
    // c-ares channels belong to the thread that runs their loop: made here, on it.
    try {
        dns_channel = std::make_unique<dnscheck::channel>(io_, dnscheck::channel_options{.servers = settings->dns_servers});
        dns_lookup = std::make_unique<dnscheck::address_lookup>(*dns_channel);
        resolver = std::make_unique<dnscheck::address_cache>(
            [this](std::string_view host, std::function<void(dnscheck::lookup_result)> done) {
                dns_lookup->resolve(host, std::move(done));
            });
    } catch (const std::exception& e) {
        log_error("worker " + std::to_string(index_) + ": no DNS resolver, rules naming their target by DNS name "
                  "will get 502: " + e.what());
    }
    accept_paused_.assign(acceptors_.size(), false);
    peers_.resize(acceptors_.size());
    for (std::size_t i = 0; i < acceptors_.size(); ++i) {
        accept_next(i);
    }
    sweep();
    if (access_log) {
        flush_timer_.expires_after(flush_interval);
        flush_timer_.async_wait([this](const boost::system::error_code& ec) { on_flush(ec); });
    }
}

void dataplane_worker::on_flush(const boost::system::error_code& ec)
{
    if (ec || !access_log) {
        return;
    }
    access_log->flush();
    flush_timer_.expires_after(flush_interval);
    flush_timer_.async_wait([this](const boost::system::error_code& e) { on_flush(e); });
}

void dataplane_worker::accept_next(std::size_t i)
{
    if (draining_) {
        return;
    }
    if (session_count_ >= settings->connections_per_worker) {
        accept_paused_[i] = true;
        return;
    }
    acceptors_[i].async_accept(io_, peers_[i], [this, i](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || draining_) {
            return;
        }
        if (ec) {
            // EMFILE, ENOBUFS ...: say so and try again shortly instead of spinning.
            log_warning("worker " + std::to_string(index_) + ": accept: " + ec.message());
            auto retry = std::make_shared<asio::steady_timer>(io_, accept_retry);
            retry->async_wait([this, i, retry](const boost::system::error_code& e) {
                if (!e) {
                    accept_next(i);
                }
            });
            return;
        }
        dataplane_counters::bump(counters.connections_accepted);
        http_session::start(*this, std::move(socket), peers_[i], tls_listener_[i]);
        accept_next(i);
    });
}

void dataplane_worker::attach(http_session* s) noexcept
{
    s->prev = nullptr;
    s->next = first_;
    if (first_) {
        first_->prev = s;
    }
    first_ = s;
    ++session_count_;
    counters.connections_active.store(session_count_, std::memory_order_relaxed);
}

void dataplane_worker::detach(http_session* s) noexcept
{
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        first_ = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    --session_count_;
    counters.connections_active.store(session_count_, std::memory_order_relaxed);
    if (!draining_ && session_count_ < settings->connections_per_worker) {
        for (std::size_t i = 0; i < accept_paused_.size(); ++i) {
            if (accept_paused_[i]) {
                accept_paused_[i] = false;
                accept_next(i);
            }
        }
    }
    if (draining_ && session_count_ == 0) {
        // Not from inside the session's destructor: after it.
        asio::post(io_, [this] { finish_drain_if_done(); });
    }
}

void dataplane_worker::sweep()
{
    const auto now = steady::now();
    for (http_session* s = first_; s != nullptr;) {
        http_session* next = s->next; // expire() never destroys synchronously, but be safe
        if (s->deadline() <= now || (draining_ && now >= drain_deadline_)) {
            s->expire();
        } else {
            s->trim_if_idle(now);
        }
        s = next;
    }
    pool.evict_idle_before(now - settings->idle_timeout);
    pool.watch_idle();
    if (draining_ && session_count_ == 0) {
        finish_drain_if_done();
        return;
    }
    sweep_timer_.expires_after(sweep_interval);
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) {
            sweep();
        }
    });
}

void dataplane_worker::drain(std::function<void()> done)
{
    draining_ = true;
    drained_ = std::move(done);
    drain_deadline_ = steady::now() + settings->drain;
    for (auto& a : acceptors_) {
        boost::system::error_code ignored;
        a.close(ignored);
    }
    pool.clear();
    for (http_session* s = first_; s != nullptr; s = s->next) {
        s->drain();
    }
    finish_drain_if_done();
}

void dataplane_worker::shutdown()
{
    draining_ = true;
    drained_ = nullptr;
    for (auto& a : acceptors_) {
        boost::system::error_code ignored;
        a.close(ignored);
    }
    sweep_timer_.cancel();
    flush_timer_.cancel();
    pool.clear();
    for (http_session* s = first_; s != nullptr; s = s->next) {
        s->close_now();
    }
    resolver.reset();
    dns_lookup.reset();
    dns_channel.reset();
    if (access_log) {
        access_log->flush();
    }
}

void dataplane_worker::finish_drain_if_done()
{
    if (!draining_ || session_count_ != 0 || !drained_) {
        return;
    }
    sweep_timer_.cancel();
    flush_timer_.cancel();
    pool.clear();
    if (access_log) {
        access_log->flush();
    }
    auto done = std::move(drained_);
    drained_ = nullptr;
    done();
}

} // namespace stork::proxy
