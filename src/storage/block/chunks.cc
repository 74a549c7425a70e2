#include "storage/block/chunks.h"

#include <zstd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "storage/block/columnar_page.h"

namespace xscaler::storage::block {
namespace {

constexpr size_t kMaxChunkBytes = 60u << 20;

uint32_t PageCrc(std::string_view header9, std::string_view stored) {
  return base::MaskCrc(base::Crc32c(stored, base::Crc32c(header9)));
}

ZSTD_DCtx* ThreadDCtx() {
  struct Holder {
    ZSTD_DCtx* ctx = ZSTD_createDCtx();
    ~Holder() { ZSTD_freeDCtx(ctx); }
  };
  thread_local Holder h;
  return h.ctx;
}

}  // namespace

std::string SegmentName(uint32_t segment) { return absl::StrFormat("%06u", segment); }

// ---------------------------------------------------------------------------------------------
// ChunksWriter

ChunksWriter::ChunksWriter(base::Env* env, std::string dir, ChunksWriterOptions opts)
    : env_(env), dir_(std::move(dir)), opts_(opts) {}

ChunksWriter::~ChunksWriter() = default;

absl::StatusOr<std::unique_ptr<ChunksWriter>> ChunksWriter::Create(base::Env* env, std::string dir,
                                                                   ChunksWriterOptions opts) {
  if (opts.page_target_bytes == 0 || opts.page_target_bytes > kMaxPageStartOffset + 1) {
    opts.page_target_bytes = kMaxPageStartOffset + 1;
  }
  return std::unique_ptr<ChunksWriter>(new ChunksWriter(env, std::move(dir), opts));
}

absl::Status ChunksWriter::CloseSegment() {
  if (file_ == nullptr) return absl::OkStatus();
  if (absl::Status s = file_->Sync(); !s.ok()) return s;
  absl::Status s = file_->Close();
  file_.reset();
  return s;
}

absl::Status ChunksWriter::CutSegment() {
  if (absl::Status s = CloseSegment(); !s.ok()) return s;
  if (segment_ >= 0xffff) return absl::ResourceExhaustedError("block has too many chunk segments");
  ++segment_;
  auto f = env_->NewWritableFile(base::JoinPath(dir_, SegmentName(segment_)));
  if (!f.ok()) return f.status();
  file_ = std::move(*f);
  std::string header(kSegmentMagic, 4);
  header.push_back(static_cast<char>(kSegmentVersion));
  header.append(3, '\0');
  if (absl::Status s = file_->Append(header); !s.ok()) return s;
  bytes_written_ += header.size();
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ChunksWriter::Add(std::string_view chunk) {
  if (finished_) return absl::FailedPreconditionError("ChunksWriter::Add after Finish");
  if (chunk.size() >= kMaxChunkBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk of ", chunk.size(), " bytes is too big for a block page"));
  }
  if (!page_.empty() && page_.size() >= opts_.page_target_bytes) {
    if (absl::Status s = FlushPage(); !s.ok()) return s;
  }
  if (page_.empty()) {
    if (file_ == nullptr || file_->Size() >= opts_.segment_target_bytes) {
      if (absl::Status s = CutSegment(); !s.ok()) return s;
    }
    page_offset_ = file_->Size();
    if (page_offset_ > 0xffffffffull) {
      return absl::InternalError("chunk segment grew past 4 GiB");
    }
  }
  uint64_t ref = MakeChunkRef(segment_, static_cast<uint32_t>(page_offset_),
                              static_cast<uint32_t>(page_.size()));
  base::PutVarint64(&page_, chunk.size());
  page_.append(chunk);
  return ref;
}

absl::Status ChunksWriter::FlushPage() {
  if (page_.empty()) return absl::OkStatus();
  uint8_t encoding = kPageRaw;
  std::string_view stored = page_;
  if (opts_.zstd_level > 0 && opts_.columnar) {
    // Columnar only when decoding the body gives back exactly the raw page.
    auto body = EncodeColumnarPage(page_);
    if (body.ok() && body->size() <= MaxColumnarBodyBytes(page_.size()) &&
        DecodeColumnarPage(*body, page_.size(), &check_).ok() && check_ == page_) {
      scratch_.resize(ZSTD_compressBound(body->size()));
      size_t n = ZSTD_compress(scratch_.data(), scratch_.size(), body->data(), body->size(),
                               opts_.zstd_level);
      if (ZSTD_isError(n)) {
        return absl::InternalError(absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(n)));
      }
      if (n < page_.size()) {
        encoding = kPageColumnar;
        stored = std::string_view(scratch_.data(), n);
        ++columnar_pages_;
      }
    } else {
      ++columnar_fallbacks_;
    }
  }
  if (encoding == kPageRaw && opts_.zstd_level > 0) {
    scratch_.resize(ZSTD_compressBound(page_.size()));
    size_t n = ZSTD_compress(scratch_.data(), scratch_.size(), page_.data(), page_.size(),
                             opts_.zstd_level);
    if (ZSTD_isError(n)) {
      return absl::InternalError(absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(n)));
    }
    if (n < page_.size()) {
      encoding = kPageZstd;
      stored = std::string_view(scratch_.data(), n);
    }
  }
  std::string header;
  header.push_back(static_cast<char>(encoding));
  base::PutFixed32(&header, static_cast<uint32_t>(stored.size()));
  base::PutFixed32(&header, static_cast<uint32_t>(page_.size()));
  base::PutFixed32(&header, PageCrc(header, stored));
  if (absl::Status s = file_->Append(header); !s.ok()) return s;
  if (absl::Status s = file_->Append(stored); !s.ok()) return s;
  bytes_written_ += header.size() + stored.size();
  raw_bytes_ += page_.size();
  ++num_pages_;
  page_.clear();
  return absl::OkStatus();
}

