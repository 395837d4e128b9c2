#pragma once

#include "config/dns_config.hpp"
#include "config/endpoint.hpp"
#include "config/parsed.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The control configuration of the stork CLI (design.md §5, docs/configuration.md):
// which regions exist, how to reach their platform and their storkd fronts. Plain
// immutable data, validated while it is read, like storkd_config. No yaml-cpp type
// crosses this header. Where the file is (--config, STORK_CONFIG, the default) is the
// CLI's business.

namespace stork::config {

// How stork talks to a region's platform. Only the embedded `local` driver exists now.
enum class region_driver { local };

// A storkd admin API of a region: the redirect rules towards a new region go there.
struct front_server {
    std::string admin_url;              // "http://127.0.0.1:9180", as written
    endpoint admin;                     // its host and port (80 when the URL has none)
    std::filesystem::path token_file;   // resolved against the configuration's folder
    std::string token;                  // read from token_file (when files are checked)

    friend bool operator==(const front_server&, const front_server&) = default;
};

// The addon plans and versions a region offers (checked by preflight).
struct addon_offer {
    std::string provider;               // "postgresql", "redis"
    std::vector<std::string> plans;     // empty: every plan of the provider
    std::vector<std::string> versions;  // empty: every version

    friend bool operator==(const addon_offer&, const addon_offer&) = default;
};

struct region_config {
    std::string name{};                 // "osc-fr1": lowercase letters, digits, '-'
    std::string domain{};               // an app's default host is <app>.<domain>
    region_driver driver = region_driver::local;
    std::optional<endpoint> ingress{};  // where the region's routers accept traffic
    std::vector<front_server> front_servers{};
    std::optional<std::string> postgresql_url{}; // databases.postgresql (local driver)
    std::optional<std::vector<addon_offer>> addons{}; // absent: everything is offered

    // Whether an addon of `provider` with `plan` and `version` can be provisioned here.
    // An empty `version` asks about the plan alone.
    bool offers(std::string_view provider, std::string_view plan, std::string_view version) const;

    friend bool operator==(const region_config&, const region_config&) = default;
};

struct control_config {
    std::filesystem::path source;       // the file it came from, absolute
    std::filesystem::path state;        // default /var/lib/stork/control.db
    std::map<std::string, region_config, std::less<>> regions; // by name
    dns_config dns;

    // The region called `name`, or nothing.
    const region_config* find_region(std::string_view name) const;

    friend bool operator==(const control_config&, const control_config&) = default;
};

struct control_load_options {
    // Read the front servers' token files (and refuse the configuration when one cannot
    // be read). Off for the fuzz target and for checks on another machine's file.
    bool check_files = true;
};

// Parses YAML text. `file_name` names the text in diagnostics, and relative paths in the
// configuration are resolved against its folder. Throws config_error with every problem.
control_config parse_control_config(std::string_view yaml, const std::filesystem::path& file_name,
                                    const control_load_options& options = {});

// Reads and parses a file; an unreadable file is a config_error too.
control_config load_control_config(const std::filesystem::path& file, const control_load_options& options = {});

// "osc-fr1": 1 to 63 lowercase letters, digits and '-', not starting or ending with '-'
// (a region name is also a DNS label in host names such as my-app.osc-fr1.scalingo.io).
parsed<std::string> parse_region_name(std::string_view text);

// "postgresql://user:password@host:port/database" or "postgres://...". The error never
// repeats the text: it may hold a password.
parsed<std::string> parse_postgresql_url(std::string_view text);

} // namespace stork::config
