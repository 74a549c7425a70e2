// RefList: the head's in-memory posting list — an ascending, duplicate-free list of series
// refs, stored in 4 bytes per ref instead of 8.
//
// Why: the head keeps one list per label pair plus the all-series list, so every series sits
// in ~11 lists; with 64-bit refs and vector doubling that was ~140 bytes per series, the
// third-largest cost of an active series. Head refs are handed out by a counter starting at
// 1, so they stay below 2^32 for the first four billion series a head ever creates; refs at
// or above it are kept in a second, 64-bit list, which is correct (every ref in `lo_` is
// smaller than every ref in `hi_`, so `lo_` then `hi_` is the ascending list) and costs
// nothing until it is needed. Capacity grows by ~1/8 instead of doubling: a list grows by one
// ref per new series, so the amortized copying stays O(1) while unused capacity stays small.
//
// Thread-safety: none; MemPostings guards its lists with its own lock.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "storage/index/postings.h"

namespace xscaler::storage::index {

class RefList {
 public:
  bool empty() const { return lo_.empty() && hi_.empty(); }
  size_t size() const { return lo_.size() + hi_.size(); }

  // Adds `ref` in order (appending when it is the largest: the usual case); no-op if present.
  void Insert(uint64_t ref);
  // Removes `ref` if present.
  void Erase(uint64_t ref);
  // Removes every ref in `dead` (ascending) in one pass.
  void EraseAll(std::span<const uint64_t> dead);

  // Appends the refs, ascending, to *out.
  void AppendTo(Postings* out) const;
  Postings ToPostings() const {
    Postings out;
    AppendTo(&out);
    return out;
  }
  // Whether any ref is also in `p` (ascending).
  bool Intersects(std::span<const uint64_t> p) const;

  // Heap bytes held (capacity), for memory accounting and tests.
  size_t CapacityBytes() const {
    return lo_.capacity() * sizeof(uint32_t) + hi_.capacity() * sizeof(uint64_t);
  }

 private:
  static constexpr uint64_t kLoLimit = uint64_t{1} << 32;

  std::vector<uint32_t> lo_;  // refs < 2^32, ascending
  std::vector<uint64_t> hi_;  // refs >= 2^32, ascending
};

}  // namespace xscaler::storage::index
