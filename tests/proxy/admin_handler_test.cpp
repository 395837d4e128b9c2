#include "proxy/admin_handler.hpp"

#include <gtest/gtest.h>

namespace stork::proxy {
namespace {

constexpr std::string_view token = "0123456789abcdef0123456789abcdef";

admin_context context(bool serving = true)
{
    return admin_context{token, serving, [] { return std::string{"stork_workers 2\n"}; }};
}

admin_response call(std::string_view method, std::string_view target, std::string_view authorization = {},
                    bool serving = true)
{
    return handle_admin_request(admin_request{method, target, authorization, {}}, context(serving));
}

std::string header(const admin_response& r, std::string_view name)
{
    for (const auto& [n, v] : r.headers) {
        if (n == name) {
            return v;
        }
    }
    return {};
}

TEST(admin_handler, healthz_without_token)
{
    EXPECT_EQ(call("GET", "/healthz").status, 200u);
    EXPECT_EQ(call("GET", "/healthz").body, "ok\n");
    EXPECT_EQ(call("HEAD", "/healthz?probe=1").status, 200u);
    EXPECT_EQ(call("GET", "/healthz", {}, false).status, 503u);
    const auto r = call("POST", "/healthz");
    EXPECT_EQ(r.status, 405u);
    EXPECT_EQ(header(r, "Allow"), "GET, HEAD");
}

TEST(admin_handler, metrics_in_prometheus_format)
{
    const auto r = call("GET", "/metrics");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(r.body, "stork_workers 2\n");
    EXPECT_EQ(call("DELETE", "/metrics").status, 405u);
}

TEST(admin_handler, v1_needs_the_bearer_token)
{
    const struct {
        const char* authorization;
        unsigned status;
    } cases[] = {
        {"", 401},
        {"Bearer", 401},
        {"Bearer ", 401},
        {"Bearer wrong", 401},
        {"Bearer 0123456789abcdef0123456789abcde", 401},   // a prefix
        {"Bearer 0123456789abcdef0123456789abcdef0", 401}, // longer
        {"Basic MDEyMzQ1Njc4OWFiY2RlZg==", 401},
        {"0123456789abcdef0123456789abcdef", 401},
        {"Bearer 0123456789abcdef0123456789abcdef", 404},  // authorised; no such endpoint yet
        {"bearer 0123456789abcdef0123456789abcdef", 404},  // the scheme is case-insensitive
        {"BEARER   0123456789abcdef0123456789abcdef ", 404},
    };
    for (const auto& c : cases) {
        const auto r = call("GET", "/v1/rules", c.authorization);
        EXPECT_EQ(r.status, c.status) << "\"" << c.authorization << "\"";
        EXPECT_EQ(r.content_type, "application/json");
        if (c.status == 401) {
            EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer realm=\"storkd\"");
            EXPECT_EQ(r.body, "{\"error\":\"missing or wrong bearer token\"}\n");
        }
    }
    EXPECT_EQ(call("PUT", "/v1", "").status, 401u);
}

TEST(admin_handler, authorised_v1_calls_go_to_the_v1_handler)
{
    admin_context c = context();
    c.v1 = [](const admin_request& r) -> std::optional<admin_response> {
        if (r.target == "/v1/rules") {
            return admin_response{200, "application/json", std::string{r.method} + " " + std::string{r.body}, {}};
        }
        return std::nullopt;
    };
    const auto ok = handle_admin_request(admin_request{"PUT", "/v1/rules", "Bearer " + std::string{token}, "{}"}, c);
    EXPECT_EQ(ok.status, 200u);
    EXPECT_EQ(ok.body, "PUT {}");
    EXPECT_EQ(handle_admin_request(admin_request{"GET", "/v1/other", "Bearer " + std::string{token}, {}}, c).status, 404u);
    // Without the token the handler is never asked.
    EXPECT_EQ(handle_admin_request(admin_request{"PUT", "/v1/rules", {}, "{}"}, c).status, 401u);
}

TEST(admin_handler, the_async_v1_handler_is_asked_first_and_only_with_the_token)
{
    int async_asked = 0;
    admin_context c = context();
    c.v1 = [](const admin_request&) -> std::optional<admin_response> {
        return admin_response{200, "application/json", "sync", {}};
    };
    c.v1_async = [&async_asked](const admin_request& r) -> std::optional<admin_answer> {
        ++async_asked;
        if (r.target.starts_with("/v1/dns/")) {
            return admin_response{200, "application/json", "async", {}};
        }
        return std::nullopt;
    };
    const auto body = [](admin_answer a) {
        return std::get<admin_response>(std::move(a)).body;
    };
    const std::string bearer = "Bearer " + std::string{token};
    EXPECT_EQ(body(answer_admin_request(admin_request{"GET", "/v1/dns/check?host=a", bearer, {}}, c)), "async");
    EXPECT_EQ(body(answer_admin_request(admin_request{"GET", "/v1/rules", bearer, {}}, c)), "sync");
    EXPECT_EQ(async_asked, 2);

    // The same 401 as every /v1 call, and the handler is never asked.
    for (const char* wrong : {"", "Bearer nope", "Basic abc"}) {
        const auto refused = std::get<admin_response>(answer_admin_request(admin_request{"GET", "/v1/dns/report", wrong, {}}, c));
        EXPECT_EQ(refused.status, 401u);
        EXPECT_EQ(header(refused, "WWW-Authenticate"), "Bearer realm=\"storkd\"");
    }
    // Outside /v1 it is never asked either.
    EXPECT_EQ(std::get<admin_response>(answer_admin_request(admin_request{"GET", "/healthz", {}, {}}, c)).status, 200u);
    EXPECT_EQ(async_asked, 2);

    // A deferred answer is passed on as it is, not run.
    c.v1_async = [](const admin_request&) -> std::optional<admin_answer> {
        return admin_answer{[]() -> admin_deferred { co_return admin_response{}; }()};
    };
    EXPECT_TRUE(std::holds_alternative<admin_deferred>(answer_admin_request(admin_request{"GET", "/v1/dns/report", bearer, {}}, c)));
}

TEST(admin_handler, empty_expected_token_never_matches)
{
    EXPECT_FALSE(bearer_token_matches("Bearer ", ""));
    EXPECT_FALSE(bearer_token_matches("Bearer x", ""));
}

TEST(admin_handler, unknown_paths_are_404)
{
    EXPECT_EQ(call("GET", "/").status, 404u);
    EXPECT_EQ(call("GET", "/v2/rules").status, 404u);
    EXPECT_EQ(call("GET", "/healthz/x").status, 404u);
    EXPECT_EQ(call("GET", "/v1x").status, 404u);
}

} // namespace
} // namespace stork::proxy
