#include "migrate/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

extern char** environ;

namespace stork::migrate {
namespace {

// A file descriptor closed when it goes out of scope.
class fd_guard {
public:
    explicit fd_guard(int fd = -1) noexcept : fd_{fd} {}
    ~fd_guard() { reset(); }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const noexcept { return fd_; }
    void reset() noexcept
    {
        if (fd_ >= 0) {
            close(fd_);
        }
        fd_ = -1;
    }
    int* out() noexcept { return &fd_; }

private:
    int fd_;
};

struct pipe_pair {
    fd_guard read;
    fd_guard write;
    bool open()
    {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
            return false;
        }
        *read.out() = fds[0];
        *write.out() = fds[1];
        return true;
    }
};

// The child's environment: ours, with `extra` replacing same-named variables.
std::vector<std::string> child_environment(const std::vector<std::pair<std::string, std::string>>& extra)
{
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string entry{*e};
        const auto name = entry.substr(0, entry.find('='));
        const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const auto& kv) { return kv.first == name; });
        if (!replaced) {
            env.push_back(entry);
        }
    }
    for (const auto& [name, value] : extra) {
        env.push_back(name + "=" + value);
    }
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings)
{
    std::vector<char*> out;
    for (auto& s : strings) {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

} // namespace

std::string subprocess_result::describe() const
{
    if (!started) {
        return "could not be started";
    }
    if (timed_out) {
        return "timed out";
    }
    if (signal != 0) {
        return "killed by signal " + std::to_string(signal);
    }
    return "exit " + std::to_string(exit_code);
}

subprocess_result run_subprocess(const std::vector<std::string>& argv,
                                 const std::vector<std::pair<std::string, std::string>>& extra_env,
                                 std::chrono::milliseconds timeout)
{
    subprocess_result result;
    pipe_pair out_pipe;
    pipe_pair err_pipe;
    if (argv.empty() || !out_pipe.open() || !err_pipe.open()) {
        result.started = false;
        return result;
    }
    std::vector<std::string> args = argv;
    std::vector<std::string> env = child_environment(extra_env);
    auto c_args = c_strings(args);
    auto c_env = c_strings(env);

    // posix_spawn, not fork: the caller may be one of several threads, and between fork
    // and exec only async-signal-safe calls would be allowed. adddup2 clears
    // close-on-exec on the targets, so the child keeps exactly stdin/stdout/stderr.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe.write.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe.write.get(), 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int spawned = posix_spawn(&pid, c_args[0], &actions, &attr, c_args.data(), c_env.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    out_pipe.write.reset();
    err_pipe.write.reset();
    if (spawned != 0) {
        result.started = false;
        result.err = std::strerror(spawned);
        return result;
    }

    // Read both pipes until both reach end-of-file or the deadline passes.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    pollfd fds[2] = {{out_pipe.read.get(), POLLIN, 0}, {err_pipe.read.get(), POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open_count = 2;
    char buffer[16384];
    while (open_count > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            break;
        }
        const int ready = poll(fds, 2, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
        if (ready < 0 && errno != EINTR) {
            result.timed_out = true;   // cannot wait any more: treat like a timeout, kill
            break;
        }
        for (int i = 0; i < 2 && ready > 0; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                sinks[i]->append(buffer, static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                fds[i].fd = -1;
                --open_count;
            }
        }
    }
    if (result.timed_out) {
        kill(pid, SIGKILL);
    }
    int raw = 0;
    while (waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(raw)) {
        result.exit_code = WEXITSTATUS(raw);
    } else if (WIFSIGNALED(raw)) {
        result.signal = WTERMSIG(raw);
    }
    return result;
}

} // namespace stork::migrate
