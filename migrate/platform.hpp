#pragma once

#include <cstdint>
#include <stdexcept>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// What the migration flow asks of a region (issue 7, docs/migration-design.md): the
// platform port. The flow never talks to a region otherwise, so the same steps run on
// the embedded `local` driver (each region's inventory in the state database, real
// PostgreSQL for addons) and, later, on a real platform's API.
//
// The rules every driver keeps (migration-flow.md §5.7), which make the flow's
// write-ahead ledger enough for crash safety:
//   - every create can be found again by its natural key (find_* before create_*), and
//     what a migration creates carries its tag (`migration`), so a resumed step adopts
//     its own work and never someone else's;
//   - updates write final values (PUT/PATCH semantics), never relative ones;
//   - deletes of something already gone succeed;
//   - failures throw platform_error with a message for the sub-step's logs.
namespace stork::migrate {

struct platform_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct formation_type {
    std::string name{};       // "web", "worker"
    int amount = 0;
    std::string size{};       // "M"
    friend bool operator==(const formation_type&, const formation_type&) = default;
};

struct app_settings {
    bool force_https = false;
    bool sticky_session = false;
    bool router_logs = false;
    friend bool operator==(const app_settings&, const app_settings&) = default;
};

struct deployment {
    std::string id{};
    std::string status{};     // "success", "error", "building"
    std::string image{};
    friend bool operator==(const deployment&, const deployment&) = default;
};

struct scm_link {
    std::string type{};       // "github", "gitlab"
    std::string repo{};
    bool auto_deploy = false;
    friend bool operator==(const scm_link&, const scm_link&) = default;
};

struct collaborator {
    std::string email{};
    std::string status{};     // "accepted", "pending"
    friend bool operator==(const collaborator&, const collaborator&) = default;
};

struct domain {
    std::string name{};
    std::optional<std::string> certificate_not_after{};   // RFC 3339, custom certificates only
    friend bool operator==(const domain&, const domain&) = default;
};

struct notifier {
    std::string name{};
    std::string platform{};   // "email", "slack", "webhook"
    bool active = true;
    std::vector<std::string> events{};
    friend bool operator==(const notifier&, const notifier&) = default;
};

struct alert {
    std::string container_type{};
    std::string metric{};
    double limit = 0;
    bool send_when_below = false;
    std::vector<std::string> notifiers{};   // notifier names (ids are per region)
    friend bool operator==(const alert&, const alert&) = default;
};

struct autoscaler {
    std::string container_type{};
    int min = 1;
    int max = 1;
    std::string metric{};
    double target = 0;
    bool disabled = false;
    friend bool operator==(const autoscaler&, const autoscaler&) = default;
};

struct addon {
    std::string id{};
    std::string provider{};   // "postgresql", "redis"
    std::string plan{};
    std::string version{};
    std::string url{};        // connection URL (PostgreSQL: a real one on the local driver)
    friend bool operator==(const addon&, const addon&) = default;
};

// A complete backup of a database addon, as the restore in the other region needs it.
struct backup {
    std::string id{};
    std::string addon_id{};                 // the addon it was taken of
    std::string location{};                 // where the restore reads it (local: the dump file)
    std::string taken_at{};                 // RFC 3339
    // Row counts per table ("schema.table") at backup time, for the restore's check.
    std::map<std::string, std::int64_t> tables{};
    friend bool operator==(const backup&, const backup&) = default;
};

// Everything the flow copies of an app, as one value (what prepare reads of the source).
struct app {
    std::string id{};
    std::string name{};
    std::string region{};
    std::optional<std::string> migration{};   // the tag of the migration that created it
    bool frozen = false;                    // being migrated: the source refuses changes
    bool running = false;                   // any container up
    app_settings settings{};
    std::optional<deployment> last_deployment{};
    std::map<std::string, std::string> env{};
    std::optional<scm_link> scm{};
    std::vector<collaborator> collaborators{};
    std::vector<domain> domains{};
    std::vector<formation_type> formation{};
    std::vector<notifier> notifiers{};
    std::vector<alert> alerts{};
    std::vector<autoscaler> autoscalers{};
    std::vector<std::string> log_drains{};
    std::vector<addon> addons{};
    friend bool operator==(const app&, const app&) = default;
};

// One region as the flow sees it.
class platform {
public:
    virtual ~platform() = default;

    virtual std::string region() const = 0;

    // --- apps ---------------------------------------------------------------------------
    virtual std::optional<app> find_app(std::string_view name) = 0;
    // Creates an empty app named `name`, tagged with `migration`. A name taken by an app
    // without that tag is a platform_error ("the name is taken"); with it, the existing
    // app is returned (a resumed step).
    virtual app create_app(std::string_view name, std::string_view migration) = 0;
    virtual void delete_app(std::string_view name) = 0;
    virtual void set_frozen(std::string_view name, bool frozen) = 0;

    // --- what prepare copies (final values; each replaces what the target had) -------------
    virtual void put_settings(std::string_view app, const app_settings& s) = 0;
    virtual void put_deployment(std::string_view app, const deployment& d) = 0;
    virtual void put_env(std::string_view app, const std::map<std::string, std::string>& env) = 0;
    virtual void put_scm(std::string_view app, const std::optional<scm_link>& scm) = 0;
    virtual void put_collaborators(std::string_view app, const std::vector<collaborator>& c) = 0;
    virtual void put_domains(std::string_view app, const std::vector<domain>& d) = 0;
    virtual void put_formation(std::string_view app, const std::vector<formation_type>& f) = 0;
    virtual void put_notifiers(std::string_view app, const std::vector<notifier>& n) = 0;
    virtual void put_alerts(std::string_view app, const std::vector<alert>& a) = 0;
    virtual void put_autoscalers(std::string_view app, const std::vector<autoscaler>& a) = 0;
    virtual void put_log_drains(std::string_view app, const std::vector<std::string>& urls) = 0;

    // --- start / stop: scale every type to the given amounts (0: stopped) -------------------
    virtual void scale(std::string_view app, const std::vector<formation_type>& amounts) = 0;

    // --- addons -------------------------------------------------------------------------
    // Finds the addon the migration made for `source_addon_id` (its natural key).
    virtual std::optional<addon> find_addon(std::string_view app, std::string_view source_addon_id) = 0;
    // Provisions an addon like `like` (provider, plan, version) for `app`, recorded as
    // made for `source_addon_id`; one that exists already for that key is returned.
    virtual addon provision_addon(std::string_view app, const addon& like, std::string_view source_addon_id) = 0;
    virtual void delete_addon(std::string_view app, std::string_view addon_id) = 0;

    // --- backups (databases only) ----------------------------------------------------------
    // Whether addons of this provider hold data that backup/restore carry (PostgreSQL on
    // the local driver); the others are only provisioned.
    virtual bool has_backups(const addon& a) const = 0;
    // The backup of `addon_id` the migration took (its natural key: addon + migration).
    virtual std::optional<backup> find_backup(std::string_view app, std::string_view addon_id,
                                              std::string_view migration) = 0;
    // Takes a backup of the addon now and returns when it is complete (status done), or
    // throws. Tagged with `migration`.
    virtual backup create_backup(std::string_view app, std::string_view addon_id, std::string_view migration) = 0;
    // Restores `from` (a backup taken in another region) into this region's addon
    // `addon_id` of `app`: clean restore semantics (what the addon held is replaced, so a
    // second run gives the same result), then checks the restored data against what the
    // backup recorded (row counts per table). Throws platform_error naming what differs.
    virtual void restore_backup(std::string_view app, std::string_view addon_id, const backup& from) = 0;
};

} // namespace stork::migrate
