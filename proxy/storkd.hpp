#pragma once

#include "config/storkd_config.hpp"
#include "proxy/admin_server.hpp"
#include "proxy/dns_api.hpp"
#include "routing/file_store.hpp"
#include "routing/rule_registry.hpp"
#include "routing/rules_api.hpp"
#include "proxy/worker_pool.hpp"
#include "tls/certificate_set.hpp"
#include "tls/ticket_keys.hpp"

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
    // tls.certificates, loaded into a new set: the set, or the errors (each naming its file).
    tls::certificate_set::load_result load_certificates(const config::storkd_config& c);
    // Loads and publishes the certificates: on failure logs the errors and keeps the
    // running set. Returns the outcome for POST /v1/certificates/reload.
    admin_response reload_certificates(const config::storkd_config& c);
    // The upstream TLS client context for `c` (throws std::runtime_error naming the file).
    static std::shared_ptr<SSL_CTX> make_upstream_tls(const config::storkd_config& c);
    void schedule_ticket_rotation();
    std::string render_metrics() const;
    void render_dataplane_metrics(prometheus_text& m) const;
    admin_answer on_admin_request(const admin_request& request);

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
    // GET /v1/dns/*: the DNS advisor on the control thread, over the registry's rules.
    std::optional<dns_api> dns_api_;

    // The data plane: where it listens, the access log all workers write to, and what
    // keeps the control loop alive while the workers drain.
    std::vector<boost::asio::ip::tcp::endpoint> http_bound_;
    std::vector<boost::asio::ip::tcp::endpoint> https_bound_;
    // Session ticket keys of every certificate set (rotated every 12 h), and the set
    // the workers serve now.
    std::unique_ptr<tls::ticket_keys> ticket_keys_;
    std::shared_ptr<const tls::certificate_set> certificates_;
    boost::asio::steady_timer ticket_timer_{control_};
    std::uint64_t certificate_reloads_failed_ = 0;
    std::shared_ptr<SSL_CTX> current_upstream_tls_;
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
