// Tombstones: deleted time intervals per series of one block (docs/format/block.md,
// "Tombstones"), kept in the block's `tombstones` file, which is rewritten atomically on every
// deletion. Intervals are inclusive [min_t, max_t] and, per series, sorted and disjoint (Add
// merges overlapping and adjacent ones).
//
// Thread-safety: a Tombstones value is not synchronized; Block shares immutable snapshots.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "base/env.h"

namespace xscaler::storage::block {

inline constexpr char kTombstonesFilename[] = "tombstones";

struct Interval {
  int64_t min_t = 0;
  int64_t max_t = 0;  // inclusive
  friend bool operator==(const Interval&, const Interval&) = default;
};
using Intervals = std::vector<Interval>;

// Adds `iv` to the sorted, disjoint `ivs`, merging overlapping and adjacent intervals.
void AddInterval(Intervals* ivs, Interval iv);
// True when `t` lies in one of the sorted `ivs`.
bool IsDeleted(const Intervals& ivs, int64_t t);
// True when one interval covers all of [min_t, max_t].
bool CoversRange(const Intervals& ivs, int64_t min_t, int64_t max_t);

using Tombstones = std::map<uint64_t, Intervals>;  // series id -> deleted intervals

std::string EncodeTombstones(const Tombstones& t);
// DataLoss "<what> offset N: ..." on a bad magic, version, CRC or encoding.
absl::StatusOr<Tombstones> DecodeTombstones(std::string_view data, std::string_view what);

}  // namespace xscaler::storage::block
