#include "tests/support/storkd_instance.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stork::test {

namespace {

// The port of the first "ADDRESS:PORT" of a comma-separated list in `key`; 0 without one.
std::uint16_t first_port(const notify_socket::message& m, const std::string& key)
{
    if (!m.contains(key)) {
        return 0;
    }
    std::string first = m.at(key);
    first = first.substr(0, first.find(','));
    if (first.empty()) {
        return 0;
    }
    return static_cast<std::uint16_t>(std::stoi(first.substr(first.rfind(':') + 1)));
}

} // namespace

storkd_instance::storkd_instance(const std::filesystem::path& config)
    : child_{{binary("storkd").string(), "--config", config.string()}, {{"NOTIFY_SOCKET", notify_.path().string()}}}
{
    const auto ready = notify_.wait_for("READY", "1", std::chrono::seconds{60});
    if (!ready || !ready->contains("STORK_ADMIN")) {
        ADD_FAILURE() << "storkd did not become ready; stderr:\n" << child_.err();
        return;
    }
    const std::string admin = ready->at("STORK_ADMIN");
    admin_port_ = static_cast<std::uint16_t>(std::stoi(admin.substr(admin.rfind(':') + 1)));
    http_port_ = first_port(*ready, "STORK_HTTP");
    https_port_ = first_port(*ready, "STORK_HTTPS");
}

} // namespace stork::test
