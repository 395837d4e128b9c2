#pragma once

#include "config/storkd_config.hpp"
#include "proxy/admin_server.hpp"
#include "routing/file_store.hpp"
#include "routing/rule_registry.hpp"
#include "routing/rules_api.hpp"
#include "proxy/worker_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

namespace stork::proxy {

class access_log_sink;
class prometheus_text;

// storkd's life: start the workers and the admin listener, tell systemd it is ready,
// then wait for signals on the control thread (the one that calls run()):
//
//   start ──▶ serving ──SIGHUP──▶ reloading ──(new config | old kept)──▶ serving
//                 └────SIGTERM/SIGINT──▶ stopping ──▶ exit 0
//
// The current configuration is published as an immutable snapshot: readers on any
// thread load the pointer, a reload stores a new one; nobody waits for anybody.
class storkd {
public:
    explicit storkd(config::storkd_config initial);
    storkd(const storkd&) = delete;
    storkd& operator=(const storkd&) = delete;

    // Runs until SIGTERM or SIGINT; returns the process exit status.
    int run();

    std::shared_ptr<const config::storkd_config> current_config() const { return config_.load(); }

private:
    void open_rules();
    void rules_changed();
    void rebuild_table();
    void wait_for_signal();
    void on_signal(int signal_number);
    void reload();
    void stop();
    void start_dataplane();
    std::string render_metrics() const;
    void render_dataplane_metrics(prometheus_text& m) const;
    admin_response on_admin_request(const admin_request& request);

    std::atomic<std::shared_ptr<const config::storkd_config>> config_;
    boost::asio::io_context control_{1};
    boost::asio::signal_set signals_;
    worker_pool workers_;
    std::optional<admin_server> admin_;
    bool serving_ = false;

    // The rule set: durable store, registry, admin endpoints (control thread only), and
    // the debounce that turns a burst of changes into one table build.
    std::unique_ptr<routing::file_store> store_;
    std::optional<routing::rule_registry> registry_;
    std::optional<routing::rules_api> rules_api_;
    boost::asio::steady_timer rebuild_timer_{control_};

    // The data plane: where it listens, the access log all workers write to, and what
    // keeps the control loop alive while the workers drain.
    std::vector<boost::asio::ip::tcp::endpoint> http_bound_;
    std::shared_ptr<access_log_sink> access_log_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> draining_;
    bool rebuild_pending_ = false;
    double last_table_build_seconds_ = 0;

    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::uint64_t reloads_succeeded_ = 0;
    std::uint64_t reloads_failed_ = 0;
    double last_reload_success_ = 0; // Unix time of the start or of the last good reload
};

} // namespace stork::proxy
