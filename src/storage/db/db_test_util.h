// Helpers shared by the Tsdb tests: small-block options, a reference model of what was
// acknowledged, and comparisons of query results against it.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "base/env.h"
#include "gtest/gtest.h"
#include "storage/block/meta.h"
#include "storage/db/tsdb.h"
#include "storage/head/test_util.h"

namespace xscaler::storage::testing {

// A scratch directory path for `name`: on tmpfs (/dev/shm) when there is one, since these
// tests create and remove many small files and only FaultInjectionEnv's model of durability
// matters to them; else the gtest temp dir. The process id keeps parallel ctest runs apart.
inline std::string TestDir(const std::string& name) {
  std::error_code ec;
  const std::filesystem::path base =
      std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                     : std::filesystem::path(::testing::TempDir());
  return (base / ("xscaler_" + name + "_" + std::to_string(::getpid()))).string();
}

// Env::Default() without any fsync (file Sync only flushes; creating, renaming and removing do
// not sync the parent dir; SyncDir does nothing): the tests' durability model is
// FaultInjectionEnv's bookkeeping of Sync calls, not the disk, and real fsyncs would make them
// slow. Wrap it in a FaultInjectionEnv for crash tests.
class NoSyncEnv final : public base::Env {
 public:
  static NoSyncEnv* Get() {
    static NoSyncEnv* env = new NoSyncEnv;
    return env;
  }

  absl::StatusOr<std::unique_ptr<base::WritableFile>> NewWritableFile(
      const std::string& path) override {
    return Open(path, "wb");
  }
  absl::StatusOr<std::unique_ptr<base::WritableFile>> NewAppendableFile(
      const std::string& path) override {
    return Open(path, "ab");
  }
  absl::StatusOr<std::unique_ptr<base::SequentialFile>> NewSequentialFile(
      const std::string& path) override {
    return base_->NewSequentialFile(path);
  }
  absl::StatusOr<std::unique_ptr<base::RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    return base_->NewRandomAccessFile(path);
  }
  absl::StatusOr<std::unique_ptr<base::MemoryRegion>> NewMemoryRegion(
      const std::string& path) override {
    return base_->NewMemoryRegion(path);
  }
  absl::StatusOr<std::string> ReadFileToString(const std::string& path) override {
    return base_->ReadFileToString(path);
  }
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    return base_->GetChildren(dir);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  bool IsDirectory(const std::string& path) override { return base_->IsDirectory(path); }
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    return base_->FileSize(path);
  }
  absl::Status CreateDir(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return ec ? absl::InternalError("mkdir " + dir + ": " + ec.message()) : absl::OkStatus();
  }
  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return absl::ErrnoToStatus(errno, "unlink " + path);
    return absl::OkStatus();
  }
  absl::Status RemoveDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return absl::ErrnoToStatus(errno, "rmdir " + dir);
    return absl::OkStatus();
  }
  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return absl::ErrnoToStatus(errno, "rename " + from + " to " + to);
    }
    return absl::OkStatus();
  }
  absl::Status Truncate(const std::string& path, uint64_t size) override {
    return base_->Truncate(path, size);
  }
  absl::Status SyncDir(const std::string&) override { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<base::FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }
  absl::StatusOr<uint64_t> FreeSpace(const std::string& path) override {
    return base_->FreeSpace(path);
  }

 private:
  class File final : public base::WritableFile {
   public:
    File(std::FILE* f, std::string path, uint64_t size)
        : f_(f), path_(std::move(path)), size_(size) {}
    ~File() override {
      if (f_ != nullptr) std::fclose(f_);
    }
    absl::Status Append(std::string_view data) override {
      if (f_ == nullptr) return absl::FailedPreconditionError(path_ + " is closed");
      if (std::fwrite(data.data(), 1, data.size(), f_) != data.size()) {
        return absl::ErrnoToStatus(errno, "write " + path_);
      }
      size_ += data.size();
      return absl::OkStatus();
    }
    absl::Status Flush() override {
      if (f_ == nullptr) return absl::FailedPreconditionError(path_ + " is closed");
      if (std::fflush(f_) != 0) return absl::ErrnoToStatus(errno, "flush " + path_);
      return absl::OkStatus();
    }
    absl::Status Sync() override { return Flush(); }
    absl::Status Close() override {
      if (f_ == nullptr) return absl::FailedPreconditionError(path_ + " is closed");
      const int r = std::fclose(f_);
      f_ = nullptr;
      return r == 0 ? absl::OkStatus() : absl::ErrnoToStatus(errno, "close " + path_);
    }
    uint64_t Size() const override { return size_; }

   private:
    std::FILE* f_;
    const std::string path_;
    uint64_t size_;
  };
  static absl::StatusOr<std::unique_ptr<base::WritableFile>> Open(const std::string& path,
                                                                  const char* mode) {
    std::FILE* f = std::fopen(path.c_str(), mode);
    if (f == nullptr) return absl::ErrnoToStatus(errno, "open " + path);
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    return std::unique_ptr<base::WritableFile>(new File(f, path, ec ? 0 : size));
  }
  base::Env* const base_ = base::Env::Default();
};

