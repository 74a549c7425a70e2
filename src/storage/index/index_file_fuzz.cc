// Fuzz target for the on-disk index reader: Open + Verify + every query on arbitrary bytes.
// Input: one mode byte, then the file image. With (mode & 1) the image's checksums are
// recomputed first (index_test_util.h), so mutations reach the decoders behind the CRCs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/index/index_file.h"
#include "storage/index/index_test_util.h"

using xscaler::storage::index::IndexFile;
using xscaler::storage::index::Postings;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string image(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode & 1) xscaler::storage::index::testing::ResealChecksums(&image);
  auto f = IndexFile::Open(
      std::make_unique<xscaler::storage::index::testing::StringRegion>(std::move(image)), "fuzz");
  if (!f.ok()) return 0;
  const IndexFile& ix = **f;
  (void)ix.Verify();
  xscaler::labels::Labels l;
  std::vector<xscaler::storage::index::ChunkMeta> chunks;
  for (uint64_t id = 0; id < std::min<uint64_t>(ix.NumSeries() + 1, 32); ++id) {
    (void)ix.Series(id, &l, &chunks);
  }
  Postings all = ix.AllPostings();
  if (all.size() > 4096) all.resize(4096);
  Postings some = {0, 2, 3, 17, 1u << 30};
  (void)ix.LabelNamesFor(all);
  (void)ix.LabelNamesFor(some);
  auto names = ix.LabelNames();
  names.push_back("job");
  for (const auto& n : names) {
    auto values = ix.LabelValues(n);
    values.push_back("x");
    for (size_t i = 0; i < values.size() && i < 64; ++i) (void)ix.PostingsFor(n, values[i]);
    (void)ix.PostingsForValues(n, [](std::string_view v) { return v.size() % 2 == 0; });
    (void)ix.PostingsForValueList(n, values);
    (void)ix.LabelValuesFor(n, all);
    (void)ix.LabelValuesFor(n, some);
  }
  return 0;
}
