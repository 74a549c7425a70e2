// ChunksIterator against the straightforward per-sample iterator it replaced (kept in
// chunks_iterator_reference.h): random series cut into chunks, random [mint, maxt], random
// sequences of Next and Seek, corrupt chunks; both must return the same samples and errors at
// the same point.
#include "storage/series/chunks_iterator.h"

#include <bit>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/chunk/xor.h"
#include "storage/series/chunks_iterator_reference.h"
#include "storage/series/series_sets.h"

namespace xscaler::storage::series {
namespace {

std::vector<chunk::ChunkData> RandomChunks(std::mt19937_64& rng, int64_t* first, int64_t* last) {
  std::vector<chunk::ChunkData> out;
  int64_t t = static_cast<int64_t>(rng() % 100000);
  *first = t;
  double v = 0;
  int nchunks = static_cast<int>(rng() % 6);
  for (int c = 0; c < nchunks; ++c) {
    chunk::XorEncoder enc;
    int n = 1 + static_cast<int>(rng() % (rng() % 4 == 0 ? 300 : 40));
    for (int i = 0; i < n; ++i) {
      if (rng() % 3 == 0) v += static_cast<double>(rng() % 10);
      if (rng() % 50 == 0) v = std::bit_cast<double>(uint64_t{0x7ff0000000000002});
      enc.Append(t, v);
      *last = t;
      t += 1 + static_cast<int64_t>(rng() % 30);
    }
    std::string bytes(enc.Bytes());
    if (rng() % 12 == 0) bytes.resize(rng() % bytes.size());  // corrupt: truncated
    out.push_back(chunk::ChunkData::Owning(enc.MinTime(), enc.MaxTime(), std::move(bytes)));
  }
  return out;
}

TEST(ChunksIterator, MatchesReference) {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 3000; ++iter) {
    int64_t first = 0, last = 0;
    auto chunks = RandomChunks(rng, &first, &last);
    int64_t span = std::max<int64_t>(last - first, 1);
    int64_t mint = rng() % 3 == 0 ? kMinTime : first + static_cast<int64_t>(rng() % span) - 50;
    int64_t maxt = rng() % 3 == 0 ? kMaxTime : mint + static_cast<int64_t>(rng() % (span + 100));
    ReferenceIterator<chunk::XorDecoder> ref(chunks, mint, maxt);
    std::unique_ptr<SampleIterator> it =
        rng() % 2 ? NewChunksIterator(chunks, mint, maxt)
                  : ChunkListSeries(labels::Labels(), chunks, mint, maxt).Iterator();
    int64_t target = first - 10;
    for (int op = 0; op < 400; ++op) {
      bool a, b;
      if (rng() % 4 == 0) {
        target += static_cast<int64_t>(rng() % 200) - 40;
        a = ref.Seek(target);
        b = it->Seek(target);
      } else {
        a = ref.Next();
        b = it->Next();
      }
      ASSERT_EQ(a, b) << "iter " << iter << " op " << op;
      if (a) {
        ASSERT_EQ(ref.At().first, it->At().first) << "iter " << iter << " op " << op;
        ASSERT_EQ(std::bit_cast<uint64_t>(ref.At().second),
                  std::bit_cast<uint64_t>(it->At().second));
      }
      ASSERT_EQ(ref.Err(), it->Err()) << "iter " << iter << " op " << op << " a " << a << " target "
                                      << target << " mint " << mint << " maxt " << maxt;
      if (!a && rng() % 4 == 0) break;
    }
  }
}

// The series' iterators share its chunk list and outlive the series safely.
TEST(ChunksIterator, IteratorsOutliveTheirSeries) {
  chunk::XorEncoder enc;
  for (int i = 0; i < 100; ++i) enc.Append(i * 10, i);
  auto bytes = std::make_shared<std::string>(enc.Bytes());
  std::vector<chunk::ChunkData> chunks(1);
  chunks[0].min_t = 0;
  chunks[0].max_t = 990;
  chunks[0].bytes = *bytes;
  chunks[0].owner = bytes;
  bytes.reset();
  auto series = std::make_unique<ChunkListSeries>(labels::Labels(), std::move(chunks), 100, 500);
  auto a = series->Iterator();
  auto b = series->Iterator();
  EXPECT_EQ(series->chunks().size(), 1u);
  series.reset();
  int n = 0;
  while (a->Next()) {
    EXPECT_EQ(a->At().first, 100 + n * 10);
    ++n;
  }
  EXPECT_EQ(n, 41);
  ASSERT_TRUE(b->Seek(255));
  EXPECT_EQ(b->At().first, 260);
  EXPECT_TRUE(b->Err().ok());
}

}  // namespace
}  // namespace xscaler::storage::series
