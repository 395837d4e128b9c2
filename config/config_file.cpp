#include "config/config_file.hpp"

#include "config/diagnostic.hpp"
#include "config/printable.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace stork::config {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t min_token_bytes = 16;

const endpoint_rules resolver_rules{.require_ip = true, .allow_port_zero = false, .default_port = 53};

} // namespace

std::optional<std::string> read_small_file(const fs::path& path, std::string* why)
{
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        *why = "cannot read " + path.string() + ": it is a folder";
        return std::nullopt;
    }
    std::ifstream in{path, std::ios::binary};
    if (!in) {
        *why = "cannot read " + path.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string read_config_file(const fs::path& path)
{
    std::string why;
    auto text = read_small_file(path, &why);
    if (!text) {
        throw config_error{{diagnostic{path.string(), 0, 0, "", why}}};
    }
    return *std::move(text);
}

parsed<fs::path> path_resolver::operator()(std::string_view text) const
{
    if (text.empty()) {
        return invalid{"empty path"};
    }
    if (text.find('\0') != std::string_view::npos) {
        return invalid{"path with a NUL byte"};
    }
    fs::path p{std::string{text}};
    return (p.is_absolute() ? p : base_ / p).lexically_normal();
}

parsed<std::string> read_token_file(const fs::path& path)
{
    std::string why;
    auto text = read_small_file(path, &why);
    if (!text) {
        return invalid{why};
    }
    const auto first = text->find_first_not_of(" \t\r\n");
    const auto last = text->find_last_not_of(" \t\r\n");
    std::string token = first == std::string::npos ? "" : text->substr(first, last - first + 1);
    if (token.size() < min_token_bytes) {
        return invalid{path.string() + " holds a token of " + std::to_string(token.size()) + " bytes; use at least " +
                       std::to_string(min_token_bytes) + " (e.g. openssl rand -hex 32)"};
    }
    for (unsigned char ch : token) {
        if (ch <= 0x20 || ch >= 0x7f) {
            return invalid{path.string() + " must hold one token of printable ASCII, without spaces"};
        }
    }
    return token;
}

parsed<bool> parse_bool(std::string_view text)
{
    if (text == "true") {
        return true;
    }
    if (text == "false") {
        return false;
    }
    return invalid{"must be true or false, not " + quoted(text)};
}

parsed<std::string> parse_word(std::string_view text, std::string_view what)
{
    if (text.empty() || text.size() > 64) {
        return invalid{std::string{what} + " has 1 to 64 characters"};
    }
    for (char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_' || c == '.';
        if (!ok) {
            return invalid{std::string{what} + " has only letters, digits, '-', '_' and '.', not " + quoted(text)};
        }
    }
    return std::string{text};
}

void read_dns_section(const yaml_map& root, dns_config& dns)
{
    dns.system_resolvers = true;
    const auto node = root.find("dns");
    if (!node) {
        return;
    }
    const yaml_map m{root.reader(), *node, "dns", {"resolvers"}};
    const auto items = m.sequence("resolvers");
    if (!items) {
        return;
    }
    dns.system_resolvers = false;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const std::string path = "dns.resolvers[" + std::to_string(i) + "]";
        auto text = m.scalar_of((*items)[i], path);
        if (!text) {
            continue;
        }
        if (*text == "system") {
            dns.system_resolvers = true;
            continue;
        }
        auto e = parse_endpoint(*text, resolver_rules);
        if (!e) {
            m.reader().error((*items)[i].Mark(), path, "\"system\" or IP[:PORT]: " + e.error());
            continue;
        }
        dns.resolvers.push_back(std::move(*e));
    }
    if (items->empty()) {
        m.reader().error(m.mark_of("resolvers"), "dns.resolvers", "needs at least one entry (\"system\" or IP[:PORT])");
    }
}

} // namespace stork::config
