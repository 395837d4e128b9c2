// Runs a libFuzzer target once over every file of the given corpus folders or files, so
// that seeds and saved crashes replay as ordinary tests under any compiler (Beast's
// test/fuzz and cpp-httplib's standalone runner do the same).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void run_one(const std::filesystem::path& file)
{
    std::ifstream in{file, std::ios::binary};
    const std::vector<char> bytes{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

} // namespace

int main(int argc, char** argv)
{
    std::size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg{argv[i]};
        if (std::filesystem::is_directory(arg)) {
            for (const auto& entry : std::filesystem::recursive_directory_iterator{arg}) {
                if (entry.is_regular_file()) {
                    run_one(entry.path());
                    ++count;
                }
            }
        } else {
            run_one(arg);
            ++count;
        }
    }
    if (count == 0) {
        std::cerr << "no corpus files given\n";
        return 1;
    }
    std::cout << "replayed " << count << " inputs\n";
    return 0;
}
