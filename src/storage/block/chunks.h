// The chunk segments of a block (docs/format/block.md, "Chunk segments"): ChunksWriter packs
// chunks of consecutive series into CRC'd pages - columnar (the chunks' samples as zstd'd
// byte streams, columnar_page.h) when that round-trips, else zstd-compressed - and hands back
// each chunk's ref; ChunksReader reads them back from memory-mapped segments (any page
// encoding), sharing a decoded page among all its chunks and caching recent pages.
//
// Thread-safety: ChunksWriter is single-threaded. ChunksReader is safe for concurrent use (the
// page cache is locked); it never reads out of bounds on corrupt input, reporting DataLoss
// "<name>: chunks/NNNNNN offset N: ..." instead.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/block/page_cache.h"
#include "base/env.h"

namespace xscaler::storage::block {

inline constexpr char kSegmentMagic[4] = {'X', 'S', 'C', 'K'};
inline constexpr uint8_t kSegmentVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 8;
inline constexpr size_t kPageHeaderSize = 13;
inline constexpr size_t kMaxPageRawBytes = size_t{1} << 26;
inline constexpr size_t kMaxPageStartOffset = 65535;  // a chunk starts below this raw offset
inline constexpr uint8_t kPageRaw = 0;
inline constexpr uint8_t kPageZstd = 1;
inline constexpr uint8_t kPageColumnar = 2;  // zstd frame of a columnar body (columnar_page.h)

// Chunk refs: segment (1-based) | page offset | offset in page.
inline uint64_t MakeChunkRef(uint32_t segment, uint32_t page_offset, uint32_t in_page) {
  return (uint64_t{segment} << 48) | (uint64_t{page_offset} << 16) | in_page;
}
inline uint32_t RefSegment(uint64_t ref) { return static_cast<uint32_t>(ref >> 48); }
inline uint32_t RefPageOffset(uint64_t ref) { return static_cast<uint32_t>(ref >> 16); }
inline uint32_t RefInPage(uint64_t ref) { return static_cast<uint32_t>(ref & 0xffff); }

// "000001" for segment 1.
std::string SegmentName(uint32_t segment);

struct ChunksWriterOptions {
  int zstd_level = 5;  // 0 = raw pages
  size_t page_target_bytes = 64 * 1024;
  uint64_t segment_target_bytes = 512ull << 20;
  // Store pages columnar (encoding 2) when that round-trips and is smaller; needs zstd_level > 0.
  bool columnar = true;
};

class ChunksWriter {
 public:
  // Writes segments into `dir` (which must exist).
  static absl::StatusOr<std::unique_ptr<ChunksWriter>> Create(base::Env* env, std::string dir,
                                                              ChunksWriterOptions opts);
  ~ChunksWriter();

  // Adds one encoded chunk and returns its ref. REQUIRES: chunk.size() < 60 MiB.
  absl::StatusOr<uint64_t> Add(std::string_view chunk);
  // Writes the last page, syncs and closes every segment.
  absl::Status Finish();

  uint64_t bytes_written() const { return bytes_written_; }  // segment bytes incl. headers
  uint64_t raw_bytes() const { return raw_bytes_; }          // page raw bytes (entries)
  uint64_t num_pages() const { return num_pages_; }
  uint64_t columnar_pages() const { return columnar_pages_; }
  // Pages whose columnar body did not round-trip (written as zstd pages instead).
  uint64_t columnar_fallbacks() const { return columnar_fallbacks_; }

 private:
  ChunksWriter(base::Env* env, std::string dir, ChunksWriterOptions opts);
  absl::Status FlushPage();
  absl::Status CutSegment();
  absl::Status CloseSegment();

  base::Env* const env_;
  const std::string dir_;
  const ChunksWriterOptions opts_;
  std::unique_ptr<base::WritableFile> file_;
  uint32_t segment_ = 0;
  uint64_t page_offset_ = 0;
  std::string page_;  // raw bytes of the open page
  std::string scratch_;
  std::string check_;  // the columnar body decoded again, compared with page_
  uint64_t bytes_written_ = 0, raw_bytes_ = 0, num_pages_ = 0;
  uint64_t columnar_pages_ = 0, columnar_fallbacks_ = 0;
  bool finished_ = false;
};

class ChunksReader {
 public:
  // One segment's bytes; `owner` keeps them alive (the mapping).
  struct Segment {
    std::string_view data;
    std::shared_ptr<const void> owner;
  };

  // Maps dir/000001.. (contiguous numbering from 1; other names are errors). `name` prefixes
  // error messages (e.g. "block 01J...").
  ~ChunksReader() { PageCache::Shared().EraseReader(cache_id_); }
  ChunksReader(const ChunksReader&) = delete;
  ChunksReader& operator=(const ChunksReader&) = delete;

  static absl::StatusOr<std::unique_ptr<ChunksReader>> Open(base::Env* env, const std::string& dir,
                                                            std::string name);
  // Over segments already in memory (segment i+1 = segments[i]); checks headers like Open.
  static absl::StatusOr<std::unique_ptr<ChunksReader>> FromSegments(std::vector<Segment> segments,
                                                                    std::string name);

  // The bytes of the chunk `ref`; *owner is set to something that keeps them alive.
  absl::StatusOr<std::string_view> Chunk(uint64_t ref, std::shared_ptr<const void>* owner) const;

  // Deep check of every page: CRC, decompression, entries tile the raw bytes exactly. Calls
  // fn(ref, bytes) for every chunk entry when given.
  absl::Status VerifyPages(
      const std::function<absl::Status(uint64_t, std::string_view)>& fn = nullptr) const;

  uint64_t SizeBytes() const;
  uint64_t NumPages() const;

 private:
  struct SegmentInfo {
    Segment seg;
    std::vector<uint32_t> page_offsets;  // ascending, from the header walk
  };
  using Page = PageCache::Page;
  explicit ChunksReader(std::string name)
      : name_(std::move(name)), cache_id_(PageCache::NewReaderId()) {}
  absl::Status CheckHeaders(uint32_t segment);
  absl::Status Corrupt(uint32_t segment, uint64_t offset, std::string_view what) const;
  // Decodes (CRC check + decompression) the page at `offset` of `segment` (1-based).
  absl::StatusOr<Page> LoadPage(uint32_t segment, uint32_t offset) const;
  absl::StatusOr<Page> GetPage(uint32_t segment, uint32_t offset) const;

  const std::string name_;
  std::vector<SegmentInfo> segments_;
  // Decoded pages live in PageCache::Shared() under this id (raw pages are read in place).
  const uint64_t cache_id_;
};

}  // namespace xscaler::storage::block
