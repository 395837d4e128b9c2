#pragma once

#include "config/parsed.hpp"
#include "control/cli.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

// Where the storkd admin API is and which token it wants (design.md §2 "stork CLI"):
// --admin URL, else STORK_ADMIN, else http://127.0.0.1:9180; --token-file F, else
// STORK_TOKEN (the token itself). The parser leaves these to the command, so this is
// where the environment is read: through an injected lookup, so tests need no setenv.
namespace stork::control {

inline constexpr std::string_view default_admin_url = "http://127.0.0.1:9180";

// A variable of the environment, nothing when unset.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

// The process's own environment (getenv).
env_lookup process_environment();

// An admin API base URL: "http://HOST[:PORT][/]". Only plain HTTP: the admin listener
// speaks nothing else (it belongs on loopback or a private network).
struct admin_url {
    std::string text{};        // as the operator gave it, for messages
    std::string host{};        // IPv6 without brackets
    std::uint16_t port = 80;
    bool host_is_ip = false;

    // The Host header's value: "127.0.0.1:9180", "[::1]:9180", "admin.internal:9180".
    std::string authority() const;

    friend bool operator==(const admin_url&, const admin_url&) = default;
};

config::parsed<admin_url> parse_admin_url(std::string_view text);

struct admin_access {
    admin_url url{};
    std::string token{};
};

// The URL and the token for a command. Every failure is one line that says which of the
// ways was used (the flag, the variable) and how to fix it.
config::parsed<admin_access> resolve_admin_access(const admin_options& options, const env_lookup& env);

} // namespace stork::control
