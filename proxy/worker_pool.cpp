#include "proxy/worker_pool.hpp"

#include "proxy/access_log.hpp"
#include "proxy/log.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <system_error>

namespace stork::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

worker_pool::worker_pool(unsigned count)
{
    workers_.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
        workers_.push_back(std::make_unique<worker>());
    }
}

worker_pool::~worker_pool()
{
    stop();
}

void worker_pool::open_dataplane(std::shared_ptr<const dataplane_settings> settings,
                                 std::shared_ptr<access_log_sink> log)
{
    for (unsigned i = 0; i < workers_.size(); ++i) {
        auto& w = *workers_[i];
        w.dp = std::make_unique<dataplane_worker>(w.io, i, log);
        w.dp->settings = settings;
    }
}

namespace {

tcp::acceptor bind_listener(asio::io_context& io, const tcp::endpoint& at, const config::endpoint& named)
{
    tcp::acceptor a{io};
    boost::system::error_code ec;
    const auto fail = [&](const char* what) {
        throw std::system_error{ec, "cannot listen on " + named.to_string() + " (" + what + ")"};
    };
    a.open(at.protocol(), ec);
    if (ec) {
        fail("socket");
    }
    a.set_option(tcp::acceptor::reuse_address{true}, ec);
    const int one = 1;
    if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        ec.assign(errno, boost::system::system_category());
        fail("SO_REUSEPORT");
    }
    if (at.address().is_v6()) {
        a.set_option(asio::ip::v6_only{true}, ec);
    }
    a.bind(at, ec);
    if (ec) {
        fail("bind");
    }
    // Clients speak first (a request head, a ClientHello): the kernel hands a connection
    // over only once its first bytes are in, so the first read finds them instead of
    // failing, being waited for and tried again (about three system calls and a wake-up
    // per connection, which full and resumed TLS handshakes feel). A connection that sends
    // nothing is handed over after this many seconds anyway (and then meets the header
    // timeout).
    const int defer_seconds = 10;
    (void)::setsockopt(a.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof defer_seconds);
    a.listen(4096, ec);
    if (ec) {
        fail("listen");
    }
    a.non_blocking(true, ec);
    return a;
}

} // namespace

std::vector<tcp::endpoint> worker_pool::listen_http(const std::vector<config::endpoint>& addresses)
{
    return listen(addresses, false);
}

std::vector<tcp::endpoint> worker_pool::listen_https(const std::vector<config::endpoint>& addresses)
{
    return listen(addresses, true);
}

std::vector<tcp::endpoint> worker_pool::listen(const std::vector<config::endpoint>& addresses, bool tls)
{
    std::vector<tcp::endpoint> bound;
    for (const auto& named : addresses) {
        tcp::endpoint at{asio::ip::make_address(named.host), named.port};
        for (auto& w : workers_) {
            w->listeners.push_back({bind_listener(w->io, at, named), tls});
            // Port 0: the first worker's port is where the others join it.
            at = w->listeners.back().acceptor.local_endpoint();
        }
        bound.push_back(at);
    }
    return bound;
}

void worker_pool::start()
{
    for (unsigned i = 0; i < workers_.size(); ++i) {
        worker& w = *workers_[i];
        if (w.dp) {
            asio::post(w.io, [&w] { w.dp->start(std::move(w.listeners)); });
        }
        w.thread = std::thread{[&w, i] {
            const std::string name = "storkd-w" + std::to_string(i);
            pthread_setname_np(pthread_self(), name.c_str());
            try {
                w.io.run();
            } catch (const std::exception& e) {
                // A handler that throws is a bug: crash loudly rather than serve half.
                log_error("worker " + std::to_string(i) + ": " + e.what());
                std::terminate();
            }
        }};
    }
}

void worker_pool::drain(std::function<void()> done)
{
    auto left = std::make_shared<std::atomic<unsigned>>(static_cast<unsigned>(workers_.size()));
    auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& w : workers_) {
        if (!w->dp) {
            if (left->fetch_sub(1) == 1) {
                (*shared_done)();
            }
            continue;
        }
        asio::post(w->io, [w = w.get(), left, shared_done] {
            w->dp->drain([left, shared_done] {
                if (left->fetch_sub(1) == 1) {
                    (*shared_done)();
                }
            });
        });
    }
}

void worker_pool::publish(std::shared_ptr<const routing::table> t)
{
    for (auto& w : workers_) {
        asio::post(w->io, [w = w.get(), t] {
            if (w->dp) {
                w->dp->table = t;
            }
            w->table_generation.store(t->generation(), std::memory_order_release);
        });
    }
}

void worker_pool::publish(std::shared_ptr<const dataplane_settings> s)
{
    for (auto& w : workers_) {
        asio::post(w->io, [w = w.get(), s] {
            if (w->dp) {
                w->dp->settings = s;
            }
        });
    }
}

void worker_pool::publish(std::shared_ptr<const tls::certificate_set> c)
{
    for (auto& w : workers_) {
        asio::post(w->io, [w = w.get(), c] {
            if (w->dp) {
                w->dp->certificates = c;
            }
        });
    }
}

std::uint64_t worker_pool::oldest_table_generation() const noexcept
{
    std::uint64_t oldest = UINT64_MAX;
    for (const auto& w : workers_) {
        oldest = std::min(oldest, w->table_generation.load(std::memory_order_acquire));
    }
    return workers_.empty() ? 0 : oldest;
}

void worker_pool::stop()
{
    for (auto& w : workers_) {
        w->guard.reset();
        if (w->dp) {
            w->io.stop(); // listeners and timers would keep run() going forever
        }
    }
    for (auto& w : workers_) {
        if (w->thread.joinable()) {
            w->thread.join();
        }
    }
    // Sessions still open (no drain, or a drain cut short) are closed on their own loop,
    // run here a last time, so that every coroutine ends before its worker goes.
    for (auto& w : workers_) {
        if (!w->dp) {
            continue;
        }
        w->io.restart();
        w->dp->shutdown();
        for (int round = 0; round < 10'000 && (w->dp->sessions() > 0 || w->io.poll() > 0); ++round) {
            w->io.poll();
        }
        w->dp.reset();
    }
}

} // namespace stork::proxy
