#include "config/storkd_config.hpp"

#include "config/config_file.hpp"
#include "config/printable.hpp"
#include "config/yaml_reader.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <thread>

namespace stork::config {

namespace fs = std::filesystem;

namespace {

constexpr unsigned max_workers = 1024;

parsed<std::string> parse_node_name(std::string_view text)
{
    if (text.empty() || text.size() > 64) {
        return invalid{"a node name has 1 to 64 characters"};
    }
    for (char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_' || c == '.';
        if (!ok) {
            return invalid{"a node name has only letters, digits, '-', '_' and '.', not " + quoted(text)};
        }
    }
    return std::string{text};
}

std::string machine_name()
{
    char buffer[256] = {};
    if (gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') {
        return "storkd";
    }
    std::string name{buffer};
    return parse_node_name(name) ? name : "storkd";
}

parsed<unsigned> parse_workers(std::string_view text, unsigned cpus)
{
    if (text == "auto") {
        return std::max(1u, std::min(cpus, max_workers));
    }
    unsigned n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n == 0 || n > max_workers) {
        return invalid{"workers is \"auto\" or a number from 1 to " + std::to_string(max_workers) + ", not " +
                       quoted(text)};
    }
    return n;
}

parsed<unsigned> parse_count(std::string_view text, unsigned low, unsigned high)
{
    unsigned n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n < low || n > high) {
        return invalid{"must be a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
                       ", not " + quoted(text)};
    }
    return n;
}

parsed<duration> parse_positive_duration(std::string_view text)
{
    auto d = parse_duration(text);
    if (d && d->count() == 0) {
        return invalid{"must be longer than 0"};
    }
    return d;
}

bool check_readable_file(const yaml_map& m, std::string_view key, const fs::path& path)
{
    std::string why;
    if (!read_small_file(path, &why).has_value() && !why.empty()) {
        m.reader().error(m.mark_of(key), m.path_of(key), why);
        return false;
    }
    return true;
}

// --- sections --------------------------------------------------------------------------

std::vector<endpoint> read_endpoints(const yaml_map& m, std::string_view key, const endpoint_rules& rules)
{
    std::vector<endpoint> result;
    const auto items = m.sequence(key);
    if (!items) {
        return result;
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
        const std::string path = m.path_of(key) + "[" + std::to_string(i) + "]";
        auto e = m.parse_node<endpoint>((*items)[i], path,
                                        [&](std::string_view t) { return parse_endpoint(t, rules); });
        if (e) {
            result.push_back(std::move(*e));
        }
    }
    return result;
}

const endpoint_rules bind_rules{.require_ip = true, .allow_port_zero = true, .default_port = std::nullopt};
const endpoint_rules connect_rules{.require_ip = false, .allow_port_zero = false, .default_port = std::nullopt};

void read_listen(const yaml_map& root, storkd_config& c)
{
    const auto node = root.find("listen");
    if (!node) {
        root.missing("listen");
        return;
    }
    const yaml_map m{root.reader(), *node, "listen", {"http", "https"}};
    c.listen.http = read_endpoints(m, "http", bind_rules);
    c.listen.https = read_endpoints(m, "https", bind_rules);
    if (!m.reader().failed() && c.listen.http.empty() && c.listen.https.empty()) {
        m.reader().error(m.mark(), "listen", "needs at least one http or https address");
    }
}

void read_admin(const yaml_map& root, storkd_config& c, const path_resolver& resolve, const load_options& o)
{
    const auto node = root.find("admin");
    if (!node) {
        root.missing("admin");
        return;
    }
    const yaml_map m{root.reader(), *node, "admin", {"listen", "token_file"}};
    c.admin.listen = m.value<endpoint>("listen", [](std::string_view t) { return parse_endpoint(t, bind_rules); })
                         .value_or(endpoint{"127.0.0.1", 9180, true});
    auto token_file = m.value<fs::path>("token_file", resolve);
    if (!m.find("token_file")) {
        m.missing("token_file");
        return;
    }
    if (!token_file) {
        return;
    }
    c.admin.token_file = *token_file;
    if (!o.check_files) {
        return;
    }
    auto token = read_token_file(*token_file);
    if (!token) {
        m.reader().error(m.mark_of("token_file"), "admin.token_file", token.error());
        return;
    }
    c.admin.token = *std::move(token);
}

