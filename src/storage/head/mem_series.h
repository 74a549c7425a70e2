// MemSeries: one series in the head — its identity (labels, compactly encoded), its chunks
// (sealed ones as immutable shared bytes, plus the open XorEncoder) and its newest sample,
// which the out-of-order and duplicate checks compare against.
//
// Thread-safety: `ref`, `hash` and `labels` are immutable after construction. Everything
// else is guarded by the head's lock stripe for `hash` (see Head), except the `logged` flag
// and the `pending` count, which are atomic. Readers copy what they need (chunk pointers, the open chunk's bytes) under
// that lock, so they never race the appender.
//
// Memory: this struct is on the path of "bytes per active series", so it holds no per-series
// mutex and encodes its labels into one string instead of a vector of string pairs.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "labels/labels.h"
#include "storage/chunk/chunk_data.h"
#include "storage/chunk/xor.h"

namespace xscaler::storage::head {

// Labels as varint-length-prefixed name, value, name, value, ... (sorted by name).
std::string EncodeLabels(const labels::Labels& lset);
labels::Labels DecodeLabels(std::string_view enc);

// An immutable, complete chunk shared by the series and every reader that snapshotted it.
struct ChunkRef {
  int64_t min_t = 0;
  int64_t max_t = 0;
  std::shared_ptr<const std::string> bytes;
};

// Outcome of appending one sample to a series under its lock.
enum class AppendOutcome : uint8_t {
  kAppended,
  kDuplicate,   // same timestamp and value bits as the newest sample: ignored
  kOutOfOrder,  // older than the newest sample
  kConflict,    // same timestamp as the newest sample, different value
};

struct ChunkCutPolicy {
  int64_t chunk_range_ms = 2 * 3600 * 1000;  // chunks never straddle a multiple of this
  uint32_t max_samples = 120;                // Prometheus' target: ~1.3 bytes/sample
};

class MemSeries {
 public:
  MemSeries(uint64_t ref, uint64_t hash, std::string encoded_labels)
      : ref_(ref), hash_(hash), labels_(std::move(encoded_labels)) {}

  uint64_t ref() const { return ref_; }
  uint64_t hash() const { return hash_; }
  std::string_view encoded_labels() const { return labels_; }
  labels::Labels Labels() const { return DecodeLabels(labels_); }

  // REQUIRES: the series' stripe lock for all of the below.
  bool has_samples() const { return has_samples_; }
  int64_t last_t() const { return last_t_; }
  double last_v() const { return last_v_; }
  int64_t min_t() const;  // REQUIRES: has_samples()
  // Applies the ordering rules, then appends (cutting a new chunk when the policy says so).
  // `*new_chunk` is set when a chunk was cut or started.
  AppendOutcome Append(int64_t t, double v, const ChunkCutPolicy& policy, bool* new_chunk);
  // Hints the CPU to fetch what the next Append writes (replay prefetches ahead).
  void PrefetchForAppend() const {
    __builtin_prefetch(open_.Bytes().data() + open_.SizeBytes(), 1);
  }
  // Chunks overlapping [mint, maxt], oldest first; the open chunk is copied.
  void Snapshot(int64_t mint, int64_t maxt, std::vector<chunk::ChunkData>* out) const;
  size_t num_chunks() const { return sealed_.size() + (open_.NumSamples() > 0 ? 1 : 0); }
  // Drops chunks whose max_t < mint (the open one too, if it ends before mint); adds what went
  // to the counters. A chunk straddling mint stays. Returns has_samples() afterwards.
  bool TruncateBefore(int64_t mint, uint64_t* chunks_removed, uint64_t* samples_removed);
  // Heap bytes held (chunk bytes and bookkeeping), for memory accounting.
  size_t MemoryBytes() const;

  // Set once a WAL batch holding this series' record is durable.
  bool logged() const { return logged_.load(std::memory_order_acquire); }
  void set_logged() { logged_.store(true, std::memory_order_release); }
  // Set (under the stripe lock) by the one committer that adds the series to the postings.
  bool indexed = false;
  // Appenders holding this series between Append and the end of Commit/Rollback; garbage
  // collection skips series with pending > 0 (see Head). Incremented only under the hash or
  // ref stripe lock through which the series was found.
  std::atomic<uint32_t> pending{0};

  MemSeries* hash_next = nullptr;  // collision chain in the by-hash map (stripe lock)

 private:
  const uint64_t ref_;
  const uint64_t hash_;
  const std::string labels_;
  std::vector<ChunkRef> sealed_;
  chunk::XorEncoder open_;
  int64_t last_t_ = 0;
  double last_v_ = 0;
  bool has_samples_ = false;
  std::atomic<bool> logged_{false};
};

}  // namespace xscaler::storage::head