absl::Status ChunksWriter::Finish() {
  if (finished_) return absl::OkStatus();
  finished_ = true;
  if (absl::Status s = FlushPage(); !s.ok()) return s;
  return CloseSegment();
}

// ---------------------------------------------------------------------------------------------
// ChunksReader

absl::Status ChunksReader::Corrupt(uint32_t segment, uint64_t offset,
                                   std::string_view what) const {
  return absl::DataLossError(
      absl::StrCat(name_, ": chunks/", SegmentName(segment), " offset ", offset, ": ", std::string(what)));
}

absl::StatusOr<std::unique_ptr<ChunksReader>> ChunksReader::Open(base::Env* env,
                                                                 const std::string& dir,
                                                                 std::string name) {
  auto children = env->GetChildren(dir);
  if (!children.ok()) return children.status();
  std::vector<std::string> names = *children;
  std::sort(names.begin(), names.end());
  std::vector<Segment> segments;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != SegmentName(static_cast<uint32_t>(i + 1))) {
      return absl::DataLossError(absl::StrCat(name, ": chunks/", names[i],
                                              ": unexpected file (segments must be numbered "
                                              "000001, 000002, ... without gaps)"));
    }
    auto region = env->NewMemoryRegion(base::JoinPath(dir, names[i]));
    if (!region.ok()) return region.status();
    std::shared_ptr<const base::MemoryRegion> owner(std::move(*region));
    segments.push_back(Segment{owner->data(), owner});
  }
  return FromSegments(std::move(segments), std::move(name));
}

absl::StatusOr<std::unique_ptr<ChunksReader>> ChunksReader::FromSegments(
    std::vector<Segment> segments, std::string name) {
  std::unique_ptr<ChunksReader> r(new ChunksReader(std::move(name)));
  if (segments.size() > 0xffff) return absl::DataLossError(r->name_ + ": too many chunk segments");
  for (auto& s : segments) r->segments_.push_back(SegmentInfo{std::move(s), {}});
  for (uint32_t i = 1; i <= r->segments_.size(); ++i) {
    if (absl::Status s = r->CheckHeaders(i); !s.ok()) return s;
  }
  return r;
}

