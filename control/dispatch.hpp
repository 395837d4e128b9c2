#pragma once

#include "control/cli.hpp"

namespace stork::control {

// Runs a parsed command; returns the process's exit code (exit_ok, exit_not_ready,
// exit_error).
int run_command(const command& cmd);

// One entry point per command family. Each is a placeholder until the issue that brings
// the family replaces it with the real thing; a placeholder says so on stderr and returns
// exit_error, never a code that a script could read as "done" or "not ready".
int run_rules(const rules_command& cmd);          // control/rules_commands.hpp
int run_dns(const dns_command& cmd);              // issue 6: DNS advisor
int run_platform(const platform_command& cmd);    // control/migration_commands.hpp (platform import)
int run_migration(const migration_command& cmd);  // control/migration_commands.hpp

} // namespace stork::control
