#include "storage/compact/plan.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace xscaler::storage::compact {
namespace {

using Blocks = std::vector<const BlockInfo*>;

// Start of the range-aligned window of width `range` that holds t (floor, also for t < 0).
int64_t WindowStart(int64_t t, int64_t range) {
  int64_t q = t / range;
  if (t % range != 0 && t < 0) --q;
  return q * range;
}

std::vector<std::string> Ulids(const Blocks& blocks) {
  std::vector<std::string> out;
  out.reserve(blocks.size());
  for (const BlockInfo* b : blocks) out.push_back(b->ulid);
  return out;
}

// The first run of overlapping blocks in min-time order. Until the first overlap, blocks are
// disjoint, so the one just before the first overlapping block is the one it overlaps with.
Blocks FirstOverlappingRun(const Blocks& sorted) {
  Blocks run;
  if (sorted.size() < 2) return run;
  int64_t max_end = sorted[0]->max_time;
  for (size_t i = 1; i < sorted.size(); ++i) {
    const BlockInfo* b = sorted[i];
    if (b->min_time < max_end) {
      if (run.empty()) run.push_back(sorted[i - 1]);
      run.push_back(b);
    } else if (!run.empty()) {
      break;
    }
    max_end = std::max(max_end, b->max_time);
  }
  return run;
}

// Consecutive blocks grouped by the window of width `range` their min time falls in; blocks
// that end past their window (too large or misaligned) belong to no group.
std::vector<Blocks> SplitByRange(const Blocks& sorted, int64_t range) {
  std::vector<Blocks> groups;
  size_t i = 0;
  while (i < sorted.size()) {
    int64_t start = WindowStart(sorted[i]->min_time, range);
    int64_t end = start > std::numeric_limits<int64_t>::max() - range
                      ? std::numeric_limits<int64_t>::max()
                      : start + range;
    if (sorted[i]->max_time > end) {
      ++i;
      continue;
    }
    Blocks group;
    while (i < sorted.size() && sorted[i]->max_time <= end) group.push_back(sorted[i++]);
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace

std::vector<int64_t> ExponentialRanges(int64_t min_range, int steps, int64_t factor) {
  std::vector<int64_t> out;
  if (min_range <= 0 || steps <= 0 || factor <= 0) return out;
  int64_t r = min_range;
  for (int i = 0; i < steps; ++i) {
    out.push_back(r);
    if (i + 1 < steps && r > std::numeric_limits<int64_t>::max() / factor) break;
    r *= factor;
  }
  return out;
}

std::vector<std::string> Plan(std::span<const BlockInfo> blocks, std::span<const int64_t> ranges) {
  Blocks sorted;
  sorted.reserve(blocks.size());
  for (const BlockInfo& b : blocks) sorted.push_back(&b);
  std::sort(sorted.begin(), sorted.end(), [](const BlockInfo* a, const BlockInfo* b) {
    return std::tie(a->min_time, a->ulid) < std::tie(b->min_time, b->ulid);
  });

  if (Blocks run = FirstOverlappingRun(sorted); !run.empty()) return Ulids(run);

  if (sorted.size() < 2 || ranges.empty()) return {};
  sorted.pop_back();  // the newest block waits (see plan.h)
  const int64_t newest_min = sorted.back()->min_time;
  for (int64_t range : ranges.subspan(1)) {
    if (range <= 0) continue;
    for (const Blocks& group : SplitByRange(sorted, range)) {
      if (group.size() < 2) continue;
      int64_t min_t = group.front()->min_time;
      int64_t max_t = group.back()->max_time;
      if (max_t - min_t == range || max_t <= newest_min) return Ulids(group);
    }
  }
  const int64_t big_enough = ranges[ranges.size() / 2];
  for (size_t i = sorted.size(); i-- > 0;) {
    const BlockInfo& b = *sorted[i];
    if (b.max_time - b.min_time < big_enough) {
      if (b.num_tombstones > 0 && b.num_tombstones >= b.num_series) return {b.ulid};
      break;
    }
    // More than 5% (series+1 so that a block without series never divides by zero).
    if (b.num_tombstones * 20 > b.num_series + 1) return {b.ulid};
  }
  return {};
}

std::vector<std::string> BlocksBeyondRetention(std::span<const BlockInfo> blocks,
                                               int64_t retention_ms, uint64_t max_bytes) {
  Blocks sorted;  // newest first
  sorted.reserve(blocks.size());
  for (const BlockInfo& b : blocks) sorted.push_back(&b);
  std::sort(sorted.begin(), sorted.end(), [](const BlockInfo* a, const BlockInfo* b) {
    return std::tie(a->max_time, a->min_time, a->ulid) >
           std::tie(b->max_time, b->min_time, b->ulid);
  });
  size_t keep = sorted.size();  // sorted[keep..] are dropped
  if (retention_ms > 0 && !sorted.empty()) {
    int64_t newest = sorted.front()->max_time;
    // Saturate: a cutoff below int64 min means nothing is old enough.
    if (newest >= std::numeric_limits<int64_t>::min() + retention_ms) {
      int64_t cutoff = newest - retention_ms;
      keep = 0;
      while (keep < sorted.size() && sorted[keep]->max_time > cutoff) ++keep;
    }
  }
  if (max_bytes > 0) {
    uint64_t total = 0;
    for (size_t i = 0; i < keep; ++i) {
      total += sorted[i]->size_bytes;
      if (total > max_bytes) {
        keep = i;
        break;
      }
    }
  }
  std::vector<std::string> out;
  for (size_t i = sorted.size(); i > keep; --i) out.push_back(sorted[i - 1]->ulid);
  return out;
}

}  // namespace xscaler::storage::compact
