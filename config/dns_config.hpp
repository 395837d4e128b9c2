#pragma once

#include "config/endpoint.hpp"

#include <vector>

namespace stork::config {

// The `dns` section of storkd.yaml and control.yaml: the resolvers the DNS advisor asks.
struct dns_config {
    bool system_resolvers = false;      // "system": the resolvers of /etc/resolv.conf
    std::vector<endpoint> resolvers;    // explicit IP[:PORT] entries, port 53 by default

    friend bool operator==(const dns_config&, const dns_config&) = default;
};

} // namespace stork::config
