// Block: one immutable on-disk block directory <ulid>/ with meta.json, index and chunks/
// segments (docs/format/block.md), and WriteBlock, which creates one atomically.
//
// A Block is opened once and shared (std::shared_ptr). Queriers and ChunkSeries sets hold a
// shared_ptr to it (a "pin"), so the files stay mapped while a read is in flight; MarkDeleted
// marks the block for removal and the directory is deleted when the last pin goes.
//
// Deletions (Delete) are recorded as tombstones next to the data, which stays untouched until
// compaction rewrites it: queriers skip deleted samples and ChunkSeries re-encodes the chunks
// they clip. A querier or ChunkSeries set sees the tombstones as they were when it was created.
//
// Thread-safety: a Block is safe for concurrent use (meta, index and chunks are immutable after
// Open; the page cache and the tombstones are locked). Each Querier / ChunkSeriesSet is
// one-thread-at-a-time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/env.h"
#include "labels/matcher.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "storage/block/meta.h"
#include "storage/block/tombstones.h"
#include "storage/series/chunk_series.h"
#include "storage/storage.h"

namespace xscaler::storage::index {
class IndexFile;
}

namespace xscaler::storage::block {

class ChunksReader;

inline constexpr char kIndexFilename[] = "index";
inline constexpr char kChunksDirname[] = "chunks";
// Suffix of the directory a block is built in before the rename into place. Anything ending
// in ".tmp-for-creation" (or ".tmp-for-deletion") under a data dir is garbage after a crash.
inline constexpr char kTmpCreationSuffix[] = ".tmp-for-creation";
inline constexpr char kTmpDeletionSuffix[] = ".tmp-for-deletion";

struct WriteOptions {
  int zstd_level = 5;                         // 0 = store pages raw
  size_t page_target_bytes = 64 * 1024;      // raw bytes of chunk data per page (soft)
  uint64_t segment_target_bytes = 512ull << 20;
  bool columnar_pages = true;  // ChunksWriterOptions::columnar (docs/format/block.md)
};

// Writes parent_dir/<meta.ulid> (a new ulid when meta.ulid is empty) from `set`: builds
// parent_dir/<ulid>.tmp-for-creation, syncs every file and the dir, renames into place, syncs
// parent. Every chunk must lie in [meta.min_time, meta.max_time) (InvalidArgument otherwise).
// Any failure (ENOSPC -> ResourceExhausted, ...) removes the tmp dir (best effort) and leaves no
// directory under the final name. Returns the final meta (num_* filled). A set without series
// writes nothing and returns meta with num_series == 0.
absl::StatusOr<BlockMeta> WriteBlock(base::Env* env, const std::string& parent_dir,
                                     series::ChunkSeriesSet& set, BlockMeta meta,
                                     const WriteOptions& opts = {});

class Block : public std::enable_shared_from_this<Block> {
 public:
  // Reads meta.json, mmaps index and chunk segments and checks every page header is in bounds
  // (cheap). DataLoss "block <ulid>: <file> offset N: ..." when anything is corrupt.
  static absl::StatusOr<std::shared_ptr<Block>> Open(base::Env* env, std::string dir);
  ~Block();

  const BlockMeta& meta() const { return meta_; }
  const std::string& dir() const { return dir_; }
  uint64_t SizeBytes() const { return size_bytes_; }  // bytes on disk (meta, index, chunks)

  // A Querier over [mint, maxt] (inclusive) that pins this block.
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) const;
  // Every series with all its chunks, in label order (for compaction); pins this block.
  std::unique_ptr<series::ChunkSeriesSet> ChunkSeries() const;
  // Deep check: every page CRC, every chunk decodes with its announced samples inside its
  // index time range, index Verify. DataLoss naming file and offset.
  absl::Status Verify() const;

  // Deletes the samples in [mint, maxt] (inclusive) of the series matching `matchers` (all
  // series when empty): adds tombstones and rewrites the tombstones file atomically before they
  // take effect. On error nothing changes.
  absl::Status Delete(std::span<const labels::Matcher> matchers, int64_t mint, int64_t maxt);
  // The current tombstones (never null).
  std::shared_ptr<const Tombstones> tombstones() const;

  // After this, the directory is removed when the last shared_ptr to the block goes.
  void MarkDeleted() { deleted_.store(true); }
  bool deleted() const { return deleted_.load(); }

  // Internal (used by the querier/series set implementations).
  const index::IndexFile& index() const { return *index_; }
  const ChunksReader& chunks() const { return *chunks_; }

 private:
  Block() = default;

  base::Env* env_ = nullptr;
  std::string dir_;
  BlockMeta meta_;
  uint64_t size_bytes_ = 0;
  std::unique_ptr<index::IndexFile> index_;
  std::unique_ptr<ChunksReader> chunks_;
  std::atomic<bool> deleted_{false};
  absl::Mutex delete_mu_;  // serializes Delete
  mutable absl::Mutex mu_;
  std::shared_ptr<const Tombstones> tombstones_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xscaler::storage::block
