#include "base/fault_env.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace xscaler::base {

// Passes every Append straight through to the OS (Append + Flush on the base file) so that
// the base file never holds buffered bytes the fault model does not know about.
class FaultInjectionEnv::File final : public WritableFile {
 public:
  File(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base,
       uint64_t generation)
      : env_(env), path_(std::move(path)), base_(std::move(base)), generation_(generation) {}

  absl::Status Append(std::string_view data) override {
    if (absl::Status s = Check(); !s.ok()) return s;
    if (absl::Status s = env_->MaybeFail(FaultOp::kAppend, path_); !s.ok()) return s;
    absl::Status s = base_->Append(data);
    if (s.ok()) s = base_->Flush();
    if (s.ok()) env_->OnAppend(path_, data.size());
    return s;
  }
  absl::Status Flush() override { return Check(); }
  absl::Status Sync() override {
    if (absl::Status s = Check(); !s.ok()) return s;
    if (absl::Status s = env_->MaybeFail(FaultOp::kSync, path_); !s.ok()) return s;
    absl::Status s = base_->Sync();
    if (s.ok()) env_->OnSync(path_);
    return s;
  }
  absl::Status Close() override {
    if (absl::Status s = Check(); !s.ok()) return s;
    return base_->Close();
  }
  uint64_t Size() const override { return base_->Size(); }

 private:
  absl::Status Check() {
    absl::MutexLock l(&env_->mu_);
    if (env_->generation_ != generation_) {
      return absl::FailedPreconditionError(
          absl::StrCat("file ", path_, " was opened before a simulated power loss"));
    }
    return absl::OkStatus();
  }

  FaultInjectionEnv* const env_;
  const std::string path_;
  std::unique_ptr<WritableFile> base_;
  const uint64_t generation_;
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

absl::Status FaultInjectionEnv::DropUnsyncedData() {
  absl::MutexLock l(&mu_);
  ++generation_;
  for (auto& [path, st] : files_) {
    if (st.size == st.synced_size) continue;
    if (!base_->FileExists(path)) continue;
    if (absl::Status s = base_->Truncate(path, st.synced_size); !s.ok()) return s;
    st.size = st.synced_size;
  }
  return absl::OkStatus();
}

void FaultInjectionEnv::FailNth(FaultOp op, int nth, absl::Status error, bool sticky) {
  absl::MutexLock l(&mu_);
  Fault& f = faults_[static_cast<int>(op)];
  f.countdown = nth;
  f.sticky = sticky;
  f.firing = false;
  f.error = std::move(error);
}

void FaultInjectionEnv::SetDiskFull(bool full) {
  absl::MutexLock l(&mu_);
  disk_full_ = full;
}

void FaultInjectionEnv::ClearFaults() {
  absl::MutexLock l(&mu_);
  for (Fault& f : faults_) f = Fault();
  disk_full_ = false;
}

int64_t FaultInjectionEnv::Count(FaultOp op) const {
  absl::MutexLock l(&mu_);
  return counts_[static_cast<int>(op)];
}

absl::Status FaultInjectionEnv::MaybeFail(FaultOp op, const std::string& path) {
  absl::MutexLock l(&mu_);
  ++counts_[static_cast<int>(op)];
  Fault& f = faults_[static_cast<int>(op)];
  bool fail = f.firing;
  if (!fail && f.countdown > 0 && --f.countdown == 0) {
    fail = true;
    if (f.sticky) {
      f.firing = true;
    } else {
      f.countdown = -1;
    }
  }
  if (fail) {
    return absl::Status(f.error.code(), absl::StrCat(f.error.message(), " (injected: ", path, ")"));
  }
  if (op == FaultOp::kAppend && disk_full_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("write ", path, ": No space left on device (injected)"));
  }
  return absl::OkStatus();
}

void FaultInjectionEnv::OnAppend(const std::string& path, uint64_t n) {
  absl::MutexLock l(&mu_);
  files_[path].size += n;
}

