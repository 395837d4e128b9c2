#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

// What finalize asks of the source region's front servers (design.md §2 "A redirect
// rule", §5): install the rules that carry the old hosts' traffic to the new region, and
// remove them again on abort. The port keeps the flow free of HTTP; control/ implements
// it with the storkd admin API on every front server of the region.
namespace stork::migrate {

struct redirect_rule {
    std::string host{};                     // "my-app.example.com"
    std::string target{};                   // "my-app.osc-secnum-fr1.scalingo.io"
    std::string mode{"proxy"};              // "proxy" | "redirect"
    std::optional<std::string> upstream{};  // "host:port"; absent: the front resolves target
    bool preserve_host = true;
    std::chrono::sys_seconds expires_at{};
    std::string app{};                      // labels: the source app and the migration
    std::string migration{};
    friend bool operator==(const redirect_rule&, const redirect_rule&) = default;
};

// A front server that failed or refused; the message names the server and what it said.
struct front_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class front_servers {
public:
    virtual ~front_servers() = default;

    // How many servers a change goes to (0: the region has none).
    virtual std::size_t size() const = 0;
    // Installs (creates or replaces) the rule on every server; returns when each has it
    // stored durably, or throws front_error naming the servers that do not.
    virtual void install(const redirect_rule& rule) = 0;
    // Removes the rule for `host` from every server if it is the one `migration` installed
    // (a rule someone else put there since is left alone); absent counts as removed.
    virtual void remove(std::string_view host, std::string_view migration) = 0;
};

} // namespace stork::migrate
