#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace stork::test {

// Plays systemd's side of sd_notify(3): a datagram socket whose path is given to the
// child as NOTIFY_SOCKET. Tests wait on the child's own "READY=1" instead of sleeping.
class notify_socket {
public:
    using message = std::map<std::string, std::string>; // "READY=1\nSTATUS=..." split

    notify_socket();
    ~notify_socket();
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }

    // The next datagram, or nothing after `timeout`.
    std::optional<message> receive(std::chrono::milliseconds timeout);

    // Datagrams until one has `key` (with `value`, when given); nothing after `timeout`.
    std::optional<message> wait_for(const std::string& key, std::optional<std::string> value,
                                    std::chrono::milliseconds timeout);

private:
    int fd_ = -1;
    std::filesystem::path dir_;
    std::filesystem::path path_;
};

} // namespace stork::test
