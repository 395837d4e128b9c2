#pragma once

#include <cstdint>
#include <string_view>

namespace stork::routing {

// CRC-32C, the Castagnoli CRC (polynomial 0x1EDC6F41, reflected, initial value and final
// XOR 0xFFFFFFFF) that iSCSI and SCTP use (RFC 3720 §12.1, RFC 4960 Appendix B). Chosen
// over the zlib CRC-32 for its larger Hamming distance on the record sizes the file store
// writes; check value: crc32c("123456789") == 0xE3069283.
//
// `crc` is the checksum of the bytes before `bytes`, so a checksum can be computed piece
// by piece: crc32c(b, crc32c(a)) == crc32c(a + b).
std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0) noexcept;

} // namespace stork::routing
