// The embedded `local` platform driver (local_driver.hpp, docs/migration-design.md).
//
// Storage: tables of its own in the control state database, next to the store's, with a
// schema version of its own (local_schema_version; a newer one is refused):
//
//   local_apps     id PK, region, name, migration (NULL: not made by a migration), frozen,
//                  document; UNIQUE (region, name).
//                  `document` is JSON (migrate/app_json.hpp) of what the flow copies of an app,
//                  addons aside: settings, last_deployment, env, scm, collaborators,
//                  domains, formation, notifiers, alerts, autoscalers, log_drains. The
//                  put_* calls replace one member each, so a document keeps them whole.
//                  `running` is not stored: it is "some formation amount > 0", so scale
//                  and put_formation cannot leave it contradicting the formation.
//                  id, region, name, migration and frozen are columns: queries and the
//                  import's refusals look at them.
//   local_addons   id PK, app_id -> local_apps (ON DELETE CASCADE), provider, plan,
//                  version, url, source_addon_id, provisioned_database;
//                  UNIQUE (app_id, source_addon_id).
//                  source_addon_id is the natural key of an addon a migration provisioned
//                  (NULL for imported ones, which keep their id across re-imports by
//                  (app, provider)). `provisioned_database` names the PostgreSQL database this driver
//                  created for the addon on the region's server: only such a database is
//                  dropped with its addon. An imported addon's url points at the user's
//                  own database, which deleting the record must not destroy.
//   local_backups  id PK, addon_id, migration, location, taken_at, tables (JSON object
//                  "schema.table" -> rows); UNIQUE (addon_id, migration). No foreign key:
//                  a backup outlives its addon's record, and its file stays on disk.
//
// Every operation is one transaction (BEGIN IMMEDIATE). The long PostgreSQL work
// (CREATE/DROP DATABASE, pg_dump, pg_restore) runs between two transactions, never inside
// one: the store and the other region's platform write to the same file meanwhile. Each
// such operation re-reads what it needs after the work and is idempotent, so a crash in
// the middle is resumed by calling it again.
#include "migrate/local_driver.hpp"

#include "config/timestamp.hpp"
#include "migrate/app_json.hpp"
#include "migrate/pg_copy.hpp"
#include "migrate/sqlite.hpp"
#include "migrate/uuid.hpp"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <utility>

