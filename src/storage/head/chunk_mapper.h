// ChunkMapper: the head's full ("sealed") chunks on disk instead of on the heap, as
// Prometheus' chunks_head/. Chunks are appended to numbered files in one directory
// (docs/format/head_chunks.md) and named by a 64-bit reference, so a series keeps ~24 bytes per
// sealed chunk (ref + time range) instead of the chunk bytes.
//
// Durability: none by design. Files are written without fsync (the WAL is the durable copy).
// By default Open starts empty, deleting files left by an earlier process. With
// `keep_existing` it keeps what is trustworthy readable under the old references and
// ForEachChunk lists it, so a restart can attach chunks to series and replay from the WAL only
// the samples after each series' last chunk: every record up to the first torn or corrupt one;
// files after a damaged file are deleted (they could hold chunks that follow a hole). In that
// mode a file is fsynced when it is rolled, so after a power loss only the newest can be torn.
//
// Invariants: a reference returned by Write stays readable until Truncate drops its file; the
// bytes it names were handed to the OS (flushed) before Write returned, so a failed later write
// never invalidates it. A failed Write returns the error (ResourceExhausted for ENOSPC) and
// changes nothing: the caller keeps that chunk in memory and may retry later.
//
// Thread-safety: all methods are safe for concurrent use. Writes (and Truncate) are serialized
// by `write_mu_`, which is held across the file I/O (one append + flush per chunk). The file
// table has its own mutex `mu_`, held only briefly to publish or look up a file, so a Read never
// waits for a writer's I/O: it copies what it needs under `mu_` shared, then reads without
// locks. Every file is read through a shared mmap: a rolled file's, and the current file's,
// which is mapped with max_file_size reserved when the file is created (Env::
// NewGrowingMemoryRegion), so records written later show through it; a Read never touches
// bytes past the published `size`. Reads return views into the mapping (no copy), which keeps
// them alive after Truncate removes the file. Only when a mapping cannot be made (an Env
// without mmap, or a record larger than the reservation) is the current file read with pread
// into a copy.
// Lock order: write_mu_ before mu_.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/env.h"
#include "storage/chunk/chunk_data.h"

namespace xscaler::storage::head {

struct ChunkMapperOptions {
  // A file is rolled when the next record would make it larger than this (at most 4 GiB).
  uint64_t max_file_size = 128 << 20;
  // Keep the files an earlier process wrote (see the header comment) instead of removing them,
  // and fsync each file when rolling it.
  bool keep_existing = false;
};

// Record framing (head_chunks.md).
inline constexpr size_t kChunkFileHeaderSize = 8;
inline constexpr size_t kChunkRecordHeaderSize = 28;  // series_ref, min_t, max_t, len
inline constexpr size_t kChunkRecordOverhead = kChunkRecordHeaderSize + 4;  // + crc

// One decoded record, borrowing from the file bytes.
struct ChunkRecord {
  uint64_t series_ref = 0;
  int64_t min_t = 0;
  int64_t max_t = 0;
  std::string_view bytes;
};

// Decodes the record at `offset` of `file` (the readable bytes of a head chunk file, header
// included), checking bounds and CRC. DataLoss "head chunks <path> offset N: ..." otherwise.
// Pure function; used by ChunkMapper (Read, Open with keep_existing) and the fuzz target.
absl::StatusOr<ChunkRecord> DecodeChunkRecord(std::string_view file, uint64_t offset,
                                              std::string_view path);

// Appends the record framing of one chunk to *dst.
void EncodeChunkRecord(std::string* dst, uint64_t series_ref, int64_t min_t, int64_t max_t,
                       std::string_view bytes);

inline uint64_t MakeChunkRef(uint32_t file, uint32_t offset) {
  return (uint64_t{file} << 32) | offset;
}
inline uint32_t ChunkRefFile(uint64_t ref) { return static_cast<uint32_t>(ref >> 32); }
inline uint32_t ChunkRefOffset(uint64_t ref) { return static_cast<uint32_t>(ref); }

// "000001" for file 1 (at least 6 digits).
std::string ChunkFileName(uint32_t file);

class ChunkMapper {
 public:
  // Creates `dir` if needed and removes the head chunk files (all-digit names) in it, unless
  // opts.keep_existing. Other files in `dir` are left alone.
  static absl::StatusOr<std::unique_ptr<ChunkMapper>> Open(base::Env* env, std::string dir,
                                                           ChunkMapperOptions opts = {});
  ~ChunkMapper();
  ChunkMapper(const ChunkMapper&) = delete;
  ChunkMapper& operator=(const ChunkMapper&) = delete;

