#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace stork::proxy {

inline constexpr char default_config_path[] = "/etc/stork/storkd.yaml";

// What `storkd` was asked to do.
struct run_options {
    std::filesystem::path config = default_config_path;
    bool check_only = false; // --check: validate the configuration and exit 0/1
};
struct show_help {};
struct show_version {};
struct usage_error {
    std::string message;
};

using command_line = std::variant<run_options, show_help, show_version, usage_error>;

// Pure: argv (without argv[0]) in, a decision out. "--config FILE" and "--config=FILE".
command_line parse_command_line(std::span<const std::string_view> args);

std::string help_text();
std::string version_text();

} // namespace stork::proxy
