// What the file store costs.
// - put(): what an admin API write waits for: encode, pwrite(2) and fdatasync(2), in a
//   folder of $TMPDIR (default /tmp: the disk, like /var/lib/stork), and on /dev/shm
//   (tmpfs, where fdatasync is free) to show what is not the disk. The default compaction
//   threshold applies, so the occasional put that compacts is in the percentiles.
// - open(): the start-up replay of 100,000 records from a journal and from a snapshot,
//   with the files in the page cache (as after any write; a cold cache adds the read).
// - compact() of those 100,000 records on the disk, which the put that crosses the
//   threshold pays.
// The 100,000 records are written once per run on /dev/shm when it exists: writing them
// on a disk would cost 100,000 fdatasyncs.
#include "routing/crc32c.hpp"
#include "routing/file_store.hpp"

#include <benchmark/benchmark.h>

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using stork::routing::file_store;

constexpr int replay_records = 100'000;

// A fresh folder under `base`, removed with everything in it.
class bench_dir {
public:
    explicit bench_dir(const fs::path& base)
    {
        std::string pattern = (base / "stork-store-bench.XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error{"mkdtemp in " + base.string() + " failed"};
        }
        path_ = pattern;
    }
    ~bench_dir()
    {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    bench_dir(const bench_dir&) = delete;
    bench_dir& operator=(const bench_dir&) = delete;

    const fs::path& path() const noexcept { return path_; }

private:
    fs::path path_;
};

fs::path disk_base()
{
    return fs::temp_directory_path();
}

fs::path memory_base()
{
    return fs::is_directory("/dev/shm") ? fs::path{"/dev/shm"} : fs::temp_directory_path();
}

std::string host(int i)
{
    return "app-" + std::to_string(i) + ".customer-" + std::to_string(i % 97) + ".example.com";
}

// About the size of a stored rule.
std::string rule_json(int i)
{
    return R"({"host":")" + host(i) + R"(","to":"https://)" + host(i) +
           R"(.migrated.example.net/","status":308,"preserve_path":true,"created_at":"2024-05-01T10:00:00Z",)" +
           R"("expires_at":"2024-05-31T10:00:00Z","note":"moved to the new platform"})";
}

void bm_put(benchmark::State& state, fs::path base)
{
    const bench_dir dir{base};
    const auto store = file_store::open({.dir = dir.path()}, {});
    std::vector<std::string> hosts;
    for (int i = 0; i < 1000; ++i) {
        hosts.push_back(host(i));
    }
    const std::string value(static_cast<std::size_t>(state.range(0)), 'v');
    std::vector<double> micros;
    std::size_t i = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        store->put(hosts[i++ % hosts.size()], value);
        micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(micros.begin(), micros.end());
    const auto at = [&](double q) {
        return micros[static_cast<std::size_t>(q * static_cast<double>(micros.size() - 1))];
    };
    state.counters["p50_us"] = at(0.50);
    state.counters["p99_us"] = at(0.99);
    state.counters["max_us"] = micros.back();
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK_CAPTURE(bm_put, disk, disk_base())
    ->Arg(256)
    ->Arg(16 << 10)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_put, tmpfs, memory_base())
    ->Arg(256)
    ->Arg(16 << 10)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Two folders with the same 100,000 records: one in a journal, one in a snapshot.
struct replay_folders {
    bench_dir journal{memory_base()};
    bench_dir snapshot{memory_base()};

    replay_folders()
    {
        {
            const auto store = file_store::open({.dir = journal.path(), .compact_after_bytes = 0}, {});
            for (int i = 0; i < replay_records; ++i) {
                store->put(host(i), rule_json(i));
            }
        }
        fs::copy_file(journal.path() / "journal", snapshot.path() / "journal");
        file_store::open({.dir = snapshot.path(), .compact_after_bytes = 0}, {})->compact();
    }
};

const replay_folders& folders()
{
    static const replay_folders f;
    return f;
}

void replay(benchmark::State& state, const fs::path& dir, const fs::path& file)
{
    for (auto _ : state) {
        const auto store = file_store::open({.dir = dir, .compact_after_bytes = 0}, {});
        if (store->records().size() != replay_records) {
            state.SkipWithError("wrong record count");
            break;
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * fs::file_size(file)));
    state.counters["records"] = replay_records;
    state.counters["file_MB"] = static_cast<double>(fs::file_size(file)) / 1e6;
}

void bm_replay_journal(benchmark::State& state)
{
    replay(state, folders().journal.path(), folders().journal.path() / "journal");
}
BENCHMARK(bm_replay_journal)->UseRealTime()->Unit(benchmark::kMillisecond);

void bm_replay_snapshot(benchmark::State& state)
{
    replay(state, folders().snapshot.path(), folders().snapshot.path() / "snapshot");
}
BENCHMARK(bm_replay_snapshot)->UseRealTime()->Unit(benchmark::kMillisecond);

void bm_compact_on_disk(benchmark::State& state)
{
    const bench_dir dir{disk_base()};
    fs::copy_file(folders().snapshot.path() / "snapshot", dir.path() / "snapshot");
    const auto store = file_store::open({.dir = dir.path(), .compact_after_bytes = 0}, {});
    for (auto _ : state) {
        store->compact();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * store->statistics().snapshot_bytes));
}
BENCHMARK(bm_compact_on_disk)->UseRealTime()->Unit(benchmark::kMillisecond);

void bm_crc32c(benchmark::State& state)
{
    const std::string bytes(static_cast<std::size_t>(state.range(0)), 'x');
    for (auto _ : state) {
        benchmark::DoNotOptimize(stork::routing::crc32c(bytes));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(bm_crc32c)->Arg(256)->Arg(64 << 10);

} // namespace
