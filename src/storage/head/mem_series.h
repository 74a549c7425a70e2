// MemSeries: one series in the head — its identity (labels, compactly encoded), its chunks
// and its newest sample, which the out-of-order and duplicate checks compare against.
//
// In-order chunks, oldest first: `mapped_` (full chunks written to the head's ChunkStore, 24
// bytes each: time range, reference, sample count), then `heap_` (full chunks kept on the
// heap as immutable shared bytes: all of them when the head has no ChunkStore, otherwise only
// those whose write failed, retried oldest first at the next seal so mapped chunks always
// precede heap ones), then the open XorEncoder. All disjoint and ordered by time.
//
// Out-of-order samples (older than the newest sample, accepted by the head within its
// out-of-order window) are kept apart from the in-order chunks, in an OooData the series
// allocates with its first such sample: a small sorted buffer sealed into a time-sorted XOR
// chunk when full. Its chunks may overlap each other and the in-order chunks; readers merge
// (MergeOverlappingChunks). A series holds at most one sample per timestamp across both.
//
// Thread-safety: `ref`, `hash` and `labels` are immutable after construction. Everything
// else is guarded by the head's lock stripe for `hash` (see Head), except the `logged` flag
// and the `pending` count, which are atomic. Readers copy what they need (chunk pointers, the open chunk's bytes) under
// that lock, so they never race the appender.
//
// Memory: this struct is on the path of "bytes per active series", so it holds no per-series
// mutex and encodes its labels into one array instead of a vector of string pairs.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "labels/labels.h"
#include "storage/chunk/chunk_data.h"
#include "absl/status/status.h"
#include "storage/chunk/xor.h"
#include "storage/head/chunk_store.h"

namespace xscaler::storage::head {

// Labels as varint-length-prefixed name, value, name, value, ... (sorted by name).
std::string EncodeLabels(const labels::Labels& lset);
labels::Labels DecodeLabels(std::string_view enc);
// DecodeLabels(a) < DecodeLabels(b), without decoding (no allocation).
bool EncodedLabelsLess(std::string_view a, std::string_view b);

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

// A full in-order chunk in the ChunkStore. 24 bytes; max_t = min_t + span.
struct MappedChunk {
  int64_t min_t = 0;
  uint64_t ref = 0;
  uint32_t span = 0;
  uint16_t num_samples = 0;
  int64_t max_t() const { return min_t + span; }
};
static_assert(sizeof(MappedChunk) == 24);

// Out-of-order samples of one series. `buf` is sorted by time with distinct timestamps and
// holds fewer than kOooBufferSamples samples; `chunks` are the sealed buffers, each one
// time-sorted chunk, in the order they were sealed (their ranges may overlap).
inline constexpr size_t kOooBufferSamples = 32;
struct OooData {
  std::vector<std::pair<int64_t, double>> buf;
  std::vector<ChunkRef> chunks;
};

struct ChunkCutPolicy {
  int64_t chunk_range_ms = 2 * 3600 * 1000;  // chunks never straddle a multiple of this
  uint32_t max_samples = 120;                // Prometheus' target: ~1.3 bytes/sample
};

class MemSeries {
 public:
  MemSeries(uint64_t ref, uint64_t hash, std::string_view encoded_labels)
      : ref_(ref), hash_(hash), labels_(CopyBytes(encoded_labels)),
        labels_size_(static_cast<uint32_t>(encoded_labels.size())) {}

  uint64_t ref() const { return ref_; }
  uint64_t hash() const { return hash_; }
  std::string_view encoded_labels() const { return {labels_.get(), labels_size_}; }
  labels::Labels Labels() const { return DecodeLabels(encoded_labels()); }