namespace stork::migrate {
namespace {

constexpr std::int64_t local_schema_version = 1;

// upgrades[n] takes the driver's tables from version n to n + 1. Append only.
constexpr std::string_view upgrades[] = {
    R"sql(
CREATE TABLE local_apps (
    id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    migration TEXT,
    frozen INTEGER NOT NULL DEFAULT 0,
    document TEXT NOT NULL,
    UNIQUE (region, name)
) STRICT;
CREATE TABLE local_addons (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES local_apps (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    plan TEXT NOT NULL,
    version TEXT NOT NULL,
    url TEXT NOT NULL,
    source_addon_id TEXT,
    provisioned_database TEXT,
    UNIQUE (app_id, source_addon_id)
) STRICT;
CREATE TABLE local_backups (
    id TEXT PRIMARY KEY,
    addon_id TEXT NOT NULL,
    migration TEXT NOT NULL,
    location TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    tables TEXT NOT NULL,
    UNIQUE (addon_id, migration)
) STRICT;
)sql",
};
static_assert(std::size(upgrades) == local_schema_version);

void upgrade_schema(database& db)
{
    for (;;) {
        transaction tx{db};
        db.exec("CREATE TABLE IF NOT EXISTS local_schema_version (version INTEGER NOT NULL) STRICT");
        statement read{db, "SELECT max(version) FROM local_schema_version"};
        const std::int64_t current = read.step() ? read.column_optional_int64(0).value_or(0) : 0;
        if (current > local_schema_version) {
            throw platform_error{"the local driver's tables are at schema version " + std::to_string(current)
                                 + ", newer than this program's " + std::to_string(local_schema_version)
                                 + ": use a newer stork"};
        }
        if (current == local_schema_version) {
            tx.commit();
            return;
        }
        db.exec(upgrades[current]);
        db.exec("DELETE FROM local_schema_version");
        statement write{db, "INSERT INTO local_schema_version (version) VALUES (?)"};
        write.bind(1, current + 1).run();
        tx.commit();
    }
}

bool any_running(const std::vector<formation_type>& formation)
{
    return std::any_of(formation.begin(), formation.end(), [](const formation_type& f) { return f.amount > 0; });
}

// --- rows ---------------------------------------------------------------------------------

const char* const app_columns = "id, name, region, migration, frozen, document";
const char* const addon_columns = "a.id, a.provider, a.plan, a.version, a.url, a.provisioned_database";

// An addon as stored: the platform's view plus the database this driver made for it.
struct stored_addon {
    addon value{};
    std::optional<std::string> database{};
};

stored_addon addon_from_row(const statement& st)
{
    return stored_addon{.value = addon{.id = st.column_text(0),
                                       .provider = st.column_text(1),
                                       .plan = st.column_text(2),
                                       .version = st.column_text(3),
                                       .url = st.column_text(4)},
                        .database = st.column_optional_text(5)};
}

std::vector<addon> addons_of(database& db, const std::string& app_id)
{
    statement st{db, std::string{"SELECT "} + addon_columns + " FROM local_addons a WHERE a.app_id = ? ORDER BY a.rowid"};
    st.bind(1, app_id);
    std::vector<addon> addons;
    while (st.step()) {
        addons.push_back(addon_from_row(st).value);
    }
    return addons;
}

// The app `name` of `region`, addons included; a malformed document is a platform_error.
std::optional<app> load_app(database& db, std::string_view region, std::string_view name)
{
    statement st{db, std::string{"SELECT "} + app_columns + " FROM local_apps WHERE region = ? AND name = ?"};
    st.bind(1, region).bind(2, name);
    if (!st.step()) {
        return std::nullopt;
    }
    app a;
    a.id = st.column_text(0);
    a.name = st.column_text(1);
    a.region = st.column_text(2);
    a.migration = st.column_optional_text(3);
    a.frozen = st.column_int64(4) != 0;
    try {
        app_document_from_json(st.column_text(5), a);
    } catch (const app_json_error& e) {
        throw platform_error{"the local inventory's record of app " + a.name + " in " + a.region + " (id " + a.id
                             + ") is malformed: " + e.what()};
    }
    a.running = any_running(a.formation);
    a.addons = addons_of(db, a.id);
    return a;
}

void save_document(database& db, const app& a)
{
    statement st{db, "UPDATE local_apps SET document = ? WHERE id = ?"};
    st.bind(1, app_document_to_json(a)).bind(2, a.id).run();
}

// --- the inventory file's apps -------------------------------------------------------------

app from_inventory(const config::inventory_app& in)
{
    app a;
    a.name = in.name;
    a.region = in.region;
    a.settings = app_settings{.force_https = in.settings.force_https,
                              .sticky_session = in.settings.sticky_session,
                              .router_logs = in.settings.router_logs};
    if (in.deployment) {
        a.last_deployment =
            deployment{.id = in.deployment->id, .status = in.deployment->status, .image = in.deployment->image};
    }
    a.env = in.env;
    if (in.scm) {
        // The branch has no place in the port: a migration turns auto-deploy off anyway.
        a.scm = scm_link{.type = in.scm->type, .repo = in.scm->repo, .auto_deploy = in.scm->auto_deploy};
    }
    for (const auto& c : in.collaborators) {
        a.collaborators.push_back(collaborator{
            .email = c.email, .status = c.status == config::app_collaborator::state::accepted ? "accepted" : "pending"});
    }
    for (const auto& d : in.domains) {
        domain out{.name = d.name, .certificate_not_after = std::nullopt};
        if (d.certificate) {
            out.certificate_not_after = config::format_rfc3339(d.certificate->not_after);
        }
        a.domains.push_back(std::move(out));
    }
    for (const auto& f : in.formation) {
        a.formation.push_back(formation_type{.name = f.name, .amount = static_cast<int>(f.amount), .size = f.size});
    }
    a.running = any_running(a.formation);
    for (const auto& n : in.notifiers) {
        a.notifiers.push_back(notifier{.name = n.name, .platform = n.platform, .active = n.active, .events = n.events});
    }
    for (const auto& al : in.alerts) {
        a.alerts.push_back(alert{.container_type = al.container_type,
                                 .metric = al.metric,
                                 .limit = al.limit,
                                 .send_when_below = al.send_when_below,
                                 .notifiers = al.notifiers});
    }
    for (const auto& s : in.autoscalers) {
        a.autoscalers.push_back(autoscaler{.container_type = s.container_type,
                                           .min = static_cast<int>(s.min),
                                           .max = static_cast<int>(s.max),
                                           .metric = s.metric,
                                           .target = s.target,
                                           .disabled = s.disabled});
    }
    for (const auto& drain : in.log_drains) {
        a.log_drains.push_back(drain.url);
    }
    return a;
}

// Replaces the imported addons of `app_id` by those of the file. An addon keeps its id
// when the file still has one of its provider, so a re-import does not orphan what a
// migration recorded against it (backups, the ledger).
void import_addons(database& db, const std::string& app_id, const std::vector<config::app_addon>& wanted)
{
    struct existing {
        std::string id;
        std::string provider;
        bool kept = false;
    };
    std::vector<existing> current;
    {
        statement st{db, "SELECT id, provider FROM local_addons WHERE app_id = ? AND source_addon_id IS NULL"
                         " ORDER BY rowid"};
        st.bind(1, app_id);
        while (st.step()) {
            current.push_back(existing{.id = st.column_text(0), .provider = st.column_text(1), .kept = false});
        }
    }
    for (const auto& w : wanted) {
        auto same = std::find_if(current.begin(), current.end(),
                                 [&](const existing& e) { return !e.kept && e.provider == w.provider; });
        if (same != current.end()) {
            same->kept = true;
            statement st{db, "UPDATE local_addons SET plan = ?, version = ?, url = ? WHERE id = ?"};
            st.bind(1, w.plan).bind(2, w.version).bind(3, w.url).bind(4, same->id).run();
        } else {
            statement st{db, "INSERT INTO local_addons (id, app_id, provider, plan, version, url)"
                             " VALUES (?, ?, ?, ?, ?, ?)"};
            st.bind(1, "ad-" + new_uuid_v4()).bind(2, app_id).bind(3, w.provider).bind(4, w.plan).bind(5, w.version);
            st.bind(6, w.url).run();
        }
    }
    for (const auto& e : current) {
        if (!e.kept) {
            statement st{db, "DELETE FROM local_addons WHERE id = ?"};
            st.bind(1, e.id).run();
        }
    }
}

// 64-bit FNV-1a: a stable, dependency-free digest for database names (not security).
std::uint64_t fnv1a(std::string_view text)
{
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char ch : text) {
        h ^= ch;
        h *= 1099511628211ull;
    }
    return h;
}

// --- the platform ---------------------------------------------------------------------------

class local_platform final : public platform {
public:
    local_platform(const std::filesystem::path& state_db, config::region_config region,
                   std::filesystem::path backup_folder)
        : db_{state_db}, region_{std::move(region)}, backup_folder_{std::move(backup_folder)}
    {
        upgrade_schema(db_);
    }

