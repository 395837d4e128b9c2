#pragma once

#include "control/admin_access.hpp"
#include "control/admin_client.hpp"
#include "control/cli.hpp"

#include <chrono>
#include <ostream>

// `stork rules list|get|add|remove|purge` against a storkd's admin API (design.md §2).
// Each command resolves where the API is, makes one call and prints the outcome:
//   stdout  the answer, in the asked format (text for people, or the server's JSON);
//   stderr  "stork: ..." one line per failure.
// Exit codes of control/cli.hpp: 0 done, 1 no rule for the host (get, remove), 2 error.
namespace stork::control {

// Everything a rules command takes from the world, injected so tests capture output in
// strings, give their own environment and clock, and shorten the timeouts.
struct rules_io {
    std::ostream& out;
    std::ostream& err;
    env_lookup env;
    std::chrono::sys_seconds now;
    admin_timeouts timeouts{};
};

int run_rules_list(const rules_list_command& cmd, const rules_io& io);
int run_rules_get(const rules_get_command& cmd, const rules_io& io);
int run_rules_add(const rules_add_command& cmd, const rules_io& io);
int run_rules_remove(const rules_remove_command& cmd, const rules_io& io);
int run_rules_purge(const rules_purge_command& cmd, const rules_io& io);

int run_rules_command(const rules_command& cmd, const rules_io& io);

// The admin API paths, with the host percent-encoded: "/v1/rules/%2A.example.com".
std::string rule_path(std::string_view host);
std::string rules_list_target(const rules_list_command& cmd);
std::string rules_purge_target(const rules_purge_command& cmd);

} // namespace stork::control
