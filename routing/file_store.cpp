#include "routing/file_store.hpp"

#include "routing/crc32c.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>
#include <utility>

namespace stork::routing {

namespace fs = std::filesystem;

namespace detail {

unique_fd::unique_fd(unique_fd&& other) noexcept : fd_{std::exchange(other.fd_, -1)} {}

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept
{
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

unique_fd::~unique_fd()
{
    if (fd_ >= 0) {
        // Nothing to report from close(2) here: every write was fdatasync'd already.
        ::close(fd_);
    }
}

} // namespace detail

namespace {

using detail::unique_fd;
using clock_type = std::chrono::system_clock;

constexpr std::string_view journal_magic{"STORKJNL"};
constexpr std::string_view snapshot_magic{"STORKSNP"};
constexpr std::uint32_t format_version = 1;
constexpr std::size_t magic_bytes = 8;
constexpr std::size_t record_header_bytes = 8; // payload length, CRC
constexpr std::size_t payload_fixed_bytes = 5; // op, key length
constexpr std::size_t trailer_value_bytes = 16;
constexpr std::size_t max_payload_bytes =
    payload_fixed_bytes + file_store::max_key_bytes + file_store::max_value_bytes;
// Snapshots are written through a buffer of this size: large enough that write(2) calls
// cost nothing next to the fsync, small enough not to double the memory of a big store.
constexpr std::size_t write_buffer_bytes = 1 << 20;

static_assert(magic_bytes + 4 == file_store::header_bytes);

enum class op : std::uint8_t { put = 1, erase = 2, trailer = 3 };

// --- the codec: bytes in, records out; no I/O ----------------------------------------

void append_u32(std::string& out, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
}

void append_u64(std::string& out, std::uint64_t v)
{
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
}

void store_u32(std::string& out, std::size_t at, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i) {
        out[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

std::uint32_t load_u32(std::string_view bytes, std::size_t at)
{
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) {
        v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    }
    return v;
}

std::uint64_t load_u64(std::string_view bytes, std::size_t at)
{
    return static_cast<std::uint64_t>(load_u32(bytes, at)) | static_cast<std::uint64_t>(load_u32(bytes, at + 4)) << 32;
}

std::string file_header(std::string_view magic)
{
    std::string out{magic};
    append_u32(out, format_version);
    return out;
}

// Appends one record to `out`; the caller has checked the limits.
void append_record(std::string& out, op kind, std::string_view key, std::string_view value)
{
    const std::size_t start = out.size();
    const std::size_t payload_bytes = payload_fixed_bytes + key.size() + value.size();
    out.append(record_header_bytes, '\0'); // length and CRC, once the payload is there
    out.push_back(static_cast<char>(kind));
    append_u32(out, static_cast<std::uint32_t>(key.size()));
    out.append(key);
    out.append(value);
    const std::string_view payload{out.data() + start + record_header_bytes, payload_bytes};
    store_u32(out, start, static_cast<std::uint32_t>(payload_bytes));
    store_u32(out, start + 4, crc32c(payload));
}

std::string encode_record(op kind, std::string_view key, std::string_view value)
{
    std::string out;
    out.reserve(record_header_bytes + payload_fixed_bytes + key.size() + value.size());
    append_record(out, kind, key, value);
    return out;
}

std::string trailer_value(std::uint64_t count, clock_type::time_point when)
{
    std::string out;
    append_u64(out, count);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
    append_u64(out, static_cast<std::uint64_t>(ns));
    return out;
}

struct record {
    op kind = op::put;
    std::string_view key;
    std::string_view value;
};

// The record at `at` in `bytes`, and where the next one starts; or why the bytes there
// are not a whole, intact record.
struct read_result {
    std::optional<record> rec;
    std::size_t next = 0;
    std::string problem;
};

read_result damaged(std::string why)
{
    read_result r;
    r.problem = std::move(why);
    return r;
}

read_result read_record(std::string_view bytes, std::size_t at)
{
    const std::size_t left = bytes.size() - at;
    if (left < record_header_bytes) {
        return damaged("an incomplete record header (" + std::to_string(left) + " of " +
                           std::to_string(record_header_bytes) + " bytes)");
    }
    const std::uint32_t length = load_u32(bytes, at);
    // Checked before the CRC: the length decides which bytes the CRC covers, and a damaged
    // length must not make the reader look past a record's real end.
    if (length < payload_fixed_bytes || length > max_payload_bytes) {
        return damaged("a record length of " + std::to_string(length) + " bytes, beyond the limits (" +
                           std::to_string(payload_fixed_bytes) + " to " + std::to_string(max_payload_bytes) + ")");
    }
    if (left - record_header_bytes < length) {
        return damaged("an incomplete record (" + std::to_string(left) + " of " +
                           std::to_string(record_header_bytes + length) + " bytes)");
    }
    const std::string_view payload = bytes.substr(at + record_header_bytes, length);
    if (crc32c(payload) != load_u32(bytes, at + 4)) {
        return damaged("a record whose CRC does not match");
    }
    const auto kind = static_cast<unsigned char>(payload[0]);
    const std::uint32_t key_length = load_u32(payload, 1);
    // A CRC-valid record that breaks the format was written by something else: still
    // corruption, and still refused rather than half-applied.
    if (key_length > payload.size() - payload_fixed_bytes) {
        return damaged("a record whose key length (" + std::to_string(key_length) + ") exceeds its payload");
    }
    record rec{.kind = static_cast<op>(kind),
               .key = payload.substr(payload_fixed_bytes, key_length),
               .value = payload.substr(payload_fixed_bytes + key_length)};
    switch (rec.kind) {
    case op::put:
    case op::erase:
        if (key_length == 0 || key_length > file_store::max_key_bytes) {
            return damaged("a record with a key of " + std::to_string(key_length) + " bytes (1 to " +
                               std::to_string(file_store::max_key_bytes) + " allowed)");
        }
        if (rec.kind == op::put && rec.value.size() > file_store::max_value_bytes) {
            return damaged("a record with a value of " + std::to_string(rec.value.size()) + " bytes");
        }
        if (rec.kind == op::erase && !rec.value.empty()) {
            return damaged("an erase record with a value");
        }
        break;
    case op::trailer:
        if (key_length != 0 || rec.value.size() != trailer_value_bytes) {
            return damaged("a malformed trailer record");
        }
        break;
    default:
        return damaged("a record of unknown type " + std::to_string(kind));
    }
    read_result whole;
    whole.rec = rec;
    whole.next = at + record_header_bytes + length;
    return whole;
}

// --- files ---------------------------------------------------------------------------

std::system_error io_error(const char* call, const fs::path& path)
{
    return std::system_error{errno, std::generic_category(), std::string{call} + " " + path.string()};
}

unique_fd open_file(const fs::path& path, int flags, mode_t mode = 0600)
{
    int fd = -1;
    do {
        fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        throw io_error("open", path);
    }
    return unique_fd{fd};
}

// write(2) may write less than asked (a signal, a full disk reached midway): loop until
// everything is written or an error says why not.
void write_all(int fd, std::string_view bytes, std::uint64_t offset, const fs::path& path)
{
    while (!bytes.empty()) {
        const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw io_error("write", path);
        }
        if (n == 0) {
            errno = EIO;
            throw io_error("write", path);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
        offset += static_cast<std::uint64_t>(n);
    }
}

std::string read_all(int fd, const fs::path& path)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        throw io_error("stat", path);
    }
    std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw io_error("read", path);
        }
        if (n == 0) {
            break; // shrunk under us; what was read is what there is
        }
        done += static_cast<std::size_t>(n);
    }
    bytes.resize(done);
    return bytes;
}

