#pragma once

#include "config/parsed.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The inventory of the `local` platform driver (`stork platform import FILE`, design.md
// §5, docs/configuration.md): the apps of local regions and the objects a migration
// copies (reference/migration-flow.md §2). Plain data, validated while it is read, like
// storkd_config; no yaml-cpp type crosses this header.

namespace stork::config {

struct app_deployment {
    std::string id;                     // "d-42"
    std::string status;                 // Scalingo's: success, building, crashed-error, ...
    std::string image;                  // "registry.local/my-app:3f2a9c"

    friend bool operator==(const app_deployment&, const app_deployment&) = default;
};

struct domain_certificate {
    std::string subject;                // optional, e.g. "CN=my-app.example.com"
    std::chrono::sys_seconds not_after{}; // RFC 3339 in the file

    friend bool operator==(const domain_certificate&, const domain_certificate&) = default;
};

// A custom domain: "my-app.example.com", or {name, certificate, canonical}.
struct app_domain {
    std::string name;
    std::optional<domain_certificate> certificate;
    bool canonical = false;

    friend bool operator==(const app_domain&, const app_domain&) = default;
};

struct container_formation {
    std::string name;                   // container type: "web", "worker"
    unsigned amount = 0;
    std::string size;                   // "S", "M", "2XL"

    friend bool operator==(const container_formation&, const container_formation&) = default;
};

struct app_collaborator {
    enum class state { accepted, pending };
    std::string email;
    state status = state::accepted;
    bool is_limited = false;

    friend bool operator==(const app_collaborator&, const app_collaborator&) = default;
};

struct app_addon {
    std::string provider;               // "postgresql", "redis"
    std::string plan;                   // "starter-512"
    std::string version;                // optional: "15"
    std::string url;                    // required for postgresql: where its data is

    friend bool operator==(const app_addon&, const app_addon&) = default;
};

struct app_settings {
    bool force_https = false;
    bool sticky_session = false;
    bool router_logs = false;

    friend bool operator==(const app_settings&, const app_settings&) = default;
};

struct scm_link {
    std::string type;                   // "github", "gitlab", ...
    std::string repo;                   // "owner/name"
    std::string branch;                 // optional
    bool auto_deploy = false;

    friend bool operator==(const scm_link&, const scm_link&) = default;
};

struct app_notifier {
    std::string name;
    std::string platform;               // "email", "slack", "webhook", ...
    bool active = true;
    std::vector<std::string> events;

    friend bool operator==(const app_notifier&, const app_notifier&) = default;
};

struct app_alert {
    std::string container_type;         // a formation entry's name
    std::string metric;                 // "cpu", "memory", "rpm", ...
    double limit = 0;
    bool send_when_below = false;
    std::vector<std::string> notifiers; // names of the app's notifiers

    friend bool operator==(const app_alert&, const app_alert&) = default;
};

struct app_autoscaler {
    std::string container_type;         // a formation entry's name
    unsigned min = 1;
    unsigned max = 1;
    std::string metric;
    double target = 0;
    bool disabled = false;

    friend bool operator==(const app_autoscaler&, const app_autoscaler&) = default;
};

struct log_drain {
    std::string url;                    // "syslog://logs.example.com:514"

    friend bool operator==(const log_drain&, const log_drain&) = default;
};

struct inventory_app {
    std::string name;                   // lowercase letters, digits, '-', 3 to 48
    std::string region;
    std::optional<app_deployment> deployment;
    std::vector<app_domain> domains;
    std::map<std::string, std::string> env;
    std::vector<container_formation> formation;
    std::vector<app_collaborator> collaborators;
    std::vector<app_addon> addons;
    app_settings settings;
    std::optional<scm_link> scm;
    std::vector<app_notifier> notifiers;
    std::vector<app_alert> alerts;
    std::vector<app_autoscaler> autoscalers;
    std::vector<log_drain> log_drains;

    friend bool operator==(const inventory_app&, const inventory_app&) = default;
};

struct inventory {
    std::filesystem::path source;       // the file it came from, absolute
    std::vector<inventory_app> apps;    // in file order

    friend bool operator==(const inventory&, const inventory&) = default;
};

struct inventory_options {
    // The regions an app may name (those of the control configuration); empty: any
    // well-formed region name.
    std::vector<std::string> known_regions;
};

// Parses YAML text; `file_name` names it in diagnostics. Throws config_error with every
// problem, each located.
inventory parse_inventory(std::string_view yaml, const std::filesystem::path& file_name,
                          const inventory_options& options = {});

// Reads and parses a file; an unreadable file is a config_error too.
inventory load_inventory(const std::filesystem::path& file, const inventory_options& options = {});

// App names as Scalingo has them: 3 to 48 lowercase letters, digits and '-', not
// starting or ending with '-', no "--" (reference/migration-flow.md §2).
parsed<std::string> parse_app_name(std::string_view text);

} // namespace stork::config
