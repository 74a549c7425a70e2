// Tsdb: one tenant's database — the in-memory head behind a write-ahead log in `dir/wal`, plus
// immutable on-disk blocks `dir/<ulid>/` that the head is cut into and that compaction merges.
// Implements storage::Storage. The overall picture (dir layout, write path, block cutting,
// compaction, retention, restart) is docs/format/README.md.
//
// Open: locks `dir/LOCK`, removes unfinished block dirs (*.tmp-for-creation/-deletion), removes
// blocks already compacted into another block (crash between publishing a compaction and
// deleting its sources), opens every block (a corrupt one is moved to dir/quarantine/<ulid>
// and logged; the rest is served), raises the head's minimum valid time to `persisted until`
// (so replay skips what blocks hold), enables head chunks on disk (dir/chunks_head), replays
// the WAL, opens a WAL writer and starts the background compactor. Returns only when the
// database is ready to serve.
//
// Invariant ("exactly once"): every acknowledged sample is in a block or in the WAL/head, and
// a sample below `persisted until` P is never replayed into (or accepted by) the head. P is
// max(newest block max_time, dir/persisted_until), the file being written before the head is
// truncated, so P never moves back when the newest block is deleted or a cut range was empty.
// Blocks are published (durable, renamed into place) before the head is truncated and the WAL
// checkpointed, and the head rejects appends below a range before that range is cut; a sample
// committed below the range while the cut chose it is found after the barrier and cut first.
//
// Concurrency: appends and queries never wait for compaction. A querier binds nothing when
// created: each Select / LabelNames / LabelValues reads the head first and then copies the
// block list (shared_ptrs: a block stays on disk until the last series set reading it goes),
// so a range cut concurrently is found in the head or in its new block. Compaction rounds
// (Compact/Flush/background) are serialized by their own mutex and write files without
// holding anything appends or queries need; the only contact with the append path is a
// momentary barrier (waiting for in-flight commits) when a head range is cut.
//
// Disk full: a cut whose block cannot be written (ENOSPC) leaves the range in the head and
// WAL and is retried every round, but the head's minimum valid time stays raised to the
// range's end (Head cannot lower it), so until the cut succeeds, late samples for that range
// are rejected as too old (OutOfRange, a per-sample 400) rather than answered with 503. Only
// samples older than the newest ~half block range are affected; the WAL append of the request
// itself usually fails with ENOSPC first (503 for the whole request).
//
// Corruption found later: a block whose merge fails with DataLoss is deep-checked (Verify);
// the damaged one is unpublished, moved to dir/quarantine/ and logged, and compaction goes on.
//
// Thread-safety: safe for concurrent use (see storage.h). Appenders and queriers must not
// outlive the Tsdb; Commits after Close fail.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/env.h"
#include "storage/block/block.h"
#include "storage/db/compaction_limiter.h"
#include "storage/head/head.h"
#include "storage/storage.h"
#include "storage/wal/wal.h"

namespace xscaler::storage {

using HeadStats = head::HeadStats;

inline constexpr int64_t kHourMs = 3600 * 1000;
inline constexpr int64_t kDayMs = 24 * kHourMs;

struct TsdbOptions {
  base::Env* env = nullptr;  // null: base::Env::Default()
  head::HeadOptions head;    // head.chunk.chunk_range_ms is overridden by block_range_ms
  wal::WriterOptions wal;
  block::WriteOptions block;

  // Time range of a block cut from the head (and of head chunks, so none straddles a block).
  int64_t block_range_ms = 2 * kHourMs;
  // Largest block compaction builds; 0 = min(retention_ms / 10, 31 d), at least block_range.
  int64_t max_block_range_ms = 0;
  // Blocks entirely older than (newest block max_time - retention_ms) are dropped; 0 = forever.
  // Changed live by SetRetention.
  int64_t retention_ms = 15 * kDayMs;
  // Oldest blocks are dropped while the blocks take more bytes; 0 = no cap. SetMaxBytes.
  uint64_t max_bytes = 0;
  // A thread runs Compact() every compaction_interval_ms and as soon as the head spans more
  // than 1.5 block ranges.
  bool background = true;
  int64_t compaction_interval_ms = 60 * 1000;
  // For offline inspection (`xscaler tsdb dump/verify`): no LOCK, no WAL writer (Commit fails),
  // no background work, no changes on disk (corrupt blocks are skipped and listed, not moved).
  bool read_only = false;
  int replay_threads = 0;  // WAL replay workers; 0 = hardware concurrency
  // Shared by every tenant's database so that only a few cut or compact at once; null = no
  // limit (one database alone).
  std::shared_ptr<CompactionLimiter> compaction_limiter;
  // Out-of-order window in ms (0 = off); overrides head.ooo_window_ms. SetOooWindow changes it
  // live.
  int64_t ooo_window_ms = 0;
  // Full head chunks go to dir/chunks_head (mmapped) instead of the heap. Off only for tests
  // and benchmarks; read-only opens never use it.
  bool head_chunks_on_disk = true;
  // Tests only: called by a cut after it chose its range [min, max) and before the head's
  // minimum valid time is raised (lets a test commit samples in that window).
  std::function<void(int64_t, int64_t)> cut_hook_for_testing;
};

// Counters and sizes for /api/v1/status/tsdb. Inherits the head's (num_series, ... are the
// head's figures).
struct TsdbStats : HeadStats {
  size_t num_blocks = 0;
  uint64_t blocks_bytes = 0;   // on disk
  uint64_t blocks_series = 0;  // sum over blocks (a series in two blocks counts twice)
  uint64_t blocks_samples = 0;
  int64_t blocks_min_time = kMaxTime;  // kMaxTime / kMinTime without blocks
  int64_t blocks_max_time = kMinTime;  // exclusive
  uint64_t wal_bytes = 0;              // segments + checkpoint
  // Everything below this time is in blocks (the head rejects older samples); kMinTime if
  // nothing was cut yet. Kept in dir/persisted_until, so it survives the deletion of the
  // newest block and cuts of empty ranges.
  int64_t persisted_until = kMinTime;
  // Since Open: blocks that failed to open (read_only: skipped) plus blocks found corrupt by
  // compaction (moved to dir/quarantine/).
  uint64_t quarantined_blocks = 0;