// fdatasync(2) flushes the data and "metadata needed to allow a subsequent data retrieval"
// (the file size), which is all an append needs; fsync(2) also flushes the timestamps.
void sync_data(int fd, const fs::path& path)
{
    if (::fdatasync(fd) != 0) {
        throw io_error("fdatasync", path);
    }
}

void sync_file(int fd, const fs::path& path)
{
    if (::fsync(fd) != 0) {
        throw io_error("fsync", path);
    }
}

// fsync(2): "Calling fsync() does not necessarily ensure that the entry in the directory
// containing the file has also reached disk. For that an explicit fsync() on a file
// descriptor for the directory is also needed." Needed after every rename(2) and create.
void sync_dir(const fs::path& dir)
{
    const unique_fd fd = open_file(dir, O_RDONLY | O_DIRECTORY);
    sync_file(fd.get(), dir);
}

void truncate_file(int fd, std::uint64_t size, const fs::path& path)
{
    int rc = 0;
    do {
        rc = ::ftruncate(fd, static_cast<off_t>(size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        throw io_error("ftruncate", path);
    }
}

// rename(2) replaces the target atomically: after a crash the name holds the old file or
// the new one, whole (fsync'd before the rename), never a mix.
void rename_file(const fs::path& from, const fs::path& to)
{
    if (::rename(from.c_str(), to.c_str()) != 0) {
        throw io_error("rename", from);
    }
}

// Writes a new file through a buffer; `sync_and_keep()` fsyncs it and hands its descriptor out.
class file_writer {
public:
    explicit file_writer(fs::path path) : path_{std::move(path)}, fd_{open_file(path_, O_RDWR | O_CREAT | O_TRUNC)} {}

    std::string& buffer() { return buffer_; }

    void flush_if_full()
    {
        if (buffer_.size() >= write_buffer_bytes) {
            flush();
        }
    }

    unique_fd sync_and_keep()
    {
        flush();
        sync_file(fd_.get(), path_);
        return std::move(fd_);
    }

    std::uint64_t size() const noexcept { return offset_ + buffer_.size(); }

private:
    void flush()
    {
        write_all(fd_.get(), buffer_, offset_, path_);
        offset_ += buffer_.size();
        buffer_.clear();
    }

    fs::path path_;
    unique_fd fd_;
    std::string buffer_;
    std::uint64_t offset_ = 0;
};

// The folder, created with its missing parents. The new entry is fsync'd into its parent,
// or a crash could lose the folder with every record later written into it.
void make_dir(const fs::path& dir)
{
    if (::mkdir(dir.c_str(), 0700) != 0) {
        if (errno == ENOENT) {
            std::error_code ec;
            fs::create_directories(dir.parent_path(), ec);
            if (ec) {
                throw store_error{"cannot create the store folder " + dir.string() + ": " + ec.message()};
            }
            if (::mkdir(dir.c_str(), 0700) == 0) {
                sync_dir(dir.parent_path());
                return;
            }
        }
        if (errno != EEXIST) {
            throw store_error{"cannot create the store folder " + dir.string() + ": " + std::strerror(errno)};
        }
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) {
            throw store_error{"the store folder " + dir.string() + " exists and is not a folder"};
        }
        return;
    }
    sync_dir(dir.has_parent_path() ? dir.parent_path() : fs::path{"."});
}

// flock(2) rather than fcntl(2) record locks: a flock belongs to the open file
// description, so a second open() in the same process conflicts too (a record lock would
// be silently shared by the whole process), and the kernel drops it when the holder dies,
// however it dies: no stale lock files.
unique_fd lock_dir(const fs::path& dir)
{
    const fs::path path = dir / "LOCK";
    unique_fd fd;
    try {
        fd = open_file(path, O_RDWR | O_CREAT);
    } catch (const std::system_error& e) {
        throw store_error{std::string{"cannot open the store lock "} + e.what()};
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            throw store_error{"cannot lock " + path.string() + ": " + std::strerror(errno)};
        }
        std::string pid;
        try {
            pid = read_all(fd.get(), path);
        } catch (const std::system_error&) {
            // Only for the message.
        }
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
            pid.pop_back();
        }
        unsigned long number = 0;
        const auto [end, ec] = std::from_chars(pid.data(), pid.data() + pid.size(), number);
        const bool known = !pid.empty() && ec == std::errc{} && end == pid.data() + pid.size();
        throw store_error{"the store folder " + dir.string() + " is in use: " +
                          (known ? "process " + pid : std::string{"another process"}) + " holds the lock on " +
                          path.string() + " (flock(2)); only one store may use a folder at a time"};
    }
    // Best effort, for the message above: the lock itself is what protects the folder.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd.get(), 0) == 0) {
        [[maybe_unused]] const ssize_t n = ::pwrite(fd.get(), pid.data(), pid.size(), 0);
    }
    return fd;
}

