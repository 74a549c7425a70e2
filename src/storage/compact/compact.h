// Compact: merges several blocks into one new block (the planning side is in plan.h).
//
// The sources' series are merged with merge::MergeChunkSeriesSets (non-overlapping chunks are
// copied byte for byte, overlapping ones re-encoded with duplicates dropped, the first source
// winning) and written with block::WriteBlock, which builds the block in a temp dir and
// renames it into place, so a failure or crash leaves either the complete new block or none.
// Deletions are applied on the way: a source's ChunkSeries already leaves out (re-encodes
// around) its tombstoned samples, so the new block holds no deleted data and no tombstones.
// The sources are neither modified nor deleted: the caller swaps them out (opens the new
// block, then MarkDeleted on the sources) — if it crashes in between, the new block overlaps
// its sources and the next Plan compacts them again (vertical compaction), which is harmless.
//
// Thread-safety: Compact may run concurrently with queries on the sources (it only reads
// them through pinned ChunkSeries sets).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "base/env.h"
#include "storage/block/block.h"
#include "storage/block/meta.h"
#include "storage/compact/plan.h"

namespace xscaler::storage::compact {

// Writes one block into parent_dir holding the union of `sources` (REQUIRES: not empty; else
// InvalidArgument). Sources are merged oldest first (stably sorted by min_time), so for equal
// timestamps the oldest block's value wins. New meta: a fresh ulid, [min of min_time, max of
// max_time), level = max(source levels) + 1, sources = sorted union of the sources' `sources`
// (a source with none counts as its own ulid), parents = the source ulids.
// When the merge yields no series, no block is written and the returned meta has
// num_series == 0 (the caller then just deletes the sources, as Prometheus does).
absl::StatusOr<block::BlockMeta> Compact(base::Env* env, const std::string& parent_dir,
                                         std::span<const std::shared_ptr<block::Block>> sources);

// BlockInfo of an open block (for Plan / BlocksBeyondRetention), tombstones counted as
// deleted intervals.
BlockInfo InfoOf(const block::Block& b);

}  // namespace xscaler::storage::compact
