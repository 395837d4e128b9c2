#include "tests/support/origin_instance.hpp"

#include "tests/support/http_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <signal.h>

#include <cstdio>
#include <stdexcept>
#include <thread>

namespace stork::test {

std::string python3()
{
    return "/usr/bin/python3";
}

std::filesystem::path support_script(const std::string& name)
{
    return std::filesystem::path{STORK_SOURCE_DIR} / "tests" / "support" / name;
}

namespace {

constexpr auto poll_interval = std::chrono::milliseconds{10};

// "READY http=<port> ws=<port>[ https=<port>]\n" once the whole line is there; `https` is
// required when `tls`.
bool parse_ready(const std::string& out, bool tls, std::uint16_t& http, std::uint16_t& ws, std::uint16_t& https)
{
    const auto begin = out.find("READY ");
    if (begin == std::string::npos || out.find('\n', begin) == std::string::npos) {
        return false;
    }
    unsigned h = 0;
    unsigned w = 0;
    if (std::sscanf(out.c_str() + begin, "READY http=%u ws=%u", &h, &w) != 2 || h == 0 || h > 65535 || w == 0 ||
        w > 65535) {
        return false;
    }
    if (tls) {
        const auto at = out.find(" https=", begin);
        unsigned s = 0;
        if (at == std::string::npos || std::sscanf(out.c_str() + at, " https=%u", &s) != 1 || s == 0 || s > 65535) {
            return false;
        }
        https = static_cast<std::uint16_t>(s);
    }
    http = static_cast<std::uint16_t>(h);
    ws = static_cast<std::uint16_t>(w);
    return true;
}

std::vector<std::string> origin_argv(const origin_options& o)
{
    std::vector<std::string> argv{python3(), support_script("origin.py").string()};
    for (const auto& c : o.tls) {
        argv.insert(argv.end(), {"--tls-cert", c.server_name, c.crt.string(), c.key.string()});
    }
    return argv;
}

} // namespace

origin_instance::origin_instance() : origin_instance{origin_options{}} {}

origin_instance::origin_instance(const origin_options& options)
    : child_{origin_argv(options)}
{
    // The READY line is the origin's readiness signal: it is printed after both listeners
    // are bound. The child's stdout is a file, so it is polled, up to a deadline.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (!parse_ready(child_.out(), !options.tls.empty(), http_port_, ws_port_, https_port_)) {
        if (child_.wait(std::chrono::milliseconds{0}) || std::chrono::steady_clock::now() >= deadline) {
            ADD_FAILURE() << "the origin did not become ready; stdout:\n" << child_.out() << "\nstderr:\n" << child_.err();
            http_port_ = 0;
            ws_port_ = 0;
            https_port_ = 0;
            return;
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

origin_instance::~origin_instance()
{
    // SIGKILL from child_process's destructor when SIGTERM was not enough.
    stop();
}

std::optional<exit_status> origin_instance::stop()
{
    child_.send_signal(SIGTERM);
    return child_.wait(std::chrono::seconds{10});
}

origin_stats origin_instance::stats() const
{
    const http_reply reply = http_request(http_port_, "GET", "/stats");
    if (reply.status != 200) {
        throw std::runtime_error{"origin /stats answered " + std::to_string(reply.status)};
    }
    const boost::json::value v = boost::json::parse(reply.body);
    const boost::json::object& o = v.as_object();
    origin_stats s;
    s.connections_accepted = o.at("connections_accepted").to_number<std::uint64_t>();
    s.connections_open = o.at("connections_open").to_number<std::uint64_t>();
    s.requests = o.at("requests").to_number<std::uint64_t>();
    s.tls_connections_accepted = o.at("tls_connections_accepted").to_number<std::uint64_t>();
    for (const auto& sni : o.at("sni").as_array()) {
        s.sni.emplace_back(sni.as_string());
    }
    return s;
}

std::optional<origin_stats> origin_instance::wait_for_stats(const std::function<bool(const origin_stats&)>& done,
                                                            std::chrono::milliseconds timeout) const
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const origin_stats s = stats();
        if (done(s)) {
            return s;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

} // namespace stork::test
