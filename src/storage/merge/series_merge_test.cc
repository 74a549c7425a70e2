#include <map>
#include <random>

#include "gtest/gtest.h"
#include "storage/merge/merge.h"
#include "storage/merge/test_util.h"
#include "storage/series/series_sets.h"

namespace xscaler::storage::merge {
namespace {

using testing::EncodeChunks;
using testing::Eq;
using testing::FailingSeries;
using testing::MapQuerier;
using testing::Re;
using testing::Samples;
using Data = std::map<labels::Labels, Samples>;

labels::Labels Series(int i) { return labels::Labels{{"__name__", "m"}, {"i", std::to_string(i)}}; }

// Three sources with the same series split randomly across them: each source gets a random
// subset of each series' timestamps, so sources overlap and share timestamps. A shared
// timestamp carries a different value in every source (source*1e6 + t), so the test sees which
// source won. The reference keeps the first source's value.
struct RandomCase {
  std::vector<Data> sources;
  Data reference;
};

RandomCase MakeRandomCase(uint32_t seed) {
  std::mt19937 rng(seed);
  RandomCase rc;
  rc.sources.resize(3);
  for (int i = 0; i < 60; ++i) {
    labels::Labels lset = Series(i);
    int n = std::uniform_int_distribution<int>(1, 200)(rng);
    int64_t t = std::uniform_int_distribution<int64_t>(0, 50)(rng);
    for (int k = 0; k < n; ++k) {
      t += std::uniform_int_distribution<int64_t>(1, 15)(rng);
      int mask = std::uniform_int_distribution<int>(0, 7)(rng);
      if (i % 10 == 0) mask &= 1;  // some series live in one source only
      if (mask == 0 && i % 10 != 0) mask = 4;
      for (int src = 0; src < 3; ++src) {
        if (!(mask & (1 << src))) continue;
        double v = src * 1e6 + static_cast<double>(t);
        rc.sources[src][lset].emplace_back(t, v);
        rc.reference[lset].emplace_back(t, v);  // de-duplicated below
      }
    }
  }
  for (auto& [lset, samples] : rc.reference) {
    std::stable_sort(samples.begin(), samples.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    samples.erase(std::unique(samples.begin(), samples.end(),
                              [](const auto& a, const auto& b) { return a.first == b.first; }),
                  samples.end());
  }
  // Series that no source received.
  for (auto it = rc.reference.begin(); it != rc.reference.end();) {
    it = it->second.empty() ? rc.reference.erase(it) : std::next(it);
  }
  return rc;
}

std::unique_ptr<SeriesSet> SetOf(const Data& data) {
  std::vector<std::unique_ptr<storage::Series>> out;
  for (const auto& [lset, samples] : data) {
    // Odd chunk sizes so that seeks land inside and across chunk boundaries.
    out.push_back(std::make_unique<series::ChunkListSeries>(lset, EncodeChunks(samples, 13),
                                                            kMinTime, kMaxTime));
  }
  return series::NewVectorSeriesSet(std::move(out));
}

std::unique_ptr<SeriesSet> MergedSet(const RandomCase& rc) {
  std::vector<std::unique_ptr<SeriesSet>> sets;
  for (const auto& d : rc.sources) sets.push_back(SetOf(d));
  return MergeSeriesSets(std::move(sets));
}

Data ReadAll(SeriesSet& set) {
  Data out;
  labels::Labels prev;
  bool first = true;
  while (set.Next()) {
    const storage::Series& s = set.At();
    if (!first) {
      EXPECT_LT(prev, s.Labels());
    }
    first = false;
    prev = s.Labels();
    auto it = s.Iterator();
    Samples samples;
    while (it->Next()) samples.push_back(it->At());
    EXPECT_TRUE(it->Err().ok()) << it->Err();
    EXPECT_FALSE(it->Next()) << "an exhausted iterator stays exhausted";
    out[s.Labels()] = std::move(samples);
  }
  EXPECT_TRUE(set.Err().ok()) << set.Err();
  return out;
}

TEST(MergeSeriesSetsTest, RandomSourcesMatchReferenceWithNext) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    RandomCase rc = MakeRandomCase(seed);
    auto set = MergedSet(rc);
    Data got = ReadAll(*set);
    ASSERT_EQ(got.size(), rc.reference.size()) << "seed " << seed;
    for (const auto& [lset, want] : rc.reference) {
      ASSERT_EQ(got[lset], want) << "seed " << seed << " series " << lset.ToString();
    }
  }
}

TEST(MergeSeriesSetsTest, RandomSourcesMatchReferenceWithSeekAndNext) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    RandomCase rc = MakeRandomCase(seed);
    std::mt19937 rng(seed * 7919);
    auto set = MergedSet(rc);
    size_t seen = 0;
    while (set->Next()) {
      ++seen;
      const Samples& want = rc.reference.at(set->At().Labels());
      auto it = set->At().Iterator();
      int64_t target = -5;
      size_t pos = 0;  // reference index of the iterator's position, once started
      bool started = false;
      bool valid = false;
      while (true) {
        bool ok;
        if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
          // Seek, sometimes backwards (a no-op) or far ahead.
          target += std::uniform_int_distribution<int64_t>(-20, 60)(rng);
          ok = it->Seek(target);
          if (!(started && want[pos].first >= target)) {
            size_t p = started ? pos : 0;
            while (p < want.size() && want[p].first < target) ++p;
            pos = p;
          }
        } else {
          ok = it->Next();
          pos = started ? pos + 1 : 0;
        }
        started = true;
        valid = pos < want.size();
        ASSERT_EQ(ok, valid) << "seed " << seed << " target " << target;
        if (!valid) break;
        ASSERT_EQ(it->At(), want[pos]) << "seed " << seed << " " << set->At().Labels().ToString();
        target = std::max(target, want[pos].first);
      }
      EXPECT_TRUE(it->Err().ok());
      EXPECT_FALSE(it->Seek(kMaxTime));
    }
    EXPECT_EQ(seen, rc.reference.size());
    EXPECT_TRUE(set->Err().ok());
  }
}

