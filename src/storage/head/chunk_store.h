// ChunkStore: where the head puts its full in-order chunks when they leave the heap — a
// ChunkMapper (head_chunks.md) plus the bookkeeping the head needs around it: a count of
// failed writes (the chunk then stays on the heap and the write is retried at the series' next
// seal) and a log line per streak of failures rather than per chunk.
//
// Thread-safety: all methods are safe for concurrent use (the mapper serializes writes).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/chunk/chunk_data.h"
#include "storage/head/chunk_mapper.h"

namespace xscaler::storage::head {

class ChunkStore {
 public:
  explicit ChunkStore(std::unique_ptr<ChunkMapper> mapper) : mapper_(std::move(mapper)) {}

  absl::StatusOr<uint64_t> Write(uint64_t series_ref, int64_t min_t, int64_t max_t,
                                 std::string_view bytes);
  absl::StatusOr<chunk::ChunkData> Read(uint64_t ref) const { return mapper_->Read(ref); }
  absl::Status Truncate(int64_t mint) { return mapper_->Truncate(mint); }

  uint64_t write_failures() const { return failures_.load(std::memory_order_relaxed); }
  const ChunkMapper& mapper() const { return *mapper_; }

 private:
  const std::unique_ptr<ChunkMapper> mapper_;
  std::atomic<uint64_t> failures_{0};
  std::atomic<bool> failing_{false};  // the last write failed (logged once per streak)
};

}  // namespace xscaler::storage::head
