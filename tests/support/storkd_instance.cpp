#include "tests/support/storkd_instance.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stork::test {

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
    if (ready->contains("STORK_HTTP")) {
        std::string http = ready->at("STORK_HTTP");
        http = http.substr(0, http.find(','));
        if (!http.empty()) {
            http_port_ = static_cast<std::uint16_t>(std::stoi(http.substr(http.rfind(':') + 1)));
        }
    }
}

} // namespace stork::test
