#include "storage/head/chunk_mapper.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"

namespace xscaler::storage::head {
namespace {

constexpr uint32_t kMagic = 0x43485358;  // "XSHC" little-endian
constexpr uint8_t kVersion = 1;
constexpr uint64_t kMaxOffset = UINT32_MAX;

absl::Status Corrupt(std::string_view path, uint64_t offset, std::string_view what) {
  return absl::DataLossError(
      absl::StrCat("head chunks ", std::string(path), " offset ", offset, ": ", std::string(what)));
}

// ChunkFileName's output: at least 6 digits (more past file 999999), at most UINT32_MAX.
bool IsChunkFileName(std::string_view name) {
  return name.size() >= 6 && name.size() <= 10 &&
         std::all_of(name.begin(), name.end(), absl::ascii_isdigit) &&
         std::stoull(std::string(name)) <= UINT32_MAX;
}

std::string FileHeader() {
  std::string h;
  base::PutFixed32(&h, kMagic);
  h.push_back(static_cast<char>(kVersion));
  h.append(3, '\0');
  return h;
}

// Parses the record at the front of `rec` (which may run on past it); `offset` is where `rec`
// starts in the file, for messages.
absl::StatusOr<ChunkRecord> ParseRecord(std::string_view rec, std::string_view path,
                                        uint64_t offset) {
  if (rec.size() < kChunkRecordOverhead) {
    return Corrupt(path, offset,
                   absl::StrCat("record cut short: ", rec.size(), " bytes left, a record needs at "
                                "least ",
                                kChunkRecordOverhead));
  }
  ChunkRecord r;
  r.series_ref = base::DecodeFixed64(rec.data());
  r.min_t = static_cast<int64_t>(base::DecodeFixed64(rec.data() + 8));
  r.max_t = static_cast<int64_t>(base::DecodeFixed64(rec.data() + 16));
  const uint32_t len = base::DecodeFixed32(rec.data() + 24);
  if (len > rec.size() - kChunkRecordOverhead) {
    return Corrupt(path, offset,
                   absl::StrCat("chunk length ", len, " runs past the end of the written data (",
                                rec.size() - kChunkRecordOverhead, " bytes left)"));
  }
  const size_t body = kChunkRecordHeaderSize + len;
  const uint32_t want = base::UnmaskCrc(base::DecodeFixed32(rec.data() + body));
  if (base::Crc32c(rec.substr(0, body)) != want) {
    return Corrupt(path, offset, "record crc mismatch");
  }
  if (r.min_t > r.max_t) {
    return Corrupt(path, offset, absl::StrCat("min_t ", r.min_t, " > max_t ", r.max_t));
  }
  r.bytes = rec.substr(kChunkRecordHeaderSize, len);
  return r;
}

}  // namespace

std::string ChunkFileName(uint32_t file) {
  std::string digits = absl::StrCat(file);
  if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
  return digits;
}

void EncodeChunkRecord(std::string* dst, uint64_t series_ref, int64_t min_t, int64_t max_t,
                       std::string_view bytes) {
  const size_t start = dst->size();
  base::PutFixed64(dst, series_ref);
  base::PutFixed64(dst, static_cast<uint64_t>(min_t));
  base::PutFixed64(dst, static_cast<uint64_t>(max_t));
  base::PutFixed32(dst, static_cast<uint32_t>(bytes.size()));
  dst->append(bytes);
  base::PutFixed32(dst, base::MaskCrc(base::Crc32c(std::string_view(*dst).substr(start))));
}

absl::StatusOr<ChunkRecord> DecodeChunkRecord(std::string_view file, uint64_t offset,
                                              std::string_view path) {
  if (file.size() < kChunkFileHeaderSize) {
    return Corrupt(path, 0, absl::StrCat("file of ", file.size(), " bytes has no header"));
  }
  if (base::DecodeFixed32(file.data()) != kMagic) return Corrupt(path, 0, "bad magic");
  if (static_cast<uint8_t>(file[4]) != kVersion) {
    return Corrupt(path, 4, absl::StrCat("unknown version ", static_cast<uint8_t>(file[4])));
  }
  if (offset < kChunkFileHeaderSize || offset > file.size()) {
    return Corrupt(path, offset,
                   absl::StrCat("reference outside the record area [", kChunkFileHeaderSize, ", ",
                                file.size(), ")"));
  }
  return ParseRecord(file.substr(offset), path, offset);
}

ChunkMapper::ChunkMapper(base::Env* env, std::string dir, ChunkMapperOptions opts)
    : env_(env), dir_(std::move(dir)), opts_(opts) {}

ChunkMapper::~ChunkMapper() {
  absl::MutexLock l(&write_mu_);
  if (writer_ != nullptr) (void)writer_->Close();
}

absl::StatusOr<std::unique_ptr<ChunkMapper>> ChunkMapper::Open(base::Env* env, std::string dir,
                                                               ChunkMapperOptions opts) {
  if (opts.max_file_size > kMaxOffset) opts.max_file_size = kMaxOffset;
  if (absl::Status s = env->CreateDir(dir); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> names = env->GetChildren(dir);
  if (!names.ok()) return names.status();
  std::vector<std::string> chunk_files;
  for (std::string& name : *names) {
    if (IsChunkFileName(name)) chunk_files.push_back(std::move(name));
  }
  std::unique_ptr<ChunkMapper> m(new ChunkMapper(env, std::move(dir), opts));
  if (opts.keep_existing) {
    absl::MutexLock l(&m->write_mu_);
    if (absl::Status s = m->LoadExistingLocked(chunk_files); !s.ok()) return s;
    return m;
  }
  // The WAL is the durable copy, so what an earlier process wrote here is only a cache.
  for (const std::string& name : chunk_files) {
    if (absl::Status s = env->RemoveFile(base::JoinPath(m->dir_, name)); !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("head chunks: removing stale file: ", s.message()));
    }
  }
  return m;
}

absl::Status ChunkMapper::LoadExistingLocked(const std::vector<std::string>& names) {
  std::vector<uint32_t> numbers;
  for (const std::string& name : names) numbers.push_back(static_cast<uint32_t>(std::stoul(name)));
  std::sort(numbers.begin(), numbers.end());
  bool damaged = false;  // a file before this one lost records
  for (uint32_t number : numbers) {
    File f;
    f.number = number;
    f.path = base::JoinPath(dir_, ChunkFileName(number));
    f.sealed = true;
    if (number == UINT32_MAX) {
      return absl::FailedPreconditionError(absl::StrCat(
          "head chunks ", dir_, ": file numbers are exhausted; restart without keep_existing"));
    }
    next_file_ = std::max(next_file_, number + 1);  // never append to a file with a torn tail
    if (damaged) {
      // A series' chunks must be contiguous for replay to resume after its last one: once a
      // file lost records, chunks in later files could sit after a hole, so they go too.
      open_warnings_.push_back(absl::StrCat("head chunks ", f.path,
                                            ": dropped, it follows a damaged file"));
      if (absl::Status s = env_->RemoveFile(f.path); !s.ok()) return s;
      continue;
    }
    absl::StatusOr<std::unique_ptr<base::MemoryRegion>> region = env_->NewMemoryRegion(f.path);
    if (!region.ok()) return region.status();
    std::string_view data = (*region)->data();
    // The valid prefix: every record up to the first one that does not decode.
    uint64_t off = kChunkFileHeaderSize;
    absl::Status bad;
    if (data.size() < kChunkFileHeaderSize) {
      bad = Corrupt(f.path, 0, absl::StrCat("file of ", data.size(), " bytes has no header"));
      off = 0;
    }
    while (bad.ok() && off < data.size()) {
      absl::StatusOr<ChunkRecord> rec = DecodeChunkRecord(data, off, f.path);
      if (!rec.ok()) {
        bad = rec.status();
        break;
      }
      f.max_t = std::max(f.max_t, rec->max_t);
      off += kChunkRecordOverhead + rec->bytes.size();
    }
    if (!bad.ok()) {
      open_warnings_.emplace_back(bad.message());
      damaged = true;
    }
    if (off <= kChunkFileHeaderSize) {  // nothing usable: do not keep an empty file around
      if (absl::Status s = env_->RemoveFile(f.path); !s.ok()) return s;
      continue;
    }
    f.size = off;
    f.region = std::move(*region);
    absl::MutexLock l(&mu_);
    files_.emplace(number, std::move(f));
  }
  return absl::OkStatus();
}

absl::Status ChunkMapper::NewFileLocked() {
  File f;
  f.number = next_file_;
  f.path = base::JoinPath(dir_, ChunkFileName(f.number));
  absl::StatusOr<std::unique_ptr<base::WritableFile>> w = env_->NewWritableFile(f.path);
  if (!w.ok()) return w.status();
  absl::Status s = (*w)->Append(FileHeader());
  if (s.ok()) s = (*w)->Flush();
  absl::StatusOr<std::unique_ptr<base::RandomAccessFile>> r;
  if (s.ok()) {
    r = env_->NewRandomAccessFile(f.path);
    if (!r.ok()) s = r.status();
  }
  if (!s.ok()) {
    w->reset();
    (void)env_->RemoveFile(f.path);  // best effort: a later attempt recreates it
    return s;
  }
  f.size = kChunkFileHeaderSize;
  f.reader = std::move(*r);
  // Reads of this file go through the mapping as it grows (no pread, no copy per chunk); the
  // reservation is address space only. Without a mapping, Read falls back to pread.
  absl::StatusOr<std::unique_ptr<base::MemoryRegion>> region =
      env_->NewGrowingMemoryRegion(f.path, std::max<uint64_t>(opts_.max_file_size, f.size));
  if (region.ok()) f.region = std::move(*region);
  ++next_file_;
  writer_ = std::move(*w);
  broken_ = false;
  absl::MutexLock l(&mu_);
  current_ = &files_.emplace(f.number, std::move(f)).first->second;
  return absl::OkStatus();
}

void ChunkMapper::SealLocked() {
  if (current_ == nullptr) return;
  if (writer_ != nullptr) {
    // With keep_existing a restart trusts every file but the newest to be complete, so a file
    // is made durable before the next one is started (one fsync per file, ~128 MiB).
    if (opts_.keep_existing && !broken_) (void)writer_->Sync();
    (void)writer_->Close();  // every record was flushed already; nothing depends on this
    writer_.reset();
  }
  broken_ = false;
  // The mapping made when the file was created covers it unless a record outgrew the
  // reservation (or mapping failed): then map the whole file now. Without any mapping the file
  // stays readable through pread.
  absl::StatusOr<std::unique_ptr<base::MemoryRegion>> region = absl::UnimplementedError("");
  if (current_->region == nullptr || current_->region->data().size() < current_->size) {
    region = env_->NewMemoryRegion(current_->path);
  }
  absl::MutexLock l(&mu_);
  current_->sealed = true;
  if (region.ok()) current_->region = std::move(*region);
  if (current_->region != nullptr && current_->region->data().size() >= current_->size) {
    current_->reader.reset();  // readers holding it keep it; the descriptor goes with them
  }
  current_ = nullptr;
}

absl::Status ChunkMapper::RecoverLocked() {
  writer_.reset();  // may try to write its buffer once more; cut off below
  absl::StatusOr<uint64_t> on_disk = env_->FileSize(current_->path);
  if (!on_disk.ok()) return on_disk.status();
  if (*on_disk != current_->size) {
    if (absl::Status s = env_->Truncate(current_->path, current_->size); !s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<base::WritableFile>> w = env_->NewAppendableFile(current_->path);
  if (!w.ok()) return w.status();
  writer_ = std::move(*w);
  broken_ = false;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ChunkMapper::Write(uint64_t series_ref, int64_t min_t, int64_t max_t,
                                            std::string_view bytes) {
  const uint64_t rec_size = kChunkRecordOverhead + bytes.size();
  if (min_t > max_t) {
    return absl::InvalidArgumentError(
        absl::StrCat("head chunks: chunk of series ", series_ref, " has min_t ", min_t,
                     " > max_t ", max_t));
  }
  if (rec_size > kMaxOffset - kChunkFileHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "head chunks: chunk of ", bytes.size(), " bytes is larger than a head chunk file can be"));
  }
  absl::MutexLock wl(&write_mu_);
  if (broken_ && !RecoverLocked().ok()) SealLocked();  // give up on that file, start a new one
  if (current_ != nullptr && current_->size > kChunkFileHeaderSize &&
      current_->size + rec_size > opts_.max_file_size) {
    SealLocked();
  }
  if (current_ == nullptr) {
    if (absl::Status s = NewFileLocked(); !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("head chunks: cannot start a new file: ", s.message()));
    }
  }
  const uint64_t offset = current_->size;
  scratch_.clear();
  EncodeChunkRecord(&scratch_, series_ref, min_t, max_t, bytes);
  // Flushing each record hands it to the OS before its ref exists, so a later failure never
  // strands a ref whose bytes are only in a dead buffer.
  absl::Status s = writer_->Append(scratch_);
  if (s.ok()) s = writer_->Flush();
  if (!s.ok()) {
    broken_ = true;
    (void)RecoverLocked();  // if this fails too, the next Write retries or starts a new file
    return absl::Status(s.code(), absl::StrCat("head chunks ", current_->path,
                                               ": writing a chunk of series ", series_ref,
                                               " failed: ", s.message()));
  }
  {
    absl::MutexLock l(&mu_);  // publishes the record to readers
    current_->size += scratch_.size();
    current_->max_t = std::max(current_->max_t, max_t);
  }
  if (scratch_.capacity() > (1 << 20)) std::string().swap(scratch_);
  return MakeChunkRef(current_->number, static_cast<uint32_t>(offset));
}

absl::StatusOr<chunk::ChunkData> ChunkMapper::Read(uint64_t ref) const {
  const uint32_t number = ChunkRefFile(ref);
  const uint64_t offset = ChunkRefOffset(ref);
  uint64_t size = 0;
  std::shared_ptr<const base::MemoryRegion> region;
  std::shared_ptr<const base::RandomAccessFile> reader;
  {
    absl::ReaderMutexLock l(&mu_);
    auto it = files_.find(number);
    if (it == files_.end()) {
      return absl::NotFoundError(absl::StrCat("head chunks ", base::JoinPath(dir_, ChunkFileName(number)),
                                              ": reference ", absl::Hex(ref),
                                              " names a file that was truncated or never written"));
    }
    const File& f = it->second;
    size = f.size;
    // The mapping unless the written bytes outgrew it and pread can still reach them.
    if (f.region != nullptr && (f.reader == nullptr || f.region->data().size() >= size)) {
      region = f.region;
    } else {
      reader = f.reader;
    }
  }
  // The path only for messages: built on the error path, not per read (this is the query hot
  // path, a few hundred thousand reads per dashboard query).
  auto path = [&] { return base::JoinPath(dir_, ChunkFileName(number)); };
  if (region != nullptr) {
    std::string_view data = region->data();
    if (data.size() < size) {
      return Corrupt(path(), data.size(),
                     absl::StrCat("file is ", data.size(), " bytes, ", size, " were written"));
    }
    absl::StatusOr<ChunkRecord> rec = DecodeChunkRecord(data.substr(0, size), offset, "");
    if (!rec.ok()) return DecodeChunkRecord(data.substr(0, size), offset, path()).status();
    return chunk::ChunkData{rec->min_t, rec->max_t, rec->bytes, std::move(region)};
  }
  if (offset < kChunkFileHeaderSize || offset + kChunkRecordOverhead > size) {
    return Corrupt(path(), offset,
                   absl::StrCat("reference outside the record area [", kChunkFileHeaderSize, ", ",
                                size, ")"));
  }
  char head[kChunkRecordHeaderSize];
  absl::StatusOr<std::string_view> h = reader->Read(offset, sizeof(head), head);
  if (!h.ok()) return h.status();
  if (h->size() != sizeof(head)) return Corrupt(path(), offset, "file shorter than written");
  const uint64_t len = base::DecodeFixed32(h->data() + 24);
  if (len > size - offset - kChunkRecordOverhead) {
    return Corrupt(path(), offset,
                   absl::StrCat("chunk length ", len, " runs past the end of the written data (",
                                size - offset - kChunkRecordOverhead, " bytes left)"));
  }
  auto buf = std::make_shared<std::string>(kChunkRecordOverhead + len, '\0');
  absl::StatusOr<std::string_view> got = reader->Read(offset, buf->size(), buf->data());
  if (!got.ok()) return got.status();
  if (got->size() != buf->size()) return Corrupt(path(), offset, "file shorter than written");
  if (got->data() != buf->data()) buf->assign(got->data(), got->size());
  absl::StatusOr<ChunkRecord> rec = ParseRecord(*buf, path(), offset);
  if (!rec.ok()) return rec.status();
  return chunk::ChunkData{rec->min_t, rec->max_t, rec->bytes,
                          std::shared_ptr<const void>(std::move(buf))};
}

absl::Status ChunkMapper::Truncate(int64_t mint) {
  absl::MutexLock wl(&write_mu_);
  if (current_ != nullptr && current_->max_t < mint) SealLocked();
  std::vector<std::pair<uint32_t, std::string>> doomed;
  {
    absl::ReaderMutexLock l(&mu_);
    for (const auto& [number, f] : files_) {
      if (f.sealed && f.max_t < mint) doomed.emplace_back(number, f.path);
    }
  }
  absl::Status first;
  std::vector<uint32_t> removed;
  for (const auto& [number, path] : doomed) {
    if (absl::Status s = env_->RemoveFile(path); !s.ok() && !absl::IsNotFound(s)) {
      if (first.ok()) first = s;  // keep the entry so its refs stay readable; retried next time
      continue;
    }
    removed.push_back(number);
  }
  absl::MutexLock l(&mu_);
  for (uint32_t number : removed) files_.erase(number);
  return first;
}

absl::Status ChunkMapper::ForEachChunk(
    absl::FunctionRef<absl::Status(uint64_t ref, const ChunkRecord& rec)> fn) const {
  struct Snap {
    uint32_t number;
    std::string path;
    uint64_t size;
    std::shared_ptr<const base::MemoryRegion> region;
    std::shared_ptr<const base::RandomAccessFile> reader;
  };
  std::vector<Snap> files;
  {
    absl::ReaderMutexLock l(&mu_);
    for (const auto& [number, f] : files_) {
      files.push_back({number, f.path, f.size, f.region, f.reader});
    }
  }
  std::string scratch;
  for (const Snap& f : files) {
    std::string_view data;
    if (f.region != nullptr && (f.reader == nullptr || f.region->data().size() >= f.size)) {
      data = f.region->data().substr(0, f.size);
    } else {
      scratch.resize(f.size);
      absl::StatusOr<std::string_view> got = f.reader->Read(0, f.size, scratch.data());
      if (!got.ok()) return got.status();
      data = *got;
    }
    if (data.size() < f.size) {
      return Corrupt(f.path, data.size(),
                     absl::StrCat("file is ", data.size(), " bytes, ", f.size, " were written"));
    }
    for (uint64_t off = kChunkFileHeaderSize; off < f.size;) {
      absl::StatusOr<ChunkRecord> rec = DecodeChunkRecord(data, off, f.path);
      if (!rec.ok()) return rec.status();
      if (absl::Status s = fn(MakeChunkRef(f.number, static_cast<uint32_t>(off)), *rec); !s.ok()) {
        return s;
      }
      off += kChunkRecordOverhead + rec->bytes.size();
    }
  }
  return absl::OkStatus();
}

uint64_t ChunkMapper::SizeBytes() const {
  absl::ReaderMutexLock l(&mu_);
  uint64_t n = 0;
  for (const auto& [_, f] : files_) n += f.size;
  return n;
}

size_t ChunkMapper::NumFiles() const {
  absl::ReaderMutexLock l(&mu_);
  return files_.size();
}

}  // namespace xscaler::storage::head
