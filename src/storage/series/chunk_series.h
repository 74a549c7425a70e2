// ChunkSeriesSet: series with their encoded chunks rather than decoded samples — what block
// writing and compaction consume. The head (over a block-aligned range), a block and a merge of
// several sets all produce it, so one block writer serves head cuts and compactions.
//
// Invariants: series come in strictly ascending label-set order; a series' chunks are ordered
// by min_t. Chunks of one series may overlap only when a producer says so (a merge of
// overlapping sources resolves overlaps by re-encoding before handing chunks on).
//
// Thread-safety: one thread at a time.
#pragma once

#include <span>

#include "absl/status/status.h"
#include "labels/labels.h"
#include "storage/chunk/chunk_data.h"

namespace xscaler::storage::series {

class ChunkSeriesSet {
 public:
  virtual ~ChunkSeriesSet() = default;
  // Advances to the next series; false when exhausted or on error (see Err).
  virtual bool Next() = 0;
  // REQUIRES: the last Next returned true. Valid until the next call to Next.
  virtual const labels::Labels& Labels() const = 0;
  virtual std::span<const chunk::ChunkData> Chunks() const = 0;
  virtual absl::Status Err() const { return absl::OkStatus(); }
};

}  // namespace xscaler::storage::series