    std::string region() const override { return region_.name; }

    std::optional<app> find_app(std::string_view name) override
    {
        return in_transaction("find app " + std::string{name}, [&] { return load_app(db_, region_.name, name); });
    }

    app create_app(std::string_view name, std::string_view migration) override
    {
        if (const auto valid = config::parse_app_name(name); !valid) {
            throw platform_error{"cannot create app \"" + std::string{name} + "\" in " + region_.name + ": "
                                 + valid.error()};
        }
        return in_transaction("create app " + std::string{name}, [&] {
            if (auto existing = load_app(db_, region_.name, name)) {
                if (existing->migration == migration) {
                    return *existing;   // a resumed step adopts its own app
                }
                throw platform_error{"the name " + std::string{name} + " is taken in " + region_.name};
            }
            app a;
            a.id = "app-" + new_uuid_v4();
            a.name = name;
            a.region = region_.name;
            a.migration = std::string{migration};
            statement st{db_, "INSERT INTO local_apps (id, region, name, migration, frozen, document)"
                              " VALUES (?, ?, ?, ?, 0, ?)"};
            st.bind(1, a.id).bind(2, a.region).bind(3, a.name).bind(4, *a.migration);
            st.bind(5, app_document_to_json(a)).run();
            return a;
        });
    }

