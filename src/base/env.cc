#include "base/env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace xscaler::base {
namespace {

absl::Status PosixError(const char* op, const std::string& path, int err) {
  return absl::ErrnoToStatus(err, absl::StrCat(op, " ", path));
}

// Retries on EINTR; returns -1 with errno set on other errors.
template <typename F>
auto RetryEintr(F f) {
  for (;;) {
    auto r = f();
    if (r >= 0 || errno != EINTR) return r;
  }
}

absl::Status SyncFd(int fd, const std::string& path, bool data_only) {
  int r = data_only ? ::fdatasync(fd) : ::fsync(fd);
  if (r != 0) return PosixError(data_only ? "fdatasync" : "fsync", path, errno);
  return absl::OkStatus();
}

// An open read-only descriptor (owned by the caller) and the file's size when it was opened.
struct ReadOnlyFd {
  int fd;
  uint64_t size;
};

absl::StatusOr<ReadOnlyFd> OpenReadOnlyAndStat(const std::string& path) {
  int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (fd < 0) return PosixError("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return PosixError("stat", path, err);
  }
  return ReadOnlyFd{fd, static_cast<uint64_t>(st.st_size)};
}

absl::Status SyncDirPath(const std::string& dir) {
  int fd = RetryEintr([&] { return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
  if (fd < 0) return PosixError("open dir", dir, errno);
  absl::Status s = SyncFd(fd, dir, /*data_only=*/false);
  ::close(fd);
  return s;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size, bool append_mode)
      : path_(std::move(path)), fd_(fd), size_(size), append_mode_(append_mode) {
    buf_.reserve(kBufSize);
  }
  ~PosixWritableFile() override {
    if (fd_ >= 0) {
      (void)FlushBuffer();
      ::close(fd_);
    }
  }

  absl::Status Append(std::string_view data) override {
    if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("append to closed file ", path_));
    size_ += data.size();
    if (buf_.size() + data.size() <= kBufSize) {
      buf_.append(data);
      return absl::OkStatus();
    }
    if (absl::Status s = FlushBuffer(); !s.ok()) return s;
    if (data.size() <= kBufSize / 2) {
      buf_.append(data);
      return absl::OkStatus();
    }
    return WriteRaw(data);
  }
  absl::Status Flush() override {
    if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("flush of closed file ", path_));
    return FlushBuffer();
  }
  absl::Status Sync() override {
    if (absl::Status s = Flush(); !s.ok()) return s;
    return SyncFd(fd_, path_, /*data_only=*/true);
  }
  absl::Status Close() override {
    if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("close of closed file ", path_));
    absl::Status s = FlushBuffer();
    if (::close(fd_) != 0 && s.ok()) s = PosixError("close", path_, errno);
    fd_ = -1;
    return s;
  }
  uint64_t Size() const override { return size_; }
  absl::Status Preallocate(uint64_t size) override {
    if (fd_ < 0) {
      return absl::FailedPreconditionError(absl::StrCat("preallocate closed file ", path_));
    }
    if (append_mode_) {
      return absl::UnimplementedError(absl::StrCat("preallocate file opened for append ", path_));
    }
    // Zeros go after everything written or buffered, so they never overwrite data.
    uint64_t from = std::max(zeroed_end_, size_);
    static const std::string* const kZeros = new std::string(1 << 20, '\0');
    while (from < size) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(size - from, kZeros->size()));
      ssize_t w =
          RetryEintr([&] { return ::pwrite(fd_, kZeros->data(), n, static_cast<off_t>(from)); });
      if (w < 0) return PosixError("pwrite zeros", path_, errno);
      from += static_cast<uint64_t>(w);
    }
    zeroed_end_ = std::max(zeroed_end_, from);
    return absl::OkStatus();
  }

 private:
  static constexpr size_t kBufSize = 64 * 1024;

  absl::Status FlushBuffer() {
    absl::Status s = WriteRaw(buf_);
    buf_.clear();
    return s;
  }
  absl::Status WriteRaw(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = RetryEintr([&] { return ::write(fd_, data.data(), data.size()); });
      if (n < 0) return PosixError("write", path_, errno);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  const std::string path_;
  int fd_;
  uint64_t size_;
  const bool append_mode_;   // O_APPEND: writes always go to the end, so no Preallocate
  uint64_t zeroed_end_ = 0;  // end of the zeros Preallocate wrote
  std::string buf_;
};

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { ::close(fd_); }
  absl::StatusOr<std::string_view> Read(size_t n, char* scratch) override {
    ssize_t r = RetryEintr([&] { return ::read(fd_, scratch, n); });
    if (r < 0) return PosixError("read", path_, errno);
    return std::string_view(scratch, static_cast<size_t>(r));
  }
  absl::Status Skip(uint64_t n) override {
    if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) < 0) return PosixError("seek", path_, errno);
    return absl::OkStatus();
  }

 private:
  const std::string path_;
  int fd_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }
  absl::StatusOr<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    size_t got = 0;
    while (got < n) {
      ssize_t r = RetryEintr(
          [&] { return ::pread(fd_, scratch + got, n - got, static_cast<off_t>(offset + got)); });
      if (r < 0) return PosixError("pread", path_, errno);
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return std::string_view(scratch, got);
  }
  uint64_t Size() const override { return size_; }

 private:
  const std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixMemoryRegion final : public MemoryRegion {
 public:
  PosixMemoryRegion(void* addr, size_t size) : addr_(addr), size_(size) {}
  ~PosixMemoryRegion() override {
    if (addr_ != nullptr) ::munmap(addr_, size_);
  }
  std::string_view data() const override {
    return addr_ == nullptr ? std::string_view() : std::string_view(static_cast<char*>(addr_), size_);
  }

 private:
  void* addr_;
  size_t size_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class PosixEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    return Open(path, O_TRUNC);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    return Open(path, O_APPEND);
  }
  absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return PosixError("open", path, errno);
    return std::make_unique<PosixSequentialFile>(path, fd);
  }
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    absl::StatusOr<ReadOnlyFd> f = OpenReadOnlyAndStat(path);
    if (!f.ok()) return f.status();
    return std::make_unique<PosixRandomAccessFile>(path, f->fd, f->size);
  }
  absl::StatusOr<std::unique_ptr<MemoryRegion>> NewMemoryRegion(const std::string& path) override {
    absl::StatusOr<ReadOnlyFd> f = OpenReadOnlyAndStat(path);
    if (!f.ok()) return f.status();
    int fd = f->fd;
    size_t size = static_cast<size_t>(f->size);
    void* addr = nullptr;
    if (size > 0) {
      addr = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      if (addr == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        return PosixError("mmap", path, err);
      }
    }
    ::close(fd);  // the mapping stays valid without the descriptor
    return std::make_unique<PosixMemoryRegion>(addr, size);
  }

  absl::StatusOr<std::unique_ptr<MemoryRegion>> NewGrowingMemoryRegion(const std::string& path,
                                                                        uint64_t length) override {
    if (length == 0 || length > static_cast<uint64_t>(SIZE_MAX / 2)) {
      return absl::InvalidArgumentError(
          absl::StrCat("mapping ", path, ": length ", length, " is not a usable mapping size"));
    }
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return PosixError("open", path, errno);
    void* addr = ::mmap(nullptr, static_cast<size_t>(length), PROT_READ, MAP_SHARED, fd, 0);
    int err = errno;
    ::close(fd);  // the mapping stays valid without the descriptor
    if (addr == MAP_FAILED) return PosixError("mmap", path, err);
    return std::make_unique<PosixMemoryRegion>(addr, static_cast<size_t>(length));
  }

  absl::StatusOr<std::string> ReadFileToString(const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return PosixError("open", path, errno);
    std::string out;
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
    char buf[64 * 1024];
    for (;;) {
      ssize_t r = RetryEintr([&] { return ::read(fd, buf, sizeof(buf)); });
      if (r < 0) {
        int err = errno;
        ::close(fd);
        return PosixError("read", path, err);
      }
      if (r == 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    ::close(fd);
    return out;
  }

  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError("opendir", dir, errno);
    std::vector<std::string> out;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name != "." && name != "..") out.emplace_back(name);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return PosixError("readdir", dir, err);
    return out;
  }
  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  bool IsDirectory(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  absl::Status CreateDir(const std::string& dir) override {
    if (IsDirectory(dir)) return absl::OkStatus();
    std::string parent = DirName(dir);
    if (parent != dir && !IsDirectory(parent)) {
      if (absl::Status s = CreateDir(parent); !s.ok()) return s;
    }
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return PosixError("mkdir", dir, errno);
    return SyncDirPath(parent);
  }
  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError("unlink", path, errno);
    return SyncDirPath(DirName(path));
  }
  absl::Status RemoveDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return PosixError("rmdir", dir, errno);
    return SyncDirPath(DirName(dir));
  }
  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError("rename", absl::StrCat(from, " to ", to), errno);
    }
    std::string from_dir = DirName(from), to_dir = DirName(to);
    if (absl::Status s = SyncDirPath(to_dir); !s.ok()) return s;
    if (from_dir != to_dir) return SyncDirPath(from_dir);
    return absl::OkStatus();
  }
  absl::Status Truncate(const std::string& path, uint64_t size) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_WRONLY | O_CLOEXEC); });
    if (fd < 0) return PosixError("open", path, errno);
    absl::Status s;
    if (RetryEintr([&] { return ::ftruncate(fd, static_cast<off_t>(size)); }) != 0) {
      s = PosixError("truncate", path, errno);
    } else {
      s = SyncFd(fd, path, /*data_only=*/false);
    }
    ::close(fd);
    return s;
  }
  absl::Status SyncDir(const std::string& dir) override { return SyncDirPath(dir); }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644); });
    if (fd < 0) return PosixError("open lock file", path, errno);
    if (RetryEintr([&] { return ::flock(fd, LOCK_EX | LOCK_NB); }) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return absl::FailedPreconditionError(absl::StrCat(
            "lock ", path, " is held by another process: is another server using this directory?"));
      }
      return PosixError("flock", path, err);
    }
    return std::make_unique<PosixFileLock>(fd);
  }
  absl::StatusOr<uint64_t> FreeSpace(const std::string& path) override {
    struct statvfs st;
    if (::statvfs(path.c_str(), &st) != 0) return PosixError("statvfs", path, errno);
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  }

 private:
  absl::StatusOr<std::unique_ptr<WritableFile>> Open(const std::string& path, int mode) {
    bool existed = FileExists(path);
    int fd = RetryEintr(
        [&] { return ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | mode, 0644); });
    if (fd < 0) return PosixError("open", path, errno);
    uint64_t size = 0;
    if (mode & O_APPEND) {
      struct stat st;
      if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        return PosixError("stat", path, err);
      }
      size = static_cast<uint64_t>(st.st_size);
    }
    if (!existed) {
      if (absl::Status s = SyncDirPath(DirName(path)); !s.ok()) {
        ::close(fd);
        return s;
      }
    }
    return std::make_unique<PosixWritableFile>(path, fd, size, (mode & O_APPEND) != 0);
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new PosixEnv();
  return env;
}

