#include "control/cli.hpp"

#include "config/host_name.hpp"
#include "config/printable.hpp"
#include "config/timestamp.hpp"
#include "stork/version.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <utility>

namespace stork::control {

namespace {

// A word from the command line, quoted for a message: escaped so that the message stays
// one line and cannot drive the terminal.
std::string quoted(std::string_view word)
{
    return "'" + config::printable(word) + "'";
}

// ---- the grammar, as data ------------------------------------------------------------
//
// Each subcommand is one row: its words, its flags, its positional arguments, its texts
// and the function that turns what was given into a typed command. Help and usage are
// generated from the same rows, so they cannot drift from what the parser accepts.

struct flag_info {
    std::string_view name = {};   // "--timeout"
    std::string_view value = {};  // placeholder in help ("DURATION"); empty: a switch
    std::string_view help = {};
    bool required = false;
    bool repeatable = false;
    bool global = false;  // may also be written before the subcommand: `stork --region R ...`
};

// What the command line gave a subcommand, before validation. Views into the caller's args.
struct given_args {
    std::vector<std::pair<std::string_view, std::string_view>> flags;  // name, value ("" for a switch)
    std::vector<std::string_view> positionals;

    bool has(std::string_view name) const
    {
        return std::any_of(flags.begin(), flags.end(), [&](const auto& f) { return f.first == name; });
    }

    std::optional<std::string_view> value(std::string_view name) const
    {
        for (const auto& [n, v] : flags) {
            if (n == name) {
                return v;
            }
        }
        return std::nullopt;
    }

    std::optional<std::string> string_value(std::string_view name) const
    {
        if (const auto v = value(name)) {
            return std::string{*v};
        }
        return std::nullopt;
    }