    void delete_app(std::string_view name) override
    {
        const std::string what = "delete app " + std::string{name};
        // The databases first, outside any transaction; the records last, so a crash in
        // between leaves records whose second delete drops IF EXISTS and goes on.
        const auto databases = in_transaction(what, [&] {
            std::vector<std::string> names;
            statement st{db_, "SELECT a.provisioned_database FROM local_addons a JOIN local_apps p ON p.id = a.app_id"
                              " WHERE p.region = ? AND p.name = ? AND a.provisioned_database IS NOT NULL"};
            st.bind(1, region_.name).bind(2, name);
            while (st.step()) {
                names.push_back(st.column_text(0));
            }
            return names;
        });
        for (const auto& db_name : databases) {
            drop(what, db_name);
        }
        in_transaction(what, [&] {
            statement st{db_, "DELETE FROM local_apps WHERE region = ? AND name = ?"};
            st.bind(1, region_.name).bind(2, name).run();   // addons: ON DELETE CASCADE
            return 0;
        });
    }

    void set_frozen(std::string_view name, bool frozen) override
    {
        in_transaction((frozen ? "freeze app " : "unfreeze app ") + std::string{name}, [&] {
            statement st{db_, "UPDATE local_apps SET frozen = ? WHERE region = ? AND name = ?"};
            st.bind(1, std::int64_t{frozen ? 1 : 0}).bind(2, region_.name).bind(3, name).run();
            if (db_.changes() == 0) {
                throw no_app(name);
            }
            return 0;
        });
    }

    void put_settings(std::string_view app, const app_settings& s) override
    {
        update(app, "settings", [&](migrate::app& a) { a.settings = s; });
    }
    void put_deployment(std::string_view app, const deployment& d) override
    {
        update(app, "deployment", [&](migrate::app& a) { a.last_deployment = d; });
    }
    void put_env(std::string_view app, const std::map<std::string, std::string>& env) override
    {
        update(app, "environment", [&](migrate::app& a) { a.env = env; });
    }
    void put_scm(std::string_view app, const std::optional<scm_link>& scm) override
    {
        update(app, "SCM link", [&](migrate::app& a) { a.scm = scm; });
    }
    void put_collaborators(std::string_view app, const std::vector<collaborator>& c) override
    {
        update(app, "collaborators", [&](migrate::app& a) { a.collaborators = c; });
    }
    void put_domains(std::string_view app, const std::vector<domain>& d) override
    {
        update(app, "domains", [&](migrate::app& a) { a.domains = d; });
    }
    void put_formation(std::string_view app, const std::vector<formation_type>& f) override
    {
        update(app, "formation", [&](migrate::app& a) { a.formation = f; });
    }
    void put_notifiers(std::string_view app, const std::vector<notifier>& n) override
    {
        update(app, "notifiers", [&](migrate::app& a) { a.notifiers = n; });
    }
    void put_alerts(std::string_view app, const std::vector<alert>& al) override
    {
        update(app, "alerts", [&](migrate::app& a) { a.alerts = al; });
    }
    void put_autoscalers(std::string_view app, const std::vector<autoscaler>& s) override
    {
        update(app, "autoscalers", [&](migrate::app& a) { a.autoscalers = s; });
    }
    void put_log_drains(std::string_view app, const std::vector<std::string>& urls) override
    {
        update(app, "log drains", [&](migrate::app& a) { a.log_drains = urls; });
    }

