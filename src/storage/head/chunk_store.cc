#include "storage/head/chunk_store.h"

#include "spdlog/spdlog.h"

namespace xscaler::storage::head {

absl::StatusOr<uint64_t> ChunkStore::Write(uint64_t series_ref, int64_t min_t, int64_t max_t,
                                           std::string_view bytes) {
  absl::StatusOr<uint64_t> ref = mapper_->Write(series_ref, min_t, max_t, bytes);
  if (!ref.ok()) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    if (!failing_.exchange(true, std::memory_order_relaxed)) {
      spdlog::warn("head chunks {}: {}; full chunks stay in memory until writes succeed again",
                   mapper_->dir(), ref.status().ToString());
    }
  } else if (failing_.load(std::memory_order_relaxed) &&
             failing_.exchange(false, std::memory_order_relaxed)) {
    spdlog::info("head chunks {}: writing chunks again", mapper_->dir());
  }
  return ref;
}

}  // namespace xscaler::storage::head