void remove_if_present(const fs::path& path)
{
    // Best effort: a leftover is overwritten (O_TRUNC) by the next compaction anyway.
    ::unlink(path.c_str());
}

fs::path folder_of(fs::path dir)
{
    dir = dir.lexically_normal();
    if (!dir.has_filename() && dir.has_parent_path() && dir != dir.root_path()) {
        dir = dir.parent_path(); // "a/b/" names the folder "a/b"
    }
    return dir;
}

} // namespace

// --- the store -----------------------------------------------------------------------

std::unique_ptr<file_store> file_store::open(options o, warn_fn warn)
{
    if (!warn) {
        warn = [](std::string_view) {};
    }
    try {
        return std::unique_ptr<file_store>{new file_store{std::move(o), std::move(warn)}};
    } catch (const std::system_error& e) {
        // At start-up every failure is the operator's to fix; the message names the file.
        throw store_error{std::string{"cannot open the store: "} + e.what()};
    }
}

file_store::file_store(options o, warn_fn warn) : options_{std::move(o)}, warn_{std::move(warn)}
{
    if (options_.dir.empty()) {
        throw store_error{"no store folder given"};
    }
    options_.dir = folder_of(options_.dir);
    snapshot_path_ = options_.dir / "snapshot";
    journal_path_ = options_.dir / "journal";
    make_dir(options_.dir);
    lock_fd_ = lock_dir(options_.dir);
    remove_if_present(options_.dir / "snapshot.tmp");
    remove_if_present(options_.dir / "journal.tmp");
    load_snapshot();
    load_journal();
    next_compaction_at_ = options_.compact_after_bytes;
}

