#include "routing/crc32c.hpp"

#include <array>
#include <cstddef>

namespace stork::routing {

namespace {

// 0x1EDC6F41 with its bits reversed: the CRC is computed least significant bit first.
constexpr std::uint32_t reflected_polynomial = 0x82F63B78;

// Slicing-by-8 (Kounavis and Berry, "A Systematic Approach to Building High Performance
// Software-based CRC Generators", 2005): tables[0] is the classic byte-at-a-time table,
// tables[k][b] the CRC of byte b followed by k zero bytes, so eight table look-ups
// consume eight bytes at once. About four times the speed of the byte-wise loop, which
// is what replaying a journal or a snapshot spends most of its time on.
constexpr std::array<std::array<std::uint32_t, 256>, 8> make_tables()
{
    std::array<std::array<std::uint32_t, 256>, 8> tables{};
    for (std::uint32_t byte = 0; byte < 256; ++byte) {
        std::uint32_t crc = byte;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ reflected_polynomial : crc >> 1;
        }
        tables[0][byte] = crc;
    }
    for (std::size_t k = 1; k < tables.size(); ++k) {
        for (std::uint32_t byte = 0; byte < 256; ++byte) {
            const std::uint32_t previous = tables[k - 1][byte];
            tables[k][byte] = (previous >> 8) ^ tables[0][previous & 0xff];
        }
    }
    return tables;
}

constexpr auto tables = make_tables();

static_assert(tables[0][1] == 0xF26B8303, "the first entry of the published CRC-32C table");

std::uint32_t load_le32(const unsigned char* p) noexcept
{
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

} // namespace

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc) noexcept
{
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    crc = ~crc;
    while (n >= 8) {
        const std::uint32_t low = crc ^ load_le32(p);
        const std::uint32_t high = load_le32(p + 4);
        crc = tables[7][low & 0xff] ^ tables[6][(low >> 8) & 0xff] ^ tables[5][(low >> 16) & 0xff] ^
              tables[4][low >> 24] ^ tables[3][high & 0xff] ^ tables[2][(high >> 8) & 0xff] ^
              tables[1][(high >> 16) & 0xff] ^ tables[0][high >> 24];
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        crc = (crc >> 8) ^ tables[0][(crc ^ *p) & 0xff];
        ++p;
        --n;
    }
    return ~crc;
}

} // namespace stork::routing
