#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stork::test {

// The path of one of the project's binaries in build/bin.
std::filesystem::path binary(const std::string& name);

struct exit_status {
    int code = -1;    // exit code, when the process exited
    int signal = 0;   // the signal that killed it, otherwise
    bool exited() const noexcept { return signal == 0 && code >= 0; }
};

// A child process started by a test. Its stdout and stderr go to files the test can read
// at any time. If the test does not wait for it, the destructor kills it (SIGKILL) by pid
// and reaps it: a failed assertion never leaves a process behind.
class child_process {
public:
    child_process(std::vector<std::string> argv,
                  std::vector<std::pair<std::string, std::string>> extra_env = {});
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    void send_signal(int sig) const;

    // Waits until the process ends; nothing when it is still running after `timeout`.
    std::optional<exit_status> wait(std::chrono::milliseconds timeout);

    std::string out() const;
    std::string err() const;

private:
    pid_t pid_ = -1;
    std::optional<exit_status> status_;
    std::filesystem::path out_path_;
    std::filesystem::path err_path_;
};

struct run_result {
    exit_status status;
    std::string out;
    std::string err;
};

// Runs a command to its end (killed after `timeout`) and returns what it printed.
run_result run(std::vector<std::string> argv, std::chrono::milliseconds timeout = std::chrono::seconds{30},
               std::vector<std::pair<std::string, std::string>> extra_env = {});

} // namespace stork::test
