#include "config/inventory.hpp"

#include "config/config_file.hpp"
#include "config/control_config.hpp"
#include "config/host_name.hpp"
#include "config/printable.hpp"
#include "config/timestamp.hpp"
#include "config/yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>

namespace stork::config {

namespace fs = std::filesystem;

namespace {


constexpr std::size_t max_env_name = 64;     // Scalingo's limits (environment.md)
constexpr std::size_t max_env_value = 8192;
constexpr unsigned max_amount = 1000;
constexpr unsigned max_autoscaled = 100;

// Scalingo's deployment statuses (reference/migration-flow.md §2), and "error" for an
// inventory that does not say which step failed.
constexpr std::string_view deployment_statuses[] = {"queued",        "building",      "pushing",     "starting",
                                                    "success",       "crashed-error", "timeout-error",
                                                    "build-error",   "aborted",       "error"};

std::string lowercase(std::string_view text)
{
    std::string s{text};
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string index_path(const std::string& path, std::size_t i)
{
    return path + "[" + std::to_string(i) + "]";
}

template <class T>
using parser = std::function<parsed<T>(std::string_view)>;

// The value under `key`, reported as missing when absent.
template <class T>
std::optional<T> required(const yaml_map& m, std::string_view key, const parser<T>& parse)
{
    if (!m.find(key)) {
        m.missing(key);
        return std::nullopt;
    }
    return m.value<T>(key, parse);
}

// Calls f(node, path) for each element of the list under `key`.
void for_each_item(const yaml_map& m, std::string_view key,
                   const std::function<void(const YAML::Node&, const std::string&)>& f)
{
    const auto items = m.sequence(key);
    if (!items) {
        return;
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
        f((*items)[i], index_path(m.path_of(key), i));
    }
}

parser<std::string> word(std::string_view what)
{
    return [what](std::string_view t) { return parse_word(t, what); };
}

parsed<std::string> parse_text(std::string_view text)
{
    if (text.empty() || text.size() > 256) {
        return invalid{"has 1 to 256 characters"};
    }
    for (unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) {
            return invalid{"has a control character: " + config::quoted(text)};
        }
    }
    return std::string{text};
}

parsed<unsigned> parse_count(std::string_view text, unsigned low, unsigned high)
{
    unsigned n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n < low || n > high) {
        return invalid{"must be a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
                       ", not " + config::quoted(text)};
    }
    return n;
}

parsed<double> parse_number(std::string_view text)
{
    double d = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(d)) {
        return invalid{"must be a number, not " + config::quoted(text)};
    }
    return d;
}

parsed<std::string> parse_host(std::string_view text)
{
    if (auto problem = host_name_problem(text)) {
        return invalid{config::quoted(text) + " is not a host name: " + *problem};
    }
    return lowercase(text);
}

parsed<std::string> parse_deployment_status(std::string_view text)
{
    if (std::find(std::begin(deployment_statuses), std::end(deployment_statuses), text) != std::end(deployment_statuses)) {
        return std::string{text};
    }
    std::string known;
    for (std::string_view s : deployment_statuses) {
        known += (known.empty() ? "" : ", ") + std::string{s};
    }
    return invalid{"a deployment status is one of " + known + ", not " + config::quoted(text)};
}

parsed<std::string> parse_email(std::string_view text)
{
    const std::size_t at = text.find('@');
    if (at == std::string_view::npos || at == 0 || text.find('@', at + 1) != std::string_view::npos ||
        text.size() > 254) {
        return invalid{config::quoted(text) + " is not an email address"};
    }
    for (unsigned char c : text.substr(0, at)) {
        if (c <= 0x20 || c >= 0x7f) {
            return invalid{config::quoted(text) + " is not an email address"};
        }
    }
    if (auto problem = host_name_problem(text.substr(at + 1))) {
        return invalid{config::quoted(text) + " is not an email address: " + *problem};
    }
    return std::string{text};
}

parsed<app_collaborator::state> parse_collaborator_status(std::string_view text)
{
    if (text == "accepted") {
        return app_collaborator::state::accepted;
    }
    if (text == "pending") {
        return app_collaborator::state::pending;
    }
    return invalid{"a collaborator's status is \"accepted\" or \"pending\", not " + config::quoted(text)};
}

// "scheme://rest": syslog://, https://, elk://... The text is not echoed: a drain URL
// often carries a token.
parsed<std::string> parse_url(std::string_view text)
{
    const std::size_t colon = text.find("://");
    const auto scheme_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
               c == '.';
    };
    if (colon == std::string_view::npos || colon == 0 || colon + 3 == text.size() ||
        !std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(colon), scheme_char)) {
        return invalid{"must be a URL: scheme://host..."};
    }
    for (unsigned char c : text) {
        if (c <= 0x20 || c >= 0x7f) {
            return invalid{"a URL has no spaces or control characters; percent-encode them"};
        }
    }
    return std::string{text};
}

