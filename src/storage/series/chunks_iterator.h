// A SampleIterator over a series' encoded chunks (ordered by time, not overlapping), limited
// to [mint, maxt]. Chunks are decoded lazily, one at a time; a corrupt chunk ends the iteration
// (after the samples before the corruption) with its DataLoss error in Err().
//
// Thread-safety: one thread at a time; the chunks' owners keep their bytes alive.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "storage/chunk/chunk_data.h"
#include "storage/storage.h"

namespace xscaler::storage::series {

std::unique_ptr<SampleIterator> NewChunksIterator(std::vector<chunk::ChunkData> chunks,
                                                  int64_t mint, int64_t maxt);
// The same over a shared list (no copy of the list or of its owners per iterator).
std::unique_ptr<SampleIterator> NewChunksIterator(
    std::shared_ptr<const std::vector<chunk::ChunkData>> chunks, int64_t mint, int64_t maxt);

}  // namespace xscaler::storage::series
