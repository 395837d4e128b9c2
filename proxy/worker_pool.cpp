#include "proxy/worker_pool.hpp"

#include "proxy/log.hpp"

#include <pthread.h>

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