  uint64_t head_cuts = 0;           // level-1 blocks written from the head
  uint64_t compactions = 0;         // block merges
  uint64_t blocks_deleted = 0;      // by retention, size caps or DeleteBlock
  uint64_t checkpoints = 0;
  uint64_t compaction_failures = 0;  // rounds that ended with an error
  int64_t last_compaction_unix_ms = 0;  // end of the last round (0: none yet)
  double last_compaction_seconds = 0;
  std::string last_compaction_error;  // empty when the last round succeeded
};

// A block directory that could not be opened (read_only Open lists them; otherwise they were
// moved to dir/quarantine/).
struct BadBlock {
  std::string dir;
  absl::Status error;
};

class Tsdb final : public Storage {
 public:
  // Creates `dir` if needed (not when read_only), opens blocks, replays `dir/wal`.
  // FailedPrecondition if another process (or Tsdb) holds the dir's lock.
  static absl::StatusOr<std::unique_ptr<Tsdb>> Open(std::string dir, TsdbOptions opts = {});
  ~Tsdb() override;  // Close(), errors logged

  // Stops the background compactor (waiting for a running round), syncs and closes the WAL.
  // Idempotent. Queriers still open keep working; appenders' Commits fail.
  absl::Status Close();

  std::unique_ptr<Appender> NewAppender() override;
  // Merge of the blocks overlapping [mint, maxt] (oldest first, pinned by the returned series
  // set) and the head, both bound at each Select / LabelNames / LabelValues call (see the file
  // comment). The querier must not outlive the Tsdb.
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) override;
  std::map<std::string, MetricMetadata> Metadata() const override { return head_->Metadata(); }

  // One compaction round: cut head ranges older than the newest 1.5 block ranges into level-1
  // blocks (then record P, truncate the head and checkpoint the WAL), merge blocks as
  // compact::Plan says, drop blocks beyond retention / max_bytes. A failed checkpoint does not
  // stop the merges and retention; a failed cut skips the merges (retention still runs).
  // Errors (e.g. ENOSPC) are returned (the first one), recorded in Stats and retried by the
  // next round; nothing published changes until a new block is durable. FailedPrecondition
  // when read_only or closed.
  absl::Status Compact();
  // Cuts everything the head holds into blocks (the partial newest range too), then runs the
  // rest of a round. Afterwards the head accepts only samples newer than what it held; a new
  // series' samples in the flushed range are rejected as too old. For benchmarks and admin.
  absl::Status Flush();

  // Live changes (per-tenant runtime overrides); take effect in the next round.
  void SetRetention(int64_t retention_ms);
  void SetMaxBytes(uint64_t max_bytes);
  // The out-of-order window in ms (0 = off); takes effect for appends staged afterwards.
  void SetOooWindow(int64_t ms) { head_->SetOooWindow(ms); }
  int64_t retention_ms() const { return retention_ms_.load(std::memory_order_relaxed); }

  // The published blocks, by min_time (then ulid). Holding one pins it.
  std::vector<std::shared_ptr<block::Block>> Blocks() const;
  uint64_t BlocksSizeBytes() const;
  // Unpublishes and deletes one block (its dir goes when the last querier lets go). For the
  // global size cap across tenants. NotFound if no such block is published.
  absl::Status DeleteBlock(const std::string& ulid);
  // Deletes the block with the smallest min_time; returns its size, 0 when there is none.
  uint64_t DeleteOldestBlock();
  // Blocks quarantined by this process (see BadBlock): at Open, by the start-up scrub, or by
  // compaction.
  std::vector<BadBlock> bad_blocks() const;
  // Deep-checks (Block::Verify) every block found at Open that has not been checked yet and
  // quarantines the damaged ones. The background thread runs it once at start; Open only
  // checks what is cheap (meta, index CRCs, page bounds), so a start over terabytes of blocks
  // does not wait for every chunk page to be read.
  void ScrubOpenedBlocks();

