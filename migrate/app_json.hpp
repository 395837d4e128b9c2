#pragma once

#include "migrate/platform.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// The JSON shapes the migration keeps in the state database (Boost.JSON), written and read
// in one place so that every writer and reader agrees on them. No I/O. The formats are on
// disk in existing databases: a change here must still read what older versions wrote.
//
//   app document   {"settings": {...}, "last_deployment": {...} | null, "env": {...},
//                   "scm": {...} | null, "collaborators": [...], "domains": [...],
//                   "formation": <formation>, "notifiers": [...], "alerts": [...],
//                   "autoscalers": [...], "log_drains": [...]}
//                  (the local driver's local_apps.document; every member required)
//   formation      [{"name": "web", "amount": 2, "size": "M"}, ...]
//                  (inside the app document, and the source formation snapshot of a
//                  migration: one codec for both)
//   table counts   {"schema.table": rows, ...} (local_backups.tables)
namespace stork::migrate {

// What is wrong with a stored JSON text. The message names the member and the problem,
// and quotes at most a short, escaped piece of the input (never the document).
struct app_json_error : platform_error {
    using platform_error::platform_error;
};

// Everything the document holds of an app: all but id, name, region, migration, frozen
// (columns of their own), running (derived from the formation) and addons (rows).
// An infinite or NaN alert limit or autoscaler target is an app_json_error: JSON cannot
// hold it, and writing it anyway would leave a document nobody reads back.
std::string app_document_to_json(const app& a);
// Replaces the document's members of `a` (the others stay); on failure `a` is unchanged.
void app_document_from_json(std::string_view text, app& a);

std::string formation_to_json(const std::vector<formation_type>& formation);
std::vector<formation_type> formation_from_json(std::string_view text);

std::string table_counts_to_json(const std::map<std::string, std::int64_t>& tables);
std::map<std::string, std::int64_t> table_counts_from_json(std::string_view text);

} // namespace stork::migrate