TEST(MergeSeriesSetsTest, EqualTimestampsKeepTheFirstSourcesValue) {
  Data a{{Series(1), {{10, 1.0}, {20, 2.0}}}};
  Data b{{Series(1), {{10, 100.0}, {15, 150.0}, {20, 200.0}, {30, 300.0}}}};
  std::vector<std::unique_ptr<SeriesSet>> sets;
  sets.push_back(SetOf(b));
  sets.push_back(SetOf(a));
  Data got = ReadAll(*MergeSeriesSets(std::move(sets)));
  EXPECT_EQ(got[Series(1)], (Samples{{10, 100.0}, {15, 150.0}, {20, 200.0}, {30, 300.0}}));

  sets.clear();
  sets.push_back(SetOf(a));
  sets.push_back(SetOf(b));
  got = ReadAll(*MergeSeriesSets(std::move(sets)));
  EXPECT_EQ(got[Series(1)], (Samples{{10, 1.0}, {15, 150.0}, {20, 2.0}, {30, 300.0}}));
}

TEST(MergeSeriesSetsTest, SingleSetPassesThroughUnchanged) {
  auto set = SetOf(Data{{Series(1), {{1, 1}}}});
  SeriesSet* raw = set.get();
  std::vector<std::unique_ptr<SeriesSet>> sets;
  sets.push_back(std::move(set));
  EXPECT_EQ(MergeSeriesSets(std::move(sets)).get(), raw);
}

TEST(MergeSeriesSetsTest, SeriesInOneSourceIsTheChildsSeries) {
  std::vector<std::unique_ptr<SeriesSet>> sets;
  sets.push_back(SetOf(Data{{Series(1), {{1, 1}}}, {Series(3), {{1, 1}}}}));
  sets.push_back(SetOf(Data{{Series(2), {{1, 1}}}, {Series(3), {{2, 2}}}}));
  auto set = MergeSeriesSets(std::move(sets));
  std::vector<bool> passthrough;
  while (set->Next()) {
    passthrough.push_back(dynamic_cast<const series::ChunkListSeries*>(&set->At()) != nullptr);
  }
  EXPECT_EQ(passthrough, (std::vector<bool>{true, true, false}));
}

TEST(MergeSeriesSetsTest, NoSetsAndEmptySets) {
  EXPECT_FALSE(MergeSeriesSets({})->Next());
  std::vector<std::unique_ptr<SeriesSet>> sets;
  sets.push_back(SetOf({}));
  sets.push_back(SetOf({}));
  auto set = MergeSeriesSets(std::move(sets));
  EXPECT_FALSE(set->Next());
  EXPECT_FALSE(set->Next());
  EXPECT_TRUE(set->Err().ok());
}

TEST(MergeSeriesSetsTest, ChildSetErrorEndsTheMerge) {
  std::vector<std::unique_ptr<SeriesSet>> sets;
  sets.push_back(SetOf(Data{{Series(1), {{1, 1}}}, {Series(2), {{1, 1}}}}));
  sets.push_back(series::NewErrorSeriesSet(absl::DataLossError("block X: index offset 7: bad")));
  auto set = MergeSeriesSets(std::move(sets));
  EXPECT_FALSE(set->Next());
  EXPECT_EQ(set->Err(), absl::DataLossError("block X: index offset 7: bad"));
  EXPECT_FALSE(set->Next());
}