parsed<std::string> parse_env_name(std::string_view text)
{
    const auto ok_first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    const auto ok = [&](char c) { return ok_first(c) || (c >= '0' && c <= '9'); };
    if (text.empty() || text.size() > max_env_name || !ok_first(text.front()) ||
        !std::all_of(text.begin(), text.end(), ok)) {
        return invalid{"a variable name has 1 to 64 letters, digits and '_', not starting with a digit: " +
                       config::quoted(text)};
    }
    return std::string{text};
}

parsed<std::string> parse_repo(std::string_view text)
{
    const bool ok = !text.empty() && text.size() <= 256 && text.front() != '/' && text.back() != '/' &&
                    text.find('/') != std::string_view::npos && text.find("//") == std::string_view::npos &&
                    std::all_of(text.begin(), text.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
    if (!ok) {
        return invalid{"a repository is \"owner/name\", not " + config::quoted(text)};
    }
    return std::string{text};
}

// --- one app ---------------------------------------------------------------------------

class app_reader {
public:
    app_reader(yaml_reader& reader, const YAML::Node& node, std::string path)
        : m_{reader, node, std::move(path),
             {"name", "region", "deployment", "domains", "env", "formation", "collaborators", "addons", "settings",
              "scm", "notifiers", "alerts", "autoscalers", "log_drains"}}
    {
    }

    // The app, or nothing when its name or region could not be read.
    std::optional<inventory_app> read()
    {
        auto name = required<std::string>(m_, "name", parse_app_name);
        auto region = required<std::string>(m_, "region", parse_region_name);
        read_deployment();
        read_domains();
        read_env();
        read_formation();
        read_collaborators();
        read_addons();
        read_settings();
        read_scm();
        read_notifiers();
        read_alerts();
        read_autoscalers();
        read_log_drains();
        if (!name || !region) {
            return std::nullopt;
        }
        app_.name = *std::move(name);
        app_.region = *std::move(region);
        return std::move(app_);
    }

    const yaml_map& map() const { return m_; }

    // Where each of the app's domains is, and its key path, for the checks across apps.
    const std::vector<std::pair<YAML::Mark, std::string>>& domain_places() const { return domain_places_; }

private:
    yaml_reader& reader() const { return m_.reader(); }

    void read_deployment()
    {
        const auto node = m_.find("deployment");
        if (!node) {
            return;
        }
        const yaml_map d{reader(), *node, m_.path_of("deployment"), {"id", "status", "image"}};
        auto id = required<std::string>(d, "id", word("a deployment id"));
        auto status = required<std::string>(d, "status", parse_deployment_status);
        auto image = d.value<std::string>("image", parse_text);
        if (id && status) {
            app_.deployment = app_deployment{*std::move(id), *std::move(status), image.value_or("")};
        }
    }

    void read_domains()
    {
        for_each_item(m_, "domains", [&](const YAML::Node& node, const std::string& path) {
            app_domain domain;
            std::optional<std::string> name;
            if (node.IsScalar()) {
                name = m_.parse_node<std::string>(node, path, parse_host);
            } else if (!node.IsMap()) {
                reader().error(node.IsNull() ? m_.mark_of("domains") : node.Mark(), path,
                               "a domain is a host name or a mapping {name, certificate, canonical}");
                return;
            } else {
                const yaml_map d{reader(), node, path, {"name", "certificate", "canonical"}};
                name = required<std::string>(d, "name", parse_host);
                domain.canonical = d.value<bool>("canonical", parse_bool).value_or(false);
                if (const auto cert = d.find("certificate")) {
                    const yaml_map c{reader(), *cert, d.path_of("certificate"), {"subject", "not_after"}};
                    auto subject = c.value<std::string>("subject", parse_text);
                    auto not_after = required<std::chrono::sys_seconds>(c, "not_after", parse_rfc3339);
                    if (not_after) {
                        domain.certificate = domain_certificate{subject.value_or(""), *not_after};
                    }
                }
            }
            if (!name) {
                return;
            }
            domain.name = *std::move(name);
            const auto same = std::find_if(app_.domains.begin(), app_.domains.end(),
                                           [&](const app_domain& d) { return d.name == domain.name; });
            if (same != app_.domains.end()) {
                reader().error(node.Mark(), path, config::quoted(domain.name) + " is listed twice");
                return;
            }
            app_.domains.push_back(std::move(domain));
            domain_places_.emplace_back(node.Mark(), path);
        });
        const auto canonical = std::count_if(app_.domains.begin(), app_.domains.end(), [](const app_domain& d) { return d.canonical; });
        if (canonical > 1) {
            reader().error(m_.mark_of("domains"), m_.path_of("domains"), "only one domain can be canonical");
        }
    }

    void read_env()
    {
        const auto node = m_.find("env");
        if (!node) {
            return;
        }
        const std::string path = m_.path_of("env");
        const auto entries = yaml_entries(reader(), *node, path, m_.mark_of("env"));
        if (!entries) {
            return;
        }
        for (const yaml_entry& e : *entries) {
            const std::string key_path = path + "." + printable(e.key);
            auto name = parse_env_name(e.key);
            if (!name) {
                reader().error(e.key_mark, key_path, name.error());
                continue;
            }
            auto value = m_.scalar_of(e.value, key_path, e.value.IsNull() ? e.key_mark : e.value.Mark());
            if (!value) {
                continue;
            }
            if (value->size() > max_env_value) {
                reader().error(e.value.Mark(), key_path, "a value has at most 8192 bytes");
                continue;
            }
            app_.env.emplace(*std::move(name), *std::move(value));
        }
    }

    void read_formation()
    {
        for_each_item(m_, "formation", [&](const YAML::Node& node, const std::string& path) {
            const yaml_map f{reader(), node, path, {"name", "amount", "size"}};
            auto name = required<std::string>(f, "name", word("a container type"));
            auto amount = required<unsigned>(f, "amount", [](std::string_view t) { return parse_count(t, 0, max_amount); });
            auto size = f.value<std::string>("size", word("a container size"));
            if (!name || !amount) {
                return;
            }
            if (find_container(*name)) {
                reader().error(f.mark_of("name"), f.path_of("name"), "container type " + config::quoted(*name) + " is listed twice");
                return;
            }
            app_.formation.push_back({*std::move(name), *amount, size.value_or("M")});
        });
    }

    void read_collaborators()
    {
        for_each_item(m_, "collaborators", [&](const YAML::Node& node, const std::string& path) {
            const yaml_map c{reader(), node, path, {"email", "status", "is_limited"}};
            auto email = required<std::string>(c, "email", parse_email);
            auto status = c.value<app_collaborator::state>("status", parse_collaborator_status);
            auto limited = c.value<bool>("is_limited", parse_bool);
            if (!email) {
                return;
            }
            const std::string key = lowercase(*email);
            const bool twice = std::any_of(app_.collaborators.begin(), app_.collaborators.end(),
                                           [&](const app_collaborator& other) { return lowercase(other.email) == key; });
            if (twice) {
                reader().error(c.mark_of("email"), c.path_of("email"), config::quoted(*email) + " is listed twice");
                return;
            }
            app_.collaborators.push_back(
                {*std::move(email), status.value_or(app_collaborator::state::accepted), limited.value_or(false)});
        });
    }

    void read_addons()
    {
        for_each_item(m_, "addons", [&](const YAML::Node& node, const std::string& path) {
            const yaml_map a{reader(), node, path, {"provider", "plan", "version", "url"}};
            auto provider = required<std::string>(a, "provider", word("a provider"));
            auto plan = required<std::string>(a, "plan", word("a plan"));
            auto version = a.value<std::string>("version", word("a version"));
            // The local driver copies a PostgreSQL addon's data from this URL.
            const bool postgresql = provider && *provider == "postgresql";
            auto url = postgresql ? required<std::string>(a, "url", parse_postgresql_url)
                                  : a.value<std::string>("url", parse_url);
            if (!provider || !plan || (postgresql && !url)) {
                return;
            }
            const bool twice = std::any_of(app_.addons.begin(), app_.addons.end(),
                                           [&](const app_addon& other) { return other.provider == *provider; });
            if (twice) {
                reader().error(a.mark_of("provider"), a.path_of("provider"),
                               "an app has one addon of each provider; " + config::quoted(*provider) + " is listed twice");
                return;
            }
            app_.addons.push_back({*std::move(provider), *std::move(plan), version.value_or(""), url.value_or("")});
        });
    }

    void read_settings()
    {
        const auto node = m_.find("settings");
        if (!node) {
            return;
        }
        const yaml_map s{reader(), *node, m_.path_of("settings"), {"force_https", "sticky_session", "router_logs"}};
        app_.settings.force_https = s.value<bool>("force_https", parse_bool).value_or(false);
        app_.settings.sticky_session = s.value<bool>("sticky_session", parse_bool).value_or(false);
        app_.settings.router_logs = s.value<bool>("router_logs", parse_bool).value_or(false);
    }

    void read_scm()
    {
        const auto node = m_.find("scm");
        if (!node) {
            return;
        }
        const yaml_map s{reader(), *node, m_.path_of("scm"), {"type", "repo", "branch", "auto_deploy"}};
        auto type = required<std::string>(s, "type", word("an SCM type"));
        auto repo = required<std::string>(s, "repo", parse_repo);
        auto branch = s.value<std::string>("branch", parse_text);
        auto auto_deploy = s.value<bool>("auto_deploy", parse_bool);
        if (type && repo) {
            app_.scm = scm_link{*std::move(type), *std::move(repo), branch.value_or(""), auto_deploy.value_or(false)};
        }
    }

    void read_notifiers()
    {
        for_each_item(m_, "notifiers", [&](const YAML::Node& node, const std::string& path) {
            const yaml_map n{reader(), node, path, {"name", "platform", "active", "events"}};
            auto name = required<std::string>(n, "name", parse_text);
            auto platform = required<std::string>(n, "platform", word("a notification platform"));
            auto active = n.value<bool>("active", parse_bool);
            std::vector<std::string> events;
            for_each_item(n, "events", [&](const YAML::Node& e, const std::string& event_path) {
                if (auto event = n.parse_node<std::string>(e, event_path, word("an event"))) {
                    events.push_back(*std::move(event));
                }
            });
            if (!name || !platform) {
                return;
            }
            const bool twice = std::any_of(app_.notifiers.begin(), app_.notifiers.end(),
                                           [&](const app_notifier& other) { return other.name == *name; });
            if (twice) {
                reader().error(n.mark_of("name"), n.path_of("name"), "notifier " + config::quoted(*name) + " is listed twice");
                return;
            }
            app_.notifiers.push_back({*std::move(name), *std::move(platform), active.value_or(true), std::move(events)});
        });
    }

    // Alerts and autoscalers watch a container type of the formation
    // (reference/migration-flow.md §2: "container_type must exist in the formation").
    std::optional<std::string> container_type(const yaml_map& m)
    {
        auto type = required<std::string>(m, "container_type", word("a container type"));
        if (type && !find_container(*type)) {
            reader().error(m.mark_of("container_type"), m.path_of("container_type"),
                           "the formation has no container type " + config::quoted(*type));
            return std::nullopt;
        }
        return type;
    }

    void read_alerts()
    {
        for_each_item(m_, "alerts", [&](const YAML::Node& node, const std::string& path) {
            const yaml_map a{reader(), node, path, {"container_type", "metric", "limit", "send_when_below", "notifiers"}};
            auto type = container_type(a);
            auto metric = required<std::string>(a, "metric", word("a metric"));
            auto limit = required<double>(a, "limit", parse_number);
            auto below = a.value<bool>("send_when_below", parse_bool);
            std::vector<std::string> notifiers;
            bool notifiers_ok = true;
            for_each_item(a, "notifiers", [&](const YAML::Node& n, const std::string& notifier_path) {
                auto name = a.parse_node<std::string>(n, notifier_path, parse_text);
                if (!name) {
                    notifiers_ok = false;
                    return;
                }
                const bool known = std::any_of(app_.notifiers.begin(), app_.notifiers.end(),
                                               [&](const app_notifier& k) { return k.name == *name; });
                if (!known) {
                    reader().error(n.Mark(), notifier_path, "the app has no notifier " + config::quoted(*name));
                    notifiers_ok = false;
                    return;
                }
                notifiers.push_back(*std::move(name));
            });
            if (type && metric && limit && notifiers_ok) {
                app_.alerts.push_back({*std::move(type), *std::move(metric), *limit, below.value_or(false), std::move(notifiers)});
            }
        });
    }

    void read_autoscalers()
    {
        for_each_item(m_, "autoscalers", [&](const YAML::Node& node, const std::string& path) {
            const yaml_map a{reader(), node, path, {"container_type", "min", "max", "metric", "target", "disabled"}};
            const auto count = [](std::string_view t) { return parse_count(t, 1, max_autoscaled); };
            auto type = container_type(a);
            auto min = required<unsigned>(a, "min", count);
            auto max = required<unsigned>(a, "max", count);
            auto metric = required<std::string>(a, "metric", word("a metric"));
            auto target = required<double>(a, "target", parse_number);
            auto disabled = a.value<bool>("disabled", parse_bool);
            if (min && max && *min > *max) {
                reader().error(a.mark_of("max"), a.path_of("max"),
                               "is " + std::to_string(*max) + ", below min (" + std::to_string(*min) + ")");
                return;
            }
            if (!type || !min || !max || !metric || !target) {
                return;
            }
            const bool twice = std::any_of(app_.autoscalers.begin(), app_.autoscalers.end(),
                                           [&](const app_autoscaler& other) { return other.container_type == *type; });
            if (twice) {
                reader().error(a.mark_of("container_type"), a.path_of("container_type"),
                               "container type " + config::quoted(*type) + " already has an autoscaler");
                return;
            }
            app_.autoscalers.push_back({*std::move(type), *min, *max, *std::move(metric), *target, disabled.value_or(false)});
        });
    }

    void read_log_drains()
    {
        for_each_item(m_, "log_drains", [&](const YAML::Node& node, const std::string& path) {
            const yaml_map d{reader(), node, path, {"url"}};
            auto url = required<std::string>(d, "url", parse_url);
            if (!url) {
                return;
            }
            // The drain URL is its natural key (reference/migration-flow.md §2).
            const bool twice = std::any_of(app_.log_drains.begin(), app_.log_drains.end(),
                                           [&](const log_drain& other) { return other.url == *url; });
            if (twice) {
                reader().error(d.mark_of("url"), d.path_of("url"), "this drain URL is listed twice");
                return;
            }
            app_.log_drains.push_back({*std::move(url)});
        });
    }

    bool find_container(std::string_view name) const
    {
        return std::any_of(app_.formation.begin(), app_.formation.end(),
                           [&](const container_formation& f) { return f.name == name; });
    }

    yaml_map m_;
    inventory_app app_;
    std::vector<std::pair<YAML::Mark, std::string>> domain_places_;
};

} // namespace

