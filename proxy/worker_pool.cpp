#include "proxy/worker_pool.hpp"

#include "proxy/log.hpp"

#include <boost/asio/post.hpp>

#include <pthread.h>

#include <algorithm>

#include <string>

namespace stork::proxy {

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

void worker_pool::start()
{
    for (unsigned i = 0; i < workers_.size(); ++i) {
        worker& w = *workers_[i];
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

void worker_pool::publish(std::shared_ptr<const routing::table> t)
{
    for (auto& w : workers_) {
        boost::asio::post(w->io, [w = w.get(), t] {
            w->table = t;
            w->table_generation.store(t->generation(), std::memory_order_release);
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
    }
    for (auto& w : workers_) {
        if (w->thread.joinable()) {
            w->thread.join();
        }
    }
}

} // namespace stork::proxy
