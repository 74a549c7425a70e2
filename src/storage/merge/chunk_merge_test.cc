#include <map>
#include <random>

#include "gtest/gtest.h"
#include "storage/merge/merge.h"
#include "storage/merge/test_util.h"

namespace xscaler::storage::merge {
namespace {

using testing::DecodeChunks;
using testing::EncodeChunk;
using testing::EncodeChunks;
using testing::Samples;
using testing::VectorChunkSeriesSet;
using Entry = VectorChunkSeriesSet::Entry;

labels::Labels Series(int i) {
  // Zero-padded so that creation order is label order.
  std::string id = std::to_string(i);
  return labels::Labels{{"__name__", "m"}, {"i", std::string(4 - id.size(), '0') + id}};
}

struct Output {
  labels::Labels lset;
  std::vector<chunk::ChunkData> chunks;
};

std::vector<Output> Drain(series::ChunkSeriesSet& set) {
  std::vector<Output> out;
  while (set.Next()) {
    auto c = set.Chunks();
    out.push_back(Output{set.Labels(), std::vector<chunk::ChunkData>(c.begin(), c.end())});
  }
  return out;
}

// Checks the ChunkSeriesSet invariants the block writer relies on.
void CheckWellFormed(const std::vector<Output>& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(out[i - 1].lset, out[i].lset);
    }
    ASSERT_FALSE(out[i].chunks.empty());
    for (size_t k = 0; k < out[i].chunks.size(); ++k) {
      const auto& c = out[i].chunks[k];
      EXPECT_LE(c.min_t, c.max_t);
      if (k > 0) {
        EXPECT_LT(out[i].chunks[k - 1].max_t, c.min_t) << "chunks overlap";
      }
      absl::Status st;
      Samples s = DecodeChunks(std::span(&c, 1), &st);
      ASSERT_TRUE(st.ok()) << st;
      ASSERT_FALSE(s.empty());
      EXPECT_EQ(s.front().first, c.min_t);
      EXPECT_EQ(s.back().first, c.max_t);
    }
  }
}

// Random series in three sources. Each source holds a series as chunks over its own stretch of
// time; some stretches overlap another source's, some do not, and overlapping stretches share
// timestamps with different values (source*1e6 + t) so the test sees which source won.
TEST(MergeChunkSeriesSetsTest, RandomRoundTripAndUntouchedChunks) {
  for (uint32_t seed = 1; seed <= 25; ++seed) {
    std::mt19937 rng(seed);
    std::vector<std::vector<Entry>> sources(3);
    std::map<labels::Labels, std::map<int64_t, double>> reference;
    // Input chunks that overlap no other chunk of their series must come out as the same bytes.
    std::map<labels::Labels, std::vector<const char*>> lone;
    for (int i = 0; i < 40; ++i) {
      labels::Labels lset = Series(i);
      std::vector<std::pair<int, chunk::ChunkData>> all;  // (source, chunk)
      for (int src = 0; src < 3; ++src) {
        if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) continue;
        // Start in one of a few slots: equal slots overlap, distinct slots mostly do not.
        int64_t t = std::uniform_int_distribution<int>(0, 3)(rng) * 1000 +
                    std::uniform_int_distribution<int>(0, 2)(rng);
        int n = std::uniform_int_distribution<int>(1, 400)(rng);
        Samples samples;
        for (int k = 0; k < n; ++k) {
          t += std::uniform_int_distribution<int>(1, 3)(rng);
          samples.emplace_back(t, src * 1e6 + static_cast<double>(t));
        }
        size_t per = std::uniform_int_distribution<size_t>(20, 150)(rng);
        std::vector<chunk::ChunkData> chunks = EncodeChunks(samples, per);
        for (const auto& c : chunks) all.emplace_back(src, c);
        sources[src].emplace_back(lset, std::move(chunks));
        for (auto [ts, v] : samples)
          reference[lset].emplace(ts, v);  // sources in order: first wins
      }
      for (size_t a = 0; a < all.size(); ++a) {
        bool overlaps = false;
        for (size_t b = 0; b < all.size(); ++b) {
          if (a != b && all[a].second.min_t <= all[b].second.max_t &&
              all[b].second.min_t <= all[a].second.max_t) {
            overlaps = true;
          }
        }
        if (!overlaps) lone[lset].push_back(all[a].second.bytes.data());
      }
    }
    std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets;
    for (auto& s : sources) sets.push_back(std::make_unique<VectorChunkSeriesSet>(std::move(s)));
    auto merged = MergeChunkSeriesSets(std::move(sets));
    std::vector<Output> out = Drain(*merged);
    ASSERT_TRUE(merged->Err().ok()) << merged->Err();
    CheckWellFormed(out);
    ASSERT_EQ(out.size(), reference.size()) << "seed " << seed;
    size_t passed_through = 0;
    for (const auto& o : out) {
      const auto& want_map = reference.at(o.lset);
      Samples want(want_map.begin(), want_map.end());
      ASSERT_EQ(DecodeChunks(o.chunks), want) << "seed " << seed << " " << o.lset.ToString();
      std::vector<const char*> ptrs;
      for (const auto& c : o.chunks) {
        ptrs.push_back(c.bytes.data());
        if (c.bytes.size() > 0) {
          // Re-encoded chunks respect the size cap (input chunks that pass through are <= 150).
          absl::Status st;
          if (std::find(lone[o.lset].begin(), lone[o.lset].end(), c.bytes.data()) ==
              lone[o.lset].end()) {
            EXPECT_LE(DecodeChunks(std::span(&c, 1), &st).size(),
                      static_cast<size_t>(kMaxSamplesPerChunk));
          }
        }
      }
      for (const char* p : lone[o.lset]) {
        EXPECT_NE(std::find(ptrs.begin(), ptrs.end(), p), ptrs.end())
            << "a non-overlapping chunk was copied or re-encoded";
        ++passed_through;
      }
    }
    EXPECT_GT(passed_through, 0u) << "seed " << seed << " exercised no pass-through";
  }
}

