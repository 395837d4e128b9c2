#include "proxy/storkd.hpp"

#include "config/diagnostic.hpp"
#include "proxy/log.hpp"
#include "proxy/metrics.hpp"
#include "proxy/notify.hpp"
#include "stork/version.hpp"

#include <csignal>

namespace stork::proxy {

namespace {

double unix_now()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Settings that a reload cannot change without closing connections: they take effect
// at the next restart, and the operator is told so.
void warn_about_restart_only_changes(const config::storkd_config& running, const config::storkd_config& next)
{
    if (running.workers != next.workers) {
        log_warning("reload: workers changed from " + std::to_string(running.workers) + " to " +
                    std::to_string(next.workers) + "; restart storkd to apply");
    }
    if (!(running.admin.listen == next.admin.listen)) {
        log_warning("reload: admin.listen changed to " + next.admin.listen.to_string() +
                    "; still listening on " + running.admin.listen.to_string() + " until restart");
    }
    if (running.listen.http != next.listen.http || running.listen.https != next.listen.https) {
        log_warning("reload: listen addresses changed; restart storkd to apply");
    }
}

} // namespace

storkd::storkd(config::storkd_config initial)
    : config_{std::make_shared<const config::storkd_config>(std::move(initial))},
      signals_{control_, SIGTERM, SIGINT, SIGHUP},
      workers_{config_.load()->workers}
{
}

int storkd::run()
{
    const auto cfg = config_.load();
    // Signals are caught before anything else starts: a SIGHUP sent as soon as systemd
    // sees the process must not kill it (SIGHUP's default action).
    wait_for_signal();
    workers_.start();
    admin_.emplace(control_, cfg->admin.listen,
                   [this](const admin_request& request) { return on_admin_request(request); });
    admin_->start();
    serving_ = true;
    last_reload_success_ = unix_now();

    const auto admin_at = admin_->local_endpoint();
    const std::string admin_text = config::endpoint{admin_at.address().to_string(), admin_at.port(), true}.to_string();
    log_notice("storkd " + std::string{stork::version} + " (" + stork::commit + ") node " + cfg->node + ": " +
               std::to_string(workers_.size()) + " workers, admin on " + admin_text + ", config " +
               cfg->source.string());
    // STORK_ADMIN is ours: the actual admin address (port 0 in tests). systemd ignores
    // assignments it does not know.
    notify("READY=1\nSTATUS=serving; admin on " + admin_text + "\nSTORK_ADMIN=" + admin_text);

    control_.run();
    workers_.stop();
    log_notice("storkd stopped");
    return 0;
}

void storkd::wait_for_signal()
{
    signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
        if (!ec) {
            on_signal(signal_number);
        }
    });
}

void storkd::on_signal(int signal_number)
{
    if (signal_number == SIGHUP) {
        reload();
        wait_for_signal();
        return;
    }
    log_notice(std::string{"received "} + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") + ", stopping");
    stop();
}

void storkd::reload()
{
    const auto running = config_.load();
    // systemd's reload protocol: RELOADING=1, then READY=1 when done, whatever the outcome.
    notify("RELOADING=1\nSTATUS=reloading " + running->source.string());
    try {
        auto next = config::load_storkd_config(running->source);
        warn_about_restart_only_changes(*running, next);
        config_.store(std::make_shared<const config::storkd_config>(std::move(next)));
        ++reloads_succeeded_;
        last_reload_success_ = unix_now();
        log_notice("reload: " + running->source.string() + " applied");
        notify("READY=1\nSTATUS=serving; configuration reloaded\nSTORK_RELOAD=ok");
    } catch (const config::config_error& e) {
        ++reloads_failed_;
        for (const auto& d : e.diagnostics()) {
            log_error("reload refused, the running configuration stays: " + d.to_string());
        }
        notify("READY=1\nSTATUS=serving; reload refused, see the log\nSTORK_RELOAD=failed");
    }
}

void storkd::stop()
{
    notify("STOPPING=1\nSTATUS=stopping");
    serving_ = false;
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    if (admin_) {
        admin_->stop();
    }
}

admin_response storkd::on_admin_request(const admin_request& request) const
{
    const auto cfg = config_.load();
    const admin_context context{cfg->admin.token, serving_, [this] { return render_metrics(); }};
    return handle_admin_request(request, context);
}

std::string storkd::render_metrics() const
{
    const auto cfg = config_.load();
    prometheus_text m;
    m.family("stork_build_info", "gauge", "The storkd build: version and commit.");
    m.sample("stork_build_info", {{"version", stork::version}, {"commit", stork::commit}}, 1);
    m.family("stork_node_info", "gauge", "The node name of this storkd (config key node).");
    m.sample("stork_node_info", {{"node", cfg->node}}, 1);
    m.family("stork_uptime_seconds", "gauge", "Seconds since storkd started.");
    m.sample("stork_uptime_seconds",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    m.family("stork_workers", "gauge", "Worker threads, each with its own event loop.");
    m.sample("stork_workers", workers_.size());
    m.family("stork_config_reloads_total", "counter", "Configuration reloads (SIGHUP) by outcome.");
    m.sample("stork_config_reloads_total", {{"result", "success"}}, static_cast<double>(reloads_succeeded_));
    m.sample("stork_config_reloads_total", {{"result", "failure"}}, static_cast<double>(reloads_failed_));
    m.family("stork_config_last_reload_success_timestamp_seconds", "gauge",
             "Unix time at which the running configuration was loaded.");
    m.sample("stork_config_last_reload_success_timestamp_seconds", last_reload_success_);
    return m.text();
}

} // namespace stork::proxy
