// Fuzz target: the file store's start-up replay. Any bytes, as a journal or as a
// snapshot, must end in records or a store_error: never a crash, a hang or another
// exception. And a store that opened must open again to the same records without a
// warning: the repair of a damaged journal is complete the first time.
//
// Each input runs four times: as the journal, as the snapshot (beside an empty journal),
// and both again with every record's CRC rewritten to match its payload, so that the
// fuzzer gets past the checksums to the record decoding behind them.
//
// The seeds in tests/fuzz/corpus/file_store/ are written by this file, through the store
// itself, so that they follow the format:
//   g++ -std=c++20 -I. -DSTORK_FILE_STORE_WRITE_SEEDS -o /tmp/write_seeds
//       tests/fuzz/file_store_fuzz.cpp routing/file_store.cpp routing/crc32c.cpp
//   /tmp/write_seeds tests/fuzz/corpus/file_store
//
// The store's folder lives in $TMPDIR, or /dev/shm when TMPDIR is unset: the store
// fsyncs, and on tmpfs that costs nothing, which is a tenfold speed-up when fuzzing.
#include "routing/crc32c.hpp"
#include "routing/file_store.hpp"

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

namespace {

namespace fs = std::filesystem;
using stork::routing::file_store;
using stork::routing::store_error;

void require(bool condition)
{
    if (!condition) {
        std::abort();
    }
}

// One folder for the whole run, removed at exit.
class scratch_dir {
public:
    scratch_dir()
    {
        const char* tmpdir = std::getenv("TMPDIR");
        const fs::path base = tmpdir == nullptr && fs::is_directory("/dev/shm") ? fs::path{"/dev/shm"}
                                                                                : fs::temp_directory_path();
        std::string pattern = (base / "stork-store-fuzz.XXXXXX").string();
        require(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~scratch_dir()
    {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    const fs::path& path() const noexcept { return path_; }

private:
    fs::path path_;
};

const fs::path& scratch()
{
    static const scratch_dir dir;
    return dir.path();
}

void write_file(const fs::path& path, std::string_view bytes)
{
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    require(static_cast<bool>(out.flush()));
}

std::string read_file(const fs::path& path)
{
    std::ifstream in{path, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

std::uint32_t load_u32(std::string_view bytes, std::size_t at)
{
    std::uint32_t v = 0;
    for (std::size_t i = 4; i-- > 0;) {
        v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    }
    return v;
}

// Every record after the 12-byte header with the CRC of its payload, as far as the
// lengths lead to whole records.
std::string with_matching_crcs(std::string bytes)
{
    std::size_t at = file_store::header_bytes;
    while (bytes.size() >= at + 8) {
        const std::uint32_t length = load_u32(bytes, at);
        if (length > bytes.size() - at - 8) {
            break;
        }
        const std::uint32_t crc = stork::routing::crc32c(std::string_view{bytes}.substr(at + 8, length));
        for (std::size_t i = 0; i < 4; ++i) {
            bytes[at + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
        }
        at += 8 + length;
    }
    return bytes;
}

std::unique_ptr<file_store> open_counting(const fs::path& dir, int& warnings)
{
    return file_store::open({.dir = dir, .compact_after_bytes = 0}, [&warnings](std::string_view) { ++warnings; });
}

void replay(std::string_view file, std::string_view bytes)
{
    const fs::path dir = scratch() / "store";
    fs::remove_all(dir);
    fs::create_directory(dir);
    write_file(dir / file, bytes);
    if (file == "snapshot") {
        write_file(dir / "journal", std::string{"STORKJNL\x01\0\0\0", 12});
    }

    file_store::record_map records;
    try {
        int warnings = 0;
        const auto store = open_counting(dir, warnings);
        records = store->records();
        require(warnings <= 1);
        for (const auto& [key, value] : records) {
            require(!key.empty() && key.size() <= file_store::max_key_bytes);
            require(value.size() <= file_store::max_value_bytes);
        }
        const auto stats = store->statistics();
        require(stats.records == records.size());
        require(stats.journal_bytes == fs::file_size(dir / "journal"));
        if (file == "journal" && bytes.size() >= file_store::header_bytes) {
            // Repair only ever cuts: what stays is a prefix of what was there.
            require(stats.journal_bytes <= bytes.size());
            require(bytes.substr(0, stats.journal_bytes) == read_file(dir / "journal"));
        }
    } catch (const store_error&) {
        return;
    }
    int warnings = 0;
    const auto again = open_counting(dir, warnings);
    require(again->records() == records);
    require(warnings == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string bytes{reinterpret_cast<const char*>(data), size};
    const std::string fixed = with_matching_crcs(bytes);
    replay("journal", bytes);
    replay("snapshot", bytes);
    if (fixed != bytes) {
        replay("journal", fixed);
        replay("snapshot", fixed);
    }
    return 0;
}

#ifdef STORK_FILE_STORE_WRITE_SEEDS
#include <iostream>

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " CORPUS_FOLDER\n";
        return 2;
    }
    const fs::path out{argv[1]};
    fs::create_directories(out);
    const fs::path dir = scratch() / "seed";
    std::string journal;
    {
        const auto store = file_store::open({.dir = dir, .compact_after_bytes = 0}, {});
        store->put("app.example.com", R"({"to":"https://app.example.net/","status":308})");
        store->put("old.example.org", std::string{"\0\xff binary", 9});
        store->erase("app.example.com");
        journal = read_file(dir / "journal");
    }
    write_file(out / "journal-3-records", journal);
    write_file(out / "journal-torn-last-record", std::string_view{journal}.substr(0, journal.size() - 5));
    write_file(out / "empty", "");
    {
        const auto store = file_store::open({.dir = dir, .compact_after_bytes = 0}, {});
        store->put("app.example.com", R"({"to":"https://app.example.net/","status":308})");
        store->compact();
    }
    write_file(out / "snapshot-2-records", read_file(dir / "snapshot"));
    std::cout << "wrote 4 seeds to " << out.string() << "\n";
    return 0;
}
#endif
