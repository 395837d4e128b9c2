#include "migrate/runner_lock.hpp"

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace stork::migrate {
namespace {

int open_lock_file(const std::filesystem::path& folder, std::string_view migration_id)
{
    // The id names the file: refuse anything that could leave the folder.
    if (migration_id.empty() || migration_id.find('/') != std::string_view::npos || migration_id == "." ||
        migration_id == "..") {
        throw std::system_error{EINVAL, std::generic_category(),
                                "runner lock: bad migration id \"" + std::string{migration_id} + "\""};
    }
    std::filesystem::create_directories(folder);
    const auto path = folder / (std::string{migration_id} + ".lock");
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw std::system_error{errno, std::generic_category(), "runner lock " + path.string()};
    }
    return fd;
}

} // namespace

std::optional<runner_lock> runner_lock::try_take(const std::filesystem::path& folder, std::string_view migration_id)
{
    const int fd = open_lock_file(folder, migration_id);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        ::close(fd);
        if (e == EWOULDBLOCK) {
            return std::nullopt;
        }
        throw std::system_error{e, std::generic_category(), "runner lock flock"};
    }
    return runner_lock{fd};
}

bool runner_lock::held_by_another(const std::filesystem::path& folder, std::string_view migration_id)
{
    return !try_take(folder, migration_id).has_value();
}

runner_lock::runner_lock(runner_lock&& other) noexcept : fd_{std::exchange(other.fd_, -1)} {}

runner_lock& runner_lock::operator=(runner_lock&& other) noexcept
{
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

runner_lock::~runner_lock()
{
    if (fd_ >= 0) {
        ::close(fd_);   // releases the flock
    }
}

std::filesystem::path runner_folder(const std::filesystem::path& state_database)
{
    auto p = state_database;
    p += ".runners";
    return p;
}

} // namespace stork::migrate
