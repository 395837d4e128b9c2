// The runner lock tells a live runner from a dead one, across processes.
#include "migrate/runner_lock.hpp"

#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

namespace stork::migrate {
namespace {

TEST(runner_lock_process, a_live_holder_is_seen_and_a_killed_one_releases_the_lock)
{
    stork::test::temp_dir dir;
    const auto folder = runner_folder(dir.path() / "control.db");
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto lock = runner_lock::try_take(folder, "m-1");
        const char c = lock ? 'y' : 'n';
        (void)!::write(ready[1], &c, 1);
        ::pause();   // hold it until killed
        ::_exit(0);
    }
    ::close(ready[1]);
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    ASSERT_EQ(c, 'y');

    EXPECT_TRUE(runner_lock::held_by_another(folder, "m-1"));
    EXPECT_FALSE(runner_lock::try_take(folder, "m-1"));
    EXPECT_FALSE(runner_lock::held_by_another(folder, "m-2")) << "one lock per migration";

    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_FALSE(runner_lock::held_by_another(folder, "m-1")) << "the kernel dropped a dead runner's lock";
    auto mine = runner_lock::try_take(folder, "m-1");
    ASSERT_TRUE(mine);
    auto moved = std::move(*mine);
    mine.reset();
    EXPECT_FALSE(runner_lock::try_take(folder, "m-1").has_value()) << "a moved lock is still held";
}

TEST(runner_lock_process, ids_that_would_leave_the_folder_are_refused)
{
    stork::test::temp_dir dir;
    EXPECT_THROW(runner_lock::try_take(dir.path(), "../x"), std::system_error);
    EXPECT_THROW(runner_lock::try_take(dir.path(), ""), std::system_error);
    EXPECT_THROW(runner_lock::try_take(dir.path(), ".."), std::system_error);
}

} // namespace
} // namespace stork::migrate