void read_tls(const yaml_map& root, storkd_config& c, const path_resolver& resolve, const load_options& o)
{
    const auto node = root.find("tls");
    if (!node) {
        if (!c.listen.https.empty()) {
            root.reader().error(root.mark_of("listen"), "tls",
                                "is required because listen.https has addresses");
        }
        return;
    }
    const yaml_map m{root.reader(), *node, "tls", {"certificates", "default"}};
    tls_config tls;
    auto dir = m.value<fs::path>("certificates", resolve);
    auto name = m.value<std::string>("default", [](std::string_view t) -> parsed<std::string> {
        if (t.empty() || t.find('/') != std::string_view::npos || t == "." || t == "..") {
            return invalid{"the name of a certificate pair in tls.certificates (NAME for NAME.crt and "
                           "NAME.key), not " + quoted(t)};
        }
        return std::string{t};
    });
    if (!m.find("certificates")) {
        m.missing("certificates");
    }
    if (!m.find("default")) {
        m.missing("default");
    }
    if (!dir || !name) {
        return;
    }
    tls.certificates = *dir;
    tls.default_name = *name;
    if (o.check_files) {
        std::error_code ec;
        if (!fs::is_directory(*dir, ec)) {
            m.reader().error(m.mark_of("certificates"), "tls.certificates",
                             dir->string() + " is not a folder" + (ec ? ": " + ec.message() : ""));
        } else {
            // One diagnostic for the pair: the fix is the same for both files.
            std::string problems;
            for (const char* ext : {".crt", ".key"}) {
                std::string why;
                if (!read_small_file(*dir / (*name + ext), &why)) {
                    problems += (problems.empty() ? "" : "; ") + why;
                }
            }
            if (!problems.empty()) {
                m.reader().error(m.mark_of("default"), "tls.default", problems);
            }
        }
    }
    c.tls = std::move(tls);
}