    std::vector<std::string_view> values(std::string_view name) const
    {
        std::vector<std::string_view> out;
        for (const auto& [n, v] : flags) {
            if (n == name) {
                out.push_back(v);
            }
        }
        return out;
    }
};

using build_fn = config::parsed<command> (*)(const given_args&);

enum class family { rules, dns, platform, migration };

struct subcommand_info {
    family group;
    std::string_view name;      // "dns check": the words that select it
    std::string_view summary;   // one line in the overview
    std::string_view synopsis;  // after "usage: "; may span lines
    std::string_view description;
    std::span<const flag_info> flags;
    std::span<const std::string_view> positionals;  // all required, in order
    std::string_view example;
    build_fn build;
};

// ---- flags shared by several subcommands ---------------------------------------------

constexpr flag_info config_flag{
    .name = "--config", .value = "FILE",
    .help = "control configuration (default: STORK_CONFIG, else /etc/stork/control.yaml)", .global = true};
constexpr flag_info admin_flag{
    .name = "--admin", .value = "URL",
    .help = "storkd admin API, http://HOST:PORT (default: STORK_ADMIN, else http://127.0.0.1:9180)", .global = true};
constexpr flag_info token_file_flag{
    .name = "--token-file", .value = "F",
    .help = "file holding the admin API token (default: STORK_TOKEN)", .global = true};
constexpr flag_info region_flag{
    .name = "--region", .value = "R", .help = "the region the app is in now", .required = true, .global = true};
constexpr flag_info app_flag{.name = "--app", .value = "A", .help = "the app", .required = true, .global = true};
constexpr flag_info yes_flag{.name = "--yes", .help = "do not ask for confirmation (for scripts)"};

// Before the subcommand only these are accepted (plus --help, -h and --version); after
// it, each subcommand's own table says which of them it takes.
constexpr std::array global_flags{config_flag, region_flag, app_flag, admin_flag, token_file_flag};

// ---- values --------------------------------------------------------------------------

config::parsed<std::string> parse_host(std::string_view what, std::string_view text, bool allow_wildcard)
{
    std::string_view name = text;
    // A fully qualified "example.com." names the same host (design.md §2 compares host
    // names without the trailing dot), and people copy names from zone files.
    if (name.size() > 1 && name.back() == '.') {
        name.remove_suffix(1);
    }
    std::string_view checked = name;
    if (allow_wildcard && checked.starts_with("*.")) {
        checked.remove_prefix(2);
    }
    if (const auto problem = config::host_name_problem(checked)) {
        if (checked.size() != name.size()) {
            return config::invalid{std::string{what} + ": " + quoted(text) +
                                   " is not a wildcard host (after the leading '*.', " + *problem + ")"};
        }
        return config::invalid{std::string{what} + ": " + quoted(text) + " is not a host name (" + *problem +
                               ")"};
    }
    return std::string{name};
}

// An app's default host is <app>.<region domain> (design.md §5), so its name is one DNS
// label (RFC 1123 §2.1); the last-label rule of host_name_problem does not apply to it.
std::optional<std::string> app_name_problem(std::string_view name)
{
    if (name.empty()) {
        return "empty";
    }
    if (name.size() > 63) {
        return "longer than 63 characters";
    }
    for (const char c : name) {
        const bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ldh) {
            return "only letters, digits and '-' are allowed";
        }
    }
    if (name.front() == '-' || name.back() == '-') {
        return "it may not start or end with '-'";
    }
    return std::nullopt;
}

config::parsed<std::string> parse_app_name(std::string_view what, std::string_view text)
{
    if (const auto problem = app_name_problem(text)) {
        return config::invalid{std::string{what} + ": " + quoted(text) +
                               " is not an app name (it becomes the first label of <app>.<region domain>: " +
                               *problem + ")"};
    }
    return std::string{text};
}

config::parsed<config::duration> parse_positive_duration(std::string_view what, std::string_view text)
{
    auto d = config::parse_duration(text);
    if (!d) {
        return config::invalid{std::string{what} + ": " + d.error()};
    }
    if (d->count() <= 0) {
        return config::invalid{std::string{what} + ": " + quoted(text) + " must be longer than zero"};
    }
    return *d;
}

config::parsed<std::vector<config::endpoint>> parse_dns_servers(std::string_view what,
                                                                 const std::vector<std::string_view>& texts)
{
    std::vector<config::endpoint> out;
    for (const std::string_view text : texts) {
        auto ep = config::parse_endpoint(
            text, config::endpoint_rules{.require_ip = true, .allow_port_zero = false, .default_port = 53});
        if (!ep) {
            return config::invalid{std::string{what} + ": " + ep.error()};
        }
        out.push_back(*ep);
    }
    return out;
}

// The helpers above return parsed<T>; these lines turn a failure into the builder's own
// failure, so each builder reads as a list of fields.
#define STORK_TAKE(target, expr)                         \
    do {                                                 \
        auto stork_take_ = (expr);                       \
        if (!stork_take_) {                              \
            return config::invalid{stork_take_.error()}; \
        }                                                \
        (target) = *std::move(stork_take_);              \
    } while (false)

admin_options admin_from(const given_args& g)
{
    return admin_options{.url = g.string_value("--admin"), .token_file = g.string_value("--token-file")};
}

// ---- builders: given_args -> typed command -------------------------------------------

config::parsed<command> build_rules_list(const given_args& g)
{
    rules_list_command c;
    c.admin = admin_from(g);
    c.app = g.string_value("--app");
    c.migration = g.string_value("--migration");
    if (const auto expired = g.value("--expired")) {
        if (*expired == "true") {
            c.expired = true;
        } else if (*expired == "false") {
            c.expired = false;
        } else {
            return config::invalid{"--expired: '" + std::string{*expired} + "' is neither true nor false"};
        }
    }
    c.json = g.has("--json");
    return command{rules_command{std::move(c)}};
}

config::parsed<command> build_rules_get(const given_args& g)
{
    rules_get_command c;
    c.admin = admin_from(g);
    STORK_TAKE(c.host, parse_host("HOST", g.positionals[0], true));
    c.json = g.has("--json");
    return command{rules_command{std::move(c)}};
}

config::parsed<command> build_rules_add(const given_args& g)
{
    rules_add_command c;
    c.admin = admin_from(g);
    STORK_TAKE(c.host, parse_host("HOST", g.positionals[0], true));
    STORK_TAKE(c.target, parse_host("--target", *g.value("--target"), false));
    if (const auto mode = g.value("--mode")) {
        if (*mode == "proxy") {
            c.mode = rule_mode::proxy;
        } else if (*mode == "redirect") {
            c.mode = rule_mode::redirect;
        } else if (*mode == "passthrough") {
            c.mode = rule_mode::passthrough;
        } else {
            return config::invalid{"--mode: '" + std::string{*mode} + "' is not proxy, redirect or passthrough"};
        }
    }
    if (const auto upstream = g.value("--upstream")) {
        auto ep = config::parse_endpoint(*upstream, config::endpoint_rules{});
        if (!ep) {
            return config::invalid{"--upstream: " + ep.error()};
        }
        c.upstream = *ep;
    }
    c.upstream_tls = !g.has("--no-upstream-tls");
    c.preserve_host = !g.has("--no-preserve-host");
    // Like --redirect-code: the server would refuse it on another mode, say so here first.
    if (g.has("--proxy-protocol")) {
        if (c.mode != rule_mode::passthrough) {
            return config::invalid{"--proxy-protocol needs --mode passthrough"};
        }
        c.proxy_protocol = true;
    }
    if (const auto code = g.value("--redirect-code")) {
        constexpr std::array<std::pair<std::string_view, int>, 4> codes{
            {{"301", 301}, {"302", 302}, {"307", 307}, {"308", 308}}};
        const auto it = std::find_if(codes.begin(), codes.end(), [&](const auto& p) { return p.first == *code; });
        if (it == codes.end()) {
            return config::invalid{"--redirect-code: '" + std::string{*code} + "' is not 301, 302, 307 or 308"};
        }
        // A redirect code on a proxy rule would be stored and never used: say so now.
        if (c.mode != rule_mode::redirect) {
            return config::invalid{"--redirect-code " + std::string{*code} + " needs --mode redirect"};
        }
        c.redirect_code = it->second;
    }
    if (g.has("--expires-at") && g.has("--ttl")) {
        return config::invalid{"--expires-at and --ttl both set the expiry: give one of them"};
    }
    if (const auto at = g.value("--expires-at")) {
        auto t = config::parse_rfc3339(*at);
        if (!t) {
            return config::invalid{"--expires-at: " + t.error()};
        }
        c.expires_at = *t;
    }
    if (const auto ttl = g.value("--ttl")) {
        STORK_TAKE(c.ttl, parse_positive_duration("--ttl", *ttl));
    }
    c.app = g.string_value("--app");
    c.migration = g.string_value("--migration");
    c.json = g.has("--json");
    return command{rules_command{std::move(c)}};
}

config::parsed<command> build_rules_remove(const given_args& g)
{
    rules_remove_command c;
    c.admin = admin_from(g);
    STORK_TAKE(c.host, parse_host("HOST", g.positionals[0], true));
    return command{rules_command{std::move(c)}};
}

config::parsed<command> build_rules_purge(const given_args& g)
{
    rules_purge_command c;
    c.admin = admin_from(g);
    // Zero is meaningful here ("every expired rule"), so a plain duration, not a positive one.
    auto d = config::parse_duration(*g.value("--expired-for"));
    if (!d) {
        return config::invalid{"--expired-for: " + d.error()};
    }
    c.expired_for = *d;
    c.json = g.has("--json");
    return command{rules_command{std::move(c)}};
}

config::parsed<command> build_dns_check(const given_args& g)
{
    dns_check_command c;
    STORK_TAKE(c.host, parse_host("HOST", g.positionals[0], false));
    STORK_TAKE(c.expect, parse_host("--expect", *g.value("--expect"), false));
    if (const auto old = g.value("--old")) {
        STORK_TAKE(c.old, parse_host("--old", *old, false));
    }
    STORK_TAKE(c.resolvers, parse_dns_servers("--resolver", g.values("--resolver")));
    STORK_TAKE(c.authoritative, parse_dns_servers("--authoritative", g.values("--authoritative")));
    if (const auto timeout = g.value("--timeout")) {
        STORK_TAKE(c.timeout, parse_positive_duration("--timeout", *timeout));
    }
    c.json = g.has("--json");
    c.watch = g.has("--watch");
    if (const auto interval = g.value("--interval")) {
        if (!c.watch) {
            return config::invalid{"--interval " + std::string{*interval} + " needs --watch"};
        }
        STORK_TAKE(c.interval, parse_positive_duration("--interval", *interval));
    }
    c.admin = admin_from(g);
    return command{dns_command{std::move(c)}};
}

config::parsed<command> build_dns_report(const given_args& g)
{
    return command{dns_command{dns_report_command{.admin = admin_from(g), .json = g.has("--json")}}};
}

config::parsed<command> build_platform_import(const given_args& g)
{
    platform_import_command c;
    c.config_file = g.string_value("--config");
    c.file = std::string{g.positionals[0]};
    return command{platform_command{std::move(c)}};
}

config::parsed<migration_scope> scope_from(const given_args& g)
{
    migration_scope s;
    s.config_file = g.string_value("--config");
    s.region = std::string{*g.value("--region")};
    STORK_TAKE(s.app, parse_app_name("--app", *g.value("--app")));
    return s;
}

config::parsed<command> build_migration_create(const given_args& g)
{
    migration_create_command c;
    STORK_TAKE(c.scope, scope_from(g));
    c.to = std::string{*g.value("--to")};
    if (const auto new_name = g.value("--new-name")) {
        STORK_TAKE(c.new_name, parse_app_name("--new-name", *new_name));
    }
    // Scalingo allowed a migration within one region only to rename the app (CLI #506);
    // without a new name it would copy the app onto itself.
    if (c.to == c.scope.region && c.new_name.value_or(c.scope.app) == c.scope.app) {
        return config::invalid{"--to " + c.to + " is the app's own region: a migration within one region needs a " +
                               "--new-name other than " + c.scope.app};
    }
    c.yes = g.has("--yes");
    c.json = g.has("--json");
    return command{migration_command{std::move(c)}};
}

config::parsed<command> build_migration_run(const given_args& g)
{
    constexpr std::array<std::pair<std::string_view, migration_step>, 3> steps{
        {{"--prepare", migration_step::prepare}, {"--data", migration_step::data},
         {"--finalize", migration_step::finalize}}};
    migration_run_command c;
    STORK_TAKE(c.scope, scope_from(g));
    std::vector<std::string_view> chosen;
    for (const auto& [flag, step] : steps) {
        if (g.has(flag)) {
            chosen.push_back(flag);
            c.step = step;
        }
    }
    if (chosen.empty()) {
        return config::invalid{"'migration-run' needs one step: --prepare, --data or --finalize"};
    }
    if (chosen.size() > 1) {
        return config::invalid{"'migration-run' runs one step at a time, got " + std::string{chosen[0]} + " and " +
                               std::string{chosen[1]}};
    }
    c.id = std::string{g.positionals[0]};
    c.yes = g.has("--yes");
    c.json = g.has("--json");
    return command{migration_command{std::move(c)}};
}

config::parsed<command> build_migration_abort(const given_args& g)
{
    migration_abort_command c;
    STORK_TAKE(c.scope, scope_from(g));
    c.id = std::string{g.positionals[0]};
    c.yes = g.has("--yes");
    c.json = g.has("--json");
    return command{migration_command{std::move(c)}};
}

config::parsed<command> build_migrations_list(const given_args& g)
{
    migrations_list_command c;
    STORK_TAKE(c.scope, scope_from(g));
    c.json = g.has("--json");
    return command{migration_command{std::move(c)}};
}

config::parsed<command> build_migration_follow(const given_args& g)
{
    migration_follow_command c;
    STORK_TAKE(c.scope, scope_from(g));
    c.id = std::string{g.positionals[0]};
    c.json = g.has("--json");
    return command{migration_command{std::move(c)}};
}

#undef STORK_TAKE

// ---- the table -----------------------------------------------------------------------

constexpr std::string_view host_arg[] = {"HOST"};
constexpr std::string_view file_arg[] = {"FILE"};
constexpr std::string_view id_arg[] = {"ID"};

constexpr flag_info rules_list_flags[] = {
    {.name = "--app", .value = "A", .help = "only the rules labelled with this app"},
    {.name = "--migration", .value = "M", .help = "only the rules of this migration"},
    {.name = "--expired", .value = "true|false", .help = "only expired (true) or unexpired (false) rules"},
    {.name = "--json", .help = "print the admin API's JSON answer"},
    admin_flag,
    token_file_flag,
};

constexpr flag_info admin_only_flags[] = {admin_flag, token_file_flag};

constexpr flag_info json_flag{.name = "--json", .help = "print the admin API's JSON answer"};

constexpr flag_info rules_get_flags[] = {json_flag, admin_flag, token_file_flag};

constexpr flag_info rules_purge_flags[] = {
    {.name = "--expired-for", .value = "DURATION",
     .help = "remove the rules expired for at least this long, e.g. 7d (0s: every expired rule)",
     .required = true},
    json_flag,
    admin_flag,
    token_file_flag,
};

constexpr flag_info rules_add_flags[] = {
    {.name = "--target", .value = "T", .help = "the app's host name in the new region", .required = true},
    {.name = "--mode", .value = "proxy|redirect|passthrough",
     .help = "forward (default), answer a redirect to T, or splice TLS to T:443"},
    {.name = "--upstream", .value = "HOST:PORT", .help = "connect there instead of resolving T"},
    {.name = "--no-upstream-tls", .help = "speak plain HTTP to the upstream"},
    {.name = "--no-preserve-host", .help = "send T as Host and SNI upstream instead of HOST"},
    {.name = "--proxy-protocol", .help = "with --mode passthrough: a PROXY v2 header with the client's address first"},
    {.name = "--redirect-code", .value = "301|302|307|308", .help = "with --mode redirect (default 308)"},
    {.name = "--expires-at", .value = "RFC3339", .help = "when the rule expires, e.g. 2026-12-20T10:00:00Z"},
    {.name = "--ttl", .value = "DURATION", .help = "the rule expires this long from now, e.g. 30d"},
    {.name = "--app", .value = "A", .help = "label: the app the rule belongs to"},
    {.name = "--migration", .value = "M", .help = "label: the migration that installed the rule"},
    {.name = "--json", .help = "print the stored rule as the admin API's JSON"},
    admin_flag,
    token_file_flag,
};

constexpr flag_info dns_check_flags[] = {
    {.name = "--expect", .value = "TARGET", .help = "the app's host name in the new region", .required = true},
    {.name = "--old", .value = "OLD", .help = "the app's host name in the old region (tells pending from wrong)"},
    {.name = "--resolver", .value = "IP[:PORT]",
     .help = "a resolver to ask, port 53 by default (repeatable; default: the system's)", .repeatable = true},
    {.name = "--authoritative", .value = "IP[:PORT]",
     .help = "an authoritative server to ask (repeatable; default: the zone's NS)", .repeatable = true},
    {.name = "--timeout", .value = "DURATION", .help = "per DNS query (default 2s)"},
    {.name = "--json", .help = "print one JSON object instead of text"},
    {.name = "--watch", .help = "check again until ready"},
    {.name = "--interval", .value = "DURATION", .help = "with --watch: time between checks (default 10s)"},
    admin_flag,
    token_file_flag,
};

constexpr flag_info dns_report_flags[] = {json_flag, admin_flag, token_file_flag};

constexpr flag_info platform_import_flags[] = {config_flag};

constexpr flag_info migration_json_flag{.name = "--json", .help = "print one JSON object (the migration) instead of text"};

constexpr flag_info migration_create_flags[] = {
    {.name = "--to", .value = "R2", .help = "the destination region", .required = true},
    {.name = "--new-name", .value = "N", .help = "the app's name in the destination region (default: the same)"},
    yes_flag,
    migration_json_flag,
    config_flag,
    region_flag,
    app_flag,
};

constexpr flag_info migration_run_flags[] = {
    {.name = "--prepare", .help = "create an empty canvas in the new region (the old app is frozen)"},
    {.name = "--data", .help = "stop the old app, create the addons in the new region, import their data"},
    {.name = "--finalize", .help = "stop the old app, start the new one, install the redirect rules (30 days)"},
    yes_flag,
    migration_json_flag,
    config_flag,
    region_flag,
    app_flag,
};

constexpr flag_info migration_abort_flags[] = {yes_flag, migration_json_flag, config_flag, region_flag, app_flag};
constexpr flag_info migration_scope_flags[] = {migration_json_flag, config_flag, region_flag, app_flag};

constexpr subcommand_info subcommands[] = {
    {
        .group = family::rules,
        .name = "rules list",
        .summary = "list the redirect rules of a storkd",
        .synopsis = "stork rules list [--app A] [--migration M] [--expired true|false] [--json]\n"
                    "                  [--admin URL] [--token-file F]",
        .description = "Lists the redirect rules held by a storkd, optionally only those of one app or one\n"
                       "migration, or only the expired or unexpired ones.",
        .flags = rules_list_flags,
        .positionals = {},
        .example = "stork rules list --app my-app --expired false",
        .build = build_rules_list,
    },
    {
        .group = family::rules,
        .name = "rules get",
        .summary = "show the rule of one host",
        .synopsis = "stork rules get HOST [--json] [--admin URL] [--token-file F]",
        .description = "Shows the rule of HOST (an exact host or *.example.com), one field per line, or as\n"
                       "JSON with --json. Exit status: 0 shown, 1 no rule for HOST, 2 error.",
        .flags = rules_get_flags,
        .positionals = host_arg,
        .example = "stork rules get my-app.example.com",
        .build = build_rules_get,
    },
    {
        .group = family::rules,
        .name = "rules add",
        .summary = "add a rule, or replace the rule of the same host",
        .synopsis = "stork rules add HOST --target T [--mode proxy|redirect|passthrough]\n"
                    "                [--upstream HOST:PORT] [--no-upstream-tls] [--no-preserve-host]\n"
                    "                [--proxy-protocol]\n"
                    "                [--redirect-code 301|302|307|308] [--expires-at RFC3339 | --ttl DURATION]\n"
                    "                [--app A] [--migration M] [--json] [--admin URL] [--token-file F]",
        .description = "Installs a rule on a storkd: requests for HOST (or, with *.example.com, for any one\n"
                       "label below example.com) go to the app T in the new region. The rule expires at\n"
                       "--expires-at, after --ttl, or else after the daemon's rules.default_ttl (30d).",
        .flags = rules_add_flags,
        .positionals = host_arg,
        .example = "stork rules add my-app.example.com --target my-app.osc-secnum-fr1.scalingo.io --ttl 30d",
        .build = build_rules_add,
    },
    {
        .group = family::rules,
        .name = "rules remove",
        .summary = "remove the rule of one host",
        .synopsis = "stork rules remove HOST [--admin URL] [--token-file F]",
        .description = "Removes the rule of HOST: its traffic goes to the region's own router again.\n"
                       "Exit status: 0 removed, 1 no rule for HOST, 2 error.",
        .flags = admin_only_flags,
        .positionals = host_arg,
        .example = "stork rules remove my-app.example.com",
        .build = build_rules_remove,
    },
    {
        .group = family::rules,
        .name = "rules purge",
        .summary = "remove the rules that expired long enough ago",
        .synopsis = "stork rules purge --expired-for DURATION [--json] [--admin URL] [--token-file F]",
        .description = "Removes the rules that expired at least DURATION ago and lists their hosts. An\n"
                       "expired rule still answers its host with a page saying where the app went; purge it\n"
                       "once that page is no longer useful.",
        .flags = rules_purge_flags,
        .positionals = {},
        .example = "stork rules purge --expired-for 7d",
        .build = build_rules_purge,
    },
    {
        .group = family::dns,
        .name = "dns check",
        .summary = "is the DNS of a host ready for the new region?",
        .synopsis = "stork dns check HOST --expect TARGET [--old OLD] [--resolver IP[:PORT]]...\n"
                    "                [--authoritative IP[:PORT]]... [--timeout DURATION] [--json]\n"
                    "                [--watch [--interval DURATION]] [--admin URL [--token-file F]]",
        .description = "Follows the CNAME chain of HOST, asks its authoritative servers and the resolvers, and\n"
                       "says whether HOST reaches TARGET everywhere and, if not, what to change and when.\n"
                       "With --admin (or STORK_ADMIN), also the days left before HOST's redirect rule expires.\n"
                       "Exit status: 0 ready, 1 not ready, 2 error.",
        .flags = dns_check_flags,
        .positionals = host_arg,
        .example = "stork dns check my-app.example.com --expect my-app.osc-secnum-fr1.scalingo.io",
        .build = build_dns_check,
    },
    {
        .group = family::dns,
        .name = "dns report",
        .summary = "readiness of every rule's host, soonest expiry first",
        .synopsis = "stork dns report [--json] [--admin URL] [--token-file F]",
        .description = "Checks the DNS of the host of every rule of a storkd and lists them, the rules that\n"
                       "expire soonest first, with the first thing to do for each. Wildcard rules are listed\n"
                       "but not checked. Exit status: 0 every checked host ready, 1 not ready, 2 error.",
        .flags = dns_report_flags,
        .positionals = {},
        .example = "stork dns report --admin http://127.0.0.1:9180 --token-file /etc/stork/admin.token",
        .build = build_dns_report,
    },
    {
        .group = family::platform,
        .name = "platform import",
        .summary = "load a local region inventory (apps, domains, addons)",
        .synopsis = "stork [--config FILE] platform import FILE",
        .description = "Loads the apps of an inventory file into the state of the embedded 'local' platform\n"
                       "driver, for regions whose driver is local.",
        .flags = platform_import_flags,
        .positionals = file_arg,
        .example = "stork --config /etc/stork/control.yaml platform import inventory.yaml",
        .build = build_platform_import,
    },
    {
        .group = family::migration,
        .name = "migration-create",
        .summary = "start migrating an app to another region",
        .synopsis = "stork [--config FILE] --region R --app A migration-create --to R2 [--new-name N] [--yes] [--json]",
        .description = "Creates a migration of app A from region R to region R2 and runs its preflight\n"
                       "checks. It prints the migration ID that the other migration commands take.",
        .flags = migration_create_flags,
        .positionals = {},
        .example = "stork --region osc-fr1 --app my-app migration-create --to osc-secnum-fr1",
        .build = build_migration_create,
    },
    {
        .group = family::migration,
        .name = "migration-run",
        .summary = "run one step of a migration: --prepare, --data or --finalize",
        .synopsis = "stork [--config FILE] --region R --app A migration-run --prepare|--data|--finalize ID [--yes] [--json]",
        .description = "Runs one step of migration ID. Steps are prepare, then data (optional: the data may be\n"
                       "moved by hand), then finalize. A step that failed or was interrupted can be run again.",
        .flags = migration_run_flags,
        .positionals = id_arg,
        .example = "stork --region osc-fr1 --app my-app migration-run --prepare 8e624121-2ce3-4b01-9bf4-d5e2b32df7e9",
        .build = build_migration_run,
    },
    {
        .group = family::migration,
        .name = "migration-abort",
        .summary = "abort a migration, undoing its steps in reverse",
        .synopsis = "stork [--config FILE] --region R --app A migration-abort ID [--yes] [--json]",
        .description = "Aborts migration ID: what its steps did is undone in reverse order, and the old app\n"
                       "is started again if it was stopped.",
        .flags = migration_abort_flags,
        .positionals = id_arg,
        .example = "stork --region osc-fr1 --app my-app migration-abort 8e624121-2ce3-4b01-9bf4-d5e2b32df7e9",
        .build = build_migration_abort,
    },
    {
        .group = family::migration,
        .name = "migrations",
        .summary = "list the migrations of an app, newest first",
        .synopsis = "stork [--config FILE] --region R --app A migrations [--json]",
        .description = "Lists the migrations of app A: ID, destination, start, end and status.",
        .flags = migration_scope_flags,
        .positionals = {},
        .example = "stork --region osc-fr1 --app my-app migrations",
        .build = build_migrations_list,
    },
    {
        .group = family::migration,
        .name = "migration-follow",
        .summary = "follow a running migration",
        .synopsis = "stork [--config FILE] --region R --app A migration-follow ID [--json]",
        .description = "Shows the steps of migration ID as they run, until it ends or waits for you.",
        .flags = migration_scope_flags,
        .positionals = id_arg,
        .example = "stork --region osc-fr1 --app my-app migration-follow 8e624121-2ce3-4b01-9bf4-d5e2b32df7e9",
        .build = build_migration_follow,
    },
};

// The words before a second word: "rules" in "rules add". Migration commands are one word.
struct family_info {
    family group;
    std::string_view word;  // empty: the subcommands are top-level words
    std::string_view heading;
};

constexpr family_info families[] = {
    {family::rules, "rules", "Redirect rules on a storkd (--admin URL --token-file F, or STORK_ADMIN / STORK_TOKEN):"},
    {family::dns, "dns", "DNS readiness:"},
    {family::platform, "platform", "The local platform driver (--config FILE):"},
    {family::migration, "", "Region migrations (--region R --app A before or after the subcommand):"},
};

// ---- texts ---------------------------------------------------------------------------

std::string usage_of(const subcommand_info& sub)
{
    return "usage: " + std::string{sub.synopsis} + "\nRun 'stork " + std::string{sub.name} +
           " --help' for details.\n";
}

std::string flag_label(const flag_info& f)
{
    return f.value.empty() ? std::string{f.name} : std::string{f.name} + " " + std::string{f.value};
}

std::string help_of(const subcommand_info& sub)
{
    std::string text = "usage: " + std::string{sub.synopsis} + "\n\n" + std::string{sub.description} + "\n\nOptions:\n";
    std::size_t width = std::string_view{"-h, --help"}.size();
    for (const flag_info& f : sub.flags) {
        width = std::max(width, flag_label(f).size());
    }
    const auto line = [&](const std::string& label, std::string_view help_text) {
        text += "  " + label + std::string(width - label.size() + 2, ' ') + std::string{help_text} + "\n";
    };
    for (const flag_info& f : sub.flags) {
        line(flag_label(f), std::string{f.help} + (f.required ? " (required)" : ""));
    }
    line("-h, --help", "show this help");
    text += "\nExample:\n  " + std::string{sub.example} + "\n";
    return text;
}

// The subcommands of one family, one per line, name and summary in two columns.
std::string listing(family group)
{
    std::size_t width = 0;
    for (const subcommand_info& sub : subcommands) {
        width = std::max(width, sub.name.size());
    }
    std::string text;
    for (const subcommand_info& sub : subcommands) {
        if (sub.group == group) {
            text += "  " + std::string{sub.name} + std::string(width - sub.name.size() + 3, ' ') +
                    std::string{sub.summary} + "\n";
        }
    }
    return text;
}

const family_info& family_of(family group)
{
    for (const family_info& f : families) {
        if (f.group == group) {
            return f;
        }
    }
    std::abort();  // every family has a row
}

std::string overview_usage()
{
    // "rules list|get|add|remove, dns check|report, platform import," then the one-word
    // migration commands on a line of their own.
    std::string words;
    std::string one_word;
    for (const family_info& f : families) {
        std::string names;
        for (const subcommand_info& sub : subcommands) {
            if (sub.group != f.group) {
                continue;
            }
            if (f.word.empty()) {
                one_word += (one_word.empty() ? "" : ", ") + std::string{sub.name};
            } else {
                names += (names.empty() ? "" : "|") + std::string{sub.name.substr(f.word.size() + 1)};
            }
        }
        if (!names.empty()) {
            words += (words.empty() ? "" : ", ") + std::string{f.word} + " " + names;
        }
    }
    return "usage: stork [GLOBAL OPTIONS] SUBCOMMAND [ARGS]\nsubcommands: " + words + ",\n             " + one_word +
           "\nRun 'stork --help' for details.\n";
}

std::string overview_help()
{
    std::string text = "usage: stork [GLOBAL OPTIONS] SUBCOMMAND [ARGS]\n"
                       "\n"
                       "stork is the operator's tool for region migrations: it manages the redirect rules of\n"
                       "the storkd front servers, checks whether customers' DNS is ready, and runs the\n"
                       "migration flow create -> prepare -> data -> finalize (or abort).\n";
    for (const family_info& f : families) {
        text += "\n" + std::string{f.heading} + "\n" + listing(f.group);
    }
    std::size_t width = std::string_view{"--version"}.size();
    for (const flag_info& f : global_flags) {
        width = std::max(width, flag_label(f).size());
    }
    text += "\nGlobal options (before the subcommand):\n";
    const auto line = [&](const std::string& label, std::string_view help_text) {
        text += "  " + label + std::string(width - label.size() + 2, ' ') + std::string{help_text} + "\n";
    };
    for (const flag_info& f : global_flags) {
        line(flag_label(f), f.help);
    }
    line("-h, --help", "show this help");
    line("--version", "print the version");
    text += "\nRun 'stork SUBCOMMAND --help' (or 'stork help SUBCOMMAND') for the options of one subcommand.\n";
    return text;
}

std::string family_usage(const family_info& f)
{
    std::string text;
    for (const subcommand_info& sub : subcommands) {
        if (sub.group == f.group) {
            text += (text.empty() ? "usage: " : "       ") + std::string{sub.synopsis.substr(0, sub.synopsis.find('\n'))};
            text += sub.synopsis.find('\n') == std::string_view::npos ? "\n" : " ...\n";
        }
    }
    return text + "Run 'stork " + std::string{f.word} + " --help' for details.\n";
}

std::string family_help(const family_info& f)
{
    return "usage: stork " + std::string{f.word} + " SUBCOMMAND [ARGS]\n\n" + std::string{f.heading} + "\n" +
           listing(f.group) + "\nRun 'stork " + std::string{f.word} + " SUBCOMMAND --help' for its options.\n";
}

// ---- the walk over argv --------------------------------------------------------------

bool is_option(std::string_view arg)
{
    // "-" alone is an argument (by convention: standard input).
    return arg.size() > 1 && arg.front() == '-';
}

bool is_help(std::string_view arg)
{
    return arg == "--help" || arg == "-h";
}

const flag_info* find_flag(std::span<const flag_info> flags, std::string_view name)
{
    const auto it = std::find_if(flags.begin(), flags.end(), [&](const flag_info& f) { return f.name == name; });
    return it == flags.end() ? nullptr : &*it;
}

// Reads the option at args[i] (and its value, which may be args[i + 1]) into `given`.
// Returns why it cannot, or nothing; `context` ends messages about unknown options.
std::optional<std::string> take_option(std::span<const std::string_view> args, std::size_t& i,
                                       std::span<const flag_info> flags, std::string_view context,
                                       given_args& given)
{
    const std::string_view arg = args[i];
    const std::size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const flag_info* flag = find_flag(flags, name);
    if (flag == nullptr) {
        return "unknown option " + quoted(name) + std::string{context};
    }
    std::string_view value;
    if (flag->value.empty()) {
        if (eq != std::string_view::npos) {
            return "option " + quoted(name) + " takes no value, got " + quoted(arg);
        }
    } else if (eq != std::string_view::npos) {
        value = arg.substr(eq + 1);
        if (value.empty()) {
            return "option " + quoted(arg) + " has an empty value";
        }
    } else {
        // A value never starts with '-' in the two-word form: "--expect --json" is a
        // forgotten value, not a target named "--json". "--flag=-x" remains possible.
        if (i + 1 >= args.size() || is_option(args[i + 1])) {
            return "option " + quoted(name) + " needs a value (" + std::string{flag->value} + ")";
        }
        value = args[++i];
        if (value.empty()) {
            return "option " + quoted(name) + " has an empty value";
        }
    }
    if (!flag->repeatable && given.has(name)) {
        return "option " + quoted(name) + " is given twice";
    }
    given.flags.emplace_back(flag->name, value);
    return std::nullopt;
}

parse_outcome parse_subcommand(const subcommand_info& sub, const given_args& before,
                               std::span<const std::string_view> rest)
{
    const auto error = [&](std::string message) { return usage_error{std::move(message), usage_of(sub)}; };
    const std::string name = quoted(sub.name);

    given_args given;
    for (const auto& [flag_name, value] : before.flags) {
        const flag_info* flag = find_flag(sub.flags, flag_name);
        if (flag == nullptr || !flag->global) {
            return error("option " + quoted(flag_name) + " does not apply to " + name);
        }
        given.flags.emplace_back(flag_name, value);
    }
    const std::string context = " for " + name;
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (is_option(rest[i])) {
            if (auto problem = take_option(rest, i, sub.flags, context, given)) {
                return error(std::move(*problem));
            }
        } else {
            given.positionals.push_back(rest[i]);
        }
    }

