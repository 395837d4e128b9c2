#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

// Who runs a migration's step right now. A step runs inside the `stork` process that
// started it; that process holds an exclusive flock(2) on a file named after the
// migration for as long as the step runs. The kernel drops the lock when the process
// dies, however it dies (SIGKILL, power loss aside), so "the status says running but
// nobody holds the lock" means the runner died and the step may be resumed
// (migration_state::runner_alive, transitions.hpp).
namespace stork::migrate {

class runner_lock {
public:
    // Takes the lock of `migration_id` in `folder` (created if missing) without waiting:
    // nothing when another process holds it. Throws std::system_error when the file
    // cannot be opened.
    static std::optional<runner_lock> try_take(const std::filesystem::path& folder, std::string_view migration_id);

    // Whether some live process holds the lock now (takes and releases it to find out).
    static bool held_by_another(const std::filesystem::path& folder, std::string_view migration_id);

    runner_lock(runner_lock&& other) noexcept;
    runner_lock& operator=(runner_lock&& other) noexcept;
    runner_lock(const runner_lock&) = delete;
    runner_lock& operator=(const runner_lock&) = delete;
    ~runner_lock();

private:
    explicit runner_lock(int fd) noexcept : fd_{fd} {}
    int fd_ = -1;
};

// The folder of the locks for a state database: "<state>.runners" beside it.
std::filesystem::path runner_folder(const std::filesystem::path& state_database);

} // namespace stork::migrate
