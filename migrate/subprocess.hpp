#pragma once

// Runs an external program to its end, for the data step's PostgreSQL tools (pg_dump,
// pg_restore, psql). Safe to call from several threads at once: no shared state; the
// pipes are created close-on-exec so one call's child never holds another call's pipe
// open (which would delay that call's end-of-file until the unrelated child exits).

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace stork::migrate {

struct subprocess_result {
    int exit_code = -1;     // when the program exited
    int signal = 0;         // the signal that ended it, otherwise
    bool timed_out = false; // killed (SIGKILL) because it ran past the timeout
    bool started = true;    // false: the program could not be executed at all
    std::string out;
    std::string err;

    bool ok() const noexcept { return started && !timed_out && signal == 0 && exit_code == 0; }
    // "exit 1", "killed by signal 9", "timed out after 30 s", "could not be started".
    std::string describe() const;
};

// `argv[0]` is an absolute path. `extra_env` is added to (or replaces in) this process's
// environment for the child only. stdin is /dev/null.
subprocess_result run_subprocess(const std::vector<std::string>& argv,
                                 const std::vector<std::pair<std::string, std::string>>& extra_env,
                                 std::chrono::milliseconds timeout);

} // namespace stork::migrate
