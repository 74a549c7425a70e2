// Small Series/SeriesSet implementations shared by the head, blocks and merges: a series
// backed by a snapshot of its chunks, a set over a vector of series, and a set that only
// reports an error.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "labels/labels.h"
#include "storage/chunk/chunk_data.h"
#include "storage/storage.h"

namespace xscaler::storage::series {

// A series whose samples are its chunks, clipped to [mint, maxt].
class ChunkListSeries final : public Series {
 public:
  ChunkListSeries(labels::Labels lset, std::vector<chunk::ChunkData> chunks, int64_t mint,
                  int64_t maxt);
  const labels::Labels& Labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override;
  const std::vector<chunk::ChunkData>& chunks() const { return *chunks_; }

 private:
  labels::Labels labels_;
  // Shared with the iterators (which may outlive the series) instead of each copying the list
  // and its owners (an atomic increment and decrement per chunk).
  std::shared_ptr<const std::vector<chunk::ChunkData>> chunks_;
  int64_t mint_;
  int64_t maxt_;
};

// Hands out `series` in the given order. REQUIRES: ascending label order (the SeriesSet
// contract); callers sort first.
std::unique_ptr<SeriesSet> NewVectorSeriesSet(std::vector<std::unique_ptr<Series>> series);
// No series; Err() returns `st`.
std::unique_ptr<SeriesSet> NewErrorSeriesSet(absl::Status st);
// An error set (InvalidArgument, as Prometheus words it) when no matcher narrows the selection
// (each matches the empty string, e.g. {job=~".*"}), which would select every series; null
// when the selection is fine. Every querier's Select starts with it.
std::unique_ptr<SeriesSet> RejectUnselective(std::span<const labels::Matcher> matchers);

}  // namespace xscaler::storage::series
