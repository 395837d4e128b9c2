#include "tests/support/process.hpp"

#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <cstdint>

namespace stork::test {

std::filesystem::path binary(const std::string& name)
{
    return std::filesystem::path{STORK_BIN_DIR} / name;
}

namespace {

std::filesystem::path output_file(const char* what)
{
    std::string pattern = (std::filesystem::temp_directory_path() / ("stork-child-" + std::string{what} + ".XXXXXX")).string();
    const int fd = mkstemp(pattern.data());
    if (fd < 0) {
        throw std::runtime_error{"mkstemp failed"};
    }
    close(fd);
    return pattern;
}

exit_status decode(int raw)
{
    exit_status s;
    if (WIFEXITED(raw)) {
        s.code = WEXITSTATUS(raw);
    } else if (WIFSIGNALED(raw)) {
        s.signal = WTERMSIG(raw);
    }
    return s;
}

} // namespace

child_process::child_process(std::vector<std::string> argv, std::vector<std::pair<std::string, std::string>> extra_env)
    : out_path_{output_file("out")}, err_path_{output_file("err")}
{
    std::vector<char*> args;
    for (std::string& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);

    pid_ = fork();
    if (pid_ < 0) {
        throw std::runtime_error{"fork failed"};
    }
    if (pid_ == 0) {
        // Only async-signal-safe calls until exec.
        const int out = open(out_path_.c_str(), O_WRONLY | O_TRUNC);
        const int err = open(err_path_.c_str(), O_WRONLY | O_TRUNC);
        const int in = open("/dev/null", O_RDONLY);
        if (out < 0 || err < 0 || in < 0) {
            _exit(127);
        }
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        for (auto& [name, value] : extra_env) {
            setenv(name.c_str(), value.c_str(), 1);
        }
        // The test runner may block signals; the child must start with a clean mask.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
}

child_process::~child_process()
{
    if (pid_ > 0 && !status_) {
        kill(pid_, SIGKILL);
        int raw = 0;
        while (waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
        }
    }
    std::error_code ec;
    std::filesystem::remove(out_path_, ec);
    std::filesystem::remove(err_path_, ec);
}

void child_process::send_signal(int sig) const
{
    if (!status_) {
        kill(pid_, sig);
    }
}

std::optional<exit_status> child_process::wait(std::chrono::milliseconds timeout)
{
    if (status_) {
        return status_;
    }
    // A pidfd becomes readable when the process ends: wait on that event, with a timeout.
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd < 0) {
        throw std::runtime_error{"pidfd_open failed"};
    }
    pollfd p{pidfd, POLLIN, 0};
    int ready = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        ready = poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    } while (ready < 0 && errno == EINTR);
    close(pidfd);
    if (ready <= 0) {
        return std::nullopt;
    }
    int raw = 0;
    while (waitpid(pid_, &raw, 0) < 0) {
        if (errno != EINTR) {
            throw std::runtime_error{"waitpid failed"};
        }
    }
    status_ = decode(raw);
    return status_;
}

std::string child_process::out() const
{
    return read_file(out_path_);
}

std::string child_process::err() const
{
    return read_file(err_path_);
}

run_result run(std::vector<std::string> argv, std::chrono::milliseconds timeout,
               std::vector<std::pair<std::string, std::string>> extra_env)
{
    child_process child{std::move(argv), std::move(extra_env)};
    auto status = child.wait(timeout);
    if (!status) {
        child.send_signal(SIGKILL);
        status = child.wait(std::chrono::seconds{10});
    }
    return {status.value_or(exit_status{}), child.out(), child.err()};
}

} // namespace stork::test
