// Head: the in-memory part of one tenant's TSDB — every series with its recent chunks, the
// inverted index over them, and metric metadata. Appenders and queriers over it implement the
// storage seam (storage.h); Tsdb (tsdb.h) wires it to the write-ahead log and replay.
//
// Layout: series live in two striped maps. By label hash (stripe = hash & mask) with collision
// chains, to find a label set; the same stripe lock guards the series' samples and chunks. By
// ref (stripe = ref & mask), which owns the series. Lock order: a hash stripe may be held while
// taking a ref stripe, never the reverse; the postings lock is never held with either.
//
// Commit pipeline: commits go through a head-level leader/follower queue. The leader writes the
// WAL frames of every queued commit as one batch, then the groups are applied to the head
// strictly in WAL order. Hence head state after live appends equals head state after replaying
// the WAL: a sample that loses a race (older than a concurrently committed newer sample) is
// dropped in both, by the same rules (MemSeries::Append), and counted.
//
// Visibility: a series enters the postings when its first sample is applied, so series whose
// commit failed or was rolled back are never returned by queries.
//
// Thread-safety: all public methods are safe for concurrent use. Appenders and queriers must
// not outlive the Head.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "labels/labels.h"
#include "storage/head/mem_series.h"
#include "storage/index/mem_postings.h"
#include "storage/storage.h"
#include "storage/wal/record.h"

namespace xscaler::storage::wal {
class Writer;
}

namespace xscaler::storage::head {

struct HeadOptions {
  ChunkCutPolicy chunk;
  // Lock stripes (power of two). Each costs two mutexes and two small maps, per tenant.
  size_t stripes = 4096;
  // Samples stamped further than this ahead of the server clock are rejected (0 = no limit),
  // as Mimir's creation grace period does: one point from a client whose clock runs ahead
  // would otherwise make every correct point of its series "out of order" until real time
  // catches up. WAL replay does not apply it.
  int64_t max_future_ms = 10 * 60 * 1000;
  // Server clock in ms for that check; null = the system wall clock.
  int64_t (*now_ms)() = nullptr;
};

struct HeadStats {
  uint64_t num_series = 0;   // series with at least one sample
  uint64_t num_samples = 0;  // samples appended (duplicates and drops excluded)
  uint64_t num_chunks = 0;   // chunks started (sealed + open)
  int64_t min_time = kMaxTime;  // kMaxTime / kMinTime while empty
  int64_t max_time = kMinTime;
  // Samples that were acknowledged by Commit but lost an ordering race, or were dropped on
  // replay by the same rule.
  uint64_t dropped_samples = 0;
};

struct ReplayStats {
  uint64_t records = 0;
  uint64_t series = 0;
  uint64_t samples = 0;
  uint64_t metadata = 0;
  uint64_t unknown_refs = 0;     // samples for refs no series record defined
  uint64_t dropped_samples = 0;  // out of order / conflicting, as in live appends
  uint64_t bad_records = 0;      // records that passed the CRC but failed to decode
};

// One staged sample; `series` stays valid for the head's lifetime.
struct StagedSample {
  MemSeries* series;
  int64_t t;
  double v;
};

class Head {
 public:
  explicit Head(HeadOptions opts = {});
  ~Head();
  Head(const Head&) = delete;
  Head& operator=(const Head&) = delete;

  // The WAL commits are written to before being applied; null (the default) keeps the head
  // purely in memory (tests, benchmarks). REQUIRES: no commit in flight.
  void SetWal(wal::Writer* wal) { wal_ = wal; }

  std::unique_ptr<Appender> NewAppender();
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt);
  std::map<std::string, MetricMetadata> Metadata() const;
  HeadStats Stats() const;
  // Approximate heap bytes held by series (labels, chunks, bookkeeping, maps); walks every
  // series, so meant for status pages and benchmarks, not hot paths.
  size_t MemoryBytes() const;

  // Replays one WAL record (series, samples or metadata). REQUIRES: single-threaded, before
  // any appender or querier is used; call FinishReplay afterwards.
  void ReplayRecord(std::string_view record);
  void FinishReplay();
  const ReplayStats& replay_stats() const { return replay_; }