    // Final amounts for every type: a type the call does not name is scaled to 0 (the
    // port's "scale every type to the given amounts"), a type the app does not have is
    // refused, as a real platform refuses to scale a container type it does not run.
    void scale(std::string_view app, const std::vector<formation_type>& amounts) override
    {
        update(app, "formation (scale)", [&](migrate::app& a) {
            for (const auto& wanted : amounts) {
                if (wanted.amount < 0) {
                    throw platform_error{"cannot scale " + wanted.name + " of " + a.name + " to "
                                         + std::to_string(wanted.amount)};
                }
                const bool known = std::any_of(a.formation.begin(), a.formation.end(),
                                               [&](const formation_type& f) { return f.name == wanted.name; });
                if (!known) {
                    throw platform_error{"app " + a.name + " in " + region_.name + " has no container type "
                                         + wanted.name};
                }
            }
            for (auto& f : a.formation) {
                const auto it = std::find_if(amounts.begin(), amounts.end(),
                                             [&](const formation_type& w) { return w.name == f.name; });
                f.amount = it == amounts.end() ? 0 : it->amount;
            }
        });
    }

    std::optional<addon> find_addon(std::string_view app, std::string_view source_addon_id) override
    {
        return in_transaction("find the addon of " + std::string{app} + " made for " + std::string{source_addon_id},
                              [&] { return find_provisioned(app, source_addon_id); });
    }

    addon provision_addon(std::string_view app, const addon& like, std::string_view source_addon_id) override
    {
        const std::string what = "provision a " + like.provider + " addon for " + std::string{app};
        const auto app_id = in_transaction(what, [&]() -> std::optional<std::string> {
            if (find_provisioned(app, source_addon_id)) {
                return std::nullopt;
            }
            statement st{db_, "SELECT id FROM local_apps WHERE region = ? AND name = ?"};
            st.bind(1, region_.name).bind(2, app);
            if (!st.step()) {
                throw no_app(app);
            }
            return st.column_text(0);
        });
        if (!app_id) {
            return *find_addon(app, source_addon_id);
        }

        const std::string id = "ad-" + new_uuid_v4();
        std::string url;
        std::optional<std::string> db_name;
        if (like.provider == "postgresql") {
            db_name = local_database_name(region_.name, app, source_addon_id);
            url = guarded(what, [&] { return provision_database(server_url(what), *db_name); });
        } else {
            // No server behind other providers on the local driver: the URL only names
            // the record, so that what reads an addon's URL has something well-formed.
            url = like.provider + "://" + region_.name + ".local/" + id;
        }

        // Two concurrent calls for the same key both provisioned the same database
        // (provision_database adopts); the first insert wins and both return it.
        return in_transaction(what, [&] {
            statement st{db_, "INSERT INTO local_addons"
                              " (id, app_id, provider, plan, version, url, source_addon_id, provisioned_database)"
                              " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, source_addon_id) DO NOTHING"};
            st.bind(1, id).bind(2, *app_id).bind(3, like.provider).bind(4, like.plan).bind(5, like.version);
            st.bind(6, url).bind(7, source_addon_id).bind(8, db_name).run();
            auto made = find_provisioned(app, source_addon_id);
            if (!made) {
                throw no_app(app);   // deleted meanwhile
            }
            return *made;
        });
    }

    void delete_addon(std::string_view app, std::string_view addon_id) override
    {
        const std::string what = "delete addon " + std::string{addon_id} + " of " + std::string{app};
        const auto found = in_transaction(what, [&] { return find_stored_addon(app, addon_id); });
        if (!found) {
            return;   // gone already
        }
        if (found->database) {
            drop(what, *found->database);
        }
        in_transaction(what, [&] {
            statement st{db_, "DELETE FROM local_addons WHERE id = ?"};
            st.bind(1, addon_id).run();
            return 0;
        });
    }