absl::Status ChunksReader::CheckHeaders(uint32_t segment) {
  SegmentInfo& info = segments_[segment - 1];
  std::string_view d = info.seg.data;
  if (d.size() < kSegmentHeaderSize || d.substr(0, 4) != std::string_view(kSegmentMagic, 4)) {
    return Corrupt(segment, 0, "bad segment magic");
  }
  if (d[5] != 0 || d[6] != 0 || d[7] != 0) return Corrupt(segment, 5, "reserved bytes not zero");
  if (static_cast<uint8_t>(d[4]) != kSegmentVersion) {
    return Corrupt(segment, 4, absl::StrCat("unsupported segment version ",
                                            static_cast<int>(static_cast<uint8_t>(d[4]))));
  }
  if (d.size() > 0xffffffffull + kPageHeaderSize) {
    return Corrupt(segment, 0, "segment larger than 4 GiB");
  }
  uint64_t off = kSegmentHeaderSize;
  while (off < d.size()) {
    if (d.size() - off < kPageHeaderSize) return Corrupt(segment, off, "truncated page header");
    if (off > 0xffffffffull) return Corrupt(segment, off, "page beyond 4 GiB");
    uint8_t enc = static_cast<uint8_t>(d[off]);
    uint32_t stored = base::DecodeFixed32(d.data() + off + 1);
    uint32_t raw = base::DecodeFixed32(d.data() + off + 5);
    if (enc != kPageRaw && enc != kPageZstd && enc != kPageColumnar) {
      return Corrupt(segment, off, absl::StrCat("unknown page encoding ", static_cast<int>(enc)));
    }
    if (raw > kMaxPageRawBytes) return Corrupt(segment, off, "page raw length too large");
    if (enc == kPageRaw && stored != raw) {
      return Corrupt(segment, off, "raw page with stored length != raw length");
    }
    if (stored > d.size() - off - kPageHeaderSize) {
      return Corrupt(segment, off, "page runs past the end of the file");
    }
    info.page_offsets.push_back(static_cast<uint32_t>(off));
    off += kPageHeaderSize + stored;
  }
  return absl::OkStatus();
}

absl::StatusOr<ChunksReader::Page> ChunksReader::LoadPage(uint32_t segment,
                                                          uint32_t offset) const {
  const SegmentInfo& info = segments_[segment - 1];
  std::string_view d = info.seg.data;
  // Headers were bounds-checked by CheckHeaders.
  const char* h = d.data() + offset;
  uint8_t enc = static_cast<uint8_t>(h[0]);
  uint32_t stored_len = base::DecodeFixed32(h + 1);
  uint32_t raw_len = base::DecodeFixed32(h + 5);
  uint32_t crc = base::DecodeFixed32(h + 9);
  std::string_view stored(h + kPageHeaderSize, stored_len);
  if (PageCrc(std::string_view(h, 9), stored) != crc) {
    return Corrupt(segment, offset, "page crc mismatch");
  }
  if (enc == kPageRaw) return Page{stored, info.seg.owner};
  auto buf = std::make_shared<std::string>();
  if (enc == kPageColumnar) {
    unsigned long long body_len = ZSTD_getFrameContentSize(stored.data(), stored.size());
    if (body_len == ZSTD_CONTENTSIZE_ERROR || body_len == ZSTD_CONTENTSIZE_UNKNOWN) {
      return Corrupt(segment, offset, "columnar page: zstd frame without a content size");
    }
    if (body_len > MaxColumnarBodyBytes(raw_len)) {
      return Corrupt(segment, offset,
                     absl::StrCat("columnar page: body of ", body_len, " bytes for a page of ",
                                  raw_len, " raw bytes"));
    }
    thread_local std::string body;
    body.resize(body_len);
    size_t n = ZSTD_decompressDCtx(ThreadDCtx(), body.data(), body.size(), stored.data(),
                                   stored.size());
    if (ZSTD_isError(n)) {
      return Corrupt(segment, offset,
                     absl::StrCat("page does not decompress: ", ZSTD_getErrorName(n)));
    }
    if (n != body_len) {
      return Corrupt(segment, offset, absl::StrCat("columnar page: body decompresses to ", n,
                                                   " bytes, frame says ", body_len));
    }
    if (absl::Status st = DecodeColumnarPage(body, raw_len, buf.get()); !st.ok()) {
      return Corrupt(segment, offset, std::string(st.message()));
    }
    std::string_view raw(*buf);
    return Page{raw, std::shared_ptr<const void>(std::move(buf))};
  }
  buf->resize(raw_len);
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), buf->data(), buf->size(), stored.data(),
                                 stored.size());
  if (ZSTD_isError(n)) {
    return Corrupt(segment, offset,
                   absl::StrCat("page does not decompress: ", ZSTD_getErrorName(n)));
  }
  if (n != raw_len) {
    return Corrupt(segment, offset,
                   absl::StrCat("page decompresses to ", n, " bytes, header says ", raw_len));
  }
  std::string_view raw(*buf);
  return Page{raw, std::shared_ptr<const void>(std::move(buf))};
}