// Drops series without samples (the head querier lists series whose chunks overlap the range
// even when no sample falls inside it).
inline std::map<std::string, Samples> NonEmpty(std::map<std::string, Samples> m) {
  std::erase_if(m, [](const auto& kv) { return kv.second.empty(); });
  return m;
}

// 1 h blocks of synthetic time starting at 0, no background thread, no retention, small WAL
// segments (so checkpoints have several segments to fold), no future-time limit.
inline TsdbOptions SmallOpts(base::Env* env = NoSyncEnv::Get()) {
  TsdbOptions o;
  o.env = env;
  o.block_range_ms = kHourMs;
  o.retention_ms = 0;
  o.background = false;
  o.head.max_future_ms = 0;
  o.head.stripes = 16;
  o.wal.segment_size = 32 << 10;
  return o;
}

// What the database acknowledged: series text -> time -> value.
class Reference {
 public:
  void Add(const labels::Labels& l, int64_t t, double v) { data_[l.ToString()][t] = v; }

  // Appends `points` of each series in one commit; records in the reference only what the
  // database acknowledged (Append ok, Commit ok, not dropped at commit). Returns Commit's status.
  absl::Status Write(Storage& db,
                     const std::vector<std::pair<labels::Labels, Samples>>& batch) {
    auto app = db.NewAppender();
    std::vector<std::pair<const labels::Labels*, std::pair<int64_t, double>>> staged;
    for (const auto& [l, pts] : batch) {
      for (const auto& p : pts) {
        if (app->Append(0, l, p.first, p.second).ok()) staged.push_back({&l, p});
      }
    }
    absl::Status st = app->Commit();
    if (!st.ok()) return st;
    EXPECT_TRUE(app->DroppedAtCommit().empty()) << "unexpected drops in a single-writer test";
    for (const auto& [l, p] : staged) Add(*l, p.first, p.second);
    return st;
  }

  // The expected answer of a query over [mint, maxt] restricted to series whose text form
  // passes `keep`.
  template <typename Keep>
  std::map<std::string, Samples> Expect(int64_t mint, int64_t maxt, Keep keep) const {
    std::map<std::string, Samples> out;
    for (const auto& [name, pts] : data_) {
      if (!keep(name)) continue;
      Samples s;
      for (auto it = pts.lower_bound(mint); it != pts.end() && it->first <= maxt; ++it) {
        s.emplace_back(it->first, it->second);
      }
      if (!s.empty()) out.emplace(name, std::move(s));
    }
    return out;
  }
  std::map<std::string, Samples> Expect(int64_t mint = kMinTime, int64_t maxt = kMaxTime) const {
    return Expect(mint, maxt, [](const std::string&) { return true; });
  }
  size_t NumSamples() const {
    size_t n = 0;
    for (const auto& [_, pts] : data_) n += pts.size();
    return n;
  }
  // Drops everything before t (what retention removed).
  void DropBefore(int64_t t) {
    for (auto& [_, pts] : data_) pts.erase(pts.begin(), pts.lower_bound(t));
  }

 private:
  std::map<std::string, std::map<int64_t, double>> data_;
};

// Series text form -> samples of `q->Select(ms)`.
inline std::map<std::string, Samples> SelectMap(Querier& q, std::vector<labels::Matcher> ms) {
  auto set = q.Select(ms);
  std::map<std::string, Samples> out;
  while (set->Next()) {
    Samples samples;
    auto it = set->At().Iterator();
    while (it->Next()) samples.push_back(it->At());
    EXPECT_TRUE(it->Err().ok()) << it->Err();
    out.emplace(set->At().Labels().ToString(), std::move(samples));
  }
  EXPECT_TRUE(set->Err().ok()) << set->Err();
  return out;
}

// Block directories (ULID names) present on disk in `dir`.
inline std::vector<std::string> BlockDirs(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && block::IsUlid(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Directory entries whose names end in `suffix` (leftover temp dirs).
inline std::vector<std::string> EntriesEndingWith(const std::string& dir,
                                                  const std::string& suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(name);
    }
  }
  return out;
}

}  // namespace xscaler::storage::testing
