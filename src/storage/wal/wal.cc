#include "storage/wal/wal.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "spdlog/spdlog.h"
#include "storage/wal/checkpoint.h"
#include "zstd.h"

namespace xscaler::storage::wal {
namespace {

// Frame layout: docs/format/wal.md.
constexpr size_t kHeaderSize = 9;
constexpr uint8_t kFrameBatch = 1;
constexpr uint8_t kFrameZstdBatch = 2;
constexpr uint64_t kMaxFrameSize = 1ull << 30;
// A leader takes at most this many bytes of queued frames into one group, bounding latency.
constexpr uint64_t kMaxGroupBytes = 32ull << 20;
// Smaller payloads are not worth a zstd call (the frame would hardly shrink).
constexpr size_t kMinCompressBytes = 64;

struct ZstdCCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

// One compression context per writing thread: frames are built (and compressed) by the
// callers of Write, in parallel, before they queue for the group commit.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree> cctx(ZSTD_createCCtx());
  return cctx.get();
}

ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, ZstdDCtxFree> dctx(ZSTD_createDCtx());
  return dctx.get();
}

void FinishHeader(std::string* frame, uint8_t type) {
  const uint64_t len = frame->size() - kHeaderSize;
  (*frame)[0] = static_cast<char>(type);
  base::EncodeFixed32(frame->data() + 1, static_cast<uint32_t>(len));
  uint32_t crc = base::Crc32c(std::string_view(*frame).substr(0, 5));
  crc = base::Crc32c(std::string_view(*frame).substr(kHeaderSize), crc);
  base::EncodeFixed32(frame->data() + 5, base::MaskCrc(crc));
}

template <typename Str>
absl::StatusOr<std::string> BuildFrame(std::span<const Str> records, int zstd_level) {
  size_t total = kHeaderSize + base::kMaxVarint64Bytes;
  for (const auto& r : records) total += r.size() + base::kMaxVarint64Bytes;
  // The uncompressed payload goes straight into the frame, or into a per-thread scratch
  // buffer when it is to be compressed into the frame.
  thread_local std::string scratch;
  // Keeps no more than a typical frame's worth of scratch per thread after a huge Write.
  struct TrimScratch {
    ~TrimScratch() {
      if (scratch.capacity() > (8u << 20)) std::string().swap(scratch);
    }
  } trim;
  std::string frame;
  std::string& raw = zstd_level != 0 ? scratch : frame;
  raw.clear();
  raw.reserve(total);
  if (zstd_level == 0) raw.resize(kHeaderSize);
  const size_t start = raw.size();
  base::PutVarint64(&raw, records.size());
  for (const auto& r : records) base::PutLengthPrefixed(&raw, std::string_view(r));
  const uint64_t len = raw.size() - start;
  if (len > kMaxFrameSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wal batch of ", len, " bytes exceeds the limit of ", kMaxFrameSize, " bytes per Write"));
  }
  if (zstd_level == 0) {
    FinishHeader(&frame, kFrameBatch);
    return frame;
  }
  if (len >= kMinCompressBytes) {
    frame.resize(kHeaderSize + base::kMaxVarint64Bytes + ZSTD_compressBound(len));
    char* p = base::EncodeVarint64(frame.data() + kHeaderSize, len);
    const size_t prefix = static_cast<size_t>(p - frame.data());
    ZSTD_CCtx* cctx = ThreadCCtx();
    (void)ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
    (void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, zstd_level);
    // The frame stores the uncompressed length itself, and its CRC covers the bytes.
    (void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    (void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0);
    const size_t n =
        ZSTD_compress2(cctx, frame.data() + prefix, frame.size() - prefix, raw.data(), len);
    if (!ZSTD_isError(n) && prefix - kHeaderSize + n < len) {
      frame.resize(prefix + n);
      FinishHeader(&frame, kFrameZstdBatch);
      return frame;
    }
  }
  frame.resize(kHeaderSize);
  frame.append(raw);
  FinishHeader(&frame, kFrameBatch);
  return frame;
}

}  // namespace

bool ParseSegmentName(std::string_view name, uint64_t* n) {
  if (name.size() < 8 || name.size() > 19) return false;
  uint64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *n = v;
  return true;
}

std::string SegmentPath(const std::string& dir, uint64_t segment) {
  return base::JoinPath(dir, absl::StrFormat("%08d", segment));
}

