#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

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

    void start();
    // Lets each worker finish what it is doing and return from run(), then joins.
    void stop();

private:
    struct worker {
        boost::asio::io_context io{1};
        boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
        std::thread thread;
    };
    std::vector<std::unique_ptr<worker>> workers_;
};

} // namespace stork::proxy