  // --- Used by the appender and querier. ---

  // The series with `ref`, or null.
  MemSeries* GetByRef(uint64_t ref) const;
  // Finds or creates the series for `lset` (REQUIRES: validated). `*created` tells which.
  MemSeries* GetOrCreate(const labels::Labels& lset, bool* created);
  absl::Mutex& StripeLock(const MemSeries* s) const {
    return hash_stripes_[s->hash() & mask_].mu;
  }
  const index::MemPostings& postings() const { return postings_; }
  // Whether `md` is what the head already has for `family` (lets appenders skip re-logging).
  bool MetadataEquals(const std::string& family, const MetricMetadata& md) const;

  // Writes the batch to the WAL and applies it, in WAL order with other commits. Returns the
  // WAL error, if any, in which case nothing was applied. `dropped` receives the samples of
  // this batch that lost an ordering race to a concurrent batch (see DroppedAtCommit).
  absl::Status Commit(std::vector<std::string> records, std::span<const StagedSample> samples,
                      std::span<MemSeries* const> newly_logged,
                      std::span<const wal::MetadataRecord> metadata,
                      std::vector<CommitDrop>* dropped);

  const HeadOptions& options() const { return opts_; }

 private:
  struct HashStripe {
    mutable absl::Mutex mu;
    absl::flat_hash_map<uint64_t, MemSeries*> by_hash;  // chain via MemSeries::hash_next
  };
  struct RefStripe {
    mutable absl::Mutex mu;
    absl::flat_hash_map<uint64_t, std::unique_ptr<MemSeries>> by_ref;
  };
  struct Batch;

  // Creates a series with a given ref (replay); returns the existing one for known labels.
  MemSeries* CreateWithRef(const labels::Labels& lset, uint64_t ref);
  MemSeries* FindLocked(const HashStripe& st, uint64_t hash, std::string_view enc) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(st.mu);
  void InsertRef(std::unique_ptr<MemSeries> s);
  // Appends under the stripe lock, updating stats; returns whether the series must now be
  // added to the postings (its first sample).
  bool ApplySample(MemSeries* s, int64_t t, double v, bool* dropped);
  void ApplyMetadata(std::span<const wal::MetadataRecord> metadata);
  void ApplyBatch(Batch& b);
  void NoteTime(int64_t t);

  const HeadOptions opts_;
  const size_t mask_;
  std::unique_ptr<HashStripe[]> hash_stripes_;
  std::unique_ptr<RefStripe[]> ref_stripes_;
  index::MemPostings postings_;
  std::atomic<uint64_t> next_ref_{1};
  wal::Writer* wal_ = nullptr;

  // Commit pipeline: see the file comment.
  absl::Mutex pipe_mu_;
  std::vector<Batch*> queue_ ABSL_GUARDED_BY(pipe_mu_);
  bool writing_ ABSL_GUARDED_BY(pipe_mu_) = false;
  uint64_t next_group_ ABSL_GUARDED_BY(pipe_mu_) = 1;
  uint64_t applied_group_ ABSL_GUARDED_BY(pipe_mu_) = 0;

  mutable absl::Mutex meta_mu_;
  std::map<std::string, MetricMetadata> metadata_ ABSL_GUARDED_BY(meta_mu_);

  std::atomic<uint64_t> num_series_{0};
  std::atomic<uint64_t> num_samples_{0};
  std::atomic<uint64_t> num_chunks_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<int64_t> min_time_{kMaxTime};
  std::atomic<int64_t> max_time_{kMinTime};

  // Replay state (single-threaded).
  ReplayStats replay_;
  absl::flat_hash_map<uint64_t, MemSeries*> replay_refs_;
  std::vector<wal::SeriesRecord> replay_series_buf_;
  std::vector<wal::SampleRecord> replay_samples_buf_;
  std::vector<wal::MetadataRecord> replay_meta_buf_;
};

// Checks a label set the way Append does: InvalidArgument naming the problem.
absl::Status ValidateLabels(const labels::Labels& lset);

}  // namespace xscaler::storage::head
