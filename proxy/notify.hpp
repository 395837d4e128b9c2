#pragma once

#include <string_view>

namespace stork::proxy {

// Tells the service manager about our state (sd_notify(3)): "READY=1", "RELOADING=1",
// "STOPPING=1", "STATUS=...". Does nothing when NOTIFY_SOCKET is unset (not under
// systemd). Tests listen on their own NOTIFY_SOCKET to wait for readiness.
void notify(std::string_view state);

} // namespace stork::proxy
