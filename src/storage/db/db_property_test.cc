// Property test of the whole database: random series and samples over many block ranges,
// random compaction rounds, flushes and restarts; after every step each query (random time
// range and matchers) must equal what a reference map of acknowledged samples says.
#include <filesystem>
#include <random>

#include "gtest/gtest.h"
#include "storage/db/db_test_util.h"
#include "storage/db/tsdb.h"

namespace xscaler::storage {
namespace {

using labels::Labels;
using namespace xscaler::storage::testing;

constexpr int64_t kH = kHourMs;

class DbPropertyTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  void SetUp() override {
    dir_ = TestDir("db_property_test_" + std::to_string(GetParam()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
};

struct Query {
  std::vector<labels::Matcher> matchers;
  int64_t mint, maxt;
};

bool Matches(const Labels& l, const std::vector<labels::Matcher>& ms) {
  for (const auto& m : ms) {
    if (!m.Matches(l.Get(m.name()))) return false;
  }
  return true;
}

TEST_P(DbPropertyTest, QueriesEqualReferenceThroughCompactionsAndRestarts) {
  std::mt19937_64 rng(GetParam());
  auto rand = [&](int64_t lo, int64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  TsdbOptions opts = SmallOpts();
  opts.max_block_range_ms = rand(0, 1) == 0 ? 0 : kH;  // leveled compaction or none
  auto db = Tsdb::Open(dir_, opts);
  ASSERT_TRUE(db.ok()) << db.status();

  std::vector<Labels> series;
  for (int i = 0; i < 24; ++i) {
    series.push_back(Labels{{"__name__", i % 2 == 0 ? "a" : "b"},
                            {"i", std::to_string(i)},
                            {"job", std::string(1, "xyz"[i % 3])}});
  }
  std::map<std::string, Labels> by_name;
  for (const auto& l : series) by_name[l.ToString()] = l;

  Reference ref;
  int64_t cursor = rand(0, kH);
  int compactions = 0, flushes = 0, restarts = 0;

  auto check = [&](const char* when, int stage) {
    SCOPED_TRACE(::testing::Message() << when << " at stage " << stage << " seed " << GetParam());
    ASSERT_EQ(NonEmpty(ReadMap(**db, {Re("__name__", "a|b")})), ref.Expect());
    for (int q = 0; q < 4; ++q) {
      Query query;
      query.mint = rand(-kH, cursor + kH);
      query.maxt = query.mint + rand(0, cursor);
      query.matchers.push_back(Eq("__name__", rand(0, 1) == 0 ? "a" : "b"));
      switch (rand(0, 3)) {
        case 0:
          query.matchers.push_back(Re("job", "x|z"));
          break;
        case 1:
          query.matchers.push_back(Ne("job", "y"));
          break;
        case 2:
          query.matchers.push_back(Re("i", "1.*"));
          break;
        default:
          break;
      }
      auto want = ref.Expect(query.mint, query.maxt, [&](const std::string& name) {
        return Matches(by_name.at(name), query.matchers);
      });
      EXPECT_EQ(NonEmpty(ReadMap(**db, query.matchers, query.mint, query.maxt)), want)
          << "query [" << query.mint << ", " << query.maxt << "] " << query.matchers[0].ToString()
          << (query.matchers.size() > 1 ? query.matchers[1].ToString() : "");
    }
  };

  for (int stage = 0; stage < 40; ++stage) {
    // A window of new data for a random subset of series, written in a few commits, each
    // series in time order; plus a few stale samples the database may or may not accept.
    const int64_t window = rand(5, 100) * 60 * 1000;
    std::vector<std::pair<Labels, Samples>> batch;
    for (const auto& l : series) {
      if (rand(0, 3) == 0) continue;
      Samples s;
      for (int64_t t = cursor + rand(0, 120000); t < cursor + window; t += rand(1000, 300000)) {
        s.emplace_back(t, static_cast<double>(rand(-1000, 1000)) / 4);
      }
      batch.emplace_back(l, std::move(s));
    }
    const size_t commits = static_cast<size_t>(rand(1, 3));
    for (size_t c = 0; c < commits; ++c) {
      std::vector<std::pair<Labels, Samples>> part;
      for (const auto& [l, s] : batch) {
        const size_t from = s.size() * c / commits, to = s.size() * (c + 1) / commits;
        part.emplace_back(l, Samples(s.begin() + from, s.begin() + to));
      }
      ASSERT_TRUE(ref.Write(**db, part).ok());
    }
    std::vector<std::pair<Labels, Samples>> stale;
    for (int k = 0; k < 3; ++k) {
      stale.push_back({series[rand(0, 23)], Samples{{cursor - rand(0, 3 * kH), 0.5}}});
    }
    ASSERT_TRUE(ref.Write(**db, stale).ok());
    cursor += window;

    switch (rand(0, 5)) {
      case 0:
      case 1:
      case 2:
        ASSERT_TRUE((*db)->Compact().ok()) << (*db)->Stats().last_compaction_error;
        ++compactions;
        break;
      case 3:
        ASSERT_TRUE((*db)->Flush().ok()) << (*db)->Stats().last_compaction_error;
        ++flushes;
        break;
      default:
        break;
    }
    check("after writing", stage);
    const TsdbStats st = (*db)->Stats();
    EXPECT_GE(st.persisted_until, st.blocks_max_time);
    if (rand(0, 3) == 0) {
      ASSERT_TRUE((*db)->Close().ok());
      db = Tsdb::Open(dir_, opts);
      ASSERT_TRUE(db.ok()) << db.status();
      ++restarts;
      check("after restart", stage);
    }
  }
  EXPECT_GT(compactions + flushes, 0);
  EXPECT_GT((*db)->Stats().num_blocks, 0u);

  // Retention: everything goes into blocks, then old blocks are dropped whole.
  ASSERT_TRUE((*db)->Flush().ok());
  EXPECT_EQ((*db)->Stats().num_samples, 0u);
  EXPECT_EQ((*db)->Stats().blocks_samples, ref.NumSamples())
      << "blocks must hold every sample exactly once (no overlap left after compaction)";
  (*db)->SetRetention(rand(2, 6) * kH);
  ASSERT_TRUE((*db)->Compact().ok());
  const TsdbStats st = (*db)->Stats();
  ASSERT_GT(st.num_blocks, 0u);
  ref.DropBefore(st.blocks_min_time);
  check("after retention", 99);
  EXPECT_EQ(BlockDirs(dir_).size(), st.num_blocks);
  ASSERT_TRUE((*db)->Close().ok());
  db = Tsdb::Open(dir_, opts);
  ASSERT_TRUE(db.ok());
  check("after the final restart", 100);
  std::cerr << "seed " << GetParam() << ": " << compactions << " compactions, " << flushes
            << " flushes, " << restarts << " restarts, " << st.num_blocks << " blocks, "
            << st.compactions << " merges\n";
}

INSTANTIATE_TEST_SUITE_P(Seeds, DbPropertyTest, ::testing::Range<uint64_t>(1, 9));

}  // namespace
}  // namespace xscaler::storage