file_store::~file_store() = default;

void file_store::load_snapshot()
{
    unique_fd fd;
    try {
        fd = open_file(snapshot_path_, O_RDONLY);
    } catch (const std::system_error& e) {
        if (e.code() == std::errc::no_such_file_or_directory) {
            return; // no compaction yet
        }
        throw;
    }
    const std::string bytes = read_all(fd.get(), snapshot_path_);
    const auto refuse = [&](std::size_t at, const std::string& why) {
        return store_error{"the snapshot " + snapshot_path_.string() + " is damaged: " + why + " at offset " +
                           std::to_string(at) +
                           "; the store does not start without records it once acknowledged: restore the file from a "
                           "backup"};
    };
    if (bytes.size() < header_bytes || std::string_view{bytes}.substr(0, magic_bytes) != snapshot_magic) {
        throw refuse(0, "no snapshot header");
    }
    if (const std::uint32_t version = load_u32(bytes, magic_bytes); version != format_version) {
        throw store_error{"the snapshot " + snapshot_path_.string() + " has format version " + std::to_string(version) +
                          "; this build reads version " + std::to_string(format_version)};
    }
    record_map records;
    std::uint64_t count = 0;
    std::size_t at = header_bytes;
    for (;;) {
        if (at == bytes.size()) {
            throw refuse(at, "the file ends before its trailer record (truncated)");
        }
        const read_result r = read_record(bytes, at);
        if (!r.rec) {
            throw refuse(at, r.problem);
        }
        if (r.rec->kind == op::trailer) {
            if (const std::uint64_t counted = load_u64(r.rec->value, 0); counted != count) {
                throw refuse(at, "a trailer that counts " + std::to_string(counted) + " records, not " +
                                     std::to_string(count));
            }
            if (r.next != bytes.size()) {
                throw refuse(r.next, std::to_string(bytes.size() - r.next) + " bytes after the trailer");
            }
            const std::chrono::nanoseconds since_epoch{static_cast<std::int64_t>(load_u64(r.rec->value, 8))};
            last_compaction_ = clock_type::time_point{std::chrono::duration_cast<clock_type::duration>(since_epoch)};
            break;
        }
        if (r.rec->kind != op::put) {
            throw refuse(at, "an erase record");
        }
        // Written from a std::map: ascending, each key once. Checking it costs one compare
        // and makes every insertion a constant-time hint at the end.
        if (!records.empty() && !(std::string_view{records.rbegin()->first} < r.rec->key)) {
            throw refuse(at, "a key out of order");
        }
        records.emplace_hint(records.end(), r.rec->key, r.rec->value);
        ++count;
        at = r.next;
    }
    records_ = std::move(records);
    snapshot_bytes_ = bytes.size();
}