parsed<std::string> parse_app_name(std::string_view text)
{
    if (text.size() < 3 || text.size() > 48) {
        return invalid{"an app name has 3 to 48 characters, not " + std::to_string(text.size())};
    }
    for (char c : text) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return invalid{"an app name has only lowercase letters, digits and '-', not " + config::quoted(text)};
        }
    }
    if (text.front() == '-' || text.back() == '-' || text.find("--") != std::string_view::npos) {
        return invalid{"an app name does not start or end with '-' and has no \"--\", unlike " + config::quoted(text)};
    }
    return std::string{text};
}

inventory parse_inventory(std::string_view yaml, const fs::path& file_name, const inventory_options& options)
{
    yaml_reader reader{file_name.string()};
    const YAML::Node root = reader.load_mapping(yaml, "the inventory is empty");

    inventory inv;
    inv.source = fs::absolute(file_name).lexically_normal();
    const yaml_map top{reader, root, "", {"apps"}};
    if (!top.find("apps")) {
        top.missing("apps");
    }
    std::map<std::pair<std::string, std::string>, std::string> apps;  // (region, name) -> path
    std::map<std::string, std::string> domains;                        // domain -> path
    for_each_item(top, "apps", [&](const YAML::Node& node, const std::string& path) {
        app_reader r{reader, node, path};
        auto app = r.read();
        if (!app) {
            return;
        }
        bool ok = true;
        const auto& known = options.known_regions;
        if (!known.empty() && std::find(known.begin(), known.end(), app->region) == known.end()) {
            std::string list;
            for (const std::string& k : known) {
                list += (list.empty() ? "" : ", ") + k;
            }
            reader.error(r.map().mark_of("region"), r.map().path_of("region"),
                         "the control configuration has no region " + config::quoted(app->region) + " (it has " + list + ")");
            ok = false;
        }
        auto [it, inserted] = apps.emplace(std::pair{app->region, app->name}, path);
        if (!inserted) {
            reader.error(r.map().mark_of("name"), r.map().path_of("name"),
                         "app " + config::quoted(app->name) + " is already in region " + app->region + " (" + it->second + ")");
            ok = false;
        }
        // A host routes to one app: two apps claiming it is a mistake in the inventory.
        for (std::size_t i = 0; i < app->domains.size(); ++i) {
            auto [d, fresh] = domains.emplace(app->domains[i].name, path + " (" + app->name + ")");
            if (!fresh) {
                reader.error(r.domain_places()[i].first, r.domain_places()[i].second,
                             config::quoted(app->domains[i].name) + " is already a domain of " + d->second);
                ok = false;
            }
        }
        if (ok) {
            inv.apps.push_back(*std::move(app));
        }
    });

    reader.throw_if_failed();
    return inv;
}

inventory load_inventory(const fs::path& file, const inventory_options& options)
{
    return parse_inventory(read_config_file(file), file, options);
}

} // namespace stork::config