TEST(MergeChunkSeriesSetsTest, OverlapsAreMergedFirstSourceWinsAndSplitAt120) {
  Samples a, b;
  for (int t = 0; t < 200; ++t) a.emplace_back(t * 2, 1.0);  // even timestamps 0..398
  for (int t = 100; t < 300; ++t) b.emplace_back(t, 2.0);    // 100..299
  std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets;
  sets.push_back(
      std::make_unique<VectorChunkSeriesSet>(std::vector<Entry>{{Series(1), {EncodeChunk(a)}}}));
  sets.push_back(
      std::make_unique<VectorChunkSeriesSet>(std::vector<Entry>{{Series(1), {EncodeChunk(b)}}}));
  auto merged = MergeChunkSeriesSets(std::move(sets));
  auto out = Drain(*merged);
  ASSERT_EQ(out.size(), 1u);
  CheckWellFormed(out);
  Samples got = DecodeChunks(out[0].chunks);
  // 0..98 even (50), 100..299 all (200), 300..398 even (50).
  ASSERT_EQ(got.size(), 300u);
  for (auto [t, v] : got) {
    bool in_a = t % 2 == 0 && t <= 398;
    EXPECT_EQ(v, in_a ? 1.0 : 2.0) << t;
  }
  ASSERT_EQ(out[0].chunks.size(), 3u);
  EXPECT_EQ(DecodeChunks(std::span(&out[0].chunks[0], 1)).size(), 120u);
  EXPECT_EQ(DecodeChunks(std::span(&out[0].chunks[2], 1)).size(), 60u);
}

TEST(MergeChunkSeriesSetsTest, OverlappingChunksWithinOneSourceAreRepaired) {
  Samples first{{10, 1}, {20, 1}, {30, 1}};
  Samples second{{20, 2}, {25, 2}, {40, 2}};
  Samples third{{50, 3}};
  std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets;
  sets.push_back(std::make_unique<VectorChunkSeriesSet>(std::vector<Entry>{
      {Series(1), {EncodeChunk(first), EncodeChunk(second), EncodeChunk(third)}}}));
  auto merged = MergeChunkSeriesSets(std::move(sets));
  auto out = Drain(*merged);
  ASSERT_EQ(out.size(), 1u);
  CheckWellFormed(out);
  EXPECT_EQ(DecodeChunks(out[0].chunks),
            (Samples{{10, 1}, {20, 1}, {25, 2}, {30, 1}, {40, 2}, {50, 3}}));
  ASSERT_EQ(out[0].chunks.size(), 2u);
}

