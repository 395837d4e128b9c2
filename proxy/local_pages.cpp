#include "proxy/local_pages.hpp"

#include <charconv>

namespace stork::proxy {

void append_number(std::string& out, std::uint64_t n)
{
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, r.ptr);
}

namespace {

void append_html(std::string& out, std::string_view text)
{
    for (const char c : text) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
}

} // namespace

std::string_view reason_phrase(unsigned status) noexcept
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

void render_response(std::string& out, unsigned status, std::string_view reason, std::string_view extra_headers,
                     std::string_view content_type, std::string_view body, bool close)
{
    out.clear();
    out += "HTTP/1.1 ";
    append_number(out, status);
    out += ' ';
    out += reason;
    out += "\r\n";
    if (!content_type.empty()) {
        out += "Content-Type: ";
        out += content_type;
        out += "\r\n";
    }
    out += "Content-Length: ";
    append_number(out, body.size());
    out += "\r\n";
    out += extra_headers;
    if (close) {
        out += "Connection: close\r\n";
    }
    out += "\r\n";
    out += body;
}

std::string expired_page(std::string_view host, std::string_view target)
{
    std::string page;
    page.reserve(512);
    page += "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>";
    append_html(page, host);
    page += " has moved</title></head>\n<body><h1>This application has moved</h1>\n<p>";
    append_html(page, host);
    page += " is now served by <b>";
    append_html(page, target);
    page += "</b>, and the temporary redirection from its old region has ended.</p>\n"
            "<p>The owner of the domain must now change its DNS record: <b>";
    append_html(page, host);
    page += "</b> must point to <b>";
    append_html(page, target);
    page += "</b> (a CNAME record to ";
    append_html(page, target);
    page += ").</p>\n</body></html>\n";
    return page;
}

std::string redirect_location(std::string_view target, std::string_view request_target)
{
    std::string_view path = request_target;
    if (path == "*") {
        path = "/";
    } else if (!path.empty() && path.front() != '/') {
        // absolute-form: drop "scheme://authority"
        const auto scheme_end = path.find("://");
        if (scheme_end != std::string_view::npos) {
            const auto slash = path.find('/', scheme_end + 3);
            const auto query = path.find('?', scheme_end + 3);
            if (slash != std::string_view::npos && (query == std::string_view::npos || slash < query)) {
                path.remove_prefix(slash);
            } else if (query != std::string_view::npos) {
                path = path.substr(query);
            } else {
                path = "/";
            }
        } else {
            path = "/";
        }
    }
    std::string location;
    location.reserve(8 + target.size() + path.size() + 1);
    location += "https://";
    location += target;
    if (path.empty() || path.front() != '/') {
        location += '/';
    }
    location += path;
    return location;
}

void append_field(std::string& out, std::string_view name, std::string_view value)
{
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
}

} // namespace stork::proxy
