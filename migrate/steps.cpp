#include "migrate/steps.hpp"

#include "config/timestamp.hpp"

#include <algorithm>

namespace stork::migrate {
namespace {

// The parts of a connection URL that identify the source addon: "host:port" and the
// password ("scheme://user:password@host:port/db").
struct url_parts {
    std::string host_port;
    std::string password;
};

url_parts split_url(std::string_view url)
{
    url_parts out;
    const auto scheme = url.find("://");
    if (scheme == std::string_view::npos) {
        return out;
    }
    auto rest = url.substr(scheme + 3);
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
        const auto userinfo = rest.substr(0, at);
        if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
            out.password = std::string{userinfo.substr(colon + 1)};
        }
        rest = rest.substr(at + 1);
    }
    out.host_port = std::string{rest};
    return out;
}

bool is_generated(const std::string& value, const std::vector<addon>& addons)
{
    return std::any_of(addons.begin(), addons.end(), [&](const addon& a) { return !a.url.empty() && value == a.url; });
}

app require_app(platform& p, std::string_view name)
{
    auto a = p.find_app(name);
    if (!a) {
        throw platform_error{"no app " + std::string{name} + " in " + p.region()};
    }
    return *std::move(a);
}

std::string join(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& i : items) {
        out += (out.empty() ? "" : ", ") + i;
    }
    return out;
}

std::vector<sub_step_plan> preflight(const flow_platforms& p, const migration& m)
{
    return {
        {"Check destination region",
         [p, m](step_context&) {
             if (auto taken = p.destination.find_app(m.destination_app); taken && taken->migration != m.id) {
                 throw platform_error{"the name " + m.destination_app + " is taken in " + m.destination_region +
                                      ": choose another with --new-name"};
             }
         }},
        {"Check deployment",
         [p, m](step_context&) {
             const auto a = require_app(p.source, m.source_app);
             if (!a.last_deployment) {
                 throw platform_error{m.source_app + " has never been deployed: there is nothing to migrate"};
             }
             if (a.last_deployment->status != "success") {
                 throw platform_error{"the last deployment of " + m.source_app + " (" + a.last_deployment->id +
                                      ") is " + a.last_deployment->status + ": deploy successfully first"};
             }
         }},
        {"Check certificate validity",
         [p, m](step_context&) {
             const auto a = require_app(p.source, m.source_app);
             const auto needed = p.now() + std::chrono::days{30} + p.window;
             std::vector<std::string> short_lived;
             for (const auto& d : a.domains) {
                 if (!d.certificate_not_after) {
                     continue;
                 }
                 const auto until = config::parse_rfc3339(*d.certificate_not_after);
                 if (!until || *until < needed) {
                     short_lived.push_back(d.name + " (until " + *d.certificate_not_after + ")");
                 }
             }
             if (!short_lived.empty()) {
                 throw platform_error{"certificates that expire before the migration and its 30 days of redirect "
                                      "end: " +
                                      join(short_lived) + "; renew them first"};
             }
         }},
        {"Check environment",
         [p, m](step_context&) {
             const auto a = require_app(p.source, m.source_app);
             std::vector<std::string> flagged;
             for (const auto& [name, value] : a.env) {
                 if (!is_generated(value, a.addons) && embeds_addon(value, a.addons)) {
                     flagged.push_back(name);
                 }
             }
             if (!flagged.empty()) {
                 throw platform_error{"these variables embed a database's address or password and would point the "
                                      "new app at the old database: " +
                                      join(flagged) + "; make them refer to the addon's own variable instead"};
             }
         }},
    };
}

