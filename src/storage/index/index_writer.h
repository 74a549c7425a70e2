// IndexWriter: builds one block's on-disk index file (format: docs/format/index.md) from series
// added in ascending label order. Everything is buffered in memory (label strings interned, so a
// series costs a few ints plus its chunk metas) and written by Finish, which syncs and closes
// the file.
//
// Thread-safety: not thread-safe; one writer per file. Invariants: series ids are dense
// 0..N-1 in the order (= label order) they were added. A rejected AddSeries changes nothing; a
// failed Finish leaves the writer unusable (the caller removes the file).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/env.h"
#include "labels/labels.h"

namespace xscaler::storage::index {

// Where one chunk of a series lives; `ref` is opaque to the index (the block's chunk ref).
// Times are inclusive sample timestamps in ms.
struct ChunkMeta {
  int64_t min_t = 0;
  int64_t max_t = 0;
  uint64_t ref = 0;
  friend bool operator==(const ChunkMeta&, const ChunkMeta&) = default;
};

class IndexWriter {
 public:
  // Creates (truncating) `path` through `env`.
  static absl::StatusOr<std::unique_ptr<IndexWriter>> Create(base::Env* env, std::string path);
  ~IndexWriter();
  IndexWriter(const IndexWriter&) = delete;
  IndexWriter& operator=(const IndexWriter&) = delete;

  // REQUIRES strictly ascending label order (checked: InvalidArgument otherwise), a non-empty
  // label set, chunks ordered by min_t with min_t <= max_t (checked). The series gets id
  // num_series() before the call.
  absl::Status AddSeries(const labels::Labels& lset, std::span<const ChunkMeta> chunks);
  // Writes symbols, series, label names, postings offsets, postings and the TOC, each with a
  // CRC32C; then Sync and Close. Call once.
  absl::Status Finish();
  uint64_t num_series() const { return num_series_; }

 private:
  struct PendingSeries {
    std::vector<uint32_t> refs;  // (name, value) pairs as interned string ids, in label order
    uint32_t chunks_begin = 0;   // range in chunks_
    uint32_t chunks_end = 0;
  };

  IndexWriter(base::Env* env, std::string path, std::unique_ptr<base::WritableFile> file);
  uint32_t Intern(const std::string& s);

  std::string path_;
  std::unique_ptr<base::WritableFile> file_;
  std::deque<std::string> strings_;  // interned id -> string (stable addresses)
  absl::flat_hash_map<std::string_view, uint32_t> interned_;  // views into strings_
  std::vector<PendingSeries> series_;
  std::vector<ChunkMeta> chunks_;
  labels::Labels last_;
  uint64_t num_series_ = 0;
  bool finished_ = false;
  bool failed_ = false;
};

}  // namespace xscaler::storage::index