    bool has_backups(const addon& a) const override { return a.provider == "postgresql"; }

    std::optional<backup> find_backup(std::string_view app, std::string_view addon_id,
                                      std::string_view migration) override
    {
        return in_transaction("find the backup of addon " + std::string{addon_id}, [&]() -> std::optional<backup> {
            statement st{db_, "SELECT b.id, b.addon_id, b.location, b.taken_at, b.tables FROM local_backups b"
                              " JOIN local_addons a ON a.id = b.addon_id JOIN local_apps p ON p.id = a.app_id"
                              " WHERE p.region = ? AND p.name = ? AND b.addon_id = ? AND b.migration = ?"};
            st.bind(1, region_.name).bind(2, app).bind(3, addon_id).bind(4, migration);
            if (!st.step()) {
                return std::nullopt;
            }
            backup b{.id = st.column_text(0),
                     .addon_id = st.column_text(1),
                     .location = st.column_text(2),
                     .taken_at = st.column_text(3),
                     .tables = {}};
            try {
                b.tables = table_counts_from_json(st.column_text(4));
            } catch (const app_json_error& e) {
                throw platform_error{"the local record of backup " + b.id + " is malformed: " + e.what()};
            }
            return b;
        });
    }

    backup create_backup(std::string_view app, std::string_view addon_id, std::string_view migration) override
    {
        const std::string what = "back up addon " + std::string{addon_id} + " of " + std::string{app};
        const auto source = database_addon(what, app, addon_id);

        backup b{.id = "bk-" + new_uuid_v4(),
                 .addon_id = std::string{addon_id},
                 .location = {},
                 .taken_at = config::format_rfc3339(
                     std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())),
                 .tables = {}};
        const auto file = backup_folder_ / (b.id + ".dump");
        b.location = file.string();
        // Written under another name and renamed when complete: a file called <id>.dump
        // is always a whole dump, even after a crash mid-way.
        auto partial = file;
        partial += ".partial";
        b.tables = guarded(what, [&] {
            std::filesystem::create_directories(backup_folder_);
            try {
                auto tables = dump_database(source.url, partial);
                std::filesystem::rename(partial, file);
                return tables;
            } catch (...) {
                std::error_code ignored;
                std::filesystem::remove(partial, ignored);
                throw;
            }
        });

        // A second backup for the same (addon, migration) replaces the first: the port's
        // find-before-create makes that rare, and the newer data is the one to restore.
        const auto replaced = in_transaction(what, [&] {
            std::optional<std::string> old;
            statement read{db_, "SELECT location FROM local_backups WHERE addon_id = ? AND migration = ?"};
            read.bind(1, addon_id).bind(2, migration);
            if (read.step()) {
                old = read.column_text(0);
            }
            statement st{db_, "INSERT INTO local_backups (id, addon_id, migration, location, taken_at, tables)"
                              " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (addon_id, migration) DO UPDATE SET"
                              " id = excluded.id, location = excluded.location, taken_at = excluded.taken_at,"
                              " tables = excluded.tables"};
            st.bind(1, b.id).bind(2, addon_id).bind(3, migration).bind(4, b.location).bind(5, b.taken_at);
            st.bind(6, table_counts_to_json(b.tables)).run();
            return old;
        });
        if (replaced) {
            std::error_code ignored;
            std::filesystem::remove(*replaced, ignored);
        }
        return b;
    }