std::vector<sub_step_plan> prepare(const flow_platforms& p, const migration& m)
{
    // Each sub-step reads the source again: it is frozen from the first one on, so every
    // read sees the same app, and a resumed step needs no state from an earlier process.
    auto put = [p, m](std::string name, std::function<void(const app&)> apply) {
        return sub_step_plan{std::move(name), [p, m, apply = std::move(apply)](step_context&) {
                                 apply(require_app(p.source, m.source_app));
                             }};
    };
    const std::string dst = m.destination_app;
    return {
        {"Mark your app as migrating",
         [p, m](step_context& ctx) {
             ctx.create_once(
                 "freeze", m.source_app,
                 [p, m]() -> std::optional<std::string> {
                     auto a = p.source.find_app(m.source_app);
                     return a && a->frozen ? std::optional<std::string>{a->id} : std::nullopt;
                 },
                 [p, m] {
                     p.source.set_frozen(m.source_app, true);
                     return require_app(p.source, m.source_app).id;
                 });
         }},
        {"Create the new app",
         [p, m](step_context& ctx) {
             const auto id = ctx.create_once(
                 "app", m.destination_app,
                 [p, m]() -> std::optional<std::string> {
                     auto a = p.destination.find_app(m.destination_app);
                     return a && a->migration == m.id ? std::optional<std::string>{a->id} : std::nullopt;
                 },
                 [p, m] { return p.destination.create_app(m.destination_app, m.id).id; });
             ctx.state().set_once_new_app_id(m.id, id);
         }},
        put("Import application settings", [p, dst](const app& a) { p.destination.put_settings(dst, a.settings); }),
        put("Import the last deployment",
            [p, dst](const app& a) {
                if (a.last_deployment) {
                    p.destination.put_deployment(dst, *a.last_deployment);
                }
            }),
        put("Import environment variables",
            [p, dst](const app& a) {
                std::map<std::string, std::string> env;
                for (const auto& [name, value] : a.env) {
                    if (!is_generated(value, a.addons)) {
                        env.emplace(name, value);   // the target's addons bring their own
                    }
                }
                p.destination.put_env(dst, env);
            }),
        put("Import SCM configuration",
            [p, dst](const app& a) {
                auto scm = a.scm;
                if (scm) {
                    scm->auto_deploy = false;   // switched back on at finalize
                }
                p.destination.put_scm(dst, scm);
            }),
        put("Import collaborators",
            [p, dst](const app& a) {
                std::vector<collaborator> accepted;
                std::copy_if(a.collaborators.begin(), a.collaborators.end(), std::back_inserter(accepted),
                             [](const collaborator& c) { return c.status == "accepted"; });
                p.destination.put_collaborators(dst, accepted);
            }),
        put("Import domains and TLS certificates", [p, dst](const app& a) { p.destination.put_domains(dst, a.domains); }),
        put("Import application formation",
            [p, dst](const app& a) {
                auto stopped = a.formation;
                for (auto& f : stopped) {
                    f.amount = 0;   // nothing runs in the destination before finalize
                }
                p.destination.put_formation(dst, stopped);
            }),
        put("Import notifiers",
            [p, dst](const app& a) {
                auto inactive = a.notifiers;
                for (auto& n : inactive) {
                    n.active = false;
                }
                p.destination.put_notifiers(dst, inactive);
            }),
        put("Import alerts", [p, dst](const app& a) { p.destination.put_alerts(dst, a.alerts); }),
        put("Import autoscalers",
            [p, dst](const app& a) {
                auto disabled = a.autoscalers;
                for (auto& s : disabled) {
                    s.disabled = true;
                }
                p.destination.put_autoscalers(dst, disabled);
            }),
        put("Import log drains", [p, dst](const app& a) { p.destination.put_log_drains(dst, a.log_drains); }),
    };
}

// Undo in reverse of what the ledger says was made; sub-steps with nothing to undo are
// left out (the Scalingo PR #501 lesson).
std::vector<sub_step_plan> abort(const flow_platforms& p, const migration& m, store& s)
{
    std::vector<sub_step_plan> undo;
    const auto made = [&](std::string_view kind, std::string_view key) {
        const auto e = s.ledger_get(m.id, kind, key);
        return e && e->state != ledger_state::deleted;
    };
    if (made("app", m.destination_app)) {
        undo.push_back({"Abort: delete the new app", [p, m](step_context& ctx) {
                            ctx.remove_recorded("app", m.destination_app,
                                                [p, m](const std::string&) { p.destination.delete_app(m.destination_app); });
                        }});
    }
    if (made("freeze", m.source_app)) {
        undo.push_back({"Restore app status", [p, m](step_context& ctx) {
                            ctx.remove_recorded("freeze", m.source_app,
                                                [p, m](const std::string&) { p.source.set_frozen(m.source_app, false); });
                        }});
    }
    return undo;
}

} // namespace

bool embeds_addon(const std::string& value, const std::vector<addon>& addons)
{
    for (const auto& a : addons) {
        if (a.url.empty()) {
            continue;
        }
        if (value.find(a.url) != std::string::npos) {
            return true;
        }
        const auto parts = split_url(a.url);
        if (!parts.host_port.empty() && value.find(parts.host_port) != std::string::npos) {
            return true;
        }
        // Short passwords would match by chance; real ones are long.
        if (parts.password.size() >= 8 && value.find(parts.password) != std::string::npos) {
            return true;
        }
    }
    return false;
}

step_plan make_plan(flow_platforms p, store& s)
{
    return [p, &s](step_kind kind, const migration& m) -> std::vector<sub_step_plan> {
        switch (kind) {
        case step_kind::preflight: return preflight(p, m);
        case step_kind::prepare: return prepare(p, m);
        case step_kind::abort: return abort(p, m, s);
        case step_kind::data:
        case step_kind::finalize:
        case step_kind::none: break;
        }
        // Never an empty plan: that would mark the step done having done nothing.
        return {{"Check the step exists", [kind](step_context&) {
                     throw platform_error{"the " + std::string{to_string(kind)} + " step is not built yet"};
                 }}};
    };
}

} // namespace stork::migrate
