#include "config/control_config.hpp"

#include "config/config_file.hpp"
#include "config/host_name.hpp"
#include "config/printable.hpp"
#include "config/yaml_reader.hpp"

#include <algorithm>
#include <cctype>

namespace stork::config {

namespace fs = std::filesystem;

namespace {

const endpoint_rules ingress_rules{.require_ip = false, .allow_port_zero = false, .default_port = std::nullopt};

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix)
{
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(),
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

parsed<std::string> parse_domain(std::string_view text)
{
    if (auto problem = host_name_problem(text)) {
        return invalid{config::quoted(text) + " is not a host name: " + *problem};
    }
    return std::string{text};
}

// "http://HOST:PORT" (or "http://HOST", port 80), with at most a trailing "/": the same
// form as the CLI's --admin (control/admin_access.cpp), which config/ cannot depend on.
parsed<endpoint> parse_front_admin_url(std::string_view text)
{
    const std::string shown = config::quoted(text);
    if (!starts_with_ignoring_case(text, "http://")) {
        return invalid{shown + " is not an admin URL: write http://HOST:PORT (the admin API speaks plain HTTP)"};
    }
    std::string_view authority = text.substr(std::string_view{"http://"}.size());
    if (!authority.empty() && authority.back() == '/') {
        authority.remove_suffix(1);
    }
    if (authority.find_first_of("/?#@") != std::string_view::npos) {
        return invalid{shown + " has a path, a query, a fragment or a user: give only http://HOST:PORT"};
    }
    if (authority.empty()) {
        return invalid{shown + " has no host: write http://HOST:PORT"};
    }
    if (authority.front() != '[' && std::count(authority.begin(), authority.end(), ':') > 1) {
        return invalid{shown + ": an IPv6 address goes between brackets in a URL, e.g. http://[::1]:9180"};
    }
    auto e = parse_endpoint(authority, endpoint_rules{.default_port = 80});
    if (!e) {
        return invalid{shown + ": " + e.error()};
    }
    return *std::move(e);
}

parsed<region_driver> parse_driver(std::string_view text)
{
    if (text == "local") {
        return region_driver::local;
    }
    return invalid{"driver is \"local\" (the embedded platform driver; others come later), not " + config::quoted(text)};
}

std::vector<std::string> read_words(const yaml_map& m, std::string_view key, std::string_view what)
{
    std::vector<std::string> words;
    const auto items = m.sequence(key);
    if (!items) {
        return words;
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
        const std::string path = m.path_of(key) + "[" + std::to_string(i) + "]";
        auto w = m.parse_node<std::string>((*items)[i], path, [&](std::string_view t) { return parse_word(t, what); });
        if (!w) {
            continue;
        }
        if (std::find(words.begin(), words.end(), *w) != words.end()) {
            m.reader().error((*items)[i].Mark(), path, config::quoted(*w) + " is listed twice");
            continue;
        }
        words.push_back(std::move(*w));
    }
    return words;
}

std::vector<front_server> read_front_servers(const yaml_map& region, const path_resolver& resolve,
                                             const control_load_options& o)
{
    std::vector<front_server> result;
    const auto items = region.sequence("front_servers");
    if (!items) {
        return result;
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
        const std::string path = region.path_of("front_servers") + "[" + std::to_string(i) + "]";
        const yaml_map m{region.reader(), (*items)[i], path, {"admin", "token_file"}};
        front_server f;
        auto admin = m.value<endpoint>("admin", parse_front_admin_url);
        auto token_file = m.value<fs::path>("token_file", resolve);
        if (!m.find("admin")) {
            m.missing("admin");
        }
        if (!m.find("token_file")) {
            m.missing("token_file");
        }
        if (!admin || !token_file) {
            continue;
        }
        f.admin_url = *m.scalar("admin");
        f.admin = *std::move(admin);
        f.token_file = *std::move(token_file);
        if (o.check_files) {
            auto token = read_token_file(f.token_file);
            if (!token) {
                m.reader().error(m.mark_of("token_file"), m.path_of("token_file"), token.error());
                continue;
            }
            f.token = *std::move(token);
        }
        const bool twice = std::any_of(result.begin(), result.end(), [&](const front_server& g) { return g.admin == f.admin; });
        if (twice) {
            m.reader().error(m.mark_of("admin"), m.path_of("admin"), f.admin.to_string() + " is listed twice");
            continue;
        }
        result.push_back(std::move(f));
    }
    return result;
}

std::optional<std::vector<addon_offer>> read_addon_offers(const yaml_map& region)
{
    const auto items = region.sequence("addons");
    if (!items) {
        return std::nullopt;
    }
    std::vector<addon_offer> offers;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const std::string path = region.path_of("addons") + "[" + std::to_string(i) + "]";
        const yaml_map m{region.reader(), (*items)[i], path, {"provider", "plans", "versions"}};
        addon_offer offer;
        auto provider = m.value<std::string>("provider", [](std::string_view t) { return parse_word(t, "a provider"); });
        offer.plans = read_words(m, "plans", "a plan");
        offer.versions = read_words(m, "versions", "a version");
        if (!m.find("provider")) {
            m.missing("provider");
            continue;
        }
        if (!provider) {
            continue;
        }
        offer.provider = *std::move(provider);
        const bool twice =
            std::any_of(offers.begin(), offers.end(), [&](const addon_offer& o) { return o.provider == offer.provider; });
        if (twice) {
            m.reader().error(m.mark_of("provider"), m.path_of("provider"),
                             config::quoted(offer.provider) + " is offered twice; list its plans and versions once");
            continue;
        }
        offers.push_back(std::move(offer));
    }
    return offers;
}

std::optional<region_config> read_region(yaml_reader& reader, const yaml_entry& entry, const path_resolver& resolve,
                                         const control_load_options& o)
{
    const std::string path = "regions." + printable(entry.key);
    auto name = parse_region_name(entry.key);
    if (!name) {
        reader.error(entry.key_mark, path, name.error());
    }
    const yaml_map m{reader, entry.value, path, {"domain", "driver", "ingress", "front_servers", "databases", "addons"}};
    region_config r;
    auto domain = m.value<std::string>("domain", parse_domain);
    auto driver = m.value<region_driver>("driver", parse_driver);
    r.ingress = m.value<endpoint>("ingress", [](std::string_view t) { return parse_endpoint(t, ingress_rules); });
    r.front_servers = read_front_servers(m, resolve, o);
    if (const auto databases = m.find("databases")) {
        const yaml_map d{reader, *databases, m.path_of("databases"), {"postgresql"}};
        r.postgresql_url = d.value<std::string>("postgresql", parse_postgresql_url);
    }
    r.addons = read_addon_offers(m);
    if (!m.find("domain")) {
        m.missing("domain");
    }
    if (!m.find("driver")) {
        m.missing("driver");
    }
    if (!name || !domain || !driver) {
        return std::nullopt;
    }
    r.name = *std::move(name);
    r.domain = *std::move(domain);
    r.driver = *driver;
    return r;
}

void read_regions(const yaml_map& top, control_config& c, const path_resolver& resolve, const control_load_options& o)
{
    const auto node = top.find("regions");
    if (!node) {
        top.missing("regions");
        return;
    }
    yaml_reader& reader = top.reader();
    const auto entries = yaml_entries(reader, *node, "regions", top.mark_of("regions"));
    if (!entries) {
        return;
    }
    if (entries->empty()) {
        reader.error(top.mark_of("regions"), "regions", "needs at least one region");
        return;
    }
    std::map<std::string, std::string, std::less<>> domains; // domain -> region
    for (const yaml_entry& entry : *entries) {
        auto region = read_region(reader, entry, resolve, o);
        if (!region) {
            continue;
        }
        // Two regions with one domain would give an app the same default host in both.
        auto [it, inserted] = domains.emplace(region->domain, region->name);
        if (!inserted) {
            const YAML::Node domain = entry.value["domain"];
            reader.error(domain ? domain.Mark() : entry.key_mark, "regions." + region->name + ".domain",
                         config::quoted(region->domain) + " is already the domain of region " + it->second);
            continue;
        }
        c.regions.emplace(region->name, *std::move(region));
    }
}

} // namespace

