#pragma once

#include "config/control_config.hpp"
#include "control/admin_client.hpp"
#include "migrate/redirects.hpp"

#include <memory>

// The redirect rules of a migration on every front server of the source region
// (migrate::front_servers over the storkd admin API, design.md §2): finalize installs
// them, abort removes them.
//   install  PUT /v1/rules/{host} on each server with the rule JSON of design.md §2; a
//            201 or 200 from each is success. The servers that fail (unreachable, 4xx,
//            5xx) are all named in one front_error; the others keep the rule (a re-run
//            PUTs again: replacing is idempotent).
//   remove   GET /v1/rules/{host}; 404 is done; a rule whose `migration` label is another
//            migration's is left alone; else DELETE (204 or 404 is done).
// Transient failures (unreachable, 5xx) are retried a few times with a short back-off
// before they count.
namespace stork::control {

std::unique_ptr<migrate::front_servers> open_front_fleet(const config::region_config& region,
                                                         admin_timeouts timeouts = {});

} // namespace stork::control
