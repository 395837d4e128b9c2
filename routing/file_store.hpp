#pragma once

// The embedded durable store (rules.store: file): opaque records, key -> value, kept in
// one folder. The rule layer stores a normalised host name as the key and the rule's JSON
// as the value; this file knows nothing of either.
//
// Files in the folder
// -------------------
//   LOCK           flock(2)ed (LOCK_EX) while a store is open; holds the owner's pid,
//                  for the error message of whoever finds it locked
//   snapshot       every record as of the last compaction (absent before the first one)
//   journal        every put and erase since then, appended one record at a time
//   snapshot.tmp,  a compaction under way; never read, removed by open()
//   journal.tmp
//
// Format (version 1). Integers are little-endian.
//   file    = header record*
//   header  = magic (8 bytes: "STORKJNL" in the journal, "STORKSNP" in the snapshot)
//             u32 version (1)
//   record  = u32 payload length | u32 CRC-32C of the payload | payload
//   payload = u8 op | u32 key length | key | value (the rest of the payload)
//     op 1  put      key of 1 to 253 bytes, value of 0 to 1 MiB
//     op 2  erase    key of 1 to 253 bytes, no value; journal only
//     op 3  trailer  no key; value = u64 number of put records | i64 time of the
//                    compaction in nanoseconds since the Unix epoch; snapshot only, last
//   A length (payload or key) beyond these limits is corruption, like a CRC mismatch.
//   The snapshot holds only puts, in strictly ascending key order (bytewise), then its
//   trailer: a snapshot cut anywhere is detected, however the cut falls.
//
// Replay: the snapshot, then the journal over it; the last write of a key wins and an
// erase of an absent key is not an error.
//
// What a crash leaves, and why each case replays correctly
// --------------------------------------------------------
// - During an append: a torn last record (or zeros, on file systems that extend the size
//   before the data lands). open() drops it with a warning and truncates the journal to
//   its last whole record, so that later records never follow garbage. The put or erase
//   it held had not returned yet, so no caller was told it was stored.
// - Damage before the last record (a bad disk, a stray write): open() drops that record
//   and everything after it, with a warning that says how many bytes it dropped. A prefix
//   of the journal is a state the store really was in; skipping one record and keeping
//   later ones would make a state that never existed (an erase lost, the puts after it
//   kept). Starting with fewer rules and a loud warning beats refusing to start: the
//   proxy keeps serving what it has, and the warning says what to restore.
// - During a compaction, before the snapshot rename: snapshot.tmp is incomplete; the old
//   snapshot and the journal are intact and describe the store.
// - Between the snapshot rename and the journal reset: the new snapshot already holds
//   the journal's effect, and the journal is replayed over it again. That is correct
//   because replaying the journal is idempotent: a key's value after the replay is
//   decided by the last op on it in the journal (a put sets it, an erase removes it,
//   whatever was there), and keys the journal never mentions keep their snapshot value;
//   so replay(replay(S, J), J) == replay(S, J).
// - A damaged snapshot is refused (store_error): it holds records acknowledged long ago,
//   and starting without them would silently forget rules.
// - A journal whose header is bad (a foreign file) or of another version is refused too:
//   dropping it whole would lose records that may be perfectly readable by the right build.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace stork::routing {

// The store cannot start: its folder or a file in it cannot be used. The message names
// the file and says what is wrong with it.
class store_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

// An owned file descriptor, closed by the destructor.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_{fd} {}
    unique_fd(unique_fd&& other) noexcept;
    unique_fd& operator=(unique_fd&& other) noexcept;
    ~unique_fd();

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }

private:
    int fd_ = -1;
};

} // namespace detail

// Not thread-safe: one owner calls it (the rule layer, which serialises the admin API's
// writes). Every call that changes a record blocks on the disk until the change is durable.
class file_store {
public:
    static constexpr std::size_t max_key_bytes = 253;      // a host name (RFC 1123 §2.1)
    static constexpr std::size_t max_value_bytes = 1 << 20;
    static constexpr std::uint64_t header_bytes = 12;       // what an empty journal holds

    struct options {
        std::filesystem::path dir;                   // created if missing (mode 0700)
        std::uint64_t compact_after_bytes = 4 << 20; // a put or erase that leaves the journal
                                                     // this long compacts; 0: only compact()
    };
    using warn_fn = std::function<void(std::string_view)>;
    using record_map = std::map<std::string, std::string, std::less<>>;

    // Locks the folder (store_error when another store, in this process or another, has
    // it), replays the snapshot then the journal, and repairs the journal's tail (see
    // above), telling `warn` what it dropped. `warn` may be empty; it must not throw
    // (put() and erase() also warn, after their change is durable).
    static std::unique_ptr<file_store> open(options o, warn_fn warn);

    file_store(const file_store&) = delete;
    file_store& operator=(const file_store&) = delete;
    ~file_store();

    const record_map& records() const noexcept { return records_; }

    // Durable when it returns: the record is written and fdatasync(2)ed. Throws
    // std::invalid_argument for a key or value beyond the limits (nothing written) and
    // std::system_error when the disk fails; records() is unchanged then, and the journal
    // is cut back to its last whole record. A compaction that these calls trigger and
    // that fails is only a warning: the change itself is stored.
    void put(std::string_view key, std::string_view value);
    // False, and nothing written, when the key is absent.
    bool erase(std::string_view key);

    // Writes every record to snapshot.tmp, fsync(2)s it, renames it over snapshot and
    // fsyncs the folder, then replaces the journal by an empty one the same way.
    // Throws std::system_error; records() never changes.
    void compact();

    struct stats {
        std::uint64_t journal_bytes = 0;  // header included
        std::uint64_t snapshot_bytes = 0; // 0 without a snapshot
        std::size_t records = 0;
        // When the snapshot was written (kept in it, so it survives restarts).
        std::optional<std::chrono::system_clock::time_point> last_compaction;
    };
    stats statistics() const;

private:
    file_store(options o, warn_fn warn);

    void load_snapshot();
    void load_journal();
    void append(std::string_view record);
    void cut_journal_tail();
    void write_snapshot(std::chrono::system_clock::time_point now);
    void reset_journal();
    void compact_if_due();

    options options_;
    warn_fn warn_;
    std::filesystem::path snapshot_path_;
    std::filesystem::path journal_path_;
    detail::unique_fd lock_fd_;
    detail::unique_fd journal_fd_;
    record_map records_;
    std::uint64_t journal_bytes_ = 0;     // the end of the last whole record: where the next goes
    bool journal_tail_dirty_ = false;     // a failed append may have left bytes past journal_bytes_
    bool journal_dir_sync_pending_ = false; // the journal was renamed into place, the folder not fsync'd
    std::uint64_t snapshot_bytes_ = 0;
    std::optional<std::chrono::system_clock::time_point> last_compaction_;
    std::uint64_t next_compaction_at_ = 0; // journal size; pushed back after a failed compaction
};

} // namespace stork::routing
