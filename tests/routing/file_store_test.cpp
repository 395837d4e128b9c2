#include "routing/file_store.hpp"

#include "routing/crc32c.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace stork::routing {
namespace {

namespace fs = std::filesystem;
using record_map = file_store::record_map;
using stork::test::read_file;
using stork::test::temp_dir;
using testing::HasSubstr;

// --- helpers -------------------------------------------------------------------------

// Collects what a store reports through its warn callback.
class warnings {
public:
    file_store::warn_fn sink()
    {
        return [this](std::string_view line) { lines_.emplace_back(line); };
    }
    const std::vector<std::string>& lines() const noexcept { return lines_; }

private:
    std::vector<std::string> lines_;
};

std::unique_ptr<file_store> open_store(const fs::path& dir, warnings& w, std::uint64_t compact_after_bytes = 0)
{
    return file_store::open({.dir = dir, .compact_after_bytes = compact_after_bytes}, w.sink());
}

std::unique_ptr<file_store> open_store(const fs::path& dir)
{
    return file_store::open({.dir = dir, .compact_after_bytes = 0}, {});
}

void write_bytes(const fs::path& path, std::string_view bytes)
{
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.flush()) << path;
}

// The format as file_store.hpp describes it, written again here rather than borrowed from
// the store, so that a change of the store's encoding fails these tests.
std::string u32le(std::uint32_t v)
{
    std::string out;
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
    return out;
}

std::string u64le(std::uint64_t v)
{
    return u32le(static_cast<std::uint32_t>(v)) + u32le(static_cast<std::uint32_t>(v >> 32));
}

const std::string journal_header = std::string{"STORKJNL"} + u32le(1);
const std::string snapshot_header = std::string{"STORKSNP"} + u32le(1);

std::string record(std::uint8_t op, std::string_view key, std::string_view value)
{
    std::string payload(1, static_cast<char>(op));
    payload += u32le(static_cast<std::uint32_t>(key.size()));
    payload += key;
    payload += value;
    return u32le(static_cast<std::uint32_t>(payload.size())) + u32le(crc32c(payload)) + payload;
}

std::string put_record(std::string_view key, std::string_view value)
{
    return record(1, key, value);
}

std::string erase_record(std::string_view key)
{
    return record(2, key, {});
}

std::string trailer_record(std::uint64_t count, std::int64_t nanoseconds = 0)
{
    return record(3, {}, u64le(count) + u64le(static_cast<std::uint64_t>(nanoseconds)));
}

constexpr std::uint64_t record_bytes(std::size_t key, std::size_t value)
{
    return 8 + 5 + key + value;
}

const std::string all_bytes = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) {
        s.push_back(static_cast<char>(i));
    }
    return s;
}();

// Lowers RLIMIT_FSIZE for the life of the object: a write past the limit fails with EFBIG
// (after writing what fits: a short write), like a disk filling up midway, without needing
// a small file system. SIGXFSZ is ignored meanwhile, or it would kill the test (setrlimit(2)).
// Assert nothing while it lives: a report written to a file could fail too.
class file_size_limit {
public:
    explicit file_size_limit(std::uint64_t bytes)
    {
        old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
        ::getrlimit(RLIMIT_FSIZE, &old_limit_);
        rlimit lowered = old_limit_;
        lowered.rlim_cur = static_cast<rlim_t>(bytes);
        ::setrlimit(RLIMIT_FSIZE, &lowered);
    }
    ~file_size_limit()
    {
        ::setrlimit(RLIMIT_FSIZE, &old_limit_);
        ::signal(SIGXFSZ, old_handler_);
    }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;

private:
    rlimit old_limit_{};
    sighandler_t old_handler_ = SIG_DFL;
};

// --- CRC-32C -------------------------------------------------------------------------

TEST(crc32c, check_value_and_rfc_3720_examples)
{
    std::string increasing;
    std::string decreasing;
    for (int i = 0; i < 32; ++i) {
        increasing.push_back(static_cast<char>(i));
        decreasing.push_back(static_cast<char>(31 - i));
    }
    const struct {
        std::string bytes;
        std::uint32_t crc;
    } cases[] = {
        {"", 0},
        {"123456789", 0xE3069283}, // the check value of the CRC catalogues
        // RFC 3720 Appendix B.4 (the RFC prints the CRC bytes in wire order, low byte first).
        {std::string(32, '\0'), 0x8A9136AA},
        {std::string(32, '\xff'), 0x62A8AB43},
        {increasing, 0x46DD794E},
        {decreasing, 0x113FDB5C},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(crc32c(c.bytes), c.crc) << testing::PrintToString(c.bytes);
    }
}

