#pragma once

#include "tests/support/notify_socket.hpp"
#include "tests/support/process.hpp"

#include <cstdint>
#include <filesystem>

namespace stork::test {

// A storkd started by a test, with a NOTIFY_SOCKET of its own: the constructor returns once
// storkd has said READY=1 (systemd's protocol), never after a guessed sleep. The process is
// killed by pid if the test does not stop it (child_process's destructor).
class storkd_instance {
public:
    // Starts `storkd --config config` and waits up to 60 s for READY=1. When storkd does
    // not get there, a test failure with its stderr is recorded and admin_port() is 0.
    explicit storkd_instance(const std::filesystem::path& config);

    // The admin listener's port as storkd reported it (STORK_ADMIN), port 0 configs included.
    std::uint16_t admin_port() const noexcept { return admin_port_; }
    // The port of the first listen.http address (STORK_HTTP), 0 when there is none.
    std::uint16_t http_port() const noexcept { return http_port_; }
    // The port of the first listen.https address (STORK_HTTPS, the same list of actual
    // addresses as STORK_HTTP), 0 when storkd reported none.
    std::uint16_t https_port() const noexcept { return https_port_; }

    child_process& process() noexcept { return child_; }
    notify_socket& notifications() noexcept { return notify_; }

private:
    notify_socket notify_;
    child_process child_;
    std::uint16_t admin_port_ = 0;
    std::uint16_t http_port_ = 0;
    std::uint16_t https_port_ = 0;
};

} // namespace stork::test
