#include "proxy/storkd.hpp"

#include "config/diagnostic.hpp"
#include "config/timestamp.hpp"
#include "dnscheck/ares_error.hpp"
#include "proxy/access_log.hpp"
#include "proxy/log.hpp"
#include "proxy/upstream_connect.hpp"
#include "proxy/metrics.hpp"
#include "proxy/notify.hpp"
#include "stork/version.hpp"
#include "tls/upstream_context.hpp"

#include <boost/json.hpp>

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
    if (running.dns.resolvers != next.dns.resolvers || running.dns.system_resolvers != next.dns.system_resolvers) {
        log_warning("reload: dns.resolvers changed; the data plane keeps its resolvers until restart "
                    "(the admin API's DNS checks use the new ones)");
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
    // A log reader that went away (stdout to a closed pipe) is a write error to count,
    // not a reason to die. Sockets never raise it: Asio sends with MSG_NOSIGNAL.
    std::signal(SIGPIPE, SIG_IGN);
    open_rules();
    try {
        start_dataplane();
    } catch (const std::exception& e) {
        log_error(e.what());
        return 1;
    }
    workers_.start();
    rebuild_table();
    admin_.emplace(control_, cfg->admin.listen,
                   [this](const admin_request& request) { return on_admin_request(request); });
    admin_->start();
    serving_ = true;
    last_reload_success_ = unix_now();

    const auto admin_at = admin_->local_endpoint();
    const std::string admin_text = config::endpoint{admin_at.address().to_string(), admin_at.port(), true}.to_string();
    std::string http_text;
    for (const auto& ep : http_bound_) {
        http_text += (http_text.empty() ? "" : ",") + to_text(ep);
    }
    std::string https_text;
    for (const auto& ep : https_bound_) {
        https_text += (https_text.empty() ? "" : ",") + to_text(ep);
    }
    log_notice("storkd " + std::string{stork::version} + " (" + stork::commit + ") node " + cfg->node + ": " +
               std::to_string(workers_.size()) + " workers, http on " + (http_text.empty() ? "-" : http_text) +
               ", https on " + (https_text.empty() ? "-" : https_text) + ", admin on " + admin_text + ", config " +
               cfg->source.string());
    // STORK_ADMIN, STORK_HTTP and STORK_HTTPS are ours: the actual addresses (port 0 in
    // tests). systemd ignores assignments it does not know.
    notify("READY=1\nSTATUS=serving; http on " + (http_text.empty() ? "-" : http_text) + ", https on " +
           (https_text.empty() ? "-" : https_text) + ", admin on " + admin_text + "\nSTORK_ADMIN=" + admin_text +
           "\nSTORK_HTTP=" + http_text + "\nSTORK_HTTPS=" + https_text);

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

void storkd::start_dataplane()
{
    const auto cfg = config_.load();
    dnscheck::ensure_ares_library(); // before any worker makes its channel
    access_log_ = access_log_sink::open(cfg->access_log);
    current_upstream_tls_ = make_upstream_tls(*cfg);
    workers_.open_dataplane(dataplane_settings::from(*cfg, current_upstream_tls_), access_log_);
    if (!cfg->listen.https.empty() && cfg->tls) {
        ticket_keys_ = std::make_unique<tls::ticket_keys>();
        auto loaded = load_certificates(*cfg);
        if (auto* errors = std::get_if<std::vector<tls::load_error>>(&loaded)) {
            std::string text = "cannot load the certificates of tls.certificates:";
            for (const auto& e : *errors) {
                text += "\n  " + tls::to_string(e);
            }
            throw std::runtime_error{text};
        }
        certificates_ = std::get<std::shared_ptr<const tls::certificate_set>>(std::move(loaded));
        workers_.publish(certificates_);
        schedule_ticket_rotation();
        for (const auto& info : certificates_->describe()) {
            log_info("tls: " + info.name + " (" + std::string{tls::describe(info.type)} + ", " +
                     std::to_string(info.sans.size()) + (info.sans.size() == 1 ? " name)" : " names)"));
        }
    }
    http_bound_ = workers_.listen_http(cfg->listen.http);
    https_bound_ = workers_.listen_https(cfg->listen.https);
}

std::shared_ptr<SSL_CTX> storkd::make_upstream_tls(const config::storkd_config& c)
{
    std::string error;
    auto ctx = tls::make_upstream_context(c.upstream.ca_file, error);
    if (!ctx) {
        throw std::runtime_error{"upstream.ca_file: " + error};
    }
    return std::shared_ptr<SSL_CTX>{ctx.release(), [](SSL_CTX* p) { SSL_CTX_free(p); }};
}

tls::certificate_set::load_result storkd::load_certificates(const config::storkd_config& c)
{
    return tls::certificate_set::load(c.tls->certificates, c.tls->default_name,
                                      tls::certificate_set::options{.offer_h2 = true, .tickets = ticket_keys_.get()});
}

namespace {

std::string describe_certificates(const tls::certificate_set& set)
{
    boost::json::array list;
    for (const auto& info : set.describe()) {
        boost::json::array names;
        for (const auto& n : info.sans) {
            names.emplace_back(n);
        }
        const auto not_after = std::chrono::floor<std::chrono::seconds>(info.not_after);
        list.push_back(boost::json::object{{"name", info.name},
                                           {"names", std::move(names)},
                                           {"key", tls::describe(info.type)},
                                           {"not_after", config::format_rfc3339(not_after)}});
    }
    return boost::json::serialize(boost::json::object{{"certificates", std::move(list)}});
}

} // namespace

admin_response storkd::reload_certificates(const config::storkd_config& c)
{
    admin_response response;
    if (!ticket_keys_ || !c.tls) {
        response.status = 409;
        response.body = R"json({"error":"storkd serves no TLS (listen.https is empty)"})json";
        return response;
    }
    auto loaded = load_certificates(c);
    if (auto* errors = std::get_if<std::vector<tls::load_error>>(&loaded)) {
        ++certificate_reloads_failed_;
        boost::json::array list;
        for (const auto& e : *errors) {
            log_error("certificates: reload refused, the running certificates stay: " + tls::to_string(e));
            list.push_back(boost::json::object{{"file", e.file.string()}, {"error", e.why}});
        }
        response.status = 422;
        response.body = boost::json::serialize(boost::json::object{
            {"error", "the certificates were not reloaded: " + tls::to_string(errors->front())},
            {"errors", std::move(list)}});
        return response;
    }
    certificates_ = std::get<std::shared_ptr<const tls::certificate_set>>(std::move(loaded));
    workers_.publish(certificates_);
    log_notice("certificates: " + std::to_string(certificates_->describe().size()) + " loaded from " +
               c.tls->certificates.string());
    response.body = describe_certificates(*certificates_);
    return response;
}

// Session ticket keys: a new one every 12 h, the previous one still accepted (so a
// ticket resumes for 12 to 24 h).
void storkd::schedule_ticket_rotation()
{
    ticket_timer_.expires_after(std::chrono::hours{12});
    ticket_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) {
            ticket_keys_->rotate();
            schedule_ticket_rotation();
        }
    });
}