    void restore_backup(std::string_view app, std::string_view addon_id, const backup& from) override
    {
        const std::string what = "restore backup " + from.id + " into addon " + std::string{addon_id} + " of "
                                 + std::string{app} + " in " + region_.name;
        const auto target = database_addon(what, app, addon_id);
        std::error_code ec;
        if (!std::filesystem::is_regular_file(from.location, ec)) {
            throw platform_error{what + ": the backup file " + from.location + " is missing"};
        }
        const auto restored = guarded(what, [&] {
            restore_database(from.location, target.url);
            return count_table_rows(target.url);
        });
        // A table the backup does not have stays (pg_restore --clean drops only what the
        // dump holds) and is named here: the restored addon would not be the source's.
        std::string differences;
        compare_table_rows(from.tables, restored, differences);
        if (!differences.empty()) {
            throw platform_error{what + ": the row counts differ from the backup's (backup, restored): "
                                 + differences};
        }
    }

private:
    platform_error no_app(std::string_view name) const
    {
        return platform_error{"no app " + std::string{name} + " in " + region_.name};
    }

    // Runs `f` (a PostgreSQL or file operation) and turns its failure into a
    // platform_error that says what was being done.
    template <class F>
    auto guarded(const std::string& what, F&& f) -> decltype(f())
    {
        try {
            return f();
        } catch (const platform_error&) {
            throw;
        } catch (const std::exception& e) {
            throw platform_error{what + " in " + region_.name + ": " + e.what()};
        }
    }

    // Runs `f` in one transaction on this object's connection, held for the duration.
    template <class F>
    auto in_transaction(const std::string& what, F&& f) -> decltype(f())
    {
        return guarded(what, [&]() -> decltype(f()) {
            const std::lock_guard lock{mutex_};
            transaction tx{db_};
            if constexpr (std::is_void_v<decltype(f())>) {
                f();
                tx.commit();
            } else {
                auto result = f();
                tx.commit();
                return result;
            }
        });
    }

    // Reads the app, lets `change` modify it, writes the document back: a PUT of one part.
    template <class F>
    void update(std::string_view name, std::string_view part, F&& change)
    {
        in_transaction("update the " + std::string{part} + " of " + std::string{name}, [&] {
            auto a = load_app(db_, region_.name, name);
            if (!a) {
                throw no_app(name);
            }
            change(*a);
            save_document(db_, *a);
        });
    }

    std::optional<stored_addon> find_stored_addon(std::string_view app, std::string_view addon_id)
    {
        statement st{db_, std::string{"SELECT "} + addon_columns
                              + " FROM local_addons a JOIN local_apps p ON p.id = a.app_id"
                                " WHERE p.region = ? AND p.name = ? AND a.id = ?"};
        st.bind(1, region_.name).bind(2, app).bind(3, addon_id);
        if (!st.step()) {
            return std::nullopt;
        }
        return addon_from_row(st);
    }

    std::optional<addon> find_provisioned(std::string_view app, std::string_view source_addon_id)
    {
        statement st{db_, std::string{"SELECT "} + addon_columns
                              + " FROM local_addons a JOIN local_apps p ON p.id = a.app_id"
                                " WHERE p.region = ? AND p.name = ? AND a.source_addon_id = ?"};
        st.bind(1, region_.name).bind(2, app).bind(3, source_addon_id);
        if (!st.step()) {
            return std::nullopt;
        }
        return addon_from_row(st).value;
    }

    // The addon `addon_id` of `app`, which must be one backups carry.
    addon database_addon(const std::string& what, std::string_view app, std::string_view addon_id)
    {
        const auto found = in_transaction(what, [&] { return find_stored_addon(app, addon_id); });
        if (!found) {
            throw platform_error{what + ": no addon " + std::string{addon_id} + " on app " + std::string{app} + " in "
                                 + region_.name};
        }
        if (!has_backups(found->value)) {
            throw platform_error{what + ": " + found->value.provider + " addons have no backups"};
        }
        return found->value;
    }

    const std::string& server_url(const std::string& what) const
    {
        if (!region_.postgresql_url) {
            throw platform_error{what + ": the region " + region_.name
                                 + " has no `databases.postgresql` server in the control configuration"};
        }
        return *region_.postgresql_url;
    }

    void drop(const std::string& what, const std::string& db_name)
    {
        guarded(what, [&] { drop_database(server_url(what), db_name); });
    }

    std::mutex mutex_;   // db_ is one connection; the data step calls from several threads
    database db_;
    const config::region_config region_;
    const std::filesystem::path backup_folder_;
};

} // namespace

