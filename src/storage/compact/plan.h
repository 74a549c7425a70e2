// Compaction planning and retention selection: pure functions over block descriptions, so the
// database can decide what to compact or drop without touching files, and tests can check the
// decisions as tables.
//
// The plan follows Prometheus' leveled compactor (tsdb/compact.go):
//  1. Blocks whose time ranges overlap are compacted first ("vertical" compaction): the first
//     run of mutually overlapping blocks, by min time, is returned whole.
//  2. Otherwise the newest block (largest min time) is left out: it was most likely just cut
//     from the head, and leaving it alone for one block range gives operators a window to back
//     it up before it disappears into a bigger block.
//  3. For each range level from the second up (ranges[1], ranges[2], ...), the remaining blocks
//     are split into groups aligned to that range (a group holds the consecutive blocks that
//     lie inside one [k*range, (k+1)*range) window; blocks larger than the window or
//     straddling its end are skipped). The first group with at least two blocks that either
//     spans the whole window or ends no later than the newest remaining block's min time
//     (so no further block can still land in its window) is returned.
//  4. Otherwise, deletions are applied: scanning from the newest remaining block back, the
//     first block with more than 5% tombstones per series is compacted alone (rewritten
//     without the deleted data), as long as it spans at least the middle range level; smaller
//     blocks are left to ordinary compaction unless they are entirely deleted (at least one
//     tombstone per series). The scan stops at the first block that is too small.
//
// Blocks cover [min_time, max_time) (max exclusive). Results are ulids in min-time order.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace xscaler::storage::compact {

struct BlockInfo {
  std::string ulid;
  int64_t min_time = 0;  // inclusive
  int64_t max_time = 0;  // exclusive
  uint64_t size_bytes = 0;
  int level = 1;
  uint64_t num_series = 0;      // only used to weigh tombstones
  uint64_t num_tombstones = 0;  // deleted intervals (0 when the block has no deletions)
};

// {min_range, min_range*factor, min_range*factor^2, ...}: `steps` values (fewer if the next
// one would overflow int64). Prometheus' default is (2h, 10, 3): 2h, 6h, 18h, 54h, ...
// Empty when steps <= 0, min_range <= 0 or factor <= 0.
std::vector<int64_t> ExponentialRanges(int64_t min_range, int steps, int64_t factor);

// One group of blocks (ulids, min-time order) to compact next into a single block, or empty
// when nothing is due. `blocks` may come in any order. `ranges` ascending; ranges[0] is the
// head's block range (only ranges[1..] form groups).
std::vector<std::string> Plan(std::span<const BlockInfo> blocks, std::span<const int64_t> ranges);

// Blocks to delete, oldest first: (1) with retention_ms > 0, every block whose data is entirely
// older than (newest block's max_time - retention_ms), i.e. max_time <= that cutoff — so the
// newest block is never dropped by time; (2) with max_bytes > 0, then the oldest remaining
// blocks until the total size_bytes of those kept is <= max_bytes (this may drop every block
// if the newest alone is larger than the cap, as Prometheus does). 0 disables either rule.
// "Oldest" orders by max_time, then min_time, then ulid.
std::vector<std::string> BlocksBeyondRetention(std::span<const BlockInfo> blocks,
                                               int64_t retention_ms, uint64_t max_bytes);

}  // namespace xscaler::storage::compact