void storkd::open_rules()
{
    const auto cfg = config_.load();
    const auto warn = [](std::string_view m) { log_warning("rules: " + std::string{m}); };
    store_ = routing::file_store::open(routing::file_store::options{.dir = cfg->rules.path}, warn);
    registry_.emplace(*store_, warn);
    rules_api_.emplace(
        *registry_, rule_clock, cfg->rules.default_ttl, [this] { rules_changed(); });
    dns_api_.emplace(control_, *registry_, rule_clock, advisor_options_from(cfg->dns));
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
    const auto refuse = [this](const std::string& why) {
        ++reloads_failed_;
        log_error("reload refused, the running configuration and certificates stay: " + why);
        notify("READY=1\nSTATUS=serving; reload refused, see the log\nSTORK_RELOAD=failed");
    };
    try {
        auto next = config::load_storkd_config(running->source);
        // Everything the new configuration needs is built before any of it is applied:
        // a reload is all or nothing.
        std::shared_ptr<SSL_CTX> upstream_tls;
        try {
            upstream_tls = make_upstream_tls(next);
        } catch (const std::exception& e) {
            refuse(e.what());
            return;
        }
        std::shared_ptr<const tls::certificate_set> certificates;
        if (certificates_ && next.tls) {
            auto loaded = load_certificates(next);
            if (auto* errors = std::get_if<std::vector<tls::load_error>>(&loaded)) {
                ++certificate_reloads_failed_;
                for (const auto& e : *errors) {
                    log_error("certificates: " + tls::to_string(e));
                }
                refuse("tls.certificates has " + std::to_string(errors->size()) +
                       (errors->size() == 1 ? " error" : " errors"));
                return;
            }
            certificates = std::get<std::shared_ptr<const tls::certificate_set>>(std::move(loaded));
        }
        warn_about_restart_only_changes(*running, next);
        rules_api_->set_default_ttl(next.rules.default_ttl);
        dns_api_->set_options(advisor_options_from(next.dns));
        current_upstream_tls_ = upstream_tls;
        workers_.publish(dataplane_settings::from(next, std::move(upstream_tls)));
        if (certificates) {
            certificates_ = std::move(certificates);
            workers_.publish(certificates_);
            log_notice("certificates: " + std::to_string(certificates_->describe().size()) + " loaded from " +
                       next.tls->certificates.string());
        }
        if (access_log_) {
            if (next.access_log.where != running->access_log.where || next.access_log.path != running->access_log.path) {
                log_warning("reload: access_log changed; restart storkd to apply");
            }
            if (const auto ec = access_log_->reopen()) {
                log_warning("reload: reopening the access log " + access_log_->path().string() + ": " + ec.message() +
                            "; still writing to the old file");
            }
        }
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
    ticket_timer_.cancel();
    if (admin_) {
        admin_->stop();
    }
    // The workers stop accepting and finish what is in flight; the control loop stays up
    // until the last of them is done (or the drain timeout cut the rest).
    draining_.emplace(control_.get_executor());
    workers_.drain([this] {
        boost::asio::post(control_, [this] { draining_.reset(); });
    });
}

admin_answer storkd::on_admin_request(const admin_request& request)
{
    const auto cfg = config_.load();
    const admin_context context{
        .token = cfg->admin.token,
        .serving = serving_,
        .metrics = [this] { return render_metrics(); },
        .v1 = [this, cfg](const admin_request& r) -> std::optional<admin_response> {
            if (r.target == "/v1/certificates/reload") {
                if (r.method != "POST") {
                    admin_response wrong;
                    wrong.status = 405;
                    wrong.headers.emplace_back("Allow", "POST");
                    wrong.body = R"({"error":"use POST"})";
                    return wrong;
                }
                return reload_certificates(*cfg);
            }
            return rules_api_->handle(routing::api_request{r.method, r.target, r.body});
        },
        // The DNS endpoints answer once the advisor is done; the control thread serves
        // everything else meanwhile.
        .v1_async = [this](const admin_request& r) { return dns_api_->handle(r); },
    };
    return answer_admin_request(request, context);
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
    render_dataplane_metrics(m);
    return m.text();
}

void storkd::render_dataplane_metrics(prometheus_text& m) const
{
    constexpr std::array<const char*, 5> classes{"1xx", "2xx", "3xx", "4xx", "5xx"};
    std::array<std::array<double, 5>, static_cast<std::size_t>(route_kind::count)> requests{};
    double accepted = 0, active = 0, opened = 0, reused = 0, pooled = 0, refused = 0, timeouts = 0, resolve = 0,
           other = 0, response_timeouts = 0, bytes_in = 0, bytes_out = 0, tunnels = 0, handshakes = 0, resumed = 0,
           handshake_failures = 0, upstream_tls_failures = 0, upstream_tls_resumed = 0, passthrough = 0;
    const auto get = [](const dataplane_counters::counter& c) {
        return static_cast<double>(c.load(std::memory_order_relaxed));
    };
    workers_.for_each_counters([&](const dataplane_counters& c) {
        for (std::size_t k = 0; k < requests.size(); ++k) {
            for (std::size_t s = 0; s < 5; ++s) {
                requests[k][s] += get(c.requests[k][s]);
            }
        }
        accepted += get(c.connections_accepted);
        active += get(c.connections_active);
        opened += get(c.upstream_opened);
        reused += get(c.upstream_reused);
        pooled += get(c.upstream_pooled);
        refused += get(c.upstream_connect_refused);
        timeouts += get(c.upstream_connect_timeout);
        resolve += get(c.upstream_resolve_failed);
        other += get(c.upstream_other_errors);
        response_timeouts += get(c.upstream_response_timeouts);
        bytes_in += get(c.bytes_in);
        bytes_out += get(c.bytes_out);
        tunnels += get(c.tunnels_active);
        handshakes += get(c.tls_handshakes);
        resumed += get(c.tls_resumed);
        handshake_failures += get(c.tls_handshake_failures);
        upstream_tls_failures += get(c.upstream_tls_failures);
        upstream_tls_resumed += get(c.upstream_tls_resumed);
        passthrough += get(c.passthrough_connections);
    });
    m.family("stork_http_requests_total", "counter",
             "Requests answered, by how they were routed (mode) and the class of the status sent.");
    for (std::size_t k = 0; k < requests.size(); ++k) {
        if (static_cast<route_kind>(k) == route_kind::passthrough) {
            continue; // relayed connections carry no HTTP: stork_passthrough_connections_total
        }
        for (std::size_t s = 0; s < 5; ++s) {
            if (requests[k][s] > 0 || s == 1) {
                m.sample("stork_http_requests_total",
                         {{"mode", std::string{to_string(static_cast<route_kind>(k))}}, {"status", classes[s]}},
                         requests[k][s]);
            }
        }
    }
    m.family("stork_http_connections_accepted_total", "counter", "Client connections accepted.");
    m.sample("stork_http_connections_accepted_total", accepted);
    m.family("stork_http_connections_active", "gauge", "Client connections open now.");
    m.sample("stork_http_connections_active", active);
    m.family("stork_http_received_bytes_total", "counter", "Bytes read from clients.");
    m.sample("stork_http_received_bytes_total", bytes_in);
    m.family("stork_http_sent_bytes_total", "counter", "Bytes sent to clients.");
    m.sample("stork_http_sent_bytes_total", bytes_out);
    m.family("stork_http_tunnels_active", "gauge", "Upgraded connections (WebSocket) carried now.");
    m.sample("stork_http_tunnels_active", tunnels);
    m.family("stork_upstream_connections_opened_total", "counter", "Connections opened to upstreams.");
    m.sample("stork_upstream_connections_opened_total", opened);
    m.family("stork_upstream_connections_reused_total", "counter", "Requests sent on a pooled upstream connection.");
    m.sample("stork_upstream_connections_reused_total", reused);
    m.family("stork_upstream_connections_pooled", "gauge", "Idle upstream connections kept for reuse.");
    m.sample("stork_upstream_connections_pooled", pooled);
    m.family("stork_upstream_errors_total", "counter", "Upstream failures, by kind.");
    m.sample("stork_upstream_errors_total", {{"kind", "connect_refused"}}, refused);
    m.sample("stork_upstream_errors_total", {{"kind", "connect_timeout"}}, timeouts);
    m.sample("stork_upstream_errors_total", {{"kind", "resolve"}}, resolve);
    m.sample("stork_upstream_errors_total", {{"kind", "response_timeout"}}, response_timeouts);
    m.sample("stork_upstream_errors_total", {{"kind", "tls"}}, upstream_tls_failures);
    m.sample("stork_upstream_errors_total", {{"kind", "other"}}, other);
    m.family("stork_upstream_tls_resumed_total", "counter", "TLS handshakes towards upstreams that resumed a session.");
    m.sample("stork_upstream_tls_resumed_total", upstream_tls_resumed);
    m.family("stork_tls_handshakes_total", "counter", "TLS handshakes with clients, by outcome.");
    m.sample("stork_tls_handshakes_total", {{"result", "full"}}, handshakes - resumed);
    m.sample("stork_tls_handshakes_total", {{"result", "resumed"}}, resumed);
    m.sample("stork_tls_handshakes_total", {{"result", "failed"}}, handshake_failures);
    m.family("stork_passthrough_connections_total", "counter", "TLS connections relayed by SNI without decrypting.");
    m.sample("stork_passthrough_connections_total", passthrough);
    m.family("stork_certificate_reloads_failed_total", "counter",
             "Certificate reloads refused (the running certificates stayed).");
    m.sample("stork_certificate_reloads_failed_total", static_cast<double>(certificate_reloads_failed_));
    if (access_log_) {
        m.family("stork_access_log_write_errors_total", "counter", "Access log writes that failed (lines lost).");
        m.sample("stork_access_log_write_errors_total", static_cast<double>(access_log_->write_errors()));
    }
}

} // namespace stork::proxy
