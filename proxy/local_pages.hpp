#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// The answers storkd gives itself rather than an upstream: short, plain, and precise
// about what happened, because the person reading them is usually debugging DNS.
namespace stork::proxy {

// A complete response (head and body). `close`: adds "Connection: close".
// `extra_headers`: zero or more "Name: value\r\n" lines.
void render_response(std::string& out, unsigned status, std::string_view reason, std::string_view extra_headers,
                     std::string_view content_type, std::string_view body, bool close);

// The 503 page of an expired rule: the application moved to `target`, and the DNS record
// of `host` must now point to it.
std::string expired_page(std::string_view host, std::string_view target);

// "https://<target><path and query of request_target>"; request_target may be in
// origin-form ("/a?b"), absolute-form ("http://h/a?b") or "*".
std::string redirect_location(std::string_view target, std::string_view request_target);

std::string_view reason_phrase(unsigned status) noexcept;

// Requests under this path of a migrated host go to the new region whatever the rule's
// mode, so it can obtain certificates before DNS changes (design.md §3).
inline constexpr std::string_view acme_challenge_prefix = "/.well-known/acme-challenge/";

// Appends "name: value\r\n".
void append_field(std::string& out, std::string_view name, std::string_view value);

// Appends `n` in decimal.
void append_number(std::string& out, std::uint64_t n);

} // namespace stork::proxy
