#pragma once

// Two regions and their front servers in memory, for the tests of the migration flow and
// of its commands: they keep the platform port's rules (find by name, tags, final values,
// deletes of what is gone succeed), so the steps behave as against a real driver.
#include "migrate/platform.hpp"
#include "migrate/redirects.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stork::migrate::test {

// A region in memory, keeping the platform port's rules (find by name, tags, final
// values, deletes of what is gone succeed).
class memory_platform final : public platform {
public:
    // `log`, when given, receives every change in order ("stop osc-fr1/my-app",
    // "provision ...", "restore ...") shared with the other region and the fronts.
    explicit memory_platform(std::string region, std::vector<std::string>* log = nullptr)
        : events{log}, region_{std::move(region)}
    {
    }

    std::map<std::string, app> apps;
    int creates = 0;

    std::string region() const override { return region_; }
    std::optional<app> find_app(std::string_view name) override
    {
        const auto it = apps.find(std::string{name});
        return it == apps.end() ? std::nullopt : std::optional<app>{it->second};
    }
    app create_app(std::string_view name, std::string_view migration) override
    {
        if (auto it = apps.find(std::string{name}); it != apps.end()) {
            if (it->second.migration != migration) {
                throw platform_error{"the name is taken"};
            }
            return it->second;
        }
        ++creates;
        app a;
        a.id = region_ + "-" + std::string{name};
        a.name = name;
        a.region = region_;
        a.migration = std::string{migration};
        return apps[a.name] = a;
    }
    void delete_app(std::string_view name) override { apps.erase(std::string{name}); }
    void set_frozen(std::string_view name, bool frozen) override { at(name).frozen = frozen; }
    void put_settings(std::string_view a, const app_settings& s) override { at(a).settings = s; }
    void put_deployment(std::string_view a, const deployment& d) override { at(a).last_deployment = d; }
    void put_env(std::string_view a, const std::map<std::string, std::string>& e) override { at(a).env = e; }
    void put_scm(std::string_view a, const std::optional<scm_link>& s) override { at(a).scm = s; }
    void put_collaborators(std::string_view a, const std::vector<collaborator>& c) override { at(a).collaborators = c; }
    void put_domains(std::string_view a, const std::vector<domain>& d) override { at(a).domains = d; }
    void put_formation(std::string_view a, const std::vector<formation_type>& f) override { at(a).formation = f; }
    void put_notifiers(std::string_view a, const std::vector<notifier>& n) override { at(a).notifiers = n; }
    void put_alerts(std::string_view a, const std::vector<alert>& x) override { at(a).alerts = x; }
    void put_autoscalers(std::string_view a, const std::vector<autoscaler>& x) override { at(a).autoscalers = x; }
    void put_log_drains(std::string_view a, const std::vector<std::string>& u) override { at(a).log_drains = u; }
    std::optional<addon> find_addon(std::string_view app_name, std::string_view source_addon_id) override
    {
        for (const auto& a : at(app_name).addons) {
            if (made_for[a.id] == source_addon_id) {
                return a;
            }
        }
        return std::nullopt;
    }
    addon provision_addon(std::string_view app_name, const addon& like, std::string_view source_addon_id) override
    {
        if (auto found = find_addon(app_name, source_addon_id)) {
            return *found;
        }
        if (fail_provisioning) {
            throw platform_error{"plan unavailable"};
        }
        ++addon_creates;
        addon a = like;
        a.id = region_ + "-addon-" + std::to_string(addon_creates);
        a.url = "memory://" + a.id;
        made_for[a.id] = std::string{source_addon_id};
        at(app_name).addons.push_back(a);
        record("provision " + a.id);
        return a;
    }
    void delete_addon(std::string_view app_name, std::string_view addon_id) override
    {
        auto& list = at(app_name).addons;
        std::erase_if(list, [&](const addon& a) { return a.id == addon_id; });
        data.erase(std::string{addon_id});
        record("delete addon " + std::string{addon_id});
    }
    bool has_backups(const addon& a) const override { return a.provider == "postgresql"; }
    std::optional<backup> find_backup(std::string_view, std::string_view addon_id, std::string_view migration) override
    {
        const auto it = backups.find(std::string{addon_id} + "/" + std::string{migration});
        return it == backups.end() ? std::nullopt : std::optional<backup>{it->second};
    }
    backup create_backup(std::string_view, std::string_view addon_id, std::string_view migration) override
    {
        ++backup_creates;
        backup b{.id = "bk-" + std::to_string(backup_creates),
                 .addon_id = std::string{addon_id},
                 .location = data[std::string{addon_id}]};   // the "dump": the data itself
        backups[std::string{addon_id} + "/" + std::string{migration}] = b;
        record("backup " + std::string{addon_id});
        return b;
    }
    void restore_backup(std::string_view, std::string_view addon_id, const backup& from) override
    {
        if (fail_restores > 0) {
            --fail_restores;
            throw platform_error{"pg_restore: could not connect"};
        }
        data[std::string{addon_id}] = from.location;
        record("restore " + std::string{addon_id});
    }
    void scale(std::string_view a, const std::vector<formation_type>& f) override
    {
        at(a).formation = f;
        at(a).running = std::any_of(f.begin(), f.end(), [](const formation_type& t) { return t.amount > 0; });
        record((at(a).running ? "start " : "stop ") + region_ + "/" + std::string{a});
    }

    std::map<std::string, std::string> made_for;   // addon id -> source addon id
    std::map<std::string, std::string> data;       // addon id -> its content
    std::map<std::string, backup> backups;         // "addon/migration"
    std::vector<std::string>* events = nullptr;    // shared by both regions, in order
    int addon_creates = 0;
    int backup_creates = 0;
    int fail_restores = 0;
    bool fail_provisioning = false;

private:
    void record(std::string what)
    {
        if (events) {
            events->push_back(std::move(what));
        }
    }
    app& at(std::string_view name)
    {
        const auto it = apps.find(std::string{name});
        if (it == apps.end()) {
            throw platform_error{"no app " + std::string{name}};
        }
        return it->second;
    }
    std::string region_;
};

// Front servers in memory: the rules by host.
class memory_fronts final : public front_servers {
public:
    explicit memory_fronts(std::vector<std::string>* log = nullptr) : events{log} {}

    std::map<std::string, redirect_rule> rules;
    std::size_t servers = 1;
    std::vector<std::string>* events = nullptr;

    std::size_t size() const override { return servers; }
    void install(const redirect_rule& r) override
    {
        rules[r.host] = r;
        if (events) {
            events->push_back("install " + r.host);
        }
    }
    void remove(std::string_view host, std::string_view migration) override
    {
        if (const auto it = rules.find(std::string{host}); it != rules.end() && it->second.migration == migration) {
            rules.erase(it);
            if (events) {
                events->push_back("remove " + std::string{host});
            }
        }
    }
};

} // namespace stork::migrate::test
