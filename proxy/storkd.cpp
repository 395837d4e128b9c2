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
    if (running.rules.path != next.rules.path || running.rules.store != next.rules.store) {
        log_warning("reload: the rule store changed; still using " + running.rules.path.string() + " until restart");
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
    open_rules();
    workers_.start();
    rebuild_table();
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

namespace {

// Changes are gathered for this long before a table is built, so that a migration that
// installs a hundred rules builds one table, not a hundred. Well inside the 100 ms in
// which a change must reach the data plane (issue 3).
constexpr auto rebuild_delay = std::chrono::milliseconds{5};

routing::time_point rule_clock()
{
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

} // namespace

void storkd::open_rules()
{
    const auto cfg = config_.load();
    const auto warn = [](std::string_view m) { log_warning("rules: " + std::string{m}); };
    store_ = routing::file_store::open(routing::file_store::options{.dir = cfg->rules.path}, warn);
    registry_.emplace(*store_, warn);
    rules_api_.emplace(
        *registry_, rule_clock, cfg->rules.default_ttl, [this] { rules_changed(); });
    const std::size_t n = registry_->rules().size();
    log_info("rules: " + std::to_string(n) + (n == 1 ? " rule" : " rules") + " from " + cfg->rules.path.string());
}

void storkd::rules_changed()
{
    if (rebuild_pending_) {
        return;
    }
    rebuild_pending_ = true;
    rebuild_timer_.expires_after(rebuild_delay);
    rebuild_timer_.async_wait([this](const boost::system::error_code& ec) {
        rebuild_pending_ = false;
        if (!ec) {
            rebuild_table();
        }
    });
}

void storkd::rebuild_table()
{
    const auto started = std::chrono::steady_clock::now();
    auto t = std::make_shared<const routing::table>(registry_->rules(), registry_->generation());
    last_table_build_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    workers_.publish(std::move(t));
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
        rules_api_->set_default_ttl(next.rules.default_ttl);
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
    rebuild_timer_.cancel();
    if (admin_) {
        admin_->stop();
    }
}

admin_response storkd::on_admin_request(const admin_request& request)
{
    const auto cfg = config_.load();
    const admin_context context{cfg->admin.token, serving_, [this] { return render_metrics(); },
                                [this](const admin_request& r) -> std::optional<admin_response> {
                                    return rules_api_->handle(routing::api_request{r.method, r.target, r.body});
                                }};
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

    const auto now = rule_clock();
    m.family("stork_rules", "gauge", "Rules held, by state (expired rules stay until deleted or purged).");
    const auto expired = static_cast<double>(registry_->expired_count(now));
    m.sample("stork_rules", {{"state", "active"}}, static_cast<double>(registry_->rules().size()) - expired);
    m.sample("stork_rules", {{"state", "expired"}}, expired);
    m.family("stork_rules_unreadable", "gauge", "Stored records that are not valid rules and are not served.");
    m.sample("stork_rules_unreadable", static_cast<double>(registry_->unreadable_count()));
    const auto stats = store_->statistics();
    m.family("stork_rule_store_journal_bytes", "gauge", "Size of the rule store's journal.");
    m.sample("stork_rule_store_journal_bytes", static_cast<double>(stats.journal_bytes));
    m.family("stork_rule_store_snapshot_bytes", "gauge", "Size of the rule store's snapshot.");
    m.sample("stork_rule_store_snapshot_bytes", static_cast<double>(stats.snapshot_bytes));
    m.family("stork_rule_store_last_compaction_timestamp_seconds", "gauge",
             "Unix time of the last compaction of the rule store (0: none since start).");
    m.sample("stork_rule_store_last_compaction_timestamp_seconds",
             stats.last_compaction
                 ? std::chrono::duration<double>(stats.last_compaction->time_since_epoch()).count()
                 : 0.0);
    m.family("stork_rules_generation", "gauge", "Version of the rule set (increases with every change).");
    m.sample("stork_rules_generation", static_cast<double>(registry_->generation()));
    m.family("stork_rules_table_generation", "gauge",
             "Oldest rule set version a worker routes with; equal to stork_rules_generation once a change is live.");
    m.sample("stork_rules_table_generation", static_cast<double>(workers_.oldest_table_generation()));
    m.family("stork_rules_table_build_seconds", "gauge", "Time the last routing table took to build.");
    m.sample("stork_rules_table_build_seconds", last_table_build_seconds_);
    return m.text();
}

} // namespace stork::proxy