absl::StatusOr<ChunksReader::Page> ChunksReader::GetPage(uint32_t segment, uint32_t offset) const {
  const uint64_t key = (uint64_t{segment} << 32) | offset;
  PageCache& cache = PageCache::Shared();
  if (std::optional<Page> hit = cache.Get(cache_id_, key)) return *hit;
  auto page = LoadPage(segment, offset);
  if (!page.ok()) return page;
  // Pages stored raw are views of the mapping: nothing to save by caching them.
  if (page->owner != segments_[segment - 1].seg.owner) cache.Put(cache_id_, key, *page);
  return page;
}

absl::StatusOr<std::string_view> ChunksReader::Chunk(uint64_t ref,
                                                     std::shared_ptr<const void>* owner) const {
  uint32_t segment = RefSegment(ref);
  uint32_t offset = RefPageOffset(ref);
  uint32_t in_page = RefInPage(ref);
  if (segment == 0 || segment > segments_.size()) {
    return absl::DataLossError(absl::StrCat(name_, ": chunk ref ", ref,
                                            " points to missing segment ", segment));
  }
  const auto& pages = segments_[segment - 1].page_offsets;
  if (!std::binary_search(pages.begin(), pages.end(), offset)) {
    return Corrupt(segment, offset, absl::StrCat("chunk ref ", ref, " is not at a page start"));
  }
  auto page = GetPage(segment, offset);
  if (!page.ok()) return page.status();
  std::string_view raw = page->raw;
  if (in_page >= raw.size()) {
    return Corrupt(segment, offset, absl::StrCat("chunk ref ", ref, " beyond the page end"));
  }
  std::string_view in = raw.substr(in_page);
  uint64_t len;
  if (!base::GetVarint64(&in, &len) || len > in.size()) {
    return Corrupt(segment, offset,
                   absl::StrCat("chunk at page offset ", in_page, " has a bad length"));
  }
  *owner = page->owner;
  return in.substr(0, len);
}

absl::Status ChunksReader::VerifyPages(
    const std::function<absl::Status(uint64_t, std::string_view)>& fn) const {
  for (uint32_t seg = 1; seg <= segments_.size(); ++seg) {
    for (uint32_t off : segments_[seg - 1].page_offsets) {
      auto page = LoadPage(seg, off);
      if (!page.ok()) return page.status();
      std::string_view in = page->raw;
      if (in.empty()) return Corrupt(seg, off, "empty page");
      while (!in.empty()) {
        size_t pos = page->raw.size() - in.size();
        if (pos > kMaxPageStartOffset) {
          return Corrupt(seg, off, absl::StrCat("chunk starts at page offset ", pos,
                                                ", beyond the 64 KiB limit"));
        }
        uint64_t len;
        if (!base::GetVarint64(&in, &len) || len > in.size()) {
          return Corrupt(seg, off, absl::StrCat("chunk at page offset ", pos, " has a bad length"));
        }
        if (fn) {
          absl::Status s = fn(MakeChunkRef(seg, off, static_cast<uint32_t>(pos)), in.substr(0, len));
          if (!s.ok()) return s;
        }
        in.remove_prefix(len);
      }
    }
  }
  return absl::OkStatus();
}

uint64_t ChunksReader::SizeBytes() const {
  uint64_t n = 0;
  for (const auto& s : segments_) n += s.seg.data.size();
  return n;
}

uint64_t ChunksReader::NumPages() const {
  uint64_t n = 0;
  for (const auto& s : segments_) n += s.page_offsets.size();
  return n;
}

}  // namespace xscaler::storage::block
