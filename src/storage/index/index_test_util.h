// Test/fuzz helpers for the on-disk index: an in-memory MemoryRegion and a function that
// recomputes every checksum of an index image, so corruption tests and the fuzzer can reach the
// decoders behind the CRCs. Header-only; not part of any production library.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "base/coding.h"
#include "base/crc32c.h"
#include "base/env.h"
#include "storage/index/index_format.h"

namespace xscaler::storage::index::testing {

class StringRegion final : public base::MemoryRegion {
 public:
  explicit StringRegion(std::string s) : s_(std::move(s)) {}
  std::string_view data() const override { return s_; }

 private:
  std::string s_;
};

// Rewrites the per-series CRCs, every section CRC and the TOC CRC of `f` wherever the TOC and
// lengths make sense; leaves everything else as is.
inline void ResealChecksums(std::string* f) {
  namespace fmt = format;
  if (f->size() < fmt::kHeaderSize + fmt::kTocSize) return;
  const size_t toc_start = f->size() - fmt::kTocSize;
  char* toc = f->data() + toc_start;
  const uint64_t num_series = base::DecodeFixed64(toc + 16 * fmt::kNumSections);
  for (int i = 0; i < fmt::kNumSections; ++i) {
    uint64_t off = base::DecodeFixed64(toc + 16 * i);
    uint64_t len = base::DecodeFixed64(toc + 16 * i + 8);
    if (off > toc_start || len > toc_start - off || toc_start - off - len < 4) continue;
    if (i == 1) {  // series entries
      uint64_t groups = (num_series + fmt::kSeriesGroup - 1) / fmt::kSeriesGroup;
      if (num_series <= UINT32_MAX && groups * 4 <= len) {
        std::string_view in(f->data() + off, len - groups * 4);
        for (uint64_t n = 0; n < num_series; ++n) {
          uint64_t blen;
          if (!base::GetVarint64(&in, &blen) || blen > in.size() || in.size() - blen < 4) break;
          base::EncodeFixed32(const_cast<char*>(in.data()) + blen,
                              base::MaskCrc(base::Crc32c(in.substr(0, blen))));
          in.remove_prefix(blen + 4);
        }
      }
    }
    base::EncodeFixed32(f->data() + off + len,
                        base::MaskCrc(base::Crc32c(std::string_view(f->data() + off, len))));
  }
  base::EncodeFixed32(toc + fmt::kTocSize - 4,
                      base::MaskCrc(base::Crc32c(std::string_view(toc, fmt::kTocSize - 4))));
}

}  // namespace xscaler::storage::index::testing
