#include "proxy/notify.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace stork::proxy {

void notify(std::string_view state)
{
    const std::string text{state};
    sd_notify(0, text.c_str());
}

} // namespace stork::proxy
