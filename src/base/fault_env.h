// An Env for crash tests: wraps another Env (usually Env::Default() on a temp dir), remembers
// how much of each file written through it has been synced, and can
//   - DropUnsyncedData(): simulate a power loss by truncating every such file to its last
//     synced size (what a real disk would keep);
//   - fail operations: the Nth append/sync/rename/... from now, optionally every one after it,
//     with a chosen status (e.g. absl::ResourceExhaustedError for ENOSPC), or all appends while
//     the "disk" is full.
//
// Model: like Env::Default(), creating, renaming and removing a file are durable at once; only
// file contents need Sync. A file's unsynced bytes are lost on DropUnsyncedData even if they
// were flushed (page cache is lost at power loss too).
//
// Thread-safety: safe for concurrent use, like any Env.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/env.h"

namespace xscaler::base {

enum class FaultOp : uint8_t {
  kAppend,    // WritableFile::Append
  kSync,      // WritableFile::Sync and Env::SyncDir
  kRename,    // Env::RenameFile
  kCreate,    // Env::NewWritableFile / NewAppendableFile / CreateDir
  kRemove,    // Env::RemoveFile / RemoveDir
  kTruncate,  // Env::Truncate
  kRead,      // reads: ReadFileToString, Sequential/RandomAccess/MemoryRegion opens
};
inline constexpr int kNumFaultOps = 7;

class FaultInjectionEnv : public Env {
 public:
  // `base` must outlive this Env.
  explicit FaultInjectionEnv(Env* base);
  ~FaultInjectionEnv() override;

  // Truncates every file written through this Env to the size it had at its last successful
  // Sync (0 if never synced; its size at open for NewAppendableFile). WritableFiles opened
  // before the call belong to the "crashed" process: every later call on them fails and they
  // write nothing more, even when destroyed.
  absl::Status DropUnsyncedData();

  // The `nth` (1-based) operation of kind `op` from now fails with `error`; with `sticky`, so
  // does every later one until ClearFaults(). A failed Append writes nothing.
  void FailNth(FaultOp op, int nth, absl::Status error, bool sticky = false);
  // While set, every Append fails with ResourceExhausted ("no space left on device").
  void SetDiskFull(bool full);
  void ClearFaults();
  // How many operations of kind `op` were attempted (failed ones included).
  int64_t Count(FaultOp op) const;

  // Env:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override;
  absl::StatusOr<std::unique_ptr<MemoryRegion>> NewMemoryRegion(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<MemoryRegion>> NewGrowingMemoryRegion(const std::string& path,
                                                                        uint64_t length) override;
  absl::StatusOr<std::string> ReadFileToString(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override;
  bool FileExists(const std::string& path) override;
  bool IsDirectory(const std::string& path) override;
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status RemoveDir(const std::string& dir) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status Truncate(const std::string& path, uint64_t size) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  // The base's free space, or 0 while SetDiskFull(true).
  absl::StatusOr<uint64_t> FreeSpace(const std::string& path) override;

 private:
  class File;
  friend class File;
  struct FileState {
    uint64_t size = 0;         // bytes written through us (or present at open)
    uint64_t synced_size = 0;  // size at the last successful Sync
  };
  struct Fault {
    int countdown = -1;  // counts down to the failing op; inactive when < 0
    bool sticky = false;
    bool firing = false;
    absl::Status error;
  };

  // Counts the op and returns the injected error, if any.
  absl::Status MaybeFail(FaultOp op, const std::string& path);
  void OnAppend(const std::string& path, uint64_t n);
  void OnSync(const std::string& path);

  Env* const base_;
  mutable absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by DropUnsyncedData
  std::map<std::string, FileState> files_ ABSL_GUARDED_BY(mu_);
  Fault faults_[kNumFaultOps] ABSL_GUARDED_BY(mu_);
  int64_t counts_[kNumFaultOps] ABSL_GUARDED_BY(mu_) = {};
  bool disk_full_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace xscaler::base
