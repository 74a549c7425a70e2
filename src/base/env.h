// The file-system seam (LevelDB's Env): every file the storage engine touches goes through an
// Env, so tests can substitute a fault-injecting one (fault_env.h) that drops unsynced data or
// fails the Nth sync/rename/append.
//
// Errors are absl::Status values that name the path and the OS error text, with codes mapped
// from errno (ENOENT -> NotFound, ENOSPC/EDQUOT -> ResourceExhausted, EACCES -> PermissionDenied,
// others -> per absl::ErrnoToStatus).
//
// Durability contract of Env::Default() (POSIX): file contents are durable after
// WritableFile::Sync returns OK; creating a file (NewWritableFile/NewAppendableFile), renaming
// and removing are made durable by an fsync of the parent directory before they return, so
// callers need SyncDir only for changes made outside the Env.
//
// Thread-safety: an Env is safe for concurrent use. A WritableFile / SequentialFile is used by
// one thread at a time. A RandomAccessFile and a MemoryRegion are safe for concurrent reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace xscaler::base {

// An append-only file. Appends may be buffered in the process until Flush/Sync/Close.
class WritableFile {
 public:
  virtual ~WritableFile() = default;  // closes without syncing, ignoring errors
  virtual absl::Status Append(std::string_view data) = 0;
  // Hands buffered data to the OS (survives a process crash, not a power loss).
  virtual absl::Status Flush() = 0;
  // Flush, then fdatasync: the data survives a power loss once this returns OK.
  virtual absl::Status Sync() = 0;
  // Flush and close (no sync). Further calls are errors.
  virtual absl::Status Close() = 0;
  // Bytes appended so far, including the size the file had when opened for append.
  virtual uint64_t Size() const = 0;
  // Makes the file at least `size` bytes long by writing zeros after its current end, without
  // moving where Appends go (they overwrite the zeros; Size() is unchanged). Once a Sync has
  // made the zeros durable, a Sync of data appended over them writes only data, not a new file
  // size or block allocation (no file-system journal commit), which makes it much cheaper. The
  // caller cuts what it did not use (Env::Truncate). Unimplemented by default and for files
  // opened for append: callers then just append.
  virtual absl::Status Preallocate(uint64_t size);
};

// A file read front to back.
class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to n bytes into scratch (which must hold n) and returns a view of what was read
  // (possibly pointing into scratch); an empty view means end of file.
  virtual absl::StatusOr<std::string_view> Read(size_t n, char* scratch) = 0;
  virtual absl::Status Skip(uint64_t n) = 0;
};

// A file read at arbitrary offsets (pread); safe for concurrent use.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into scratch; a short result means end of file.
  virtual absl::StatusOr<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual uint64_t Size() const = 0;
};

// A read-only view of a whole file (mmap for Env::Default()); data() stays valid and
// unchanged for the lifetime of the object. Safe for concurrent reads.
// (A region from NewGrowingMemoryRegion differs: see there.)
class MemoryRegion {
 public:
  virtual ~MemoryRegion() = default;
  virtual std::string_view data() const = 0;
};

// An advisory lock on a file held by this process (flock); released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX Env. Never destroyed.
  static Env* Default();

  // Creates (or truncates) `path` for writing.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Opens `path` for appending, creating it if missing.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<MemoryRegion>> NewMemoryRegion(const std::string& path) = 0;
  // A read-only shared mapping of the first `length` bytes of `path`, which may run past the
  // file's end: the rest is reserved for the file to grow into. Bytes written to the file later
  // (by any writer, through write()) appear at their offsets in data() once written, because
  // the mapping and the file share the page cache; so a reader that learns through its own
  // synchronization how far the file has been written may read up to there, without copying.
  // data() is `length` bytes long but touching bytes past the file's current end faults
  // (SIGBUS): callers must stay within what they know was written, and the file must not be
  // shrunk below what they read (removing it is fine: the mapping keeps the bytes). Stays valid
  // for the lifetime of the object. The default (Envs that cannot map) is Unimplemented;
  // callers fall back to RandomAccessFile reads.
  virtual absl::StatusOr<std::unique_ptr<MemoryRegion>> NewGrowingMemoryRegion(
      const std::string& path, uint64_t length);

  virtual absl::StatusOr<std::string> ReadFileToString(const std::string& path) = 0;
  // Writes `data` to `path` atomically and durably: temp file, sync, rename, sync dir.
  virtual absl::Status WriteStringToFileAtomic(const std::string& path, std::string_view data);

  // Names (not paths) of the entries in `dir`, without "." and "..", in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual bool IsDirectory(const std::string& path) = 0;
  virtual absl::StatusOr<uint64_t> FileSize(const std::string& path) = 0;

  // Creates `dir` and any missing parents; OK if it already exists.
  virtual absl::Status CreateDir(const std::string& dir) = 0;
  virtual absl::Status RemoveFile(const std::string& path) = 0;
  // Removes an empty directory.
  virtual absl::Status RemoveDir(const std::string& dir) = 0;
  // Removes `dir` and everything below it; OK if it does not exist.
  virtual absl::Status RemoveDirRecursive(const std::string& dir);
  // Atomically replaces `to` (file or empty dir) with `from`.
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Shrinks (or zero-extends) `path` to `size` bytes and syncs it.
  virtual absl::Status Truncate(const std::string& path, uint64_t size) = 0;
  // fsyncs the directory itself, making creations/renames/removals in it durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;

  // Creates `path` if needed and takes an exclusive lock on it, so two processes never open
  // the same data directory. FailedPrecondition if another process (or this one) holds it.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  // Bytes available to an unprivileged user on the file system holding `path` (statvfs).
  virtual absl::StatusOr<uint64_t> FreeSpace(const std::string& path) = 0;
};

// "dir/name" (no separator doubled).
std::string JoinPath(std::string_view dir, std::string_view name);
// The directory part of `path` ("." when there is none).
std::string DirName(std::string_view path);

}  // namespace xscaler::base
