#pragma once

#include "config/control_config.hpp"
#include "control/admin_access.hpp"
#include "control/cli.hpp"
#include "control/dns_changes.hpp"
#include "migrate/local_driver.hpp"
#include "migrate/platform.hpp"
#include "migrate/redirects.hpp"

#include <chrono>
#include <functional>
#include <istream>
#include <memory>
#include <ostream>

// The migration commands of `stork` (design.md §2, §5; docs/cli.md has their output and
// exit codes): migration-create (and its preflight), migration-run, migration-abort,
// migrations, migration-follow, and `platform import`. The texts follow Scalingo's CLI
// (reference/migration-flow.md §1.8) with `stork` for `scalingo`, without the quirks of
// §1.9.
//
// Everything outside the process is injected through migration_io, so the tests drive the
// commands with in-memory regions, a string for stdin and a clock; control/dispatch.cpp
// wires the real ones (the local driver, the storkd front fleet, the DNS advisor).
//
// Exit codes: 0 done, or the migration waits for the next command as expected;
// 1 refused, failed or declined (the migration is in a state the text explains);
// 2 usage or configuration error (unknown region, unknown migration ID, unreadable
// control.yaml or inventory).
namespace stork::control {

// The two regions of a migration, opened: what the engine's steps act on. Shared
// pointers because the tests keep their in-memory regions across commands.
struct opened_regions {
    std::shared_ptr<migrate::platform> source{};
    std::shared_ptr<migrate::platform> destination{};
    std::shared_ptr<migrate::front_servers> fronts{};   // the source region's storkd fleet
};

// Opens the platforms and front servers for (source region, destination region).
// Production: open_local_platform for both, open_front_fleet for the source's fronts.
// Throws migrate::platform_error (exit 1) when a region cannot be opened.
using regions_opener = std::function<opened_regions(const config::control_config& config,
                                                    const config::region_config& source,
                                                    const config::region_config& destination)>;

// Prints what the owner must change in DNS after finalize. Production: advise_dns_changes
// then print_dns_changes (it asks DNS servers, so the tests replace it).
using dns_printer = std::function<void(std::ostream& out, const dns_changes_request& request)>;

// `platform import`: loads an inventory into the state database. Production:
// migrate::import_inventory (the local driver); throws migrate::platform_error (exit 1).
using inventory_importer = std::function<migrate::import_summary(
    const std::filesystem::path& state_db, const config::inventory& inventory, const config::control_config& regions)>;

struct migration_io {
    std::ostream& out;
    std::ostream& err;
    std::istream& in;                       // the confirmation answers
    bool interactive = false;               // stdin is a terminal: ask before running a step
    bool colour = false;                    // stdout is a terminal and NO_COLOR is unset
    // stdout is a terminal: the sub-step running now is shown ("<name>...") and replaced
    // by its ✔ / ✘ line when it ends, so a long one (a database dump) is not silence.
    bool live = false;
    env_lookup env = process_environment(); // STORK_CONFIG
    std::function<std::chrono::system_clock::time_point()> now = [] { return std::chrono::system_clock::now(); };
    regions_opener open_regions{};
    dns_printer print_dns{};
    inventory_importer import_inventory{};
    // migration-follow: how often it reads the store, and how it waits (the tests advance
    // the migration from inside `sleep` instead of sleeping).
    std::chrono::milliseconds poll_interval{1000};
    std::function<void(std::chrono::milliseconds)> sleep{};
};

// Which control.yaml a command reads: --config, else STORK_CONFIG, else the default.
inline constexpr std::string_view default_control_config = "/etc/stork/control.yaml";
std::filesystem::path control_config_path(const std::optional<std::string>& flag, const env_lookup& env);

int run_migration_command(const migration_command& cmd, const migration_io& io);
int run_platform_command(const platform_command& cmd, const migration_io& io);

} // namespace stork::control