parsed<std::string> parse_region_name(std::string_view text)
{
    if (text.empty() || text.size() > 63) {
        return invalid{"a region name has 1 to 63 characters"};
    }
    for (char ch : text) {
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
            return invalid{"a region name has only lowercase letters, digits and '-' (like \"osc-fr1\"), not " +
                           config::quoted(text)};
        }
    }
    if (text.front() == '-' || text.back() == '-') {
        return invalid{"a region name does not start or end with '-', unlike " + config::quoted(text)};
    }
    return std::string{text};
}

parsed<std::string> parse_postgresql_url(std::string_view text)
{
    const char* const form = "postgresql://USER:PASSWORD@HOST:PORT/DATABASE";
    std::string_view rest;
    for (std::string_view scheme : {"postgresql://", "postgres://"}) {
        if (starts_with_ignoring_case(text, scheme)) {
            rest = text.substr(scheme.size());
            break;
        }
    }
    if (rest.empty()) {
        return invalid{std::string{"must be a URL of the form "} + form + " (or postgres://...)"};
    }
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    const std::size_t at = authority.rfind('@');
    const std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
    if (host.empty()) {
        return invalid{std::string{"has no host: write "} + form};
    }
    for (char ch : text) {
        if (static_cast<unsigned char>(ch) <= 0x20 || static_cast<unsigned char>(ch) >= 0x7f) {
            return invalid{"has a space or a control character; percent-encode it (%20)"};
        }
    }
    // The host part holds no secret and may be echoed; libpq's multi-host lists are refused.
    auto e = parse_endpoint(host, endpoint_rules{.default_port = 5432});
    if (!e) {
        return invalid{"host " + e.error()};
    }
    return std::string{text};
}

bool region_config::offers(std::string_view provider, std::string_view plan, std::string_view version) const
{
    if (!addons) {
        return true;
    }
    const auto offer = std::find_if(addons->begin(), addons->end(), [&](const addon_offer& o) { return o.provider == provider; });
    if (offer == addons->end()) {
        return false;
    }
    const auto listed = [](const std::vector<std::string>& words, std::string_view w) {
        return words.empty() || std::find(words.begin(), words.end(), w) != words.end();
    };
    return listed(offer->plans, plan) && (version.empty() || listed(offer->versions, version));
}

const region_config* control_config::find_region(std::string_view name) const
{
    const auto it = regions.find(name);
    return it == regions.end() ? nullptr : &it->second;
}

control_config parse_control_config(std::string_view yaml, const fs::path& file_name, const control_load_options& options)
{
    yaml_reader reader{file_name.string()};
    const YAML::Node root = reader.load_mapping(yaml, "the configuration is empty");

    const fs::path source = fs::absolute(file_name).lexically_normal();
    const path_resolver resolve{source.parent_path()};
    control_config c;
    c.source = source;

    const yaml_map top{reader, root, "", {"state", "regions", "dns"}};
    c.state = top.value<fs::path>("state", resolve).value_or("/var/lib/stork/control.db");
    read_regions(top, c, resolve, options);
    read_dns_section(top, c.dns);

    reader.throw_if_failed();
    return c;
}

control_config load_control_config(const fs::path& file, const control_load_options& options)
{
    return parse_control_config(read_config_file(file), file, options);
}

} // namespace stork::config