    if (given.positionals.size() > sub.positionals.size()) {
        const std::string_view extra = given.positionals[sub.positionals.size()];
        if (sub.positionals.empty()) {
            return error("unexpected argument " + quoted(extra) + ": " + name + " takes none");
        }
        return error("unexpected argument " + quoted(extra) + " after " + std::string{sub.positionals.back()});
    }
    if (given.positionals.size() < sub.positionals.size()) {
        return error(name + " needs " + std::string{sub.positionals[given.positionals.size()]});
    }
    for (std::size_t i = 0; i < given.positionals.size(); ++i) {
        if (given.positionals[i].empty()) {
            return error(std::string{sub.positionals[i]} + " is empty");
        }
    }
    for (const flag_info& f : sub.flags) {
        if (f.required && !given.has(f.name)) {
            return error(name + " needs " + flag_label(f) + (f.global ? " (before or after the subcommand)" : ""));
        }
    }

    auto built = sub.build(given);
    if (!built) {
        return error(built.error());
    }
    return *std::move(built);
}

// `stork help WORDS...` and `stork WORDS... --help`: the help of what WORDS name.
parse_outcome help_for(std::span<const std::string_view> words)
{
    if (words.empty()) {
        return help_request{overview_help()};
    }
    for (const subcommand_info& sub : subcommands) {
        const family_info& f = family_of(sub.group);
        const bool match = f.word.empty() ? words.size() == 1 && words[0] == sub.name
                                          : words.size() == 2 && words[0] == f.word &&
                                                sub.name == std::string{f.word} + " " + std::string{words[1]};
        if (match) {
            return help_request{help_of(sub)};
        }
    }
    for (const family_info& f : families) {
        if (!f.word.empty() && words.size() == 1 && words[0] == f.word) {
            return help_request{family_help(f)};
        }
    }
    std::string joined;
    for (const std::string_view w : words) {
        joined += (joined.empty() ? "" : " ") + std::string{w};
    }
    return usage_error{"no help for unknown subcommand " + quoted(joined), overview_usage()};
}

