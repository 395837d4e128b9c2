#include "control/dispatch.hpp"

#include "control/admin_access.hpp"
#include "control/dns_commands.hpp"
#include "control/dns_report.hpp"
#include "control/front_fleet.hpp"
#include "control/migration_commands.hpp"
#include "migrate/local_driver.hpp"
#include "control/rules_commands.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>

namespace stork::control {

namespace {

template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
// C++20 deduces this for aggregates, but clang 14 does not implement that yet.
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

// Copies the family's command into a `command` only to name it: this runs once, on the
// way out.
int not_available(const command& cmd)
{
    std::cerr << "stork: '" << command_name(cmd) << "' is not available in this build yet\n";
    return exit_error;
}

// Colours only for a person at a terminal, and not for one who asked for none
// (https://no-color.org).
bool colour_on_stdout(const env_lookup& env)
{
    return ::isatty(STDOUT_FILENO) == 1 && !env("NO_COLOR") && env("TERM") != "dumb";
}

// The real regions: the embedded local driver for both platforms, the storkd admin API
// of every front server of the source region.
opened_regions open_real_regions(const config::control_config& config, const config::region_config& source,
                                 const config::region_config& destination)
{
    const auto backups = migrate::default_backup_folder(config.state);
    return opened_regions{.source = migrate::open_local_platform(config.state, source, backups),
                          .destination = migrate::open_local_platform(config.state, destination, backups),
                          .fronts = open_front_fleet(source)};
}

void print_real_dns_changes(std::ostream& out, const dns_changes_request& request)
{
    print_dns_changes(out, advise_dns_changes(request));
}

int run_with_real_io(const std::function<int(const migration_io&)>& run)
{
    const env_lookup env = process_environment();
    const migration_io io{.out = std::cout,
                          .err = std::cerr,
                          .in = std::cin,
                          // Questions only to a person who can answer them: a script (stdin
                          // not a terminal) runs as with --yes, like Scalingo's CLI.
                          .interactive = ::isatty(STDIN_FILENO) == 1,
                          .colour = colour_on_stdout(env),
                          .live = ::isatty(STDOUT_FILENO) == 1 && env("TERM") != "dumb",
                          .env = env,
                          .now = [] { return std::chrono::system_clock::now(); },
                          .open_regions = open_real_regions,
                          .print_dns = print_real_dns_changes,
                          .import_inventory = migrate::import_inventory,
                          .poll_interval = std::chrono::seconds{1},
                          .sleep = {}};
    return run(io);
}

} // namespace

int run_platform(const platform_command& cmd)
{
    return run_with_real_io([&cmd](const migration_io& io) { return run_platform_command(cmd, io); });
}

int run_migration(const migration_command& cmd)
{
    return run_with_real_io([&cmd](const migration_io& io) { return run_migration_command(cmd, io); });
}

int run_command(const command& cmd)
{
    return std::visit(overloaded{
                          [](const rules_command& c) { return run_rules(c); },
                          [](const dns_command& c) { return run_dns(c); },
                          [](const platform_command& c) { return run_platform(c); },
                          [](const migration_command& c) { return run_migration(c); },
                      },
                      cmd);
}

int run_rules(const rules_command& cmd)
{
    const rules_io io{.out = std::cout,
                      .err = std::cerr,
                      .env = process_environment(),
                      .now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
    return run_rules_command(cmd, io);
}

int run_dns(const dns_command& cmd)
{
    if (const auto* check = std::get_if<dns_check_command>(&cmd)) {
        const env_lookup env = process_environment();
        const dns_io io{.out = std::cout, .err = std::cerr, .colour = colour_on_stdout(env), .env = env};
        return run_dns_check(*check, io);
    }
    if (const auto* report = std::get_if<dns_report_command>(&cmd)) {
        const env_lookup env = process_environment();
        const dns_report_io io{.out = std::cout, .err = std::cerr, .env = env, .colour = colour_on_stdout(env)};
        return run_dns_report(*report, io);
    }
    return not_available(command{cmd});
}

} // namespace stork::control