absl::StatusOr<std::vector<uint64_t>> ListSegments(base::Env* env, const std::string& dir) {
  std::vector<uint64_t> out;
  if (!env->IsDirectory(dir)) return out;
  auto children = env->GetChildren(dir);
  if (!children.ok()) return children.status();
  for (const std::string& name : *children) {
    uint64_t n;
    if (ParseSegmentName(name, &n)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status RemoveSegmentsBefore(base::Env* env, const std::string& dir, uint64_t segment) {
  auto segs = ListSegments(env, dir);
  if (!segs.ok()) return segs.status();
  for (uint64_t n : *segs) {
    if (n >= segment) break;
    if (absl::Status s = env->RemoveFile(SegmentPath(dir, n)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

struct Writer::Waiter {
  enum class Kind { kWrite, kRoll, kClose };
  Kind kind = Kind::kWrite;
  std::string frame;
  absl::Status status;
  bool done = false;
  absl::CondVar cv;
};

Writer::Writer(base::Env* env, std::string dir, WriterOptions opts)
    : env_(env), dir_(std::move(dir)), opts_(opts) {}

Writer::~Writer() { (void)Close(); }

absl::StatusOr<std::unique_ptr<Writer>> Writer::Open(base::Env* env, std::string dir,
                                                     WriterOptions opts) {
  if (absl::Status s = env->CreateDir(dir); !s.ok()) return s;
  auto segs = ListSegments(env, dir);
  if (!segs.ok()) return segs.status();
  uint64_t next = segs->empty() ? 1 : segs->back() + 1;
  if (auto cp = LatestCheckpoint(env, dir); cp.ok()) {
    next = std::max(next, cp->segment + 1);
  } else if (!absl::IsNotFound(cp.status())) {
    return cp.status();
  }
  std::unique_ptr<Writer> w(new Writer(env, std::move(dir), opts));
  if (absl::Status s = w->OpenSegment(next); !s.ok()) return s;
  return w;
}

void Writer::SetSegment(uint64_t segment) {
  absl::MutexLock l(&mu_);
  segment_ = segment;
}

uint64_t Writer::Segment() const {
  absl::MutexLock l(&mu_);
  return segment_;
}

absl::Status Writer::OpenSegment(uint64_t segment) {
  file_.reset();
  cur_size_ = good_size_ = 0;
  damaged_ = false;
  zeroed_end_ = 0;
  preallocated_ = prealloc_failed_ = false;
  // On failure file_segment_ keeps the previous number, so the next attempt reuses this one.
  auto f = env_->NewWritableFile(SegmentPath(dir_, segment));
  if (!f.ok()) return f.status();
  file_ = *std::move(f);
  file_segment_ = segment;
  SetSegment(segment);
  return absl::OkStatus();
}

absl::Status Writer::RecoverTail() {
  // Dropping the file first lets any bytes it still buffers reach the OS before they are cut.
  file_.reset();
  std::string path = SegmentPath(dir_, file_segment_);
  if (absl::Status s = env_->Truncate(path, good_size_); !s.ok()) return s;
  auto f = env_->NewAppendableFile(path);
  if (!f.ok()) return f.status();
  file_ = *std::move(f);
  cur_size_ = good_size_;
  damaged_ = false;
  // The truncation cut any preallocated zeros; a file opened for append cannot get new ones.
  zeroed_end_ = good_size_;
  preallocated_ = false;
  prealloc_failed_ = true;
  return absl::OkStatus();
}

void Writer::PreallocateFor(uint64_t end) {
  if (!opts_.sync || opts_.preallocate_bytes == 0 || prealloc_failed_ || end <= zeroed_end_ ||
      end > opts_.segment_size) {
    return;
  }
  const uint64_t target = std::min(opts_.segment_size, end + opts_.preallocate_bytes);
  preallocated_ = true;
  if (absl::Status s = file_->Preallocate(target); !s.ok()) {
    // Not fatal: frames are simply appended (and each sync also commits the file size).
    prealloc_failed_ = true;
    if (!absl::IsUnimplemented(s)) {
      spdlog::warn("wal {}: cannot preallocate segment {}: {}", dir_, file_segment_, s.ToString());
    }
    return;
  }
  zeroed_end_ = target;
}

void Writer::TrimPreallocated() {
  if (!preallocated_) return;
  preallocated_ = false;
  // A segment left with a zero tail still reads correctly (readers take it as the end), so a
  // failure here only costs disk space until the segment is deleted.
  if (absl::Status s = env_->Truncate(SegmentPath(dir_, file_segment_), good_size_); !s.ok()) {
    spdlog::warn("wal {}: cannot cut the preallocated tail of segment {}: {}", dir_, file_segment_,
                 s.ToString());
  }
}

absl::Status Writer::WriteGroup(std::span<Waiter* const> group) {
  if (damaged_) {
    if (absl::Status s = RecoverTail(); !s.ok()) return s;
  }
  if (file_ == nullptr) {
    if (absl::Status s = OpenSegment(file_segment_ + 1); !s.ok()) return s;
  }
  absl::Status s;
  for (Waiter* w : group) {
    if (cur_size_ > 0 && cur_size_ + w->frame.size() > opts_.segment_size) {
      // Everything before a segment boundary is synced, so only the last segment can ever
      // have a torn tail.
      s = file_->Sync();
      if (!s.ok()) break;
      good_size_ = cur_size_;
      s = file_->Close();
      file_.reset();
      if (!s.ok()) return s;  // contents were synced; the next Write opens a new segment
      TrimPreallocated();
      if (s = OpenSegment(file_segment_ + 1); !s.ok()) return s;
    }
    PreallocateFor(cur_size_ + w->frame.size());
    s = file_->Append(w->frame);
    cur_size_ += w->frame.size();
    if (!s.ok()) break;
  }
  if (s.ok()) s = opts_.sync ? file_->Sync() : file_->Flush();
  if (s.ok()) {
    good_size_ = cur_size_;
    return s;
  }
  // The tail past good_size_ is in an unknown state (fsync failures may even have dropped
  // pages): cut it now if possible, else before the next write.
  damaged_ = true;
  (void)RecoverTail();
  return s;
}

absl::Status Writer::DoRoll() {
  if (damaged_) {
    if (absl::Status s = RecoverTail(); !s.ok()) return s;
  }
  if (file_ != nullptr) {
    absl::Status s = file_->Sync();
    if (s.ok()) s = file_->Close();
    if (!s.ok()) {
      damaged_ = true;
      return s;
    }
    good_size_ = cur_size_;
    file_.reset();
    TrimPreallocated();
  }
  return OpenSegment(file_segment_ + 1);
}

absl::Status Writer::DoClose() {
  absl::Status s;
  if (damaged_) s = RecoverTail();
  if (file_ != nullptr) {
    if (s.ok()) s = file_->Sync();
    absl::Status c = file_->Close();
    if (s.ok()) s = c;
    file_.reset();
    if (s.ok()) {
      good_size_ = cur_size_;
      TrimPreallocated();
    }
  }
  return s;
}

absl::Status Writer::Submit(Waiter* w) {
  absl::MutexLock l(&mu_);
  queue_.push_back(w);
  while (!w->done && queue_.front() != w) w->cv.Wait(&mu_);
  if (w->done) return w->status;

  // Leader: take a group of queued writes (or run a roll/close alone).
  std::vector<Waiter*> group;
  uint64_t bytes = 0;
  for (Waiter* q : queue_) {
    if (q->kind != Waiter::Kind::kWrite) {
      if (group.empty()) group.push_back(q);
      break;
    }
    if (!group.empty() && bytes + q->frame.size() > kMaxGroupBytes) break;
    if (!group.empty() && group.front()->kind != Waiter::Kind::kWrite) break;
    group.push_back(q);
    bytes += q->frame.size();
  }

  absl::Status s;
  if (closed_) {
    s = w->kind == Waiter::Kind::kClose
            ? absl::OkStatus()
            : absl::FailedPreconditionError(absl::StrCat("wal in ", dir_, " is closed"));
  } else {
    mu_.Unlock();
    switch (w->kind) {
      case Waiter::Kind::kWrite: s = WriteGroup(group); break;
      case Waiter::Kind::kRoll: s = DoRoll(); break;
      case Waiter::Kind::kClose: s = DoClose(); break;
    }
    mu_.Lock();
    if (w->kind == Waiter::Kind::kClose) closed_ = true;
  }
  for (Waiter* q : group) {
    queue_.pop_front();
    if (q != w) {
      q->status = s;
      q->done = true;
      q->cv.Signal();
    }
  }
  if (!queue_.empty()) queue_.front()->cv.Signal();
  return s;
}

absl::Status Writer::Write(std::span<const std::string> records) {
  return records.empty() ? absl::OkStatus() : WriteFrame(BuildFrame(records, opts_.zstd_level));
}

absl::Status Writer::Write(std::span<const std::string_view> records) {
  return records.empty() ? absl::OkStatus() : WriteFrame(BuildFrame(records, opts_.zstd_level));
}

absl::Status Writer::WriteFrame(absl::StatusOr<std::string> frame) {
  if (!frame.ok()) return frame.status();
  Waiter w;
  w.frame = *std::move(frame);
  return Submit(&w);
}

absl::StatusOr<uint64_t> Writer::NextSegment() {
  Waiter w;
  w.kind = Waiter::Kind::kRoll;
  if (absl::Status s = Submit(&w); !s.ok()) return s;
  return Segment();
}

absl::Status Writer::Close() {
  Waiter w;
  w.kind = Waiter::Kind::kClose;
  return Submit(&w);
}

Reader::Reader(base::Env* env, std::string dir, std::vector<uint64_t> segments,
               uint64_t log_last_segment)
    : env_(env),
      dir_(std::move(dir)),
      segments_(std::move(segments)),
      log_last_segment_(log_last_segment) {}

absl::StatusOr<std::unique_ptr<Reader>> Reader::Open(base::Env* env, std::string dir,
                                                     uint64_t first_segment,
                                                     uint64_t last_segment) {
  auto segs = ListSegments(env, dir);
  if (!segs.ok()) return segs.status();
  const uint64_t log_last = segs->empty() ? 0 : segs->back();
  std::erase_if(*segs, [&](uint64_t n) { return n < first_segment || n > last_segment; });
  return std::unique_ptr<Reader>(new Reader(env, std::move(dir), *std::move(segs), log_last));
}

uint64_t Reader::segment() const {
  return seg_index_ < segments_.size() ? segments_[seg_index_] : 0;
}

bool Reader::Corrupt(std::string_view what) {
  file_.reset();
  absl::Status st = absl::DataLossError(absl::StrFormat("wal segment %08d offset %d: %s",
                                                        segment(), frame_end_, std::string(what)));
  if (segment() == log_last_segment_) {
    // The end of the log: a torn write from a crash (or damage there), which Repair cuts off.
    corrupt_ = true;
    status_ = std::move(st);
    return false;
  }
  // A segment that was synced and closed before a later one was started: media damage (or a
  // tail a crashed writer could not cut). Its frames after the damage are lost, but the later
  // segments hold acknowledged data that must not be thrown away with it.
  spdlog::error("wal {}: {}; skipping the rest of this segment and continuing with the next",
                dir_, std::string(st.message()));
  ++skipped_corruptions_;
  if (skipped_.size() < kMaxSkippedKept) skipped_.push_back(std::move(st));  // never empty then
  skip_segment_ = true;
  return false;
}

bool Reader::ReadExact(size_t n, std::string* dst) {
  dst->resize(n);
  size_t got = 0;
  while (got < n) {
    auto r = file_->Read(n - got, dst->data() + got);
    if (!r.ok()) {
      status_ = r.status();
      file_.reset();
      done_ = true;
      return false;
    }
    if (r->empty()) return Corrupt("file shrank while reading");
    if (r->data() != dst->data() + got) std::memmove(dst->data() + got, r->data(), r->size());
    got += r->size();
  }
  return true;
}

bool Reader::ReadFrame() {
  for (;;) {
    if (ReadFrameInSegments()) return true;
    if (!skip_segment_) return false;
    // Corrupt() gave up on a segment that is not the log's last: go on with the next one.
    skip_segment_ = false;
    if (seg_index_ + 1 >= segments_.size()) {
      done_ = true;
      return false;
    }
    ++seg_index_;
  }
}

bool Reader::ReadFrameInSegments() {
  for (;;) {
    if (file_ == nullptr) {
      if (seg_index_ >= segments_.size()) {
        done_ = true;
        return false;
      }
      std::string path = SegmentPath(dir_, segments_[seg_index_]);
      auto size = env_->FileSize(path);
      auto f = size.ok() ? env_->NewSequentialFile(path)
                         : absl::StatusOr<std::unique_ptr<base::SequentialFile>>(size.status());
      if (!f.ok()) {
        status_ = f.status();
        done_ = true;
        return false;
      }
      file_ = *std::move(f);
      file_size_ = *size;
      frame_end_ = 0;
      zero_tail_ = false;
    }
    uint64_t left = file_size_ - frame_end_;
    if (left == 0 || zero_tail_) {
      file_.reset();
      if (seg_index_ + 1 >= segments_.size()) {
        done_ = true;  // stays on the last segment so segment()/offset() name the end
        return false;
      }
      ++seg_index_;
      continue;
    }
    if (left < kHeaderSize) {
      // A writer preallocates zeros after its frames (WriterOptions::preallocate_bytes); a
      // crash may leave them: they end the segment cleanly.
      switch (CheckRestIsZero(0)) {
        case Tail::kZero:
          continue;
        case Tail::kStopped:
          return false;
        case Tail::kData:
          break;
      }
      return Corrupt(absl::StrCat("torn frame header (", left, " bytes left)"));
    }
    if (!ReadExact(kHeaderSize, &header_)) return false;
    auto type = static_cast<uint8_t>(header_[0]);
    uint32_t len = base::DecodeFixed32(header_.data() + 1);
    uint32_t want_crc = base::UnmaskCrc(base::DecodeFixed32(header_.data() + 5));
    if (header_ == std::string_view("\0\0\0\0\0\0\0\0\0", kHeaderSize)) {
      switch (CheckRestIsZero(kHeaderSize)) {
        case Tail::kZero:
          continue;
        case Tail::kStopped:
          return false;
        case Tail::kData:
          break;
      }
      return Corrupt("invalid frame type 0 (zero bytes followed by data)");
    }
    if (type != kFrameBatch && type != kFrameZstdBatch) {
      return Corrupt(absl::StrCat("invalid frame type ", type));
    }
    if (len > kMaxFrameSize) return Corrupt(absl::StrCat("invalid frame length ", len));
    if (len > left - kHeaderSize) {
      return Corrupt(absl::StrCat("frame of ", len, " bytes cut short: ", left - kHeaderSize,
                                  " bytes left (torn write)"));
    }
    if (!ReadExact(len, &frame_)) return false;
    uint32_t crc = base::Crc32c(std::string_view(header_).substr(0, 5));
    crc = base::Crc32c(frame_, crc);
    if (crc != want_crc) return Corrupt("crc mismatch");
    if (type == kFrameBatch) return AcceptPayload(frame_, len);
    std::string_view z = frame_;
    uint64_t raw_len;
    if (!base::GetVarint64(&z, &raw_len) || raw_len > kMaxFrameSize) {
      return Corrupt("malformed compressed frame (length)");
    }
    // Bounds the allocation by what the compressed bytes can expand to: every zstd block has
    // a 3-byte header and holds at most 128 KiB.
    if (raw_len > (z.size() / 3 + 1) * (128 << 10)) {
      return Corrupt("malformed compressed frame (length)");
    }
    raw_.resize(raw_len);
    const size_t n =
        ZSTD_decompressDCtx(ThreadDCtx(), raw_.data(), raw_.size(), z.data(), z.size());
    if (ZSTD_isError(n) || n != raw_len) return Corrupt("malformed compressed frame");
    return AcceptPayload(raw_, len);
  }
}

bool Reader::AcceptPayload(std::string_view payload, uint64_t stored_len) {
  // Validate the whole payload now so a frame is replayed entirely or not at all.
  std::string_view p = payload;
  uint64_t count;
  if (!base::GetVarint64(&p, &count) || count > p.size()) {
    return Corrupt("malformed frame payload");
  }
  std::string_view records = p;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view rec;
    if (!base::GetLengthPrefixed(&p, &rec)) return Corrupt("malformed frame payload");
  }
  if (!p.empty()) return Corrupt("malformed frame payload (trailing bytes)");
  pending_ = records;
  pending_count_ = count;
  frame_end_ += kHeaderSize + stored_len;
  return true;
}

Reader::Tail Reader::CheckRestIsZero(uint64_t consumed) {
  uint64_t left = file_size_ - frame_end_ - consumed;
  std::string buf;
  while (left > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, 64 << 10));
    if (!ReadExact(n, &buf)) return Tail::kStopped;
    if (std::any_of(buf.begin(), buf.end(), [](char c) { return c != 0; })) return Tail::kData;
    left -= n;
  }
  zero_tail_ = true;  // offset() stays at the end of the last frame
  return Tail::kZero;
}

bool Reader::Next(std::string_view* record) {
  for (;;) {
    if (pending_count_ > 0) {
      (void)base::GetLengthPrefixed(&pending_, record);  // validated by ReadFrame
      --pending_count_;
      return true;
    }
    if (done_ || corrupt_ || !ReadFrame()) return false;
  }
}

bool Reader::Next(std::string* record) {
  std::string_view r;
  if (!Next(&r)) return false;
  record->assign(r.data(), r.size());
  return true;
}

absl::Status Reader::Repair() {
  if (!corrupt_) return status_;  // OK, or an I/O error that truncating cannot fix
  file_.reset();
  // Only the log's last segment is ever truncated (Corrupt); segments after it in this
  // reader's range cannot exist.
  uint64_t seg = segments_[seg_index_];
  if (absl::Status s = env_->Truncate(SegmentPath(dir_, seg), frame_end_); !s.ok()) return s;
  return env_->SyncDir(dir_);
}

}  // namespace xscaler::storage::wal