std::string version_text()
{
    return std::string{"stork "} + stork::version + " (" + stork::commit + ")\n";
}

} // namespace

parse_outcome parse_command_line(std::span<const std::string_view> args)
{
    // --help anywhere wins over every other problem of the line: someone who asks for help
    // gets it. Values never start with '-' in the two-word form, so no "-h" is a value.
    const bool wants_help = std::any_of(args.begin(), args.end(), is_help);

    // Global options, up to the first word.
    given_args before;
    std::size_t i = 0;
    for (; i < args.size() && is_option(args[i]); ++i) {
        if (is_help(args[i])) {
            continue;
        }
        if (args[i] == "--version") {
            return version_request{version_text()};
        }
        if (auto problem = take_option(args, i, global_flags, " before the subcommand", before)) {
            if (wants_help) {
                return help_request{overview_help()};
            }
            return usage_error{std::move(*problem), overview_usage()};
        }
    }
    if (i == args.size()) {
        if (wants_help) {
            return help_request{overview_help()};
        }
        return usage_error{"missing subcommand", overview_usage()};
    }

    const std::string_view word = args[i];
    if (word == "help") {
        return help_for(args.subspan(i + 1));
    }
    for (const family_info& f : families) {
        if (f.word.empty() || word != f.word) {
            continue;
        }
        if (i + 1 == args.size() || is_option(args[i + 1])) {
            if (wants_help) {
                return help_request{family_help(f)};
            }
            std::string choices;
            for (const subcommand_info& sub : subcommands) {
                if (sub.group == f.group) {
                    choices += (choices.empty() ? "" : ", ") + std::string{sub.name.substr(f.word.size() + 1)};
                }
            }
            const std::string next = i + 1 == args.size() ? "" : " before " + quoted(args[i + 1]);
            return usage_error{quoted(f.word) + " needs a subcommand (" + choices + ")" + next, family_usage(f)};
        }
        const std::string full = std::string{f.word} + " " + std::string{args[i + 1]};
        for (const subcommand_info& sub : subcommands) {
            if (sub.name == full) {
                if (wants_help) {
                    return help_request{help_of(sub)};
                }
                return parse_subcommand(sub, before, args.subspan(i + 2));
            }
        }
        return usage_error{"unknown " + std::string{f.word} + " subcommand " + quoted(args[i + 1]), family_usage(f)};
    }
    for (const subcommand_info& sub : subcommands) {
        if (family_of(sub.group).word.empty() && sub.name == word) {
            if (wants_help) {
                return help_request{help_of(sub)};
            }
            return parse_subcommand(sub, before, args.subspan(i + 1));
        }
    }
    return usage_error{"unknown subcommand " + quoted(word), overview_usage()};
}

namespace {

struct name_of {
    std::string operator()(const rules_list_command&) const { return "rules list"; }
    std::string operator()(const rules_get_command&) const { return "rules get"; }
    std::string operator()(const rules_add_command&) const { return "rules add"; }
    std::string operator()(const rules_remove_command&) const { return "rules remove"; }
    std::string operator()(const rules_purge_command&) const { return "rules purge"; }
    std::string operator()(const dns_check_command&) const { return "dns check"; }
    std::string operator()(const dns_report_command&) const { return "dns report"; }
    std::string operator()(const platform_import_command&) const { return "platform import"; }
    std::string operator()(const migration_create_command&) const { return "migration-create"; }
    std::string operator()(const migration_run_command&) const { return "migration-run"; }
    std::string operator()(const migration_abort_command&) const { return "migration-abort"; }
    std::string operator()(const migrations_list_command&) const { return "migrations"; }
    std::string operator()(const migration_follow_command&) const { return "migration-follow"; }
};

} // namespace

std::string command_name(const command& cmd)
{
    return std::visit([](const auto& family_cmd) { return std::visit(name_of{}, family_cmd); }, cmd);
}

} // namespace stork::control
