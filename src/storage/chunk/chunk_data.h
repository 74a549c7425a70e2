// ChunkData: a borrowed view of one encoded chunk (chunk.md) and its time range, with a
// shared owner that keeps the bytes alive — a head chunk's string, a block's decompressed page
// or its memory-mapped file. Readers of the head and of blocks hand chunks around as this, so
// the same iterators, merges and writers work over both.
//
// Thread-safety: immutable once built; the bytes never change while `owner` is held.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace xscaler::storage::chunk {

struct ChunkData {
  int64_t min_t = 0;  // first and last sample timestamps, inclusive
  int64_t max_t = 0;
  std::string_view bytes;
  std::shared_ptr<const void> owner;

  // A chunk that owns `encoded` (a freshly encoded or copied chunk).
  static ChunkData Owning(int64_t min_t, int64_t max_t, std::string encoded) {
    auto owned = std::make_shared<const std::string>(std::move(encoded));
    return ChunkData{min_t, max_t, *owned, std::move(owned)};
  }
};

}  // namespace xscaler::storage::chunk
