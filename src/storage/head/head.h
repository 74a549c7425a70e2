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
// Truncation and garbage collection (Truncate): sealed chunks wholly before the new minimum
// time are dropped, and series left without samples are removed from both stripe maps and the
// postings. Two kinds of holders of a MemSeries* must not see it freed:
//  - appenders, which keep MemSeries* from Append to Commit/Rollback: every series an appender
//    staged carries a pending count (MemSeries::pending), taken under the hash or ref stripe
//    lock that found the series and released after the commit was applied. GC holds both
//    stripe locks while it checks pending == 0 and unlinks, so a series is never unlinked
//    while (or just before) an appender takes it. A per-series count rather than a head-wide
//    gate because an appender may be held open for a whole request (or leaked by a caller)
//    and must not stall truncation, and a gate taken shared on every Append would need a
//    shared-lock acquisition per request on the ingest hot path anyway.
//  - readers (queriers, ChunkSeries, MemoryBytes), which look a series up and then lock its
//    stripe: they do so inside a short shared hold of read_gate_. GC unlinks first, then takes
//    read_gate_ exclusively once (a grace period: every reader that could still hold an
//    unlinked pointer has finished) and only then frees the series.
// This also frees series created by a commit that failed or was rolled back: they have no
// samples and no pending appender, so the next Truncate collects them.
//
// Out-of-order samples (HeadOptions::ooo_window_ms / SetOooWindow; 0 = off): a sample older
// than its series' newest one is accepted when t >= max(max_time - window, MinValidTime()),
// where max_time is the newest sample of the head (or of this series, if newer); a timestamp
// the series already holds is a duplicate (same value, accepted and ignored) or a conflict
// (AlreadyExists), as for in-order samples. The appender decides; its batch logs such samples
// in a separate WAL record (kOooSamples, after the in-order record) and they are applied in
// that order with MemSeries::AppendOoo, whose outcome depends only on the series' state, so
// replay rebuilds the same head even if the window has changed since. An in-order sample
// that loses a race to a concurrent newer one is still dropped (not re-routed), as replay
// would. OOO samples live apart from the in-order chunks (MemSeries) and are merged by
// timestamp at read time (queriers, ChunkSeries). Limitation: samples older than
// MinValidTime() (already in a block) are rejected even inside the window; with blocks cut
// at 1.5 x block range, a window up to half a block range never hits this.
//
// Full chunks off the heap (EnableChunkMapper): a series' full in-order chunks are written to
// a ChunkMapper (chunks_head/, head_chunks.md) when sealed, under the stripe lock, and the
// series keeps 24 bytes per chunk (MappedChunk); a failed write keeps the chunk on the heap
// and is retried at the series' next seal. Readers read them back (mmap) under the stripe
// lock; a read error reaches the querier / ChunkSeries as an error. Truncate drops the refs
// first, then the files whose chunks all end before the new minimum. Without a mapper (tests,
// benchmarks) every chunk stays on the heap. Out-of-order chunks always stay on the heap.
//
// Minimum valid time: samples with t < MinValidTime() are rejected by Append (OutOfRange),
// dropped when a commit that staged them before a concurrent Truncate is applied (reported in
// DroppedAtCommit), and skipped by replay, so the head never holds data that is already in a
// block.
//
// Thread-safety: all public methods are safe for concurrent use. Appenders and queriers must
// not outlive the Head.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "base/env.h"
#include "labels/labels.h"
#include "storage/head/chunk_store.h"
#include "storage/head/mem_series.h"
#include "storage/index/mem_postings.h"
#include "storage/series/chunk_series.h"
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
  // Out-of-order window in ms (0 = out-of-order samples are rejected, like Mimir's default);
  // see the file comment. Changed live by Head::SetOooWindow.
  int64_t ooo_window_ms = 0;
};

struct HeadStats {
  uint64_t num_series = 0;   // series with at least one sample
  uint64_t num_samples = 0;  // samples held (appended minus truncated; no duplicates/drops)
  uint64_t num_chunks = 0;   // chunks held (sealed + open)
  int64_t min_time = kMaxTime;  // oldest sample held; kMaxTime while empty
  int64_t max_time = kMinTime;  // newest sample ever applied (Truncate does not lower it)
  // Samples that were acknowledged by Commit but lost an ordering race, or were dropped on
  // replay by the same rule.
  uint64_t dropped_samples = 0;
  uint64_t ooo_samples = 0;  // out-of-order samples applied into out-of-order data (ever)
  uint64_t chunk_write_failures = 0;  // full chunks the chunk mapper failed to take (ever)
};

struct ReplayStats {
  uint64_t records = 0;
  uint64_t series = 0;
  uint64_t samples = 0;
  uint64_t metadata = 0;
  uint64_t unknown_refs = 0;     // samples for refs no series record defined
  uint64_t dropped_samples = 0;  // out of order / conflicting, as in live appends
  uint64_t bad_records = 0;      // records that passed the CRC but failed to decode
  uint64_t too_old = 0;          // samples skipped: t < MinValidTime() (already in a block)
  uint64_t segments = 0;         // WAL segments read (checkpoint segments included)
  bool repaired = false;         // a corrupt tail was truncated
};