void file_store::load_journal()
{
    try {
        journal_fd_ = open_file(journal_path_, O_RDWR);
    } catch (const std::system_error& e) {
        if (e.code() != std::errc::no_such_file_or_directory) {
            throw;
        }
        reset_journal(); // the first start in this folder
        return;
    }
    const std::string bytes = read_all(journal_fd_.get(), journal_path_);
    const std::string header = file_header(journal_magic);
    if (bytes.size() < header_bytes) {
        // Journals are created whole (written, fsync'd, then renamed into place), so this is
        // not a crash of ours; but an empty file or a cut header holds no record to lose.
        if (std::string_view{header}.substr(0, bytes.size()) != bytes) {
            throw store_error{"the journal " + journal_path_.string() + " is not a stork journal (bad header)"};
        }
        warn_("the journal " + journal_path_.string() + " has an incomplete header (" + std::to_string(bytes.size()) +
              " of " + std::to_string(header_bytes) + " bytes); it was rewritten as an empty journal");
        reset_journal();
        return;
    }
    if (std::string_view{bytes}.substr(0, magic_bytes) != journal_magic) {
        throw store_error{"the journal " + journal_path_.string() + " is not a stork journal (bad header)"};
    }
    if (const std::uint32_t version = load_u32(bytes, magic_bytes); version != format_version) {
        throw store_error{"the journal " + journal_path_.string() + " has format version " + std::to_string(version) +
                          "; this build reads version " + std::to_string(format_version)};
    }

    std::size_t at = header_bytes;
    std::string problem;
    while (at < bytes.size()) {
        const read_result r = read_record(bytes, at);
        if (!r.rec) {
            problem = r.problem;
            break;
        }
        if (r.rec->kind == op::put) {
            if (const auto it = records_.find(r.rec->key); it != records_.end()) {
                it->second.assign(r.rec->value);
            } else {
                records_.emplace(r.rec->key, r.rec->value);
            }
        } else if (r.rec->kind == op::erase) {
            if (const auto it = records_.find(r.rec->key); it != records_.end()) {
                records_.erase(it);
            }
        } else {
            problem = "a snapshot trailer";
            break;
        }
        at = r.next;
    }
    journal_bytes_ = at;
    if (!problem.empty()) {
        // Truncated now, before any append: a new record after the garbage would be dropped
        // with it at the next start.
        truncate_file(journal_fd_.get(), journal_bytes_, journal_path_);
        sync_data(journal_fd_.get(), journal_path_);
        const std::size_t dropped = bytes.size() - at;
        warn_("the journal " + journal_path_.string() + " holds " + problem + " at offset " + std::to_string(at) +
              ": dropped the last " + std::to_string(dropped) + " of its " + std::to_string(bytes.size()) +
              " bytes, and any record in them, and truncated it there (a torn last record is what a crash "
              "during a write leaves; damage before it points at the disk)");
    }
}

void file_store::put(std::string_view key, std::string_view value)
{
    if (key.empty() || key.size() > max_key_bytes) {
        throw std::invalid_argument{"a store key has 1 to " + std::to_string(max_key_bytes) + " bytes, not " +
                                    std::to_string(key.size())};
    }
    if (value.size() > max_value_bytes) {
        throw std::invalid_argument{"a store value has at most " + std::to_string(max_value_bytes) + " bytes, not " +
                                    std::to_string(value.size())};
    }
    const std::string rec = encode_record(op::put, key, value);
    // Everything that allocates happens before the write: once the record is durable,
    // the map must follow it without a chance to fail (swap and node insertion do not throw).
    std::string new_value{value};
    const auto it = records_.find(key);
    record_map::node_type node;
    if (it == records_.end()) {
        record_map one;
        one.emplace(key, std::string{});
        node = one.extract(one.begin());
    }
    append(rec);
    if (it != records_.end()) {
        it->second.swap(new_value);
    } else {
        node.mapped().swap(new_value);
        records_.insert(std::move(node));
    }
    compact_if_due();
}

bool file_store::erase(std::string_view key)
{
    const auto it = records_.find(key);
    if (it == records_.end()) {
        return false;
    }
    append(encode_record(op::erase, key, {}));
    records_.erase(it);
    compact_if_due();
    return true;
}

