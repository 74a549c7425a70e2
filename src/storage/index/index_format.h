// Constants of the on-disk index format (docs/format/index.md), shared by IndexWriter and
// IndexFile. Header-only, no state.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xscaler::storage::index::format {

inline constexpr char kMagic[4] = {'X', 'S', 'I', 'X'};
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderSize = 8;
inline constexpr int kNumSections = 5;  // symbols, series, names, pairs, postings
// 5 x (off, len) + num_series + num_symbols + min_time + max_time + crc.
inline constexpr size_t kTocSize = kNumSections * 16 + 8 + 4 + 8 + 8 + 4;
inline constexpr uint32_t kSymbolGroup = 16;  // symbols per restart
inline constexpr uint32_t kSeriesGroup = 16;  // series per group offset
inline constexpr size_t kPairEntrySize = 8;
inline constexpr size_t kNameEntrySize = 8;

}  // namespace xscaler::storage::index::format