  // Appends one chunk and returns its reference (never 0). On error (ENOSPC, ...) nothing is
  // written and earlier references stay valid; the next Write retries the file.
  absl::StatusOr<uint64_t> Write(uint64_t series_ref, int64_t min_t, int64_t max_t,
                                 std::string_view bytes) ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // The chunk at `ref`, CRC-checked. `owner` keeps the bytes alive (the file's mapping, or a
  // copy when the file could not be mapped) even after Truncate removes the file.
  // NotFound for a ref whose file was removed or never existed; DataLoss on corruption.
  absl::StatusOr<chunk::ChunkData> Read(uint64_t ref) const ABSL_LOCKS_EXCLUDED(mu_);
  // Deletes every file whose chunks all end before `mint` (the current one included, after
  // rolling it). Readers holding chunks of those files are unaffected.
  absl::Status Truncate(int64_t mint) ABSL_LOCKS_EXCLUDED(write_mu_, mu_);

  // Calls fn for every readable chunk, in file then offset order (so per series in write order),
  // stopping at the first error fn returns. Meant for restart, before concurrent writes start.
  absl::Status ForEachChunk(
      absl::FunctionRef<absl::Status(uint64_t ref, const ChunkRecord& rec)> fn) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // What Open(keep_existing) found damaged and left out, one DataLoss message per file
  // ("head chunks <path> offset N: ..."); for the caller to log.
  const std::vector<std::string>& open_warnings() const { return open_warnings_; }

  // Bytes in the live files (what is on disk).
  uint64_t SizeBytes() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t NumFiles() const ABSL_LOCKS_EXCLUDED(mu_);
  const std::string& dir() const { return dir_; }

 private:
  // A file's immutable identity plus what readers need; `size`, `max_t`, `sealed`, `region`
  // and `reader` change only with both mutexes held, so holding either one is enough to read
  // them. `region` may be longer than the file (the current file's reservation): only its
  // first `size` bytes are ever read.
  struct File {
    uint32_t number = 0;
    std::string path;
    uint64_t size = 0;  // bytes known to be written and flushed (readable)
    int64_t max_t = INT64_MIN;  // largest max_t of its records
    bool sealed = false;        // rolled: immutable, read through `region`
    std::shared_ptr<const base::MemoryRegion> region;      // if mmap worked
    std::shared_ptr<const base::RandomAccessFile> reader;  // current file: pread fallback
  };

  ChunkMapper(base::Env* env, std::string dir, ChunkMapperOptions opts);
  // Adopts the files an earlier process left (keep_existing).
  absl::Status LoadExistingLocked(const std::vector<std::string>& names)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Starts file `next_file_` as the current one.
  absl::Status NewFileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Closes the current file and maps it for reading (unless its mapping covers it already).
  void SealLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // After a failed append: drop the writer, cut the file back to its good size, reopen.
  absl::Status RecoverLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  base::Env* const env_;
  const std::string dir_;
  const ChunkMapperOptions opts_;
  std::vector<std::string> open_warnings_;  // set by Open, then immutable

  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // In files_ (stable address: std::map), or null when no file is open for writing.
  File* current_ ABSL_GUARDED_BY(write_mu_) = nullptr;
  std::unique_ptr<base::WritableFile> writer_ ABSL_GUARDED_BY(write_mu_);
  bool broken_ ABSL_GUARDED_BY(write_mu_) = false;  // the writer failed; RecoverLocked first
  uint32_t next_file_ ABSL_GUARDED_BY(write_mu_) = 1;
  std::string scratch_ ABSL_GUARDED_BY(write_mu_);  // record encoding buffer

  mutable absl::Mutex mu_;
  std::map<uint32_t, File> files_ ABSL_GUARDED_BY(mu_);  // changed only with write_mu_ held too
};

}  // namespace xscaler::storage::head