void read_upstream(const yaml_map& root, storkd_config& c, const path_resolver& resolve, const load_options& o)
{
    c.upstream.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    const auto node = root.find("upstream");
    if (!node) {
        return;
    }
    const yaml_map m{root.reader(), *node, "upstream",
                     {"ca_file", "connect_timeout", "read_timeout", "idle_timeout", "max_idle_per_key"}};
    if (auto ca = m.value<fs::path>("ca_file", resolve)) {
        c.upstream.ca_file = *ca;
        if (o.check_files) {
            check_readable_file(m, "ca_file", *ca);
        }
    }
    c.upstream.connect_timeout =
        m.value<duration>("connect_timeout", parse_positive_duration).value_or(c.upstream.connect_timeout);
    c.upstream.read_timeout =
        m.value<duration>("read_timeout", parse_positive_duration).value_or(c.upstream.read_timeout);
    c.upstream.idle_timeout =
        m.value<duration>("idle_timeout", parse_positive_duration).value_or(c.upstream.idle_timeout);
    c.upstream.max_idle_per_key =
        m.value<unsigned>("max_idle_per_key", [](std::string_view t) { return parse_count(t, 0, 100'000); })
            .value_or(c.upstream.max_idle_per_key);
}

void read_timeouts(const yaml_map& root, storkd_config& c)
{
    const auto node = root.find("timeouts");
    if (!node) {
        return;
    }
    const yaml_map m{root.reader(), *node, "timeouts", {"header_read", "keepalive", "drain"}};
    auto& t = c.timeouts;
    t.header_read = m.value<duration>("header_read", parse_positive_duration).value_or(t.header_read);
    t.keepalive = m.value<duration>("keepalive", parse_positive_duration).value_or(t.keepalive);
    t.drain = m.value<duration>("drain", parse_duration).value_or(t.drain);
}

void read_limits(const yaml_map& root, storkd_config& c)
{
    const auto node = root.find("limits");
    if (!node) {
        return;
    }
    const yaml_map m{root.reader(), *node, "limits", {"connections_per_worker"}};
    c.limits.connections_per_worker =
        m.value<unsigned>("connections_per_worker", [](std::string_view t) { return parse_count(t, 1, 1'000'000); })
            .value_or(c.limits.connections_per_worker);
}

void read_fallback(const yaml_map& root, storkd_config& c)
{
    const auto node = root.find("fallback");
    if (!node) {
        return;
    }
    const yaml_map m{root.reader(), *node, "fallback", {"http", "https"}};
    const auto parse = [](std::string_view t) { return parse_endpoint(t, connect_rules); };
    c.fallback.http = m.value<endpoint>("http", parse);
    c.fallback.https = m.value<endpoint>("https", parse);
}

void read_rules(const yaml_map& root, storkd_config& c, const path_resolver& resolve, const load_options& o)
{
    c.rules.path = "/var/lib/stork/rules";
    const auto node = root.find("rules");
    if (!node) {
        return;
    }
    const yaml_map m{root.reader(), *node, "rules", {"store", "path", "default_ttl"}};
    auto store = m.value<rule_store>("store", [](std::string_view t) -> parsed<rule_store> {
        if (t == "file") {
            return rule_store::file;
        }
        if (t == "etcd") {
            // design.md §6: the fleet store is a later milestone. Accepting the word now
            // would start a daemon that silently ignores the fleet's rules.
            return invalid{"\"etcd\" is not available in this version of storkd yet; use \"file\""};
        }
        return invalid{"store is \"file\" or \"etcd\", not " + quoted(t)};
    });
    c.rules.store = store.value_or(rule_store::file);
    if (auto path = m.value<fs::path>("path", resolve)) {
        c.rules.path = *path;
        std::error_code ec;
        if (o.check_files && fs::exists(*path, ec) && !fs::is_directory(*path, ec)) {
            m.reader().error(m.mark_of("path"), "rules.path", path->string() + " exists and is not a folder");
        }
    }
    c.rules.default_ttl = m.value<duration>("default_ttl", parse_positive_duration).value_or(c.rules.default_ttl);
}

void read_dns(const yaml_map& root, storkd_config& c)
{
    read_dns_section(root, c.dns);
}

void read_access_log(const yaml_map& root, storkd_config& c, const path_resolver& resolve, const load_options& o)
{
    const auto text = root.scalar("access_log");
    if (!text) {
        return;
    }
    if (*text == "-") {
        c.access_log.where = access_log_config::kind::stdout_stream;
    } else if (*text == "off") {
        c.access_log.where = access_log_config::kind::off;
    } else if (auto path = resolve(*text)) {
        c.access_log.where = access_log_config::kind::file;
        c.access_log.path = *path;
        std::error_code ec;
        if (o.check_files && !fs::is_directory(path->parent_path(), ec)) {
            root.reader().error(root.mark_of("access_log"), "access_log",
                                "the folder of " + path->string() + " does not exist");
        }
    } else {
        root.reader().error(root.mark_of("access_log"), "access_log", path.error());
    }
}

// Where an element of the document is, for diagnostics found after reading; the
// document's start when the element is absent (a defaulted key).
YAML::Mark mark_at(const YAML::Node& root, std::string_view section, std::string_view key, std::optional<std::size_t> index)
{
    const YAML::Node s = root[std::string{section}];
    if (!s || !s.IsMap()) {
        return root.Mark();
    }
    const YAML::Node k = s[std::string{key}];
    if (!k) {
        return s.Mark();
    }
    if (!index) {
        return k.Mark();
    }
    const YAML::Node e = k.IsSequence() ? k[*index] : YAML::Node{};
    return e ? e.Mark() : k.Mark();
}

// Two listeners on one address would fail at bind time with a less helpful message.
void check_addresses_unique(yaml_reader& reader, const YAML::Node& root, const storkd_config& c)
{
    std::map<std::string, std::string> seen;
    const auto check = [&](const endpoint& e, const std::string& path, const YAML::Mark& mark) {
        if (e.port == 0) {
            return;
        }
        auto [it, inserted] = seen.emplace(e.to_string(), path);
        if (!inserted) {
            reader.error(mark, path, e.to_string() + " is already used by " + it->second);
        }
    };
    for (std::size_t i = 0; i < c.listen.http.size(); ++i) {
        check(c.listen.http[i], "listen.http[" + std::to_string(i) + "]", mark_at(root, "listen", "http", i));
    }
    for (std::size_t i = 0; i < c.listen.https.size(); ++i) {
        check(c.listen.https[i], "listen.https[" + std::to_string(i) + "]", mark_at(root, "listen", "https", i));
    }
    check(c.admin.listen, "admin.listen", mark_at(root, "admin", "listen", std::nullopt));
}

} // namespace

storkd_config parse_storkd_config(std::string_view yaml, const fs::path& file_name, const load_options& options)
{
    yaml_reader reader{file_name.string()};
    const YAML::Node root = reader.load_mapping(yaml, "the configuration is empty");

    const fs::path source = fs::absolute(file_name).lexically_normal();
    const path_resolver resolve{source.parent_path()};
    storkd_config c;
    c.source = source;

    const yaml_map top{reader, root, "",
                       {"node", "workers", "listen", "admin", "tls", "upstream", "timeouts", "limits", "fallback",
                        "rules", "dns", "access_log"}};
    c.node = top.value<std::string>("node", parse_node_name).value_or(machine_name());
    const unsigned cpus = options.cpu_count != 0 ? options.cpu_count : std::thread::hardware_concurrency();
    c.workers = top.value<unsigned>("workers", [&](std::string_view t) { return parse_workers(t, cpus); })
                    .value_or(std::max(1u, std::min(cpus, max_workers)));
    read_listen(top, c);
    read_admin(top, c, resolve, options);
    read_tls(top, c, resolve, options);
    read_upstream(top, c, resolve, options);
    read_timeouts(top, c);
    read_limits(top, c);
    read_fallback(top, c);
    read_rules(top, c, resolve, options);
    read_dns(top, c);
    read_access_log(top, c, resolve, options);
    if (!reader.failed()) {
        check_addresses_unique(reader, root, c);
    }

    reader.throw_if_failed();
    return c;
}

storkd_config load_storkd_config(const fs::path& file, const load_options& options)
{
    return parse_storkd_config(read_config_file(file), file, options);
}

} // namespace stork::config