void file_store::append(std::string_view rec)
{
    if (journal_dir_sync_pending_) {
        // The journal's name may not be durable yet (see reset_journal): records written
        // to it before that could vanish with it.
        sync_dir(options_.dir);
        journal_dir_sync_pending_ = false;
    }
    if (journal_tail_dirty_) {
        cut_journal_tail();
    }
    try {
        // pwrite(2) at the end we know rather than O_APPEND: after a failed write the file
        // may be longer than that end, and the next record must not land after the garbage.
        write_all(journal_fd_.get(), rec, journal_bytes_, journal_path_);
        sync_data(journal_fd_.get(), journal_path_);
    } catch (const std::system_error&) {
        // A short write (ENOSPC, EFBIG midway) leaves part of a record. And after a failed
        // fdatasync the record may still reach the disk later (the kernel keeps the pages
        // and only reports the error once): cutting the file back is the only way to make
        // "put() threw" mean "not stored". If the cut fails too, the next append retries it first.
        journal_tail_dirty_ = true;
        try {
            cut_journal_tail();
        } catch (const std::system_error&) {
            // Reported by the exception being rethrown; retried before the next append.
        }
        throw;
    }
    journal_bytes_ += rec.size();
}

void file_store::cut_journal_tail()
{
    truncate_file(journal_fd_.get(), journal_bytes_, journal_path_);
    sync_data(journal_fd_.get(), journal_path_);
    journal_tail_dirty_ = false;
}

void file_store::compact()
{
    const auto now = clock_type::now();
    write_snapshot(now);
    // The snapshot is durable and holds every record: a crash from here on replays the old
    // journal over it, which is idempotent (see the top of file_store.hpp).
    reset_journal();
    next_compaction_at_ = options_.compact_after_bytes;
}

void file_store::write_snapshot(clock_type::time_point now)
{
    const fs::path tmp = options_.dir / "snapshot.tmp";
    std::uint64_t size = 0;
    try {
        file_writer out{tmp};
        out.buffer() = file_header(snapshot_magic);
        for (const auto& [key, value] : records_) {
            append_record(out.buffer(), op::put, key, value);
            out.flush_if_full();
        }
        append_record(out.buffer(), op::trailer, {}, trailer_value(records_.size(), now));
        size = out.size();
        // The data is durable before the name points at it: otherwise a crash after the
        // rename could leave "snapshot" naming an empty or partial file.
        out.sync_and_keep();
        rename_file(tmp, snapshot_path_);
    } catch (...) {
        remove_if_present(tmp);
        throw;
    }
    // The rename itself is durable before the journal is reset: otherwise a crash could
    // keep the empty journal and lose the new snapshot's name, and with it the records.
    sync_dir(options_.dir);
    snapshot_bytes_ = size;
    last_compaction_ = now;
}

// Replaces the journal by an empty one with the same dance as the snapshot (never a
// truncation in place: a crash must leave the old journal or the new one, both valid).
// The descriptor of journal.tmp becomes the journal's: no reopen that could fail after the rename.
void file_store::reset_journal()
{
    const fs::path tmp = options_.dir / "journal.tmp";
    unique_fd fd;
    try {
        file_writer out{tmp};
        out.buffer() = file_header(journal_magic);
        fd = out.sync_and_keep();
        rename_file(tmp, journal_path_);
    } catch (...) {
        remove_if_present(tmp);
        throw;
    }
    // From here on the store writes to the new journal: it is the file named "journal".
    journal_fd_ = std::move(fd);
    journal_bytes_ = header_bytes;
    journal_tail_dirty_ = false;
    journal_dir_sync_pending_ = true;
    sync_dir(options_.dir);
    journal_dir_sync_pending_ = false;
}

void file_store::compact_if_due()
{
    if (options_.compact_after_bytes == 0 || journal_bytes_ < next_compaction_at_) {
        return;
    }
    try {
        compact();
    } catch (const std::system_error& e) {
        // The put or erase that got here is durable; failing it now would tell the client
        // it was not stored. Retried once the journal has grown by the threshold again,
        // rather than at every write to a full disk.
        next_compaction_at_ = journal_bytes_ + options_.compact_after_bytes;
        warn_("compaction of " + options_.dir.string() + " failed, retried when the journal reaches " +
              std::to_string(next_compaction_at_) + " bytes: " + e.what());
    }
}

file_store::stats file_store::statistics() const
{
    return {.journal_bytes = journal_bytes_,
            .snapshot_bytes = snapshot_bytes_,
            .records = records_.size(),
            .last_compaction = last_compaction_};
}

} // namespace stork::routing