TEST(MergeChunkSeriesSetsTest, TouchingButNotOverlappingChunksPassThrough) {
  auto c1 = EncodeChunk({{0, 1}, {9, 1}});
  auto c2 = EncodeChunk({{10, 2}, {19, 2}});
  std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets;
  sets.push_back(std::make_unique<VectorChunkSeriesSet>(std::vector<Entry>{{Series(1), {c2}}}));
  sets.push_back(std::make_unique<VectorChunkSeriesSet>(std::vector<Entry>{{Series(1), {c1}}}));
  auto out = Drain(*MergeChunkSeriesSets(std::move(sets)));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].chunks.size(), 2u);
  EXPECT_EQ(out[0].chunks[0].bytes.data(), c1.bytes.data());
  EXPECT_EQ(out[0].chunks[1].bytes.data(), c2.bytes.data());
  EXPECT_EQ(out[0].chunks[0].owner.get(), c1.owner.get());
}

TEST(MergeChunkSeriesSetsTest, SeriesWithoutChunksAreDropped) {
  std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets;
  sets.push_back(std::make_unique<VectorChunkSeriesSet>(
      std::vector<Entry>{{Series(1), {}}, {Series(2), {EncodeChunk({{1, 1}})}}, {Series(3), {}}}));
  sets.push_back(std::make_unique<VectorChunkSeriesSet>(std::vector<Entry>{{Series(3), {}}}));
  auto merged = MergeChunkSeriesSets(std::move(sets));
  auto out = Drain(*merged);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].lset, Series(2));
  EXPECT_TRUE(merged->Err().ok());
}

TEST(MergeChunkSeriesSetsTest, CorruptChunkInAnOverlapIsDataLossNamingTheSeries) {
  auto good = EncodeChunk({{1, 1}, {5, 5}, {9, 9}});
  auto bad_bytes = std::make_shared<const std::string>(
      std::string(EncodeChunk({{2, 1}, {3, 2}, {4, 3}, {6, 1e300}}).bytes.substr(0, 5)));
  chunk::ChunkData bad{2, 6, *bad_bytes, bad_bytes};
  std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets;
  sets.push_back(std::make_unique<VectorChunkSeriesSet>(
      std::vector<Entry>{{Series(1), {good}}, {Series(2), {good}}}));
  sets.push_back(std::make_unique<VectorChunkSeriesSet>(std::vector<Entry>{{Series(1), {bad}}}));
  auto merged = MergeChunkSeriesSets(std::move(sets));
  EXPECT_FALSE(merged->Next());
  EXPECT_EQ(merged->Err().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(merged->Err().message().find("i=\"0001\""), std::string::npos) << merged->Err();
  EXPECT_FALSE(merged->Next());
}

TEST(MergeChunkSeriesSetsTest, ChildErrorEndsTheMerge) {
  std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets;
  sets.push_back(std::make_unique<VectorChunkSeriesSet>(
      std::vector<Entry>{{Series(1), {EncodeChunk({{1, 1}})}}}));
  sets.push_back(std::make_unique<VectorChunkSeriesSet>(
      std::vector<Entry>{}, absl::DataLossError("block B: chunks offset 9: page crc mismatch")));
  auto merged = MergeChunkSeriesSets(std::move(sets));
  EXPECT_FALSE(merged->Next());
  EXPECT_EQ(merged->Err(), absl::DataLossError("block B: chunks offset 9: page crc mismatch"));
}

TEST(MergeChunkSeriesSetsTest, NoSets) {
  auto merged = MergeChunkSeriesSets({});
  EXPECT_FALSE(merged->Next());
  EXPECT_TRUE(merged->Err().ok());
}

}  // namespace
}  // namespace xscaler::storage::merge