struct TruncateStats {
  uint64_t chunks_removed = 0;
  uint64_t samples_removed = 0;
  uint64_t series_removed = 0;  // garbage-collected series
};

// One staged sample; `series` stays valid while the staging appender holds it (pending).
struct StagedSample {
  MemSeries* series;
  int64_t t;
  double v;
  bool ooo = false;  // accepted as out-of-order (logged as kOooSamples)
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

  // Moves full in-order chunks off the heap into a ChunkMapper over `dir` (Tsdb:
  // <tenant dir>/chunks_head), which starts empty (files of an earlier process are removed:
  // WAL replay writes the chunks again). REQUIRES: called at most once, before any append,
  // replay or query. Errors: the directory cannot be created or listed.
  // `opts` (file size) is for tests; keep_existing is not supported (replay re-writes).
  absl::Status EnableChunkMapper(base::Env* env, std::string dir, ChunkMapperOptions opts = {});
  // Null unless EnableChunkMapper succeeded.
  const ChunkStore* chunk_store() const { return store_.get(); }

  std::unique_ptr<Appender> NewAppender();
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt);
  std::map<std::string, MetricMetadata> Metadata() const;
  HeadStats Stats() const;
  // Approximate heap bytes held by series (labels, chunks, bookkeeping, maps); walks every
  // series, so meant for status pages and benchmarks, not hot paths.
  size_t MemoryBytes() const;

  // Replays one WAL record (series, samples or metadata). REQUIRES: single-threaded, before
  // any appender or querier is used; call FinishReplay afterwards.
  // (ReplayWal in replay.h is the parallel, checkpoint-aware replay of a whole WAL dir.)
  void ReplayRecord(std::string_view record);
  void FinishReplay();
  const ReplayStats& replay_stats() const { return replay_; }

  // Every series with samples in [mint, maxt) (max EXCLUSIVE, as a block's range), in
  // ascending label order, with its chunks overlapping the range ordered by min_t: sealed
  // chunks shared, the open chunk copied, and a chunk straddling mint or maxt decoded and
  // re-encoded to the part inside the range. Series are listed when the set is created and
  // their chunks snapshotted lazily in Next (a series truncated away meanwhile is skipped).
  // The set must not outlive the head.
  std::unique_ptr<series::ChunkSeriesSet> ChunkSeries(int64_t mint, int64_t maxt);

  // Raises the minimum valid time to `mint` (never lowers it), drops sealed chunks that end
  // before it (a chunk straddling it stays: readers clip), and garbage-collects series left
  // without samples (see the file comment). Safe to call concurrently with appenders and
  // queriers. Afterwards appends with t < mint fail with OutOfRange and Stats().min_time is
  // the oldest sample still held.
  TruncateStats Truncate(int64_t mint);

  // The out-of-order window in ms (0 = off). Safe to change at any time (per-tenant
  // overrides); appends staged afterwards use the new value.
  void SetOooWindow(int64_t ms) { ooo_window_ms_.store(std::max<int64_t>(ms, 0), std::memory_order_relaxed); }
  int64_t OooWindow() const { return ooo_window_ms_.load(std::memory_order_relaxed); }
  // Newest sample ever applied (HeadStats::max_time).
  int64_t MaxTime() const { return max_time_.load(std::memory_order_relaxed); }

  // Samples older than this are rejected by Append and skipped by replay. kMinTime initially.
  int64_t MinValidTime() const { return min_valid_time_.load(std::memory_order_acquire); }
  // Raises (never lowers) the minimum valid time, without truncating.
  void SetMinValidTime(int64_t t);

  // Whether series `ref` is still in the head (checkpoints keep only these series). Also true
  // for a replayed alias: a ref whose series record repeated the labels of an earlier ref
  // (the series was garbage-collected and re-created before a crash); its samples went to the
  // earlier ref's series, so its record must survive checkpoints as long as that series does.
  bool HasSeries(uint64_t ref) const;
  size_t NumSeriesInMemory() const;  // series objects held, with or without samples

  // --- Used by the appender and querier. ---

  // The series with `ref`, or null. The pointer may dangle once a Truncate has run unless the
  // caller holds the series (Acquire*) or a ReadGuard.
  MemSeries* GetByRef(uint64_t ref) const;
  // Finds or creates the series for `lset` (REQUIRES: validated). `*created` tells which.
  // Unpinned: only for callers that exclude Truncate (tests, single-threaded tools).
  MemSeries* GetOrCreate(const labels::Labels& lset, bool* created);
  // Same as GetByRef / GetOrCreate, and pins the series against garbage collection until
  // Release (the pending count, taken under the stripe lock that found it).
  MemSeries* AcquireByRef(uint64_t ref);
  MemSeries* AcquireOrCreate(const labels::Labels& lset, bool* created);
  // out[i] = AcquireByRef(samples[i].ref) for every i, overlapping the lookups' cache misses
  // (the ref stripes, then the series and their lock stripes, are prefetched a pass ahead;
  // prefetching the stripes' tables would need their locks, which cost more than it saved).
  // REQUIRES: out.size() == samples.size().
  void AcquireByRefBatch(std::span<const RefSample> samples, std::span<MemSeries*> out);
  void Release(MemSeries* s);
  // Registers a lazy reader (the head querier's series sets) of samples at or after `mint` for
  // its lifetime. WaitForReadersBelow(mint) returns once every reader registered before the
  // call whose range starts below `mint` is gone. The Tsdb calls it after publishing a block
  // and before Truncate(mint): a set registered earlier may have copied the block list before
  // that block existed, so it must still find the range in the head; sets registered later
  // see the block. (Prometheus' head waits for pending readers the same way.)
  // REQUIRES: the waiting thread holds no open reader itself.
  class OpenReader {
   public:
    OpenReader(Head* h, int64_t mint);
    ~OpenReader();
    OpenReader(const OpenReader&) = delete;
    OpenReader& operator=(const OpenReader&) = delete;

   private:
    Head* const head_;
    uint64_t id_;
  };
  void WaitForReadersBelow(int64_t mint);

  // Held (shared) by readers between looking series up and finishing with their pointers.
  class ReadGuard {
   public:
    explicit ReadGuard(const Head* h) : mu_(&h->read_gate_) { mu_->ReaderLock(); }
    ~ReadGuard() { mu_->ReaderUnlock(); }
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;

   private:
    absl::Mutex* mu_;
  };
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
  friend class Replayer;  // replay.cc

  // Creates a series with a given ref (replay); returns the existing one for known labels.
  MemSeries* CreateWithRef(const labels::Labels& lset, uint64_t ref);
  MemSeries* FindLocked(const HashStripe& st, uint64_t hash, std::string_view enc) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(st.mu);
  void InsertRef(std::unique_ptr<MemSeries> s);
  // Appends under the stripe lock, updating stats; returns whether the series must now be
  // added to the postings (its first sample).
  // Samples older than MinValidTime() count as dropped.
  // `ooo`: applied with MemSeries::AppendOoo instead of Append.
  bool ApplySample(MemSeries* s, int64_t t, double v, bool ooo, bool* dropped);
  // Calls fn(s) for every series held, under the series' stripe lock, one ref stripe at a
  // time (the ref stripe's lock is not held during the calls). The caller keeps the series
  // alive (ReadGuard, or being Truncate).
  template <typename Fn>
  void ForEachSeriesLocked(Fn&& fn) const {
    std::vector<MemSeries*> batch;
    for (size_t i = 0; i <= mask_; ++i) {
      batch.clear();
      {
        absl::ReaderMutexLock lock(&ref_stripes_[i].mu);
        for (const auto& [_, s] : ref_stripes_[i].by_ref) batch.push_back(s.get());
      }
      for (MemSeries* s : batch) {
        absl::MutexLock lock(&StripeLock(s));
        fn(s);
      }
    }
  }
  void ApplyMetadata(std::span<const wal::MetadataRecord> metadata);
  void ApplyBatch(Batch& b);
  void NoteTime(int64_t t);
  // Makes sure refs <= `ref` are never handed to new series (replayed refs were used before).
  void ReserveRefsThrough(uint64_t ref);

  const HeadOptions opts_;
  const size_t mask_;
  std::unique_ptr<HashStripe[]> hash_stripes_;
  std::unique_ptr<RefStripe[]> ref_stripes_;
  index::MemPostings postings_;
  std::atomic<uint64_t> next_ref_{1};
  wal::Writer* wal_ = nullptr;
  std::unique_ptr<ChunkStore> store_;  // set once, before use (EnableChunkMapper)

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
  std::atomic<uint64_t> ooo_samples_{0};
  std::atomic<int64_t> ooo_window_ms_{0};
  std::atomic<int64_t> min_time_{kMaxTime};
  std::atomic<int64_t> max_time_{kMinTime};
  std::atomic<int64_t> min_valid_time_{kMinTime};
  mutable absl::Mutex read_gate_;  // see the file comment (GC grace period)
  mutable absl::Mutex alias_mu_;
  absl::flat_hash_map<uint64_t, uint64_t> aliases_ ABSL_GUARDED_BY(alias_mu_);  // ref -> ref
  absl::Mutex truncate_mu_;         // one Truncate at a time
  absl::Mutex readers_mu_;          // OpenReader registry
  uint64_t next_reader_id_ ABSL_GUARDED_BY(readers_mu_) = 0;
  std::map<uint64_t, int64_t> open_readers_ ABSL_GUARDED_BY(readers_mu_);  // id -> range start
  static bool NoReaderBelow(std::tuple<Head*, uint64_t, int64_t>* arg);

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
