#include "proxy/admin_handler.hpp"

#include "proxy/metrics.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

namespace stork::proxy {

namespace {

admin_response method_not_allowed(std::string_view allow)
{
    admin_response r{405, "text/plain; charset=utf-8", "method not allowed\n", {}};
    r.headers.emplace_back("Allow", std::string{allow});
    return r;
}

bool is_get(std::string_view method)
{
    return method == "GET" || method == "HEAD";
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool is_v1(std::string_view path)
{
    return path == "/v1" || path.starts_with("/v1/");
}

admin_response unauthorised()
{
    admin_response r = routing::json_error(401, "missing or wrong bearer token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"storkd\"");
    return r;
}

// An authorised /v1/* call, answered now.
admin_response v1_now(const admin_request& request, const admin_context& context)
{
    if (context.v1) {
        if (auto answer = context.v1(request)) {
            return *std::move(answer);
        }
    }
    return routing::json_error(404, "no such endpoint");
}

std::string_view path_of(std::string_view target)
{
    return target.substr(0, target.find('?'));
}

} // namespace

bool bearer_token_matches(std::string_view authorization, std::string_view expected)
{
    constexpr std::string_view scheme = "bearer ";
    if (expected.empty() || authorization.size() <= scheme.size() ||
        !iequals(authorization.substr(0, scheme.size()), scheme)) {
        return false;
    }
    std::string_view given = authorization.substr(scheme.size());
    while (!given.empty() && given.front() == ' ') {
        given.remove_prefix(1);
    }
    while (!given.empty() && given.back() == ' ') {
        given.remove_suffix(1);
    }
    // Hash both sides first: the comparison then runs over 32 bytes whatever the lengths,
    // and neither the length nor a prefix of the token leaks through timing.
    unsigned char a[SHA256_DIGEST_LENGTH];
    unsigned char b[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
    SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

admin_response handle_admin_request(const admin_request& request, const admin_context& context)
{
    const std::string_view path = path_of(request.target);

    if (path == "/healthz") {
        if (!is_get(request.method)) {
            return method_not_allowed("GET, HEAD");
        }
        if (!context.serving) {
            return {503, "text/plain; charset=utf-8", "draining\n", {}};
        }
        return {200, "text/plain; charset=utf-8", "ok\n", {}};
    }
    if (path == "/metrics") {
        if (!is_get(request.method)) {
            return method_not_allowed("GET, HEAD");
        }
        return {200, prometheus_content_type, context.metrics ? context.metrics() : std::string{}, {}};
    }
    if (is_v1(path)) {
        if (!bearer_token_matches(request.authorization, context.token)) {
            return unauthorised();
        }
        return v1_now(request, context);
    }
    return {404, "text/plain; charset=utf-8", "not found\n", {}};
}

admin_answer answer_admin_request(const admin_request& request, const admin_context& context)
{
    if (!is_v1(path_of(request.target)) || !context.v1_async) {
        return handle_admin_request(request, context);
    }
    if (!bearer_token_matches(request.authorization, context.token)) {
        return unauthorised();
    }
    if (auto answer = context.v1_async(request)) {
        return *std::move(answer);
    }
    return v1_now(request, context);
}

} // namespace stork::proxy
