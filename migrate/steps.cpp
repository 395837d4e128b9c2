#include "migrate/steps.hpp"

#include "config/timestamp.hpp"
#include "migrate/app_json.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>

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

// Scalingo's limits for a migrated app (migration-flow.md §5.4, preflight #7).
constexpr std::size_t max_domains = 20;
constexpr int max_containers_per_type = 10;

std::vector<sub_step_plan> preflight(const flow_platforms& p, const migration& m)
{
    std::vector<sub_step_plan> checks{
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
        {"Check addon versions",
         [p, m](step_context&) {
             const auto a = require_app(p.source, m.source_app);
             std::vector<std::string> missing;
             for (const auto& ad : a.addons) {
                 if (p.destination_region.offers(ad.provider, ad.plan, {}) &&
                     !p.destination_region.offers(ad.provider, ad.plan, ad.version)) {
                     missing.push_back(ad.provider + " " + ad.version);
                 }
             }
             if (!missing.empty()) {
                 throw platform_error{"addon versions not offered in " + m.destination_region + ": " + join(missing) +
                                      "; upgrade the addon before migrating"};
             }
         }},
        {"Check addons compatibility",
         [p, m](step_context&) {
             const auto a = require_app(p.source, m.source_app);
             std::vector<std::string> missing;
             for (const auto& ad : a.addons) {
                 if (!p.destination_region.offers(ad.provider, ad.plan, {})) {
                     missing.push_back(ad.provider + " (plan " + ad.plan + ")");
                 }
             }
             if (!missing.empty()) {
                 throw platform_error{"addons not offered in " + m.destination_region + ": " + join(missing)};
             }
         }},
        {"Check app state",
         [p, m](step_context&) {
             const auto a = require_app(p.source, m.source_app);
             std::vector<std::string> problems;
             if (a.domains.size() > max_domains) {
                 problems.push_back(std::to_string(a.domains.size()) + " custom domains (at most " +
                                    std::to_string(max_domains) + ")");
             }
             for (const auto& f : a.formation) {
                 if (f.amount > max_containers_per_type) {
                     problems.push_back(std::to_string(f.amount) + " " + f.name + " containers (at most " +
                                        std::to_string(max_containers_per_type) + " per type)");
                 }
             }
             if (p.fronts.size() == 0) {
                 problems.push_back("the region " + m.source_region +
                                    " has no front servers configured: nothing would carry the old hosts' traffic "
                                    "to the new region");
             }
             if (!problems.empty()) {
                 throw platform_error{join(problems)};
             }
         }},
    };
    for (auto& check : checks) {
        check.keep_going = true;   // every problem in one run, not one per run
    }
    return checks;
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

// --- data and finalize -------------------------------------------------------------------

// The source formation snapshot as recorded (app_json.hpp), or a platform_error that says
// whose record is damaged: the step's log names the old app, not a codec.
std::vector<formation_type> recorded_formation(const std::string& snapshot)
{
    try {
        return formation_from_json(snapshot);
    } catch (const app_json_error& e) {
        throw platform_error{std::string{"the recorded formation of the old app is malformed: "} + e.what()};
    }
}

std::vector<formation_type> stopped(std::vector<formation_type> formation)
{
    for (auto& f : formation) {
        f.amount = 0;
    }
    return formation;
}

// Runs `work` for every item on a thread of its own and waits for all; the failures are
// reported together, each named, once every item has finished (one failed restore does
// not interrupt the others: a retry redoes only what the ledger lacks).
template <class Item>
void for_each_concurrently(const std::vector<Item>& items, const std::function<std::string(const Item&)>& name,
                           const std::function<void(const Item&)>& work)
{
    std::mutex failures_mutex;
    std::vector<std::string> failures;
    {
        std::vector<std::jthread> threads;
        threads.reserve(items.size());
        for (const auto& item : items) {
            threads.emplace_back([&, item_ptr = &item] {
                try {
                    work(*item_ptr);
                } catch (const std::exception& e) {
                    const std::lock_guard lock{failures_mutex};
                    failures.push_back(name(*item_ptr) + ": " + e.what());
                }
            });
        }
    }
    if (!failures.empty()) {
        std::sort(failures.begin(), failures.end());
        std::string text;
        for (const auto& f : failures) {
            text += (text.empty() ? "" : "\n") + f;
        }
        throw platform_error{text};
    }
}

std::string addon_name(const addon& a)
{
    return a.provider + " (" + a.id + ")";
}

// The source stops once: its formation is recorded before (set-once, so a re-run after
// the stop never records the zeros), and whether it was running at all, so that abort
// starts only what the migration stopped.
sub_step_plan stop_old_app(const flow_platforms& p, const migration& m)
{
    return {"Stop your old app", [p, m](step_context& ctx) {
                const auto a = require_app(p.source, m.source_app);
                ctx.state().set_once_source_formation_snapshot(m.id, formation_to_json(a.formation));
                if (!ctx.state().set_once_source_stopped_by_migration(m.id, a.running)) {
                    return;   // it was not running when the migration came to stop it
                }
                ctx.create_once(
                    "stop", m.source_app,
                    [p, m]() -> std::optional<std::string> {
                        auto now = require_app(p.source, m.source_app);
                        return now.running ? std::nullopt : std::optional<std::string>{now.id};
                    },
                    [p, m, formation = a.formation] {
                        p.source.scale(m.source_app, stopped(formation));
                        return require_app(p.source, m.source_app).id;
                    });
            }};
}

std::vector<sub_step_plan> data(const flow_platforms& p, const migration& m)
{
    return {
        stop_old_app(p, m),
        {"Create addons on the '" + m.destination_region + "' region",
         [p, m](step_context& ctx) {
             // Provisioning in the destination and the backup in the source run together
             // (migration-flow.md §1.7: "when both are done, restore").
             const auto a = require_app(p.source, m.source_app);
             for_each_concurrently<addon>(a.addons, addon_name, [&](const addon& ad) {
                 ctx.create_once(
                     "addon", ad.id,
                     [&]() -> std::optional<std::string> {
                         auto found = p.destination.find_addon(m.destination_app, ad.id);
                         return found ? std::optional<std::string>{found->id} : std::nullopt;
                     },
                     [&] { return p.destination.provision_addon(m.destination_app, ad, ad.id).id; });
                 if (p.source.has_backups(ad)) {
                     ctx.create_once(
                         "backup", ad.id,
                         [&]() -> std::optional<std::string> {
                             auto found = p.source.find_backup(m.source_app, ad.id, m.id);
                             return found ? std::optional<std::string>{found->id} : std::nullopt;
                         },
                         [&] { return p.source.create_backup(m.source_app, ad.id, m.id).id; });
                 }
             });
         }},
        {"Import addons data",
         [p, m](step_context& ctx) {
             const auto a = require_app(p.source, m.source_app);
             std::vector<addon> databases;
             std::copy_if(a.addons.begin(), a.addons.end(), std::back_inserter(databases),
                          [&](const addon& ad) { return p.source.has_backups(ad); });
             for_each_concurrently<addon>(databases, addon_name, [&](const addon& ad) {
                 // Clean restore: a restore interrupted or failed is simply run again from
                 // the same backup, so the ledger row only spares a finished one.
                 ctx.create_once("restore", ad.id, {}, [&] {
                     const auto from = p.source.find_backup(m.source_app, ad.id, m.id);
                     if (!from) {
                         throw platform_error{"its backup is gone: run the data step again to take a new one"};
                     }
                     const auto to = p.destination.find_addon(m.destination_app, ad.id);
                     if (!to) {
                         throw platform_error{"its new addon is gone: run the data step again"};
                     }
                     p.destination.restore_backup(m.destination_app, to->id, *from);
                     return from->id;
                 });
             });
         }},
    };
}

constexpr auto redirect_lifetime = std::chrono::days{30};

std::string default_host(std::string_view app, const config::region_config& region)
{
    return std::string{app} + "." + region.domain;
}

std::vector<sub_step_plan> finalize(const flow_platforms& p, const migration& m, store& s)
{
    std::vector<sub_step_plan> out;
    // Only when the data step did not already stop it (or it was not running then).
    const auto stop = s.ledger_get(m.id, "stop", m.source_app);
    if (!(stop && stop->state == ledger_state::created) && m.source_stopped_by_migration != false) {
        out.push_back(stop_old_app(p, m));
    }
    out.push_back({"Start the new app", [p, m](step_context& ctx) {
                       const auto snapshot = ctx.current().source_formation_snapshot;
                       if (!snapshot) {
                           throw platform_error{"the old app's formation was never recorded"};
                       }
                       if (ctx.current().source_stopped_by_migration == false) {
                           return;   // the old app was not running: neither does the new one
                       }
                       const auto formation = recorded_formation(*snapshot);
                       ctx.create_once(
                           "start", m.destination_app,
                           [p, m]() -> std::optional<std::string> {
                               auto a = require_app(p.destination, m.destination_app);
                               return a.running ? std::optional<std::string>{a.id} : std::nullopt;
                           },
                           [p, m, formation] {
                               p.destination.scale(m.destination_app, formation);
                               return require_app(p.destination, m.destination_app).id;
                           });
                   }});
    out.push_back({"Enable integrations", [p, m](step_context& ctx) {
                       const auto a = require_app(p.source, m.source_app);
                       // A push must deploy the new app only (abort switches it back on). A
                       // resumed run may find the source's auto-deploy already off: the ledger
                       // row says this migration switched it, so it was on.
                       const bool begun = ctx.state().ledger_get(m.id, "source-auto-deploy", m.source_app).has_value();
                       auto scm = a.scm;
                       if (scm && begun) {
                           scm->auto_deploy = true;
                       }
                       p.destination.put_notifiers(m.destination_app, a.notifiers);
                       p.destination.put_autoscalers(m.destination_app, a.autoscalers);
                       p.destination.put_scm(m.destination_app, scm);
                       if (a.scm && (a.scm->auto_deploy || begun)) {
                           ctx.create_once(
                               "source-auto-deploy", m.source_app,
                               [p, m]() -> std::optional<std::string> {
                                   const auto now = require_app(p.source, m.source_app);
                                   return now.scm && !now.scm->auto_deploy ? std::optional{m.source_app} : std::nullopt;
                               },
                               [p, m, scm = *a.scm] {
                                   auto off = scm;
                                   off.auto_deploy = false;
                                   p.source.put_scm(m.source_app, off);
                                   return m.source_app;
                               });
                       }
                   }});
    out.push_back({"Redirect traffic", [p, m](step_context& ctx) {
                       const auto expires = ctx.state().set_once_redirect(
                           m.id, {.id = m.id,
                                  .expires_at = std::chrono::floor<std::chrono::seconds>(p.now()) + redirect_lifetime});
                       const auto target = default_host(m.destination_app, p.destination_region);
                       redirect_rule base{.target = target,
                                          .expires_at = std::chrono::floor<std::chrono::seconds>(expires.expires_at),
                                          .app = m.source_app,
                                          .migration = m.id};
                       // The old default host answers with a redirect: its URLs change anyway.
                       auto to_default = base;
                       to_default.host = default_host(m.source_app, p.source_region);
                       to_default.mode = "redirect";
                       std::vector<redirect_rule> rules{to_default};
                       // Custom domains are carried (proxied, Host kept): their URLs never change.
                       for (const auto& d : require_app(p.source, m.source_app).domains) {
                           auto proxied = base;
                           proxied.host = d.name;
                           proxied.mode = "proxy";
                           proxied.preserve_host = true;
                           if (p.destination_region.ingress) {
                               proxied.upstream = p.destination_region.ingress->to_string();
                           }
                           rules.push_back(proxied);
                       }
                       for (const auto& rule : rules) {
                           ctx.create_once("redirect", rule.host, {}, [p, rule] {
                               p.fronts.install(rule);
                               return rule.host;
                           });
                       }
                   }});
    return out;
}

// Undo in reverse, in the fixed order of migration-flow.md §5.5, only what the ledger says
// was made; sub-steps with nothing to undo are left out (the Scalingo PR #501 lesson).
// Never both apps running: the new one stops before the old one starts; the redirect goes
// only once the old app runs again; the unfreeze comes last.
std::vector<sub_step_plan> abort(const flow_platforms& p, const migration& m, store& s)
{
    std::vector<sub_step_plan> undo;
    const auto entries = s.ledger_list(m.id);
    const auto live = [&](std::string_view kind) {
        std::vector<std::string> keys;
        for (const auto& e : entries) {
            if (e.kind == kind && e.state != ledger_state::deleted) {
                keys.push_back(e.natural_key);
            }
        }
        return keys;
    };
    if (!live("start").empty()) {
        undo.push_back({"Abort: Stop the new app", [p, m](step_context& ctx) {
                            ctx.remove_recorded("start", m.destination_app, [p, m](const std::string&) {
                                if (auto a = p.destination.find_app(m.destination_app)) {
                                    p.destination.scale(m.destination_app, stopped(a->formation));
                                }
                            });
                        }});
    }
    if (!live("stop").empty()) {
        undo.push_back({"Abort: Start the old app", [p, m](step_context& ctx) {
                            const auto snapshot = ctx.current().source_formation_snapshot;
                            ctx.remove_recorded("stop", m.source_app, [&](const std::string&) {
                                if (!snapshot) {
                                    throw platform_error{"the old app's formation was never recorded"};
                                }
                                p.source.scale(m.source_app, recorded_formation(*snapshot));
                            });
                        }});
    }
    if (const auto hosts = live("redirect"); !hosts.empty()) {
        undo.push_back({"Abort: Remove traffic redirection", [p, m, hosts](step_context& ctx) {
                            for (const auto& host : hosts) {
                                ctx.remove_recorded("redirect", host,
                                                    [&](const std::string&) { p.fronts.remove(host, m.id); });
                            }
                        }});
    }
    if (!live("source-auto-deploy").empty()) {
        undo.push_back({"Abort: Enable auto-deploy of the old app", [p, m](step_context& ctx) {
                            ctx.remove_recorded("source-auto-deploy", m.source_app, [p, m](const std::string&) {
                                auto a = require_app(p.source, m.source_app);
                                if (a.scm) {
                                    a.scm->auto_deploy = true;
                                    p.source.put_scm(m.source_app, a.scm);
                                }
                            });
                        }});
    }
    if (const auto addons = live("addon"); !addons.empty()) {
        undo.push_back({"Abort: Delete addons", [p, m, addons](step_context& ctx) {
                            for (const auto& source_addon : addons) {
                                ctx.remove_recorded("addon", source_addon, [&](const std::string& id) {
                                    // No id: a crash around the provisioning; find it by its key.
                                    auto target = id;
                                    if (target.empty()) {
                                        const auto found = p.destination.find_addon(m.destination_app, source_addon);
                                        if (!found) {
                                            return;
                                        }
                                        target = found->id;
                                    }
                                    p.destination.delete_addon(m.destination_app, target);
                                });
                            }
                        }});
    }
    if (!live("app").empty()) {
        undo.push_back({"Abort: Delete new app", [p, m](step_context& ctx) {
                            ctx.remove_recorded("app", m.destination_app, [p, m](const std::string&) {
                                const auto a = p.destination.find_app(m.destination_app);
                                if (a && a->migration == m.id) {   // never someone else's app
                                    p.destination.delete_app(m.destination_app);
                                }
                            });
                        }});
    }
    if (!live("freeze").empty()) {
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
        case step_kind::data: return data(p, m);
        case step_kind::finalize: return finalize(p, m, s);
        case step_kind::none: break;
        }
        throw std::logic_error{"no plan for the step " + std::string{to_string(kind)}};
    };
}

} // namespace stork::migrate
