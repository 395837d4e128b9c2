#pragma once

#include "control/admin_access.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <variant>

// A blocking client of the storkd admin API (design.md §2): one HTTP/1.1 request per
// connection, bounded in time. Blocking is right for a CLI that makes one call and
// exits; the asynchronous machinery stays inside, where it gives the timeouts.
namespace stork::control {

struct admin_timeouts {
    // Name resolution and TCP connection together. Shorter than the whole exchange, so
    // that a firewall that drops SYNs is reported as "cannot reach" and not as a slow
    // storkd.
    std::chrono::milliseconds connect = std::chrono::seconds{5};
    // From the start of the call to the last byte of the answer.
    std::chrono::milliseconds total = std::chrono::seconds{10};
};

enum class admin_method { get, put, del };

// An HTTP answer, whatever its status: what a status means is the command's business.
struct admin_reply {
    unsigned status = 0;
    std::string reason{};  // "Not Found"; the standard phrase when the server sent none
    std::string body{};
};

// No HTTP answer came. `message` is one line for the operator that names the URL, e.g.
// "cannot reach the admin API at http://127.0.0.1:9180: Connection refused — is storkd running?"
struct admin_unreachable {
    std::string message{};
};

using admin_outcome = std::variant<admin_reply, admin_unreachable>;

class admin_client {
public:
    explicit admin_client(admin_access access, admin_timeouts timeouts = {});

    // `target` is origin-form ("/v1/rules?app=my-app"), already percent-encoded. A PUT
    // sends `body` as application/json. Throws only on failures of the process itself
    // (memory); network failures come back as admin_unreachable.
    admin_outcome send(admin_method method, const std::string& target, const std::string& body = {}) const;

    const admin_url& url() const noexcept { return access_.url; }

private:
    admin_access access_;
    admin_timeouts timeouts_;
};

// RFC 3986 §2.1: every byte but the unreserved ones (ALPHA DIGIT - . _ ~) as %XX, so a
// value can go in a path segment or a query parameter. "*.example.com" becomes
// "%2A.example.com".
std::string percent_encode(std::string_view text);

} // namespace stork::control
