#pragma once

#include "config/dns_config.hpp"
#include "config/duration.hpp"
#include "config/endpoint.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The storkd configuration (design.md §2, docs/configuration.md): plain immutable data,
// validated while it is read. No yaml-cpp type crosses this header. A reload builds a new
// storkd_config and replaces the old one whole.

namespace stork::config {

struct listen_config {
    std::vector<endpoint> http;
    std::vector<endpoint> https;
};

struct admin_config {
    endpoint listen;                    // default 127.0.0.1:9180
    std::filesystem::path token_file;
    std::string token;                  // read from token_file, surrounding whitespace trimmed
};

struct tls_config {
    std::filesystem::path certificates; // NAME.crt + NAME.key pairs
    std::string default_name;           // key "default"
};

struct upstream_config {
    std::filesystem::path ca_file;      // default /etc/ssl/certs/ca-certificates.crt
    duration connect_timeout{5'000};
    duration read_timeout{60'000};      // waiting for a response head or body bytes
    duration idle_timeout{60'000};      // an idle pooled connection is closed after this
    unsigned max_idle_per_key = 64;     // idle pooled connections per (address, tls, sni)
};

// Client-side timeouts (design.md §3).
struct timeouts_config {
    duration header_read{10'000};       // from the first byte of a request head to its end
    duration keepalive{75'000};         // idle between two requests on one connection
    duration drain{30'000};             // SIGTERM: how long in-flight requests may take
};

struct limits_config {
    unsigned connections_per_worker = 16'384; // accepting pauses at this many client connections
};

struct fallback_config {
    std::optional<endpoint> http;
    std::optional<endpoint> https;
};

enum class rule_store { file, etcd };

struct rules_config {
    rule_store store = rule_store::file;
    std::filesystem::path path;         // default /var/lib/stork/rules
    duration default_ttl{30LL * 86'400'000};
};

struct access_log_config {
    enum class kind { off, stdout_stream, file };
    kind where = kind::stdout_stream;
    std::filesystem::path path;         // for kind::file
};

struct storkd_config {
    std::filesystem::path source;       // the file it came from, absolute
    std::string node;                   // default: the machine's host name
    unsigned workers = 1;               // "auto" resolved to the number of CPUs
    listen_config listen;
    admin_config admin;
    std::optional<tls_config> tls;      // required when listen.https is not empty
    upstream_config upstream;
    timeouts_config timeouts;
    limits_config limits;
    fallback_config fallback;
    rules_config rules;
    dns_config dns;
    access_log_config access_log;
};

struct load_options {
    // Check that the files and folders the configuration names exist and are readable
    // (token, CA bundle, certificate folder). Off only for the fuzz target.
    bool check_files = true;
    // "workers: auto" resolves to this (0: std::thread::hardware_concurrency()).
    unsigned cpu_count = 0;
};

// Parses YAML text. `file_name` names the text in diagnostics, and relative paths in the
// configuration are resolved against its folder. Throws config_error with every problem.
storkd_config parse_storkd_config(std::string_view yaml, const std::filesystem::path& file_name,
                                  const load_options& options = {});

// Reads and parses a file; an unreadable file is a config_error too.
storkd_config load_storkd_config(const std::filesystem::path& file, const load_options& options = {});

} // namespace stork::config
