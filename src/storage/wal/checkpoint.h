// WAL checkpoints: fold the oldest part of the write-ahead log into a compact, filtered copy so
// the segments it covers can be deleted (after the head was cut into a block and truncated).
// Byte format and crash-safety argument: docs/format/wal.md, "Checkpoints".
//
// A checkpoint is the directory wal_dir/checkpoint.<8-digit N>: WAL segments (same frame and
// record format as the log) holding everything the log up to and including segment N still
// needs: series records for which keep(ref), sample records with t >= mint (of kept series),
// and the latest metadata of every metric family. Replay reads the newest complete checkpoint,
// then the segments numbered above N. Directories ending in ".tmp" are unfinished and ignored.
//
// Thread-safety: Checkpoint may run while a wal::Writer appends to segments above
// last_segment (it never reads those); at most one Checkpoint per wal_dir at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/env.h"

namespace xscaler::storage::wal {

// "wal_dir/checkpoint.00000042".
std::string CheckpointPath(const std::string& wal_dir, uint64_t segment);

struct CheckpointInfo {
  uint64_t segment = 0;  // N of checkpoint.N
  std::string dir;       // full path
};
// The newest complete checkpoint in wal_dir, or NotFound when there is none.
absl::StatusOr<CheckpointInfo> LatestCheckpoint(base::Env* env, const std::string& wal_dir);

struct CheckpointStats {
  uint64_t segments_read = 0;   // log segments folded in (the previous checkpoint excluded)
  uint64_t series_kept = 0, series_dropped = 0;
  uint64_t samples_kept = 0, samples_dropped = 0;
  uint64_t metadata_kept = 0;
};

// Folds the newest checkpoint and the segments numbered <= last_segment into
// wal_dir/checkpoint.<last_segment>: written to checkpoint.<last_segment>.tmp, synced, renamed,
// wal_dir synced; then removes the segments <= last_segment, older checkpoints and leftover
// .tmp dirs. A crash (or error) at any step leaves a log that replays to the same head: before
// the rename the old checkpoint and segments are untouched; after it the new checkpoint is
// complete and the segments it covers are skipped by replay whether or not they were deleted.
// A corrupt segment <= last_segment fails the checkpoint with DataLoss and deletes nothing.
// No-op (OK) if last_segment is not above the newest checkpoint.
absl::Status Checkpoint(base::Env* env, const std::string& wal_dir, uint64_t last_segment,
                        absl::FunctionRef<bool(uint64_t)> keep, int64_t mint,
                        CheckpointStats* stats = nullptr);

}  // namespace xscaler::storage::wal
