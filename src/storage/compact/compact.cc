#include "storage/compact/compact.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "storage/merge/merge.h"

namespace xscaler::storage::compact {

BlockInfo InfoOf(const block::Block& b) {
  const block::BlockMeta& m = b.meta();
  BlockInfo info{m.ulid, m.min_time, m.max_time, b.SizeBytes(), m.level, m.num_series, 0};
  for (const auto& [id, intervals] : *b.tombstones()) info.num_tombstones += intervals.size();
  return info;
}

absl::StatusOr<block::BlockMeta> Compact(base::Env* env, const std::string& parent_dir,
                                         std::span<const std::shared_ptr<block::Block>> sources) {
  if (sources.empty()) return absl::InvalidArgumentError("compaction needs at least one block");
  std::vector<block::Block*> ordered;
  for (const auto& b : sources) {
    if (b == nullptr) return absl::InvalidArgumentError("compaction source block is null");
    ordered.push_back(b.get());
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const block::Block* a, const block::Block* b) {
                     return a->meta().min_time < b->meta().min_time;
                   });

  block::BlockMeta meta;
  meta.ulid = block::NewUlid(absl::ToUnixMillis(absl::Now()));
  meta.min_time = ordered.front()->meta().min_time;
  meta.max_time = ordered.front()->meta().max_time;
  meta.level = 0;
  std::set<std::string> origins;
  std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets;
  for (block::Block* b : ordered) {
    const block::BlockMeta& m = b->meta();
    meta.min_time = std::min(meta.min_time, m.min_time);
    meta.max_time = std::max(meta.max_time, m.max_time);
    meta.level = std::max(meta.level, m.level);
    if (m.sources.empty()) {
      origins.insert(m.ulid);
    } else {
      origins.insert(m.sources.begin(), m.sources.end());
    }
    meta.parents.push_back(m.ulid);
    sets.push_back(b->ChunkSeries());
  }
  meta.level += 1;
  meta.sources.assign(origins.begin(), origins.end());

  auto merged = merge::MergeChunkSeriesSets(std::move(sets));
  auto written = block::WriteBlock(env, parent_dir, *merged, meta);
  if (!written.ok()) {
    return absl::Status(written.status().code(),
                        absl::StrCat("compacting ", meta.parents.size(), " blocks into ", meta.ulid,
                                     ": ", written.status().message()));
  }
  // WriteBlock is expected to fail on a set error; if it did not, the new block would silently
  // miss data, so refuse it (and remove it, so the sources remain the only copy).
  if (!merged->Err().ok()) {
    if (written->num_series > 0) {
      (void)env->RemoveDirRecursive(base::JoinPath(parent_dir, written->ulid));
    }
    return absl::Status(merged->Err().code(),
                        absl::StrCat("compacting ", meta.parents.size(), " blocks into ", meta.ulid,
                                     ": ", merged->Err().message()));
  }
  return written;
}

}  // namespace xscaler::storage::compact
