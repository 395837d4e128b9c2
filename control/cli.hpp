#pragma once

#include "config/duration.hpp"
#include "config/endpoint.hpp"
#include "routing/rule.hpp"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// The command line of `stork` (design.md §2 "stork CLI"), parsed without I/O: the parser
// reads neither the environment nor files, so STORK_ADMIN, STORK_TOKEN and STORK_CONFIG
// are resolved by the commands themselves and an absent option stays std::nullopt here.
namespace stork::control {

// Exit codes. `stork dns check` answers 0 ready / 1 not ready / 2 error, so every
// command keeps 1 free for "ran fine, the answer is no" and uses 2 for errors.
inline constexpr int exit_ok = 0;
inline constexpr int exit_not_ready = 1;
inline constexpr int exit_error = 2;

// Where the storkd admin API is (--admin URL --token-file F); nothing given: the
// environment (STORK_ADMIN, STORK_TOKEN) decides when the command runs.
struct admin_options {
    std::optional<std::string> url{};
    std::optional<std::string> token_file{};

    friend bool operator==(const admin_options&, const admin_options&) = default;
};

// Every command is a plain value with ==, so a test states the whole expected command.
// Every member has an initialiser, even `{}`, so that designated initialisers may leave
// it out without GCC 12's -Wmissing-field-initializers.

// ---- rules ---------------------------------------------------------------------------

struct rules_list_command {
    admin_options admin{};
    std::optional<std::string> app{};
    std::optional<std::string> migration{};
    std::optional<bool> expired{};  // --expired true|false; absent: both
    bool json = false;

    friend bool operator==(const rules_list_command&, const rules_list_command&) = default;
};

struct rules_get_command {
    admin_options admin{};
    std::string host{};
    bool json = false;

    friend bool operator==(const rules_get_command&, const rules_get_command&) = default;
};

// The rule modes of design.md §2: routing's own.
using routing::rule_mode;

// `rules add`: only what the operator typed; what is absent takes the server's default
// (mode proxy, upstream resolved from target, redirect code 308, expiry now + default_ttl).
struct rules_add_command {
    admin_options admin{};
    std::string host{};  // exact, or one leading "*." label
    std::string target{};
    std::optional<rule_mode> mode{};
    std::optional<config::endpoint> upstream{};
    bool upstream_tls = true;  // --no-upstream-tls
    bool preserve_host = true;  // --no-preserve-host
    bool proxy_protocol = false;  // --proxy-protocol; passthrough rules only
    std::optional<int> redirect_code{};
    std::optional<std::chrono::sys_seconds> expires_at{};  // --expires-at
    std::optional<config::duration> ttl{};  // --ttl; never together with expires_at
    std::optional<std::string> app{};
    std::optional<std::string> migration{};
    bool json = false;  // print the stored rule as the server's JSON

    friend bool operator==(const rules_add_command&, const rules_add_command&) = default;
};

struct rules_remove_command {
    admin_options admin{};
    std::string host{};

    friend bool operator==(const rules_remove_command&, const rules_remove_command&) = default;
};

// `rules purge --expired-for D`: removes the rules that expired at least D ago. Zero is
// allowed: it purges every rule that has expired.
struct rules_purge_command {
    admin_options admin{};
    config::duration expired_for{};
    bool json = false;

    friend bool operator==(const rules_purge_command&, const rules_purge_command&) = default;
};

using rules_command = std::variant<rules_list_command, rules_get_command, rules_add_command, rules_remove_command,
                                   rules_purge_command>;

// ---- dns -----------------------------------------------------------------------------

struct dns_check_command {
    std::string host{};
    std::string expect{};
    std::optional<std::string> old{};
    std::vector<config::endpoint> resolvers{};  // empty: the system's resolvers
    std::vector<config::endpoint> authoritative{};  // empty: the zone's NS records
    config::duration timeout = std::chrono::seconds{2};
    bool json = false;
    bool watch = false;
    config::duration interval = std::chrono::seconds{10};  // between checks with --watch
    // Where storkd is, to show the days left before the host's rule expires; only used
    // when given (--admin, or STORK_ADMIN in the environment).
    admin_options admin{};

    friend bool operator==(const dns_check_command&, const dns_check_command&) = default;
};

struct dns_report_command {
    admin_options admin{};
    bool json = false;  // print the admin API's JSON answer

    friend bool operator==(const dns_report_command&, const dns_report_command&) = default;
};

using dns_command = std::variant<dns_check_command, dns_report_command>;

// ---- platform ------------------------------------------------------------------------

struct platform_import_command {
    std::optional<std::string> config_file{};
    std::string file{};

    friend bool operator==(const platform_import_command&, const platform_import_command&) = default;
};

using platform_command = std::variant<platform_import_command>;

// ---- migrations (design.md §5) -------------------------------------------------------

// Every migration command is about one app in its current region.
struct migration_scope {
    std::optional<std::string> config_file{};
    std::string region{};
    std::string app{};

    friend bool operator==(const migration_scope&, const migration_scope&) = default;
};

struct migration_create_command {
    migration_scope scope{};
    std::string to{};
    std::optional<std::string> new_name{};
    bool yes = false;
    bool json = false;  // one JSON object on stdout (never a prompt)

    friend bool operator==(const migration_create_command&, const migration_create_command&) = default;
};

enum class migration_step { prepare, data, finalize };

struct migration_run_command {
    migration_scope scope{};
    migration_step step = migration_step::prepare;
    std::string id{};
    bool yes = false;
    bool json = false;  // one JSON object on stdout (never a prompt)

    friend bool operator==(const migration_run_command&, const migration_run_command&) = default;
};

struct migration_abort_command {
    migration_scope scope{};
    std::string id{};
    bool yes = false;
    bool json = false;  // one JSON object on stdout (never a prompt)

    friend bool operator==(const migration_abort_command&, const migration_abort_command&) = default;
};

struct migrations_list_command {
    migration_scope scope{};
    bool json = false;

    friend bool operator==(const migrations_list_command&, const migrations_list_command&) = default;
};

struct migration_follow_command {
    migration_scope scope{};
    std::string id{};
    bool json = false;

    friend bool operator==(const migration_follow_command&, const migration_follow_command&) = default;
};

using migration_command = std::variant<migration_create_command, migration_run_command, migration_abort_command,
                                       migrations_list_command, migration_follow_command>;

// One alternative per command family, so that each family has one entry point
// (control/dispatch.hpp) that its implementation replaces.
using command = std::variant<rules_command, dns_command, platform_command, migration_command>;

// ---- what the parser answers ---------------------------------------------------------

// --help, -h or `stork help ...`: print `text` on stdout, exit 0.
struct help_request {
    std::string text{};
};

// --version: print `text` ("stork 0.1.0 (3f2a9c0d1e2b)") on stdout, exit 0.
struct version_request {
    std::string text{};
};

// A command line that cannot run: print "stork: <message>" and `usage` on stderr, exit 2.
// `message` is one line that names the offending word; `usage` is the synopsis of the
// subcommand concerned (the overview when no subcommand was recognised).
struct usage_error {
    std::string message{};
    std::string usage{};
};

using parse_outcome = std::variant<command, help_request, version_request, usage_error>;

// `args` is argv without the program name.
parse_outcome parse_command_line(std::span<const std::string_view> args);

// The subcommand as the user types it: "rules add", "dns check", "migration-run".
std::string command_name(const command& cmd);

} // namespace stork::control
