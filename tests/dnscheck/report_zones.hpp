#pragma once

#include "tests/dnscheck/knot_fixture.hpp"

#include <string>
#include <vector>

// Zones for the process tests of GET /v1/dns/* and `stork dns report`: customer domains
// under example.test that move to apps under scalingo.test. The TLD test. is served too,
// so that the CAA climb ends in real NODATA answers rather than REFUSED. The zones' NS
// (ns1.test.) has an address nothing serves DNS on (127.83.53.1:53, refused at once):
// a test that wants authoritative answers names the knotd with ?authoritative=.
//
//   ready.example.test    CNAME ready.osc-secnum-fr1.scalingo.test     (moved)
//   pending.example.test  CNAME pending.osc-fr1.scalingo.test          (still the old region)
//   gone.example.test     (no record: NXDOMAIN)
//   www.shop.example.test CNAME shop.osc-secnum-fr1.scalingo.test      (under a wildcard rule)
namespace stork::dnscheck::test {

inline std::string report_zone_head(const std::string& origin)
{
    return "$ORIGIN " + origin + ".\n"
           "$TTL 300\n"
           "@ IN SOA ns1.test. hostmaster.test. 2026112101 3600 600 604800 60\n"
           "@ IN NS  ns1.test.\n";
}

inline std::vector<knot_zone> report_zones()
{
    return {
        {"test", report_zone_head("test") + "ns1 IN A 127.83.53.1\n"},
        {"example.test", report_zone_head("example.test") +
                             "ready   60 IN CNAME ready.osc-secnum-fr1.scalingo.test.\n"
                             "pending 3600 IN CNAME pending.osc-fr1.scalingo.test.\n"
                             "www.shop 60 IN CNAME shop.osc-secnum-fr1.scalingo.test.\n"},
        {"scalingo.test", report_zone_head("scalingo.test") +
                              "ready.osc-secnum-fr1   60 IN A 198.51.100.1\n"
                              "pending.osc-secnum-fr1 60 IN A 198.51.100.2\n"
                              "pending.osc-fr1        60 IN A 192.0.2.2\n"
                              "gone.osc-secnum-fr1    60 IN A 198.51.100.3\n"
                              "shop.osc-secnum-fr1    60 IN A 198.51.100.4\n"},
    };
}

} // namespace stork::dnscheck::test