std::string local_database_name(std::string_view region, std::string_view app, std::string_view source_addon_id)
{
    std::string key{region};
    key += '\0';
    key += app;
    key += '\0';
    key += source_addon_id;
    // Readable part first (truncated), then a digest of the whole key: two apps whose
    // names share the first 44 characters still get two databases.
    std::string readable;
    for (char ch : app) {
        readable += (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch
                    : (ch >= 'A' && ch <= 'Z')                           ? static_cast<char>(ch - 'A' + 'a')
                                                                         : '_';
    }
    readable.resize(std::min<std::size_t>(readable.size(), 44));
    static constexpr char hex[] = "0123456789abcdef";
    const std::uint64_t digest = fnv1a(key);
    std::string suffix;
    for (int shift = 60; shift >= 16; shift -= 4) {
        suffix += hex[(digest >> shift) & 0xf];
    }
    return "stork_" + readable + "_" + suffix;   // 6 + 44 + 1 + 12 = 63 at most
}

import_summary import_inventory(const std::filesystem::path& state_db, const config::inventory& inventory,
                                const config::control_config& regions)
{
    try {
        database db{state_db};
        upgrade_schema(db);
        transaction tx{db};

        std::vector<std::string> refused;
        for (const auto& in : inventory.apps) {
            if (!regions.find_region(in.region)) {
                refused.push_back(in.name + ": the region " + in.region + " is not in the control configuration");
                continue;
            }
            statement st{db, "SELECT frozen, migration FROM local_apps WHERE region = ? AND name = ?"};
            st.bind(1, in.region).bind(2, in.name);
            if (st.step()) {
                if (const auto migration = st.column_optional_text(1)) {
                    refused.push_back(in.name + " in " + in.region + " was created by migration " + *migration);
                } else if (st.column_int64(0) != 0) {
                    refused.push_back(in.name + " in " + in.region + " is frozen by a migration");
                }
            }
        }
        if (!refused.empty()) {
            std::string message = "import of " + inventory.source.string() + " refused, nothing changed: ";
            for (std::size_t i = 0; i < refused.size(); ++i) {
                message += (i ? "; " : "") + refused[i];
            }
            throw platform_error{message};
        }

        import_summary summary;
        for (const auto& in : inventory.apps) {
            app a = from_inventory(in);
            statement find{db, "SELECT id FROM local_apps WHERE region = ? AND name = ?"};
            find.bind(1, in.region).bind(2, in.name);
            if (find.step()) {
                a.id = find.column_text(0);
                save_document(db, a);
                ++summary.replaced;
            } else {
                a.id = "app-" + new_uuid_v4();
                statement st{db, "INSERT INTO local_apps (id, region, name, migration, frozen, document)"
                                 " VALUES (?, ?, ?, NULL, 0, ?)"};
                st.bind(1, a.id).bind(2, a.region).bind(3, a.name).bind(4, app_document_to_json(a)).run();
                ++summary.added;
            }
            import_addons(db, a.id, in.addons);
        }
        tx.commit();
        return summary;
    } catch (const platform_error&) {
        throw;
    } catch (const std::exception& e) {
        throw platform_error{"import of " + inventory.source.string() + " into " + state_db.string() + ": " + e.what()};
    }
}

std::unique_ptr<platform> open_local_platform(const std::filesystem::path& state_db,
                                              const config::region_config& region,
                                              const std::filesystem::path& backup_folder)
{
    try {
        return std::make_unique<local_platform>(state_db, region, backup_folder);
    } catch (const platform_error&) {
        throw;
    } catch (const std::exception& e) {
        throw platform_error{"cannot open the local platform of " + region.name + " in " + state_db.string() + ": "
                             + e.what()};
    }
}

std::filesystem::path default_backup_folder(const std::filesystem::path& state_db)
{
    auto folder = state_db;
    folder += ".backups";
    return folder;
}

} // namespace stork::migrate
