#pragma once

#include "routing/rules_api.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace stork::proxy {

// The admin API's requests and answers as plain data, so the routes are tested without
// sockets (admin_server owns the sockets and the HTTP/1.1 framing).
struct admin_request {
    std::string_view method;
    std::string_view target;        // origin-form: path and optional query
    std::string_view authorization; // the Authorization header, empty when absent
    std::string_view body;
};

using admin_response = routing::api_response;

// An answer that takes a while (a DNS check asks real servers): a coroutine that the admin
// server awaits on the connection's own coroutine, so the control thread goes on serving
// other requests (and storkd's signals) meanwhile.
using admin_deferred = boost::asio::awaitable<admin_response>;

// What a request gets: the answer now, or one to await.
using admin_answer = std::variant<admin_response, admin_deferred>;

struct admin_context {
    std::string_view token;                // the Bearer token every /v1/* call needs
    bool serving = true;                   // false while draining: /healthz says 503
    std::function<std::string()> metrics;  // the Prometheus text of /metrics
    // An authorised /v1/* call (routing::rules_api and friends); nothing: no such endpoint.
    std::function<std::optional<admin_response>(const admin_request&)> v1{};
    // An authorised /v1/* call that may answer later (GET /v1/dns/*), asked before v1;
    // nothing: not one of its endpoints. A deferred answer must not keep views into the
    // request: take what it needs by value.
    std::function<std::optional<admin_answer>(const admin_request&)> v1_async{};
};

// GET /healthz (no token), GET /metrics (no token, like every Prometheus target),
// /v1/* (Bearer token; 401 without it). design.md §2 "Admin API".
// Never asks v1_async.
admin_response handle_admin_request(const admin_request& request, const admin_context& context);

// The admin server's entry point: handle_admin_request's routes, and v1_async first for
// authorised /v1/* calls. The token is checked before either, in the same way.
admin_answer answer_admin_request(const admin_request& request, const admin_context& context);

// The token in an "Authorization: Bearer <token>" header equals `expected`. The scheme is
// case-insensitive (RFC 9110 §11.1); the comparison takes the same time wherever the
// first difference is, so the token cannot be guessed byte by byte.
bool bearer_token_matches(std::string_view authorization, std::string_view expected);

} // namespace stork::proxy