TEST(crc32c, piece_by_piece_equals_whole)
{
    // Every split point, so the 8-byte loop and the byte loop meet at every alignment.
    std::string bytes;
    for (int i = 0; i < 100; ++i) {
        bytes.push_back(static_cast<char>(i * 37 + 11));
    }
    const std::uint32_t whole = crc32c(bytes);
    for (std::size_t split = 0; split <= bytes.size(); ++split) {
        const std::string_view view{bytes};
        EXPECT_EQ(crc32c(view.substr(split), crc32c(view.substr(0, split))), whole) << split;
    }
}

// --- basics --------------------------------------------------------------------------

TEST(file_store, creates_its_folder_and_starts_empty)
{
    const temp_dir tmp;
    const fs::path dir = tmp.path() / "var/lib/stork/rules";
    warnings w;
    const auto store = open_store(dir, w);
    EXPECT_TRUE(store->records().empty());
    EXPECT_TRUE(w.lines().empty());
    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_EQ(read_file(dir / "journal"), journal_header);
    EXPECT_TRUE(fs::exists(dir / "LOCK"));
    EXPECT_FALSE(fs::exists(dir / "snapshot"));
}

TEST(file_store, refuses_a_folder_that_is_a_file)
{
    const temp_dir tmp;
    const fs::path file = tmp.write("rules", "not a folder");
    try {
        open_store(file);
        FAIL() << "opened";
    } catch (const store_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(file.string()));
    }
}

