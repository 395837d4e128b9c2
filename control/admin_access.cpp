#include "control/admin_access.hpp"

#include "config/endpoint.hpp"
#include "config/printable.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace stork::control {

namespace {

// A token file is a few dozen bytes; anything this large was given by mistake (a key,
// a log), and reading it whole would only produce a worse message later.
constexpr std::size_t max_token_file_bytes = 64 * 1024;

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trimmed(std::string_view text)
{
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix)
{
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
}

// The token goes into "Authorization: Bearer <token>". RFC 6750 §2.1 allows only
// visible ASCII there; a CR or LF would even split the header. Refusing here gives a
// message about the token instead of a 400 or 401 from the server.
std::optional<std::string> token_problem(std::string_view token)
{
    for (const char c : token) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) {
            return "has a space, a control byte or a non-ASCII byte inside (a token is printable ASCII)";
        }
    }
    return std::nullopt;
}

config::parsed<std::string> read_token_file(const std::string& path)
{
    const std::string what = "--token-file " + config::quoted(path);
    std::ifstream in{path, std::ios::binary};
    if (!in) {
        return config::invalid{what + ": cannot read it (" + std::strerror(errno) + ")"};
    }
    std::string content;
    content.resize(max_token_file_bytes + 1);
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    if (in.bad()) {
        return config::invalid{what + ": cannot read it (" + std::strerror(errno) + ")"};
    }
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (content.size() > max_token_file_bytes) {
        return config::invalid{what + " is larger than 64 KiB: it does not hold a token"};
    }
    const std::string_view token = trimmed(content);
    if (token.empty()) {
        return config::invalid{what + " is empty: it should hold the admin API token"};
    }
    if (const auto problem = token_problem(token)) {
        return config::invalid{"the token in " + what + " " + *problem};
    }
    return std::string{token};
}

// An unset variable and an empty one mean the same: `STORK_TOKEN= stork ...` is how a
// shell user clears one for a single command.
std::optional<std::string> non_empty(const env_lookup& env, std::string_view name)
{
    auto value = env(name);
    if (value && value->empty()) {
        return std::nullopt;
    }
    return value;
}

} // namespace

env_lookup process_environment()
{
    return [](std::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string{name}.c_str());
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string{value};
    };
}

std::string admin_url::authority() const
{
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

config::parsed<admin_url> parse_admin_url(std::string_view text)
{
    const std::string shown = config::quoted(text);
    const std::size_t scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) {
        return config::invalid{shown + " is not a URL: write http://HOST:PORT, e.g. " + std::string{default_admin_url}};
    }
    if (!starts_with_ignoring_case(text, "http://")) {
        return config::invalid{shown + ": only http:// URLs are supported (the admin API speaks plain HTTP, on "
                                       "loopback or a private network)"};
    }
    std::string_view rest = text.substr(std::string_view{"http://"}.size());
    const std::size_t authority_end = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, authority_end);
    const std::string_view after = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos) {
        return config::invalid{shown + " has a user name or password: the token goes in --token-file or STORK_TOKEN"};
    }
    // The admin API's paths start at the root (/v1/..., /healthz), so a base path would
    // be silently dropped: refuse it rather than call a different URL than the one given.
    if (!after.empty() && after != "/") {
        return config::invalid{shown + " has a path, a query or a fragment: give only http://HOST:PORT"};
    }
    if (authority.empty()) {
        return config::invalid{shown + " has no host: write http://HOST:PORT"};
    }
    // RFC 3986 §3.2.2: an IPv6 address in a URL is always between brackets.
    if (authority.front() != '[' && std::count(authority.begin(), authority.end(), ':') > 1) {
        return config::invalid{shown + ": an IPv6 address goes between brackets in a URL, e.g. http://[::1]:9180"};
    }
    auto ep = config::parse_endpoint(authority, config::endpoint_rules{.default_port = 80});
    if (!ep) {
        return config::invalid{shown + ": " + ep.error()};
    }
    return admin_url{.text = std::string{text}, .host = ep->host, .port = ep->port, .host_is_ip = ep->is_ip};
}

config::parsed<admin_access> resolve_admin_access(const admin_options& options, const env_lookup& env)
{
    admin_access access;

    std::string url_text{default_admin_url};
    std::string url_source = "the default admin URL";
    if (options.url) {
        url_text = *options.url;
        url_source = "--admin";
    } else if (auto from_env = non_empty(env, "STORK_ADMIN")) {
        url_text = *std::move(from_env);
        url_source = "STORK_ADMIN";
    }
    auto url = parse_admin_url(url_text);
    if (!url) {
        return config::invalid{url_source + ": " + url.error()};
    }
    access.url = *std::move(url);

    if (options.token_file) {
        auto token = read_token_file(*options.token_file);
        if (!token) {
            return config::invalid{token.error()};
        }
        access.token = *std::move(token);
    } else if (auto from_env = non_empty(env, "STORK_TOKEN")) {
        // Trimmed like a file: `export STORK_TOKEN=$(cat f)` keeps no newline, but a
        // pasted token often carries a space.
        const std::string_view token = trimmed(*from_env);
        if (token.empty()) {
            return config::invalid{"STORK_TOKEN holds only spaces: it should hold the admin API token"};
        }
        if (const auto problem = token_problem(token)) {
            return config::invalid{"STORK_TOKEN " + *problem};
        }
        access.token = std::string{token};
    } else {
        return config::invalid{"no admin API token: give --token-file F (a file holding the token) or set "
                               "STORK_TOKEN to the token"};
    }
    return access;
}

} // namespace stork::control
