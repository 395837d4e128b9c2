#include "tests/support/notify_socket.hpp"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace stork::test {

notify_socket::notify_socket()
{
    std::string pattern = (std::filesystem::temp_directory_path() / "stork-notify.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error{"mkdtemp failed"};
    }
    dir_ = pattern;
    path_ = dir_ / "notify";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string p = path_.string();
    if (fd_ < 0 || p.size() >= sizeof addr.sun_path) {
        throw std::runtime_error{"notify socket: cannot create"};
    }
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::runtime_error{std::string{"notify socket: bind: "} + std::strerror(errno)};
    }
}

notify_socket::~notify_socket()
{
    if (fd_ >= 0) {
        close(fd_);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::optional<notify_socket::message> notify_socket::receive(std::chrono::milliseconds timeout)
{
    pollfd p{fd_, POLLIN, 0};
    int ready = 0;
    do {
        ready = poll(&p, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) {
        return std::nullopt;
    }
    char buffer[4096];
    const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) {
        return std::nullopt;
    }
    message m;
    std::string_view text{buffer, static_cast<std::size_t>(n)};
    while (!text.empty()) {
        const auto end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        const auto eq = line.find('=');
        if (eq != std::string_view::npos) {
            m[std::string{line.substr(0, eq)}] = std::string{line.substr(eq + 1)};
        }
        if (end == std::string_view::npos) {
            break;
        }
        text.remove_prefix(end + 1);
    }
    return m;
}

std::optional<notify_socket::message> notify_socket::wait_for(const std::string& key, std::optional<std::string> value,
                                                              std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        auto m = receive(left);
        if (!m) {
            return std::nullopt;
        }
        const auto it = m->find(key);
        if (it != m->end() && (!value || it->second == *value)) {
            return m;
        }
    }
}

} // namespace stork::test
