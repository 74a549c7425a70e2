// Turns one series' chunk snapshot that may overlap (in-order chunks plus out-of-order ones,
// see MemSeries::Snapshot) into chunks ordered by time that do not overlap, which is what
// series iterators and block writers require.
//
// Thread-safety: a pure function over borrowed chunks (their owners keep the bytes alive).
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "storage/chunk/chunk_data.h"

namespace xscaler::storage::head {

// Most samples a chunk re-encoded by the merge holds.
inline constexpr uint32_t kMergedChunkSamples = 120;

// Sorts *chunks by min_t; every run of chunks whose ranges overlap is decoded, merged by
// timestamp (equal timestamps: the sample of the chunk that came first in *chunks wins, i.e.
// in-order before out-of-order) and re-encoded into chunks of at most kMergedChunkSamples
// samples. Chunks that overlap nothing are passed through untouched (cheap when nothing
// overlaps). A chunk that fails to decode: DataLoss, *chunks unspecified.
absl::Status MergeOverlappingChunks(std::vector<chunk::ChunkData>* chunks);

}  // namespace xscaler::storage::head
