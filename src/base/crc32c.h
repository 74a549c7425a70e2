// CRC-32C (Castagnoli), the checksum of every WAL frame, chunk and index section.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it and a table otherwise; both give the
// same result. Crc32c(b, Crc32c(a)) == Crc32c(a + b), so a checksum can be extended piecewise.
// Thread-safe (pure function).
#pragma once

#include <cstdint>
#include <string_view>

namespace xscaler::base {

// The CRC-32C of `data`, continuing from `init` (the CRC of the preceding bytes, 0 for none).
uint32_t Crc32c(std::string_view data, uint32_t init = 0);

// A CRC stored next to data that itself contains CRCs would be weak (the CRC of a string with
// an embedded CRC is predictable), so stored checksums are masked, as in LevelDB.
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t UnmaskCrc(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace xscaler::base