void FaultInjectionEnv::OnSync(const std::string& path) {
  absl::MutexLock l(&mu_);
  FileState& st = files_[path];
  st.synced_size = st.size;
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(
    const std::string& path) {
  if (absl::Status s = MaybeFail(FaultOp::kCreate, path); !s.ok()) return s;
  auto f = base_->NewWritableFile(path);
  if (!f.ok()) return f.status();
  absl::MutexLock l(&mu_);
  files_[path] = FileState{};
  return std::make_unique<File>(this, path, *std::move(f), generation_);
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewAppendableFile(
    const std::string& path) {
  if (absl::Status s = MaybeFail(FaultOp::kCreate, path); !s.ok()) return s;
  auto f = base_->NewAppendableFile(path);
  if (!f.ok()) return f.status();
  absl::MutexLock l(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) {
    // Bytes already on disk when first seen are assumed durable.
    uint64_t size = (*f)->Size();
    files_[path] = FileState{size, size};
  }
  return std::make_unique<File>(this, path, *std::move(f), generation_);
}

absl::StatusOr<std::unique_ptr<SequentialFile>> FaultInjectionEnv::NewSequentialFile(
    const std::string& path) {
  if (absl::Status s = MaybeFail(FaultOp::kRead, path); !s.ok()) return s;
  return base_->NewSequentialFile(path);
}

absl::StatusOr<std::unique_ptr<RandomAccessFile>> FaultInjectionEnv::NewRandomAccessFile(
    const std::string& path) {
  if (absl::Status s = MaybeFail(FaultOp::kRead, path); !s.ok()) return s;
  return base_->NewRandomAccessFile(path);
}

absl::StatusOr<std::unique_ptr<MemoryRegion>> FaultInjectionEnv::NewMemoryRegion(
    const std::string& path) {
  if (absl::Status s = MaybeFail(FaultOp::kRead, path); !s.ok()) return s;
  return base_->NewMemoryRegion(path);
}

absl::StatusOr<std::unique_ptr<MemoryRegion>> FaultInjectionEnv::NewGrowingMemoryRegion(
    const std::string& path, uint64_t length) {
  if (absl::Status s = MaybeFail(FaultOp::kRead, path); !s.ok()) return s;
  return base_->NewGrowingMemoryRegion(path, length);
}

absl::StatusOr<std::string> FaultInjectionEnv::ReadFileToString(const std::string& path) {
  if (absl::Status s = MaybeFail(FaultOp::kRead, path); !s.ok()) return s;
  return base_->ReadFileToString(path);
}

absl::StatusOr<std::vector<std::string>> FaultInjectionEnv::GetChildren(const std::string& dir) {
  return base_->GetChildren(dir);
}
bool FaultInjectionEnv::FileExists(const std::string& path) { return base_->FileExists(path); }
bool FaultInjectionEnv::IsDirectory(const std::string& path) { return base_->IsDirectory(path); }
absl::StatusOr<uint64_t> FaultInjectionEnv::FileSize(const std::string& path) {
  return base_->FileSize(path);
}

absl::Status FaultInjectionEnv::CreateDir(const std::string& dir) {
  if (absl::Status s = MaybeFail(FaultOp::kCreate, dir); !s.ok()) return s;
  return base_->CreateDir(dir);
}

absl::Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  if (absl::Status s = MaybeFail(FaultOp::kRemove, path); !s.ok()) return s;
  absl::Status s = base_->RemoveFile(path);
  if (s.ok()) {
    absl::MutexLock l(&mu_);
    files_.erase(path);
  }
  return s;
}

absl::Status FaultInjectionEnv::RemoveDir(const std::string& dir) {
  if (absl::Status s = MaybeFail(FaultOp::kRemove, dir); !s.ok()) return s;
  return base_->RemoveDir(dir);
}

absl::Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  if (absl::Status s = MaybeFail(FaultOp::kRename, from); !s.ok()) return s;
  absl::Status s = base_->RenameFile(from, to);
  if (!s.ok()) return s;
  absl::MutexLock l(&mu_);
  // A renamed directory carries its files along.
  std::string from_prefix = from + "/";
  std::map<std::string, FileState> moved;
  for (auto it = files_.begin(); it != files_.end();) {
    if (it->first == from) {
      moved[to] = it->second;
      it = files_.erase(it);
    } else if (it->first.compare(0, from_prefix.size(), from_prefix) == 0) {
      moved[to + "/" + it->first.substr(from_prefix.size())] = it->second;
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  files_.erase(to);
  for (auto& [p, st] : moved) files_[p] = st;
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::Truncate(const std::string& path, uint64_t size) {
  if (absl::Status s = MaybeFail(FaultOp::kTruncate, path); !s.ok()) return s;
  absl::Status s = base_->Truncate(path, size);
  if (s.ok()) {
    absl::MutexLock l(&mu_);
    auto it = files_.find(path);
    if (it != files_.end()) it->second = FileState{size, size};
  }
  return s;
}

absl::Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  if (absl::Status s = MaybeFail(FaultOp::kSync, dir); !s.ok()) return s;
  return base_->SyncDir(dir);
}

absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(const std::string& path) {
  return base_->LockFile(path);
}

absl::StatusOr<uint64_t> FaultInjectionEnv::FreeSpace(const std::string& path) {
  {
    absl::MutexLock l(&mu_);
    if (disk_full_) return 0;
  }
  return base_->FreeSpace(path);
}

}  // namespace xscaler::base
