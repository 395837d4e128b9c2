#pragma once

#include "config/endpoint.hpp"
#include "proxy/dataplane.hpp"
#include "routing/table.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace stork::proxy {

// N threads, each running its own io_context{1}: a connection accepted on a worker lives
// and dies there, so the request path needs no strand and no lock (design.md §1).
class worker_pool {
public:
    explicit worker_pool(unsigned count);
    ~worker_pool();
    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    unsigned size() const noexcept { return static_cast<unsigned>(workers_.size()); }
    boost::asio::io_context& context(unsigned index) { return workers_[index]->io; }

    // Before start(): gives every worker its data plane, and binds one listening socket
    // per address and worker (SO_REUSEPORT: the kernel spreads connections over the
    // workers). Returns the bound addresses (port 0 resolved). Throws std::system_error
    // naming the address when one cannot be bound.
    void open_dataplane(std::shared_ptr<const dataplane_settings> settings, std::shared_ptr<access_log_sink> log);
    std::vector<boost::asio::ip::tcp::endpoint> listen_http(const std::vector<config::endpoint>& addresses);
    std::vector<boost::asio::ip::tcp::endpoint> listen_https(const std::vector<config::endpoint>& addresses);

    void start();
    // Lets each worker finish what it is doing and return from run(), then joins.
    void stop();

    // SIGTERM: every worker stops accepting and drains; `done` runs (on some worker's
    // thread) once all of them are drained.
    void drain(std::function<void()> done);

    // Hands a new routing table to every worker: a post to each event loop, where the
    // worker swaps its own pointer. Readers on a worker use that pointer with no atomic
    // and no lock; a reader never waits for a writer (design.md §1). The old table is
    // freed by the last worker that lets go of it.
    void publish(std::shared_ptr<const routing::table> t);
    void publish(std::shared_ptr<const dataplane_settings> s);
    void publish(std::shared_ptr<const tls::certificate_set> c);

    // The table a worker routes with; only from that worker's thread.
    const routing::table& table_of(unsigned index) const { return *workers_[index]->dp->table; }

    // The oldest table generation any worker routes with (for metrics and tests: a
    // change has reached the data plane once this has caught up).
    std::uint64_t oldest_table_generation() const noexcept;

    // Read-only view of each worker's counters, for the metrics page.
    template <class F>
    void for_each_counters(F f) const
    {
        for (const auto& w : workers_) {
            if (w->dp) {
                f(w->dp->counters);
            }
        }
    }

private:
    struct worker {
        // One thread per loop, and every socket used only on it: no locking around socket
        // operations (posts from the control thread still lock the scheduler).
        boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
        boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
        std::thread thread;
        std::unique_ptr<dataplane_worker> dp;
        std::vector<dataplane_worker::listener> listeners;
        std::atomic<std::uint64_t> table_generation{0}; // written by the worker, read by metrics
    };
    std::vector<boost::asio::ip::tcp::endpoint> listen(const std::vector<config::endpoint>& addresses, bool tls);

    std::vector<std::unique_ptr<worker>> workers_;
};

} // namespace stork::proxy
