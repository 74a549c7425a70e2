// Restart: rebuilds a Head from its write-ahead log directory (the newest checkpoint, then the
// segments after it), applying samples on worker threads.
//
// Parallelism: one thread reads and CRC-checks frames, decodes records and creates series
// (series records must be applied before samples that name them, and in log order); sample
// records are split by series ref into N shards, each applied by one worker, so every series
// sees its samples in log order and the result equals a single-threaded replay
// (Head::ReplayRecord) of the same log. Metadata is applied on the reading thread (latest wins).
// Series enter the postings after all workers finish, in ascending ref order.
//
// Corruption: a torn or corrupt frame ends the readable log; the segment is truncated at the
// last good frame (wal::Reader::Repair), later segments are removed, and replay continues with
// what was read (logged as a warning). A corrupt checkpoint is repaired the same way.
//
// Samples with t < head->MinValidTime() are skipped and counted (ReplayStats::too_old).
//
// Thread-safety: REQUIRES no appender, querier or other replay on `head` while it runs.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "base/env.h"
#include "storage/head/head.h"

namespace xscaler::storage::head {

struct ReplayOptions {
  // Sample-applying workers, besides the reading thread; 0 = hardware threads - 1 (at least 1).
  int threads = 0;
};

// Replays wal_dir into `head` (which should be empty); afterwards head->replay_stats() holds
// the counts. Errors: only I/O errors listing or repairing the log; corruption is repaired.
absl::Status ReplayWal(base::Env* env, const std::string& wal_dir, Head* head,
                       ReplayOptions opts = {});

}  // namespace xscaler::storage::head