std::unique_ptr<SeriesSet> FailingSet(int fail_after) {
  std::vector<std::unique_ptr<storage::Series>> out;
  out.push_back(std::make_unique<FailingSeries>(Series(1), Samples{{5, 5}, {15, 15}, {25, 25}},
                                                fail_after, absl::DataLossError("chunk crc")));
  return series::NewVectorSeriesSet(std::move(out));
}

TEST(MergeSeriesSetsTest, ChildIteratorErrorSurfacesInNext) {
  std::vector<std::unique_ptr<SeriesSet>> sets;
  sets.push_back(SetOf(Data{{Series(1), {{1, 1}, {10, 10}, {20, 20}, {30, 30}}}}));
  sets.push_back(FailingSet(2));
  auto set = MergeSeriesSets(std::move(sets));
  ASSERT_TRUE(set->Next());
  auto it = set->At().Iterator();
  Samples got;
  while (it->Next()) got.push_back(it->At());
  EXPECT_EQ(got, (Samples{{1, 1}, {5, 5}, {10, 10}, {15, 15}}));
  EXPECT_EQ(it->Err(), absl::DataLossError("chunk crc"));
  EXPECT_FALSE(it->Next());
  EXPECT_FALSE(it->Seek(0));
}

TEST(MergeSeriesSetsTest, ChildIteratorErrorSurfacesInSeek) {
  std::vector<std::unique_ptr<SeriesSet>> sets;
  sets.push_back(SetOf(Data{{Series(1), {{1, 1}, {30, 30}}}}));
  sets.push_back(FailingSet(1));
  auto set = MergeSeriesSets(std::move(sets));
  ASSERT_TRUE(set->Next());
  auto it = set->At().Iterator();
  EXPECT_FALSE(it->Seek(10));
  EXPECT_EQ(it->Err(), absl::DataLossError("chunk crc"));

  // Failing at the very first sample also fails the first Next.
  sets.clear();
  sets.push_back(SetOf(Data{{Series(1), {{1, 1}}}}));
  sets.push_back(FailingSet(0));
  set = MergeSeriesSets(std::move(sets));
  ASSERT_TRUE(set->Next());
  it = set->At().Iterator();
  EXPECT_FALSE(it->Next());
  EXPECT_FALSE(it->Err().ok());
}

TEST(MergeSeriesSetsTest, SeekBehindIsNoOpAndSeekPastEndIsFalse) {
  std::vector<std::unique_ptr<SeriesSet>> sets;
  sets.push_back(SetOf(Data{{Series(1), {{10, 1}, {40, 4}}}}));
  sets.push_back(SetOf(Data{{Series(1), {{20, 2}, {30, 3}}}}));
  auto set = MergeSeriesSets(std::move(sets));
  ASSERT_TRUE(set->Next());
  auto it = set->At().Iterator();
  ASSERT_TRUE(it->Seek(25));
  EXPECT_EQ(it->At(), (std::pair<int64_t, double>{30, 3}));
  ASSERT_TRUE(it->Seek(5));
  EXPECT_EQ(it->At(), (std::pair<int64_t, double>{30, 3}));
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At(), (std::pair<int64_t, double>{40, 4}));
  EXPECT_FALSE(it->Seek(41));
  EXPECT_FALSE(it->Next());
  EXPECT_TRUE(it->Err().ok());
}

// --- Querier ---

std::unique_ptr<Querier> Q(Data d) { return std::make_unique<MapQuerier>(std::move(d)); }

TEST(MergeQuerierTest, SingleQuerierPassesThroughUnchanged) {
  auto q = Q({});
  Querier* raw = q.get();
  std::vector<std::unique_ptr<Querier>> qs;
  qs.push_back(std::move(q));
  EXPECT_EQ(NewMergeQuerier(std::move(qs)).get(), raw);
}

TEST(MergeQuerierTest, SelectMergesAndFiltersByMatchers) {
  RandomCase rc = MakeRandomCase(42);
  std::vector<std::unique_ptr<Querier>> qs;
  for (const auto& d : rc.sources) qs.push_back(Q(d));
  auto q = NewMergeQuerier(std::move(qs));
  std::vector<labels::Matcher> ms{Eq("__name__", "m"), Re("i", "1.*")};
  Data got = ReadAll(*q->Select(ms));
  Data want;
  for (const auto& [lset, samples] : rc.reference) {
    if (lset.Get("i").starts_with("1")) want[lset] = samples;
  }
  EXPECT_EQ(got, want);
  EXPECT_FALSE(want.empty());
}

