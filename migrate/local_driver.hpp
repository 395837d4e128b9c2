#pragma once

#include "config/control_config.hpp"
#include "config/inventory.hpp"
#include "migrate/platform.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

// The embedded `local` platform driver (design.md §5, docs/migration-design.md): each
// region's inventory lives in the control state database (the file of `state:`), in
// tables of its own next to the migrations, loaded with `stork platform import FILE`.
//
// PostgreSQL addons are real: an addon's `url` points at a database. Provisioning creates
// a database on the region's `databases.postgresql` server (pg_copy provision_database),
// a backup is a `pg_dump -Fc` file in the backup folder with the row count of every
// table, a restore is `pg_restore --clean --if-exists --no-owner --no-privileges` of that
// file followed by a row-count comparison. Other addon kinds are inventory records only.
//
// Each local_platform opens its own connection to the database (WAL mode: the store,
// and both regions of a migration, use the same file at once). One object is used from
// one thread at a time, except create_backup / restore_backup / provision_addon, which
// the data step calls from one thread per addon: those are safe to call concurrently.
namespace stork::migrate {

struct import_summary {
    std::size_t added = 0;      // apps that were not in the inventory
    std::size_t replaced = 0;   // apps that were, replaced by the file's version
};

// Loads an inventory into the database, in one transaction: every app of the file
// replaces the app of the same region and name (its id kept), or is added with a fresh
// id. Apps not in the file are kept. Refused as a whole, changing nothing
// (platform_error naming the apps), when an app of the file is frozen by a migration or
// was created by one, or when a region of the file is not in `regions`.
import_summary import_inventory(const std::filesystem::path& state_db, const config::inventory& inventory,
                                const config::control_config& regions);

// The region `region` of the control configuration, backed by `state_db`. Backups are
// written under `backup_folder` (created if missing).
std::unique_ptr<platform> open_local_platform(const std::filesystem::path& state_db,
                                              const config::region_config& region,
                                              const std::filesystem::path& backup_folder);

// The name of the PostgreSQL database the driver provisions in `region` for the addon of
// `app` made for `source_addon_id`: "stork_" + the app name (lowercase, '_' for other
// characters, at most 44) + "_" + 12 hex digits of a digest of all three. Deterministic,
// so a resumed run adopts the database it created; always valid_database_name.
std::string local_database_name(std::string_view region, std::string_view app, std::string_view source_addon_id);

// Where backups go by default: "<state db>.backups" next to the database.
std::filesystem::path default_backup_folder(const std::filesystem::path& state_db);

} // namespace stork::migrate
