#pragma once

// Internal to config/: what the loaders of storkd.yaml, control.yaml and the local
// inventory share — reading small files, resolving relative paths, the token file and the
// dns section. Public headers of config/ never include this file.

#include "config/dns_config.hpp"
#include "config/parsed.hpp"
#include "config/yaml_reader.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace stork::config {

// Reads a small text file; nothing when it cannot be read (and *why says why).
std::optional<std::string> read_small_file(const std::filesystem::path& path, std::string* why);

// The text of a file for a loader, or a config_error naming the file.
std::string read_config_file(const std::filesystem::path& path);

// Relative paths in a configuration file are relative to the file's own folder, so a
// configuration and the files next to it can move together.
class path_resolver {
public:
    explicit path_resolver(std::filesystem::path base) : base_{std::move(base)} {}

    parsed<std::filesystem::path> operator()(std::string_view text) const;

private:
    std::filesystem::path base_;
};

// The Bearer token held by `path`: one word of printable ASCII, at least 16 bytes,
// surrounding whitespace trimmed.
parsed<std::string> read_token_file(const std::filesystem::path& path);

// "true" or "false", nothing else: YAML 1.1's yes/no/on/off are refused, a typo must not
// turn into a setting.
parsed<bool> parse_bool(std::string_view text);

// A word of a catalogue or a schema: a provider, a plan, a version, a container type
// ("postgresql", "starter-512", "15.4", "web"): 1 to 64 letters, digits, '-', '_', '.'.
// `what` names it in the message ("a plan").
parsed<std::string> parse_word(std::string_view text, std::string_view what);

// The `dns` section under `root`: `resolvers: [system | IP[:PORT], ...]`; absent: system.
void read_dns_section(const yaml_map& root, dns_config& dns);

} // namespace stork::config