TEST(file_store, put_and_erase_survive_a_reopen)
{
    enum class action { put, erase };
    const struct {
        action what;
        std::string key;
        std::string value;
        bool erased = false; // what erase() returns
    } steps[] = {
        {action::put, "app.example.com", R"({"to":"https://new.example.net"})"},
        {action::put, "nul.example", std::string{"a\0b", 3}},
        {action::put, "ff.example", "\xff\xff\xfe"},
        {action::put, "every-byte.example", all_bytes},
        {action::put, "empty.example", ""},
        {action::put, "app.example.com", R"({"to":"https://newer.example.net"})"}, // last write wins
        {action::erase, "nul.example", "", true},
        {action::erase, "nul.example", "", false}, // absent now
        {action::erase, "never.example", "", false},
        {action::put, "nul.example", std::string(3, '\0')}, // back, with another value
        {action::put, std::string(253, 'k'), "longest key"},
    };
    const temp_dir tmp;
    record_map model;
    {
        warnings w;
        const auto store = open_store(tmp.path(), w);
        for (const auto& step : steps) {
            SCOPED_TRACE(step.key);
            if (step.what == action::put) {
                store->put(step.key, step.value);
                model.insert_or_assign(step.key, step.value);
            } else {
                const std::uint64_t before = store->statistics().journal_bytes;
                EXPECT_EQ(store->erase(step.key), step.erased);
                model.erase(step.key);
                if (!step.erased) {
                    EXPECT_EQ(store->statistics().journal_bytes, before) << "an erase of an absent key writes nothing";
                }
            }
            EXPECT_EQ(store->records(), model);
        }
    }
    warnings w;
    const auto store = open_store(tmp.path(), w);
    EXPECT_EQ(store->records(), model);
    EXPECT_TRUE(w.lines().empty());
}

TEST(file_store, refuses_keys_and_values_beyond_the_limits)
{
    const temp_dir tmp;
    auto store = open_store(tmp.path());
    EXPECT_THROW(store->put("", "v"), std::invalid_argument);
    EXPECT_THROW(store->put(std::string(254, 'k'), "v"), std::invalid_argument);
    EXPECT_THROW(store->put("k", std::string(file_store::max_value_bytes + 1, 'v')), std::invalid_argument);
    EXPECT_EQ(store->statistics().journal_bytes, file_store::header_bytes) << "nothing written";
    EXPECT_FALSE(store->erase(std::string(254, 'k')));

    // The limits themselves are fine, and survive a reopen and a compaction.
    const std::string big(file_store::max_value_bytes, '\x80');
    store->put(std::string(253, 'k'), big);
    EXPECT_EQ(store->records().at(std::string(253, 'k')), big);
    store->compact();
    store->put("k", big);
    const record_map expected = store->records();
    store.reset();
    EXPECT_EQ(open_store(tmp.path())->records(), expected);
}

TEST(file_store, journal_format_is_the_documented_one)
{
    const temp_dir tmp;
    {
        const auto store = open_store(tmp.path());
        store->put("app.example", R"({"to":1})");
        store->erase("app.example");
    }
    // A literal record too, so that the helper above cannot drift from the documentation.
    const std::string payload{"\x01\x0b\0\0\0app.example{\"to\":1}", 24};
    const std::string literal = std::string{"\x18\0\0\0", 4} + u32le(crc32c(payload)) + payload;
    EXPECT_EQ(put_record("app.example", R"({"to":1})"), literal);
    EXPECT_EQ(read_file(tmp.path() / "journal"),
              journal_header + put_record("app.example", R"({"to":1})") + erase_record("app.example"));
}

TEST(file_store, statistics)
{
    const temp_dir tmp;
    const fs::path dir = tmp.path();
    std::optional<std::chrono::system_clock::time_point> compacted;
    {
        const auto store = open_store(dir);
        auto s = store->statistics();
        EXPECT_EQ(s.journal_bytes, 12u);
        EXPECT_EQ(s.snapshot_bytes, 0u);
        EXPECT_EQ(s.records, 0u);
        EXPECT_FALSE(s.last_compaction);

        store->put("a", "xyz");
        store->put("bb", "");
        s = store->statistics();
        EXPECT_EQ(s.journal_bytes, 12 + record_bytes(1, 3) + record_bytes(2, 0));
        EXPECT_EQ(s.journal_bytes, fs::file_size(dir / "journal"));
        EXPECT_EQ(s.records, 2u);

        const auto before = std::chrono::system_clock::now();
        store->compact();
        const auto after = std::chrono::system_clock::now();
        s = store->statistics();
        EXPECT_EQ(s.journal_bytes, file_store::header_bytes);
        EXPECT_EQ(s.snapshot_bytes, 12 + record_bytes(1, 3) + record_bytes(2, 0) + record_bytes(0, 16));
        EXPECT_EQ(s.snapshot_bytes, fs::file_size(dir / "snapshot"));
        EXPECT_EQ(s.records, 2u);
        ASSERT_TRUE(s.last_compaction);
        EXPECT_LE(before, *s.last_compaction);
        EXPECT_LE(*s.last_compaction, after);
        compacted = s.last_compaction;

        store->erase("a");
        EXPECT_EQ(store->statistics().journal_bytes, 12 + record_bytes(1, 0));
        EXPECT_EQ(store->statistics().records, 1u);
    }
    // The compaction time is kept in the snapshot: it survives a restart.
    const auto s = open_store(dir)->statistics();
    EXPECT_EQ(s.last_compaction, compacted);
    EXPECT_EQ(s.snapshot_bytes, fs::file_size(dir / "snapshot"));
    EXPECT_EQ(s.journal_bytes, 12 + record_bytes(1, 0));
    EXPECT_EQ(s.records, 1u);
}

// --- a damaged journal: its tail is dropped, never a refused start --------------------

// A store folder whose journal ends with one more record than `before` holds.
struct journal_fixture {
    temp_dir tmp;
    record_map before;      // the records without the last one
    std::uint64_t last = 0; // where the last record starts
    std::string journal;    // the whole journal

    journal_fixture()
    {
        const auto store = open_store(tmp.path());
        store->put("a.example", "one");
        store->put("b.example", std::string{"\0\xff", 2});
        store->put("gone.example", "soon");
        store->erase("gone.example");
        store->put("a.example", "two");
        before = store->records();
        last = store->statistics().journal_bytes;
        store->put("c.example", R"({"to":"https://c.example.net/"})");
        journal = read_file(tmp.path() / "journal");
    }
    fs::path journal_path() const { return tmp.path() / "journal"; }
};

TEST(file_store, a_journal_cut_anywhere_in_its_last_record_replays_the_records_before)
{
    const journal_fixture f;
    for (std::uint64_t cut = f.last; cut < f.journal.size(); ++cut) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        write_bytes(f.journal_path(), std::string_view{f.journal}.substr(0, cut));
        {
            warnings w;
            const auto store = open_store(f.tmp.path(), w);
            EXPECT_EQ(store->records(), f.before);
            EXPECT_EQ(w.lines().size(), cut == f.last ? 0u : 1u);
            EXPECT_EQ(fs::file_size(f.journal_path()), f.last) << "truncated to the last whole record";
            EXPECT_EQ(store->statistics().journal_bytes, f.last);
            store->put("after.example", "readable");
        }
        warnings w;
        record_map expected = f.before;
        expected["after.example"] = "readable";
        EXPECT_EQ(open_store(f.tmp.path(), w)->records(), expected);
        EXPECT_TRUE(w.lines().empty()) << w.lines().front();
    }
}

TEST(file_store, a_damaged_last_record_is_dropped_with_a_warning)
{
    const journal_fixture f;
    const std::uint64_t length_at = f.last;
    const std::uint64_t crc_at = f.last + 4;
    const std::uint64_t payload_at = f.last + 8;
    for (std::uint64_t at = f.last; at < f.journal.size(); ++at) {
        for (const unsigned char mask : {0x01, 0x80, 0xff}) {
            const char* field = at < crc_at ? " (length)" : at < payload_at ? " (CRC)" : " (payload)";
            SCOPED_TRACE("byte " + std::to_string(at) + field + " xor " + std::to_string(mask));
            std::string damaged = f.journal;
            damaged[at] = static_cast<char>(static_cast<unsigned char>(damaged[at]) ^ mask);
            write_bytes(f.journal_path(), damaged);
            warnings w;
            const auto store = open_store(f.tmp.path(), w);
            EXPECT_EQ(store->records(), f.before);
            ASSERT_EQ(w.lines().size(), 1u);
            EXPECT_THAT(w.lines()[0], HasSubstr(f.journal_path().string()));
            EXPECT_THAT(w.lines()[0], HasSubstr("offset " + std::to_string(length_at)));
            EXPECT_EQ(fs::file_size(f.journal_path()), f.last);
        }
    }
}

TEST(file_store, damage_in_the_middle_of_the_journal_drops_everything_from_there)
{
    // Decision (file_store.hpp): a prefix of the journal is a state the store was in;
    // the records after a damaged one are dropped with it, and the warning says how much.
    const temp_dir tmp;
    record_map first_two;
    std::uint64_t third = 0;
    {
        const auto store = open_store(tmp.path());
        store->put("one.example", "1");
        store->put("two.example", "2");
        first_two = store->records();
        third = store->statistics().journal_bytes;
        store->erase("one.example");
        store->put("four.example", "4");
        store->put("five.example", "5");
    }
    std::string journal = read_file(tmp.path() / "journal");
    const std::uint64_t dropped = journal.size() - third;
    journal[third + 10] ^= 0x20; // in the key of the third record (the erase)
    write_bytes(tmp.path() / "journal", journal);

    warnings w;
    const auto store = open_store(tmp.path(), w);
    EXPECT_EQ(store->records(), first_two) << "the erase is lost, so the puts after it are too";
    ASSERT_EQ(w.lines().size(), 1u);
    EXPECT_THAT(w.lines()[0], HasSubstr("CRC"));
    EXPECT_THAT(w.lines()[0], HasSubstr("offset " + std::to_string(third)));
    EXPECT_THAT(w.lines()[0], HasSubstr("dropped the last " + std::to_string(dropped) + " of its " +
                                        std::to_string(journal.size()) + " bytes"));
    EXPECT_EQ(fs::file_size(tmp.path() / "journal"), third);
}

TEST(file_store, records_that_break_the_format_in_a_journal_are_damage_too)
{
    // CRC-valid records the store never writes: each is dropped like a torn tail.
    const struct {
        const char* name;
        std::string bytes;
    } cases[] = {
        {"unknown op", record(7, "a", "")},
        {"snapshot trailer", trailer_record(0)},
        {"empty key", put_record("", "v")},
        {"key too long", put_record(std::string(254, 'k'), "")},
        {"key longer than the payload", u32le(6) + u32le(crc32c(std::string{"\x01\x09\0\0\0a", 6})) +
                                            std::string{"\x01\x09\0\0\0a", 6}},
        {"erase with a value", record(2, "a", "v")},
        {"length below the minimum",
         u32le(4) + u32le(crc32c(std::string{"\x01\0\0\0", 4})) + std::string{"\x01\0\0\0", 4}},
        {"length beyond the maximum", u32le(5 + 253 + (1 << 20) + 1) + std::string(64, 'x')},
        {"zeros", std::string(64, '\0')},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const temp_dir tmp;
        fs::create_directory(tmp.path() / "store");
        write_bytes(tmp.path() / "store/journal", journal_header + put_record("kept.example", "1") + c.bytes);
        warnings w;
        const auto store = open_store(tmp.path() / "store", w);
        EXPECT_EQ(store->records(), (record_map{{"kept.example", "1"}}));
        EXPECT_EQ(w.lines().size(), 1u);
        EXPECT_EQ(store->statistics().journal_bytes, 12 + record_bytes(12, 1));
    }
}

TEST(file_store, a_cut_journal_header_is_rewritten_with_a_warning)
{
    const temp_dir tmp;
    record_map snapshot;
    {
        const auto store = open_store(tmp.path());
        store->put("a.example", "1");
        store->compact();
        snapshot = store->records();
    }
    for (std::size_t cut = 0; cut < journal_header.size(); ++cut) {
        SCOPED_TRACE(cut);
        write_bytes(tmp.path() / "journal", journal_header.substr(0, cut));
        warnings w;
        const auto store = open_store(tmp.path(), w);
        EXPECT_EQ(store->records(), snapshot);
        EXPECT_EQ(w.lines().size(), 1u);
        EXPECT_EQ(read_file(tmp.path() / "journal"), journal_header);
    }
}

TEST(file_store, refuses_a_journal_that_is_not_one)
{
    const struct {
        const char* name;
        std::string bytes;
        const char* why;
    } cases[] = {
        {"another magic", "STORKSNP" + u32le(1), "not a stork journal"},
        {"short and foreign", "{}\n", "not a stork journal"},
        {"a later version", "STORKJNL" + u32le(2) + put_record("a", "b"), "version 2"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const temp_dir tmp;
        write_bytes(tmp.path() / "journal", c.bytes);
        try {
            open_store(tmp.path());
            ADD_FAILURE() << "opened";
        } catch (const store_error& e) {
            EXPECT_THAT(e.what(), HasSubstr((tmp.path() / "journal").string()));
            EXPECT_THAT(e.what(), HasSubstr(c.why));
        }
        EXPECT_EQ(read_file(tmp.path() / "journal"), c.bytes) << "left as it was, for the operator";
    }
}

// --- a damaged snapshot: a refused start ----------------------------------------------

struct snapshot_fixture {
    temp_dir tmp;
    std::string snapshot;

    snapshot_fixture()
    {
        const auto store = open_store(tmp.path());
        store->put("a.example", "1");
        store->put("b.example", "22");
        store->put("c.example", all_bytes);
        store->compact();
        snapshot = read_file(tmp.path() / "snapshot");
    }
    fs::path snapshot_path() const { return tmp.path() / "snapshot"; }
    std::size_t trailer_at() const { return snapshot.size() - record_bytes(0, 16); }
};

void expect_refused(const fs::path& dir, const fs::path& named, const std::string& why)
{
    try {
        open_store(dir);
        ADD_FAILURE() << "opened";
    } catch (const store_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(named.string()));
        EXPECT_THAT(e.what(), HasSubstr(why));
    }
}

TEST(file_store, refuses_a_damaged_snapshot)
{
    const snapshot_fixture f;
    const auto flip = [&](std::size_t at) {
        std::string s = f.snapshot;
        s[at] ^= 0x04;
        return s;
    };
    const std::string whole_records = f.snapshot.substr(0, f.trailer_at());
    const struct {
        const char* name;
        std::string bytes;
        const char* why;
    } cases[] = {
        {"empty file", "", "no snapshot header"},
        {"bad magic", flip(0), "no snapshot header"},
        {"a journal instead", journal_header, "no snapshot header"},
        {"a later version", "STORKSNP" + u32le(2) + trailer_record(0), "version 2"},
        {"payload byte flipped", flip(12 + 8 + 7), "CRC"},
        {"CRC byte flipped", flip(12 + 5), "CRC"},
        {"length beyond the limits", snapshot_header + u32le(0x7fffffff) + f.snapshot.substr(16), "record length"},
        {"no trailer", whole_records, "before its trailer"},
        {"trailer with a wrong count", whole_records + trailer_record(2), "counts 2 records, not 3"},
        {"bytes after the trailer", f.snapshot + "x", "after the trailer"},
        {"two trailers", f.snapshot + trailer_record(3), "after the trailer"},
        {"an erase", snapshot_header + erase_record("a.example") + trailer_record(0), "an erase record"},
        {"keys out of order", snapshot_header + put_record("b", "") + put_record("a", "") + trailer_record(2),
         "out of order"},
        {"a key twice", snapshot_header + put_record("a", "1") + put_record("a", "2") + trailer_record(2),
         "out of order"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        write_bytes(f.snapshot_path(), c.bytes);
        expect_refused(f.tmp.path(), f.snapshot_path(), c.why);
    }
    // And the genuine one still opens: the cases above damaged only what they meant to.
    write_bytes(f.snapshot_path(), f.snapshot);
    EXPECT_EQ(open_store(f.tmp.path())->records().size(), 3u);
}

TEST(file_store, refuses_a_snapshot_cut_anywhere)
{
    const snapshot_fixture f;
    for (std::size_t cut = 0; cut < f.snapshot.size(); ++cut) {
        SCOPED_TRACE(cut);
        write_bytes(f.snapshot_path(), std::string_view{f.snapshot}.substr(0, cut));
        expect_refused(f.tmp.path(), f.snapshot_path(), "snapshot");
    }
}

// --- compaction ----------------------------------------------------------------------

TEST(file_store, compaction_keeps_every_record)
{
    const temp_dir tmp;
    record_map expected;
    {
        warnings w;
        const auto store = open_store(tmp.path(), w);
        for (int i = 0; i < 50; ++i) {
            store->put("host-" + std::to_string(i % 20) + ".example", "value " + std::to_string(i));
        }
        for (int i = 0; i < 20; i += 3) {
            store->erase("host-" + std::to_string(i) + ".example");
        }
        store->put("nul.example", std::string(5, '\0'));
        expected = store->records();
        store->compact();
        EXPECT_EQ(store->records(), expected);
        EXPECT_EQ(store->statistics().journal_bytes, file_store::header_bytes);
        EXPECT_EQ(read_file(tmp.path() / "journal"), journal_header);
        EXPECT_FALSE(fs::exists(tmp.path() / "snapshot.tmp"));
        EXPECT_FALSE(fs::exists(tmp.path() / "journal.tmp"));

        // Writes after a compaction go to the new journal.
        store->put("after.example", "1");
        store->erase("host-1.example");
        expected = store->records();
        store->compact(); // a second compaction replaces the first snapshot
        store->put("late.example", "2");
        expected = store->records();
        EXPECT_TRUE(w.lines().empty());
    }
    warnings w;
    EXPECT_EQ(open_store(tmp.path(), w)->records(), expected);
    EXPECT_TRUE(w.lines().empty());
}

TEST(file_store, compacts_by_itself_once_the_journal_crosses_the_threshold)
{
    const temp_dir tmp;
    constexpr std::uint64_t threshold = 300;
    const std::string value(40, 'v');
    record_map expected;
    {
        warnings w;
        const auto store = open_store(tmp.path(), w, threshold);
        int compactions = 0;
        std::optional<std::chrono::system_clock::time_point> last;
        for (int i = 0; i < 40; ++i) {
            store->put("k" + std::to_string(i % 7) + ".example", value);
            const auto s = store->statistics();
            EXPECT_LT(s.journal_bytes, threshold) << "compacted in the put that crossed it";
            if (s.last_compaction != last) {
                ++compactions;
                last = s.last_compaction;
                EXPECT_EQ(s.journal_bytes, file_store::header_bytes);
            }
        }
        EXPECT_GE(compactions, 5);
        expected = store->records();
        EXPECT_TRUE(w.lines().empty());
    }
    EXPECT_EQ(open_store(tmp.path())->records(), expected);
}

TEST(file_store, a_crash_between_the_snapshot_rename_and_the_journal_reset_replays_the_same_records)
{
    // The crash is simulated by putting the old journal back after compact(): the state
    // a crash leaves when the new snapshot's rename is durable but the journal's is not.
    const temp_dir tmp;
    record_map expected;
    std::string old_journal;
    {
        const auto store = open_store(tmp.path());
        store->put("kept-in-old-snapshot.example", "1");
        store->put("erased-later.example", "2");
        store->compact(); // an older snapshot under the journal, as in real life
        store->put("a.example", "1");
        store->put("a.example", "2");      // overwritten
        store->erase("erased-later.example"); // erased over the old snapshot
        store->put("b.example", "3");
        store->erase("b.example");          // erased: absent from the new snapshot, erased again at replay
        store->put("kept-in-old-snapshot.example", "new");
        expected = store->records();
        old_journal = read_file(tmp.path() / "journal");
        store->compact();
    }
    write_bytes(tmp.path() / "journal", old_journal);
    warnings w;
    const auto store = open_store(tmp.path(), w);
    EXPECT_EQ(store->records(), expected);
    EXPECT_TRUE(w.lines().empty());
    // And the store goes on from there: the next compaction settles it.
    store->compact();
    EXPECT_EQ(store->records(), expected);
}

TEST(file_store, leftovers_of_a_crash_during_a_compaction_are_ignored_and_removed)
{
    const temp_dir tmp;
    record_map expected;
    {
        const auto store = open_store(tmp.path());
        store->put("a.example", "1");
        store->compact();
        store->put("b.example", "2");
        expected = store->records();
    }
    write_bytes(tmp.path() / "snapshot.tmp", snapshot_header + put_record("ghost.example", "x")); // no trailer
    write_bytes(tmp.path() / "journal.tmp", "STORKJ");
    warnings w;
    EXPECT_EQ(open_store(tmp.path(), w)->records(), expected);
    EXPECT_TRUE(w.lines().empty());
    EXPECT_FALSE(fs::exists(tmp.path() / "snapshot.tmp"));
    EXPECT_FALSE(fs::exists(tmp.path() / "journal.tmp"));
}

// --- failing writes --------------------------------------------------------------------

TEST(file_store, a_write_that_fails_midway_leaves_the_journal_as_it_was)
{
    const temp_dir tmp;
    auto store = open_store(tmp.path());
    store->put("a.example", "1");
    const std::uint64_t size = store->statistics().journal_bytes;

    std::optional<std::system_error> error;
    {
        // 20 bytes fit: a short write, then EFBIG.
        const file_size_limit limit{size + 20};
        try {
            store->put("b.example", std::string(1000, 'x'));
        } catch (const std::system_error& e) {
            error = e;
        }
    }
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), std::errc::file_too_large);
    EXPECT_THAT(error->what(), HasSubstr((tmp.path() / "journal").string()));
    EXPECT_EQ(store->records(), (record_map{{"a.example", "1"}})) << "unchanged in memory";
    EXPECT_EQ(store->statistics().journal_bytes, size);
    EXPECT_EQ(fs::file_size(tmp.path() / "journal"), size) << "cut back to the last whole record";

    error.reset();
    {
        const file_size_limit limit{size + 3};
        try {
            store->erase("a.example");
        } catch (const std::system_error& e) {
            error = e;
        }
    }
    ASSERT_TRUE(error);
    EXPECT_EQ(store->records().size(), 1u);
    EXPECT_EQ(fs::file_size(tmp.path() / "journal"), size);

    store->put("c.example", "3");
    store.reset();
    warnings w;
    EXPECT_EQ(open_store(tmp.path(), w)->records(), (record_map{{"a.example", "1"}, {"c.example", "3"}}));
    EXPECT_TRUE(w.lines().empty());
}

TEST(file_store, a_failed_compaction_changes_nothing)
{
    const temp_dir tmp;
    const auto store = open_store(tmp.path());
    for (int i = 0; i < 10; ++i) {
        store->put("host-" + std::to_string(i) + ".example", std::string(100, 'v'));
    }
    const record_map expected = store->records();
    const std::string journal = read_file(tmp.path() / "journal");

    std::optional<std::system_error> error;
    {
        const file_size_limit limit{500}; // less than the snapshot needs
        try {
            store->compact();
        } catch (const std::system_error& e) {
            error = e;
        }
    }
    ASSERT_TRUE(error);
    EXPECT_THAT(error->what(), HasSubstr("snapshot.tmp"));
    EXPECT_EQ(store->records(), expected);
    EXPECT_FALSE(store->statistics().last_compaction);
    EXPECT_FALSE(fs::exists(tmp.path() / "snapshot.tmp"));
    EXPECT_FALSE(fs::exists(tmp.path() / "snapshot"));
    EXPECT_EQ(read_file(tmp.path() / "journal"), journal);

    store->compact(); // the disk has room again
    EXPECT_EQ(store->records(), expected);
    EXPECT_TRUE(store->statistics().last_compaction);
}

TEST(file_store, a_failed_automatic_compaction_is_a_warning_and_retried_later)
{
    const temp_dir tmp;
    constexpr std::uint64_t threshold = 150;
    const std::string value(40, 'v');
    constexpr std::uint64_t record = record_bytes(10, 40); // "k0.example"
    warnings w;
    const auto store = open_store(tmp.path(), w, threshold);
    store->put("k0.example", value);
    store->put("k1.example", value);
    ASSERT_LT(store->statistics().journal_bytes, threshold);

    // The third put crosses the threshold. Its record fits under the limit; the snapshot,
    // which holds the same three records plus a trailer, does not.
    const std::uint64_t after_third = 12 + 3 * record;
    ASSERT_GE(after_third, threshold);
    std::optional<std::system_error> error;
    {
        const file_size_limit limit{after_third};
        try {
            store->put("k2.example", value);
        } catch (const std::system_error& e) {
            error = e;
        }
    }
    EXPECT_FALSE(error) << "the put itself is stored: " << error->what();
    EXPECT_EQ(store->records().size(), 3u);
    ASSERT_EQ(w.lines().size(), 1u);
    EXPECT_THAT(w.lines()[0], HasSubstr("compaction"));
    EXPECT_THAT(w.lines()[0], HasSubstr(std::to_string(after_third + threshold)));
    EXPECT_FALSE(store->statistics().last_compaction);
    EXPECT_EQ(store->statistics().journal_bytes, after_third);

    // Not retried at every write, but once the journal has grown by the threshold again.
    store->put("k3.example", value);
    store->put("k4.example", value);
    EXPECT_FALSE(store->statistics().last_compaction);
    store->put("k5.example", value);
    EXPECT_TRUE(store->statistics().last_compaction);
    EXPECT_EQ(store->statistics().journal_bytes, file_store::header_bytes);
    EXPECT_EQ(w.lines().size(), 1u);
}

// --- one store per folder --------------------------------------------------------------

TEST(file_store, a_second_open_in_the_same_process_fails_on_the_lock)
{
    const temp_dir tmp;
    auto first = open_store(tmp.path());
    first->put("a.example", "1");
    for (int attempt = 0; attempt < 2; ++attempt) {
        // Twice: the failed open must not have released the first store's lock as it closed its own descriptor.
        try {
            open_store(tmp.path());
            ADD_FAILURE() << "opened twice";
        } catch (const store_error& e) {
            EXPECT_THAT(e.what(), HasSubstr("lock"));
            EXPECT_THAT(e.what(), HasSubstr((tmp.path() / "LOCK").string()));
            EXPECT_THAT(e.what(), HasSubstr("process " + std::to_string(::getpid())));
        }
    }
    first->put("b.example", "2"); // the first store is unharmed
    first.reset();
    EXPECT_EQ(open_store(tmp.path())->records().size(), 2u);
}

// Runs `child` in a forked process and returns its exit code (or 128 + the signal).
int in_child_process(const std::function<int()>& child)
{
    const pid_t pid = ::fork();
    if (pid == 0) {
        int code = 99;
        try {
            code = child();
        } catch (...) {
        }
        ::_exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(file_store_process, another_process_cannot_open_the_folder)
{
    const temp_dir tmp;
    const auto store = open_store(tmp.path());
    const int code = in_child_process([&] {
        try {
            open_store(tmp.path());
            return 1;
        } catch (const store_error& e) {
            const std::string what = e.what();
            return what.find("lock") != std::string::npos &&
                           what.find("process " + std::to_string(::getppid())) != std::string::npos
                       ? 0
                       : 2;
        }
    });
    EXPECT_EQ(code, 0) << "1: opened; 2: an error that does not mention the lock and its holder";
}

TEST(file_store_process, the_lock_dies_with_its_holder)
{
    const temp_dir tmp;
    int ready[2];
    int hold[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(hold), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ready[0]);
        ::close(hold[1]);
        try {
            const auto store = open_store(tmp.path());
            store->put("child.example", "1");
            [[maybe_unused]] const ssize_t w = ::write(ready[1], "x", 1);
            char c;
            [[maybe_unused]] const ssize_t r = ::read(hold[0], &c, 1); // until killed
        } catch (...) {
        }
        ::_exit(1);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child could not open the store";
    try {
        open_store(tmp.path());
        ADD_FAILURE() << "opened while the child holds it";
    } catch (const store_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("process " + std::to_string(pid)));
    }
    // SIGKILL: no destructor runs, as in a crash. The kernel releases the flock anyway.
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(ready[0]);
    ::close(hold[1]);
    warnings w;
    const auto store = open_store(tmp.path(), w);
    EXPECT_EQ(store->records(), (record_map{{"child.example", "1"}}));
    EXPECT_TRUE(w.lines().empty());
}

} // namespace
} // namespace stork::routing