absl::StatusOr<std::unique_ptr<MemoryRegion>> Env::NewGrowingMemoryRegion(const std::string& path,
                                                                         uint64_t length) {
  (void)length;
  return absl::UnimplementedError(
      absl::StrCat("mapping ", path, ": this Env cannot map a growing file"));
}

absl::Status Env::WriteStringToFileAtomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  auto file = NewWritableFile(tmp);
  if (!file.ok()) return file.status();
  absl::Status s = (*file)->Append(data);
  if (s.ok()) s = (*file)->Sync();
  if (s.ok()) s = (*file)->Close();
  if (s.ok()) s = RenameFile(tmp, path);
  if (!s.ok()) (void)RemoveFile(tmp);
  return s;
}

absl::Status WritableFile::Preallocate(uint64_t /*size*/) {
  return absl::UnimplementedError("this file does not support preallocation");
}

absl::Status Env::RemoveDirRecursive(const std::string& dir) {
  if (!FileExists(dir)) return absl::OkStatus();
  if (!IsDirectory(dir)) return RemoveFile(dir);
  auto children = GetChildren(dir);
  if (!children.ok()) return children.status();
  for (const std::string& c : *children) {
    if (absl::Status s = RemoveDirRecursive(JoinPath(dir, c)); !s.ok()) return s;
  }
  return RemoveDir(dir);
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out += '/';
  out.append(name);
  return out;
}

std::string DirName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace xscaler::base