  // REQUIRES: the series' stripe lock for all of the below.
  // Whether the in-order chunks hold samples (then last_t/last_v are the newest one).
  bool has_samples() const { return has_samples_; }
  int64_t last_t() const { return last_t_; }
  double last_v() const { return last_v_; }
  // No sample at all, in-order or out-of-order.
  bool empty() const { return !has_samples_ && ooo_ == nullptr; }
  // Oldest and newest sample held, out-of-order ones included. REQUIRES: !empty().
  int64_t min_t() const;
  int64_t max_t() const;
  bool has_ooo() const { return ooo_ != nullptr; }
  // Applies the ordering rules, then appends (cutting a new chunk when the policy says so).
  // `*new_chunk` is set when a chunk was cut or started.
  // A full chunk goes to `store` (null: stays on the heap).
  AppendOutcome Append(int64_t t, double v, const ChunkCutPolicy& policy, ChunkStore* store,
                       bool* new_chunk);
  // Applies a sample the head accepted as out-of-order. Deterministic in the series' state,
  // so live commits and WAL replay agree: newer than every in-order sample (or none) ->
  // Append; a timestamp already held (in-order or out-of-order) -> kDuplicate (same value
  // bits) or kConflict; else inserted into the out-of-order data (`*new_chunk` when the
  // buffer was sealed into a chunk).
  AppendOutcome AppendOoo(int64_t t, double v, const ChunkCutPolicy& policy, ChunkStore* store,
                          bool* new_chunk);
  // Whether a sample with timestamp t is held (in-order or out-of-order); its value in *v.
  // Decodes at most the chunks whose range covers t. A mapped chunk that cannot be read
  // counts as not holding t (the read-time merge still keeps one sample per timestamp).
  bool Lookup(int64_t t, const ChunkStore* store, double* v) const;
  // Hints the CPU to fetch what the next Append writes (replay prefetches ahead).
  void PrefetchForAppend() const {
    __builtin_prefetch(open_.Bytes().data() + open_.SizeBytes(), 1);
  }
  // Chunks overlapping [mint, maxt]: the in-order ones oldest first (mapped ones read from
  // `store`, the open chunk copied), then the out-of-order chunks and the buffer (encoded
  // into a new chunk). `*overlaps` tells whether out-of-order chunks were added: then the list
  // may overlap and must go through MergeOverlappingChunks before it is read as one series.
  // Errors: a mapped chunk that cannot be read (DataLoss/NotFound naming file and offset).
  absl::Status Snapshot(int64_t mint, int64_t maxt, const ChunkStore* store,
                        std::vector<chunk::ChunkData>* out, bool* overlaps) const;
  // Whether Snapshot(mint, maxt) would return any chunk, without reading or copying one.
  bool HasChunkOverlapping(int64_t mint, int64_t maxt) const;
  size_t num_chunks() const {
    return mapped_.size() + (heap_ != nullptr ? heap_->size() : 0) +
           (open_.NumSamples() > 0 ? 1 : 0) + (ooo_ != nullptr ? ooo_->chunks.size() : 0);
  }
  size_t num_mapped_chunks() const { return mapped_.size(); }
  // Drops chunks whose max_t < mint (the open one too, if it ends before mint) and
  // out-of-order samples < mint (sealed out-of-order chunks when they end before mint); adds
  // what went to the counters. A chunk straddling mint stays. Returns !empty() afterwards.
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
  static std::unique_ptr<const char[]> CopyBytes(std::string_view b) {
    auto p = std::make_unique_for_overwrite<char[]>(b.size());
    std::memcpy(p.get(), b.data(), b.size());
    return p;
  }

  const uint64_t ref_;
  const uint64_t hash_;
  // The encoded labels as a bare array and a 32-bit size (filling the padding after the
  // flags) rather than a std::string: 24 bytes less per series, on "bytes per active series".
  const std::unique_ptr<const char[]> labels_;
  // Seals the open chunk into mapped_ (via store) or heap_.
  void Seal(ChunkStore* store);

  std::vector<MappedChunk> mapped_;
  std::unique_ptr<std::vector<ChunkRef>> heap_;  // null when empty
  chunk::XorEncoder open_;
  std::unique_ptr<OooData> ooo_;  // null until the first out-of-order sample
  int64_t last_t_ = 0;
  double last_v_ = 0;
  bool has_samples_ = false;
  std::atomic<bool> logged_{false};
  const uint32_t labels_size_;
};

}  // namespace xscaler::storage::head