TEST(MergeQuerierTest, SelectWithoutSelectiveMatcherFailsOnceWithoutAskingChildren) {
  auto a = std::make_unique<MapQuerier>(Data{{Series(1), {{1, 1}}}});
  auto b = std::make_unique<MapQuerier>(Data{{Series(1), {{1, 1}}}});
  MapQuerier* ra = a.get();
  MapQuerier* rb = b.get();
  std::vector<std::unique_ptr<Querier>> qs;
  qs.push_back(std::move(a));
  qs.push_back(std::move(b));
  auto q = NewMergeQuerier(std::move(qs));
  std::vector<labels::Matcher> ms{Re("i", ".*")};
  auto set = q->Select(ms);
  EXPECT_FALSE(set->Next());
  EXPECT_EQ(set->Err().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(set->Err().message(),
            "vector selector must contain at least one matcher that does not match the empty "
            "string");
  EXPECT_EQ(ra->selects + rb->selects, 0);
  auto none = q->Select({});
  EXPECT_EQ(none->Err().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MergeQuerierTest, SelectErrorFromOneChildSurfaces) {
  auto a = std::make_unique<MapQuerier>(Data{{Series(1), {{1, 1}}}});
  auto b = std::make_unique<MapQuerier>(Data{{Series(2), {{1, 1}}}});
  b->select_error = absl::DataLossError("block B: index offset 12: postings crc mismatch");
  std::vector<std::unique_ptr<Querier>> qs;
  qs.push_back(std::move(a));
  qs.push_back(std::move(b));
  auto q = NewMergeQuerier(std::move(qs));
  std::vector<labels::Matcher> ms{Eq("__name__", "m")};
  auto set = q->Select(ms);
  while (set->Next()) {
  }
  EXPECT_EQ(set->Err(), absl::DataLossError("block B: index offset 12: postings crc mismatch"));
}

TEST(MergeQuerierTest, LabelNamesAndValuesAreSortedUnions) {
  std::vector<std::unique_ptr<Querier>> qs;
  qs.push_back(Q(Data{{labels::Labels{{"__name__", "a"}, {"job", "x"}}, {{1, 1}}},
                      {labels::Labels{{"__name__", "c"}, {"zone", "z1"}}, {{1, 1}}}}));
  qs.push_back(Q(Data{{labels::Labels{{"__name__", "b"}, {"job", "y"}}, {{1, 1}}},
                      {labels::Labels{{"__name__", "a"}, {"env", "p"}}, {{1, 1}}}}));
  qs.push_back(Q({}));
  auto q = NewMergeQuerier(std::move(qs));
  EXPECT_EQ(*q->LabelNames({}), (std::vector<std::string>{"__name__", "env", "job", "zone"}));
  EXPECT_EQ(*q->LabelValues("__name__", {}), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*q->LabelValues("job", {}), (std::vector<std::string>{"x", "y"}));
  std::vector<labels::Matcher> ms{Eq("__name__", "a")};
  EXPECT_EQ(*q->LabelNames(ms), (std::vector<std::string>{"__name__", "env", "job"}));
  EXPECT_EQ(*q->LabelValues("nope", {}), std::vector<std::string>{});
}

TEST(MergeQuerierTest, LabelErrorsPropagate) {
  auto b = std::make_unique<MapQuerier>(Data{});
  b->label_error = absl::DataLossError("index offset 3: symbol table crc mismatch");
  std::vector<std::unique_ptr<Querier>> qs;
  qs.push_back(Q(Data{{Series(1), {{1, 1}}}}));
  qs.push_back(std::move(b));
  auto q = NewMergeQuerier(std::move(qs));
  EXPECT_EQ(q->LabelNames({}).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(q->LabelValues("i", {}).status().code(), absl::StatusCode::kDataLoss);
}

TEST(MergeQuerierTest, NoQueriersSelectsNothing) {
  auto q = NewMergeQuerier({});
  std::vector<labels::Matcher> ms{Eq("__name__", "m")};
  auto set = q->Select(ms);
  EXPECT_FALSE(set->Next());
  EXPECT_TRUE(set->Err().ok());
  EXPECT_TRUE(q->LabelNames({})->empty());
  EXPECT_TRUE(q->LabelValues("x", {})->empty());
}

}  // namespace
}  // namespace xscaler::storage::merge