  TsdbStats Stats() const;
  const head::ReplayStats& replay_stats() const { return head_->replay_stats(); }
  head::Head& head() { return *head_; }
  const std::string& dir() const { return dir_; }
  const TsdbOptions& options() const { return opts_; }

 private:
  class TsdbAppender;
  class TsdbQuerier;
  Tsdb(std::string dir, TsdbOptions opts);

  absl::Status OpenBlocks();
  std::string QuarantineTarget(const std::string& qdir, const std::string& name) const;
  // Moves dir/<name> to dir/quarantine/<name> (read_only: only lists it in bad_blocks_).
  absl::Status Quarantine(const std::string& name, const absl::Status& why);
  // Unpublishes the published block `b`, found corrupt after Open, and moves its dir to
  // dir/quarantine/ (queriers still reading it keep their mapping).
  void QuarantinePublished(const std::shared_ptr<block::Block>& b, const absl::Status& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  // Reads dir/persisted_until; kMinTime when absent or unreadable (logged).
  int64_t ReadPersistedUntilFile() const;
  // Records P = `p` durably in dir/persisted_until, then truncates the head at `p`.
  absl::Status PersistAndTruncate(int64_t p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  std::vector<std::shared_ptr<block::Block>> BlocksOverlapping(int64_t mint, int64_t maxt) const;
  absl::Status RunRound(bool flush);
  // Cuts head ranges into blocks; *cut_any tells whether the head was truncated.
  absl::Status CutHead(bool flush, bool* cut_any) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  absl::Status CheckpointWal(int64_t mint) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  absl::Status CompactBlocks() ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  absl::Status ApplyRetention() ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  std::vector<int64_t> CompactionRanges() const;
  // Drops `ulids` from the published list and marks them deleted; returns how many.
  size_t Unpublish(const std::vector<std::string>& ulids);
  // Whether the head spans more than 1.5 block ranges beyond what is persisted.
  bool HeadNeedsCut() const;
  void MaybeWakeCompactor();
  void BackgroundLoop();
  bool BgShouldRun() const ABSL_SHARED_LOCKS_REQUIRED(bg_mu_);

  const std::string dir_;
  const TsdbOptions opts_;
  std::unique_ptr<head::Head> head_;
  std::unique_ptr<wal::Writer> wal_;
  std::unique_ptr<base::FileLock> lock_;
  mutable absl::Mutex bad_mu_;
  std::vector<BadBlock> bad_blocks_ ABSL_GUARDED_BY(bad_mu_);

  std::atomic<int64_t> retention_ms_;
  std::atomic<uint64_t> max_bytes_;
  // Everything below it is in blocks; written under compact_mu_, read anywhere.
  std::atomic<int64_t> persisted_until_{kMinTime};

  mutable absl::Mutex blocks_mu_;
  std::vector<std::shared_ptr<block::Block>> blocks_ ABSL_GUARDED_BY(blocks_mu_);

  // Held shared by every Commit; taken exclusively for an instant when a head range is cut,
  // so that every commit that could still apply samples below the new minimum valid time has
  // finished (including adding new series to the postings) before the range is read.
  absl::Mutex commit_mu_;

  absl::Mutex compact_mu_;  // one round at a time
  // Blocks found at Open whose chunk pages were not deep-checked yet (ScrubOpenedBlocks); weak,
  // so a block compacted or deleted meanwhile still goes when its last reader does.
  std::vector<std::weak_ptr<block::Block>> unscrubbed_ ABSL_GUARDED_BY(compact_mu_);
  bool checkpoint_pending_ ABSL_GUARDED_BY(compact_mu_) = false;  // last checkpoint failed
  // What dir/persisted_until holds, and where the head was last truncated; both trail
  // persisted_until_ when writing the file failed after a block was published (the next
  // round retries before cutting anything else).
  int64_t persisted_file_ ABSL_GUARDED_BY(compact_mu_) = kMinTime;
  int64_t truncated_until_ ABSL_GUARDED_BY(compact_mu_) = kMinTime;

  mutable absl::Mutex stats_mu_;
  TsdbStats counters_ ABSL_GUARDED_BY(stats_mu_);  // only the counter/error fields are used

  absl::Mutex bg_mu_;
  bool stop_ ABSL_GUARDED_BY(bg_mu_) = false;
  bool wake_ ABSL_GUARDED_BY(bg_mu_) = false;
  bool backoff_ ABSL_GUARDED_BY(bg_mu_) = false;  // last round failed: wait the full interval
  std::atomic<bool> wake_requested_{false};
  std::thread bg_;

  absl::Mutex close_mu_;
  bool closed_ ABSL_GUARDED_BY(close_mu_) = false;
  std::atomic<bool> closing_{false};
};

}  // namespace xscaler::storage
