// Fuzzes the block chunk segment reader (ChunksReader) on arbitrary bytes. The first input
// byte picks a mode: odd = recompute every page CRC first, so that mutations reach zstd
// decompression and the entry parsing behind the checksum; even = bytes as they are.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/coding.h"
#include "base/crc32c.h"
#include "storage/block/chunks.h"
#include "storage/chunk/xor.h"

using namespace xscaler;
using namespace xscaler::storage::block;

namespace {

void FixCrcs(std::string* seg) {
  size_t off = kSegmentHeaderSize;
  while (off + kPageHeaderSize <= seg->size()) {
    uint32_t stored = base::DecodeFixed32(seg->data() + off + 1);
    if (stored > seg->size() - off - kPageHeaderSize) return;
    uint32_t crc = base::Crc32c(std::string_view(seg->data() + off + kPageHeaderSize, stored),
                                base::Crc32c(std::string_view(seg->data() + off, 9)));
    base::EncodeFixed32(seg->data() + off + 9, base::MaskCrc(crc));
    off += kPageHeaderSize + stored;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool fix = data[0] & 1;
  auto seg = std::make_shared<std::string>(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (fix) FixCrcs(seg.get());
  std::vector<ChunksReader::Segment> segs = {{*seg, seg}};
  auto r = ChunksReader::FromSegments(std::move(segs), "fuzz");
  if (!r.ok()) {
    if (r.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  std::vector<uint64_t> refs;
  absl::Status st = (*r)->VerifyPages([&](uint64_t ref, std::string_view bytes) {
    refs.push_back(ref);
    storage::chunk::XorDecoder d(bytes);
    while (d.Next()) {
    }
    return absl::OkStatus();
  });
  if (!st.ok() && st.code() != absl::StatusCode::kDataLoss) std::abort();
  // Every chunk VerifyPages saw must read back identically through its ref.
  for (uint64_t ref : refs) {
    std::shared_ptr<const void> owner;
    auto c = (*r)->Chunk(ref, &owner);
    if (!c.ok() && st.ok()) std::abort();
  }
  // And refs made up from the input must fail cleanly or succeed.
  for (size_t i = 1; i + 8 <= size; i += 8) {
    std::shared_ptr<const void> owner;
    auto c = (*r)->Chunk(base::DecodeFixed64(reinterpret_cast<const char*>(data) + i), &owner);
    if (!c.ok() && c.status().code() != absl::StatusCode::kDataLoss) std::abort();
  }
  return 0;
}
