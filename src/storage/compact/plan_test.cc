#include "storage/compact/plan.h"

#include <algorithm>
#include <limits>
#include <ostream>

#include "gtest/gtest.h"

namespace xscaler::storage::compact {
namespace {

using Ulids = std::vector<std::string>;

BlockInfo B(std::string ulid, int64_t min_t, int64_t max_t, uint64_t size = 0) {
  return BlockInfo{std::move(ulid), min_t, max_t, size, 1};
}

// Small numbers for readability: a head block range of 20 and three-fold levels, as in
// Prometheus' own planner tests.
const std::vector<int64_t> kRanges = {20, 60, 180, 540, 1620};

TEST(ExponentialRangesTest, Values) {
  EXPECT_EQ(ExponentialRanges(20, 5, 3), kRanges);
  const int64_t h2 = 2 * 3600 * 1000;
  EXPECT_EQ(ExponentialRanges(h2, 3, 3), (std::vector<int64_t>{h2, 3 * h2, 9 * h2}));
  EXPECT_EQ(ExponentialRanges(h2, 1, 3), (std::vector<int64_t>{h2}));
  EXPECT_TRUE(ExponentialRanges(h2, 0, 3).empty());
  EXPECT_TRUE(ExponentialRanges(0, 3, 3).empty());
  EXPECT_TRUE(ExponentialRanges(h2, 3, 0).empty());
  // Stops before overflowing instead of wrapping around.
  auto big = ExponentialRanges(std::numeric_limits<int64_t>::max() / 2, 5, 3);
  EXPECT_EQ(big.size(), 1u);
  for (size_t i = 1; i < ExponentialRanges(h2, 40, 3).size(); ++i) {
    EXPECT_GT(ExponentialRanges(h2, 40, 3)[i], ExponentialRanges(h2, 40, 3)[i - 1]);
  }
}

struct PlanCase {
  const char* name;
  std::vector<BlockInfo> blocks;
  Ulids want;
};

void PrintTo(const PlanCase& c, std::ostream* os) { *os << c.name; }

class PlanTest : public ::testing::TestWithParam<PlanCase> {};

TEST_P(PlanTest, Table) {
  const PlanCase& c = GetParam();
  EXPECT_EQ(Plan(c.blocks, kRanges), c.want) << c.name;
  // The input order does not matter.
  std::vector<BlockInfo> reversed(c.blocks.rbegin(), c.blocks.rend());
  EXPECT_EQ(Plan(reversed, kRanges), c.want) << c.name << " (reversed input)";
}

INSTANTIATE_TEST_SUITE_P(
    Prometheus, PlanTest,
    ::testing::Values(
        PlanCase{"no blocks", {}, {}},
        PlanCase{"one block: nothing to merge it with", {B("1", 0, 20)}, {}},
        PlanCase{"two small blocks: the newer one is set aside, one is left",
                 {B("1", 0, 20), B("2", 20, 40)},
                 {}},
        PlanCase{"three small blocks, the newest set aside: the first 60-window is not full yet "
                 "and may still get a block",
                 {B("1", 0, 20), B("2", 20, 40), B("3", 40, 60)},
                 {}},
        PlanCase{"a block beyond the window appears: the full window [0,60) is compacted",
                 {B("1", 0, 20), B("2", 20, 40), B("3", 40, 60), B("4", 60, 80)},
                 {"1", "2", "3"}},
        PlanCase{"a gap in the window and only the newest block past it: wait",
                 {B("1", 0, 20), B("2", 20, 40), B("3", 60, 80)},
                 {}},
        PlanCase{"a gap in the window, and a settled block past it: the gap will never fill, "
                 "compact what is there",
                 {B("1", 0, 20), B("2", 20, 40), B("3", 60, 80), B("4", 80, 100)},
                 {"1", "2"}},
        PlanCase{"small blocks then level-2 blocks: the small ones fill [0,60)",
                 {B("1", 0, 20), B("2", 20, 40), B("3", 40, 60), B("4", 60, 120), B("5", 120, 180)},
                 {"1", "2", "3"}},
        PlanCase{
            "mixed sizes inside the first 180-window, a far newer block: the 180 group "
            "ends before the newest remaining block starts",
            {B("2", 20, 40), B("4", 60, 120), B("5", 960, 980), B("6", 120, 180), B("7", 720, 960)},
            {"2", "4", "6"}},
        PlanCase{"the newest block is chosen by min time, not by name",
                 {B("5", 0, 360), B("6", 540, 560), B("7", 360, 420), B("8", 420, 540)},
                 {"7", "8"}},
        PlanCase{"overlap between the first two blocks",
                 {B("1", 0, 20), B("2", 19, 40), B("3", 40, 60)},
                 {"1", "2"}},
        PlanCase{"overlap between the last two blocks (the newest is not set aside)",
                 {B("1", 0, 20), B("2", 20, 40), B("3", 30, 50)},
                 {"2", "3"}},
        PlanCase{"a chain of overlaps is one run",
                 {B("1", 0, 20), B("2", 10, 40), B("3", 30, 50)},
                 {"1", "2", "3"}},
        PlanCase{"a long block overlapping several later ones",
                 {B("5", 0, 360), B("6", 340, 560), B("7", 360, 420), B("8", 420, 540)},
                 {"5", "6", "7", "8"}},
        PlanCase{"two separate overlapping runs: the older run first",
                 {B("1", 0, 10), B("2", 9, 20), B("3", 30, 40), B("4", 39, 50)},
                 {"1", "2"}},
        PlanCase{"identical ranges overlap", {B("b", 0, 20), B("a", 0, 20)}, {"a", "b"}},
        PlanCase{"blocks that only touch do not overlap", {B("1", 0, 20), B("2", 20, 40)}, {}},
        PlanCase{"misaligned blocks straddling a window are skipped for that level",
                 {B("1", 50, 70), B("2", 70, 80), B("3", 80, 100), B("4", 100, 120),
                  B("5", 120, 140), B("6", 200, 220)},
                 {"2", "3", "4"}},
        PlanCase{"negative times align windows downwards",
                 {B("1", -60, -40), B("2", -40, -20), B("3", -20, 0), B("4", 0, 20)},
                 {"1", "2", "3"}},
        PlanCase{"level-2 blocks fill a 180 window (groups of one are skipped at level 60)",
                 {B("1", 0, 60), B("2", 60, 120), B("3", 120, 180), B("4", 180, 240)},
                 {"1", "2", "3"}},
        PlanCase{"level-3 blocks fill a 540 window once a later block settles",
                 {B("1", 0, 180), B("2", 180, 360), B("3", 360, 540), B("4", 540, 720),
                  B("5", 720, 740)},
                 {"1", "2", "3"}}),
    [](const ::testing::TestParamInfo<PlanCase>& info) {
      return "Case" + std::to_string(info.index);
    });

TEST(PlanRulesTest, NeedsAtLeastTwoRanges) {
  std::vector<BlockInfo> blocks{B("1", 0, 20), B("2", 20, 40), B("3", 40, 60), B("4", 60, 80)};
  std::vector<int64_t> one{20};
  EXPECT_TRUE(Plan(blocks, one).empty());
  // Overlaps are still compacted.
  blocks.push_back(B("5", 70, 90));
  EXPECT_EQ(Plan(blocks, one), (Ulids{"4", "5"}));
}

BlockInfo T(std::string ulid, int64_t min_t, int64_t max_t, uint64_t series, uint64_t tombstones) {
  BlockInfo b = B(std::move(ulid), min_t, max_t);
  b.num_series = series;
  b.num_tombstones = tombstones;
  return b;
}

TEST(PlanRulesTest, BlocksWithManyTombstonesAreRewritten) {
  // A big block (>= the middle range, 180) with 3 tombstones for 10 series: only once a newer
  // block exists, since the newest block is never planned.
  EXPECT_EQ(Plan(std::vector<BlockInfo>{T("1", 0, 540, 10, 3)}, kRanges), Ulids{});
  EXPECT_EQ(Plan(std::vector<BlockInfo>{T("1", 0, 540, 10, 3), B("2", 540, 560)}, kRanges),
            (Ulids{"1"}));
  // Exactly 5% is not enough; just above is.
  EXPECT_EQ(Plan(std::vector<BlockInfo>{T("1", 0, 540, 99, 5), B("2", 540, 560)}, kRanges),
            Ulids{});
  EXPECT_EQ(Plan(std::vector<BlockInfo>{T("1", 0, 540, 98, 5), B("2", 540, 560)}, kRanges),
            (Ulids{"1"}));
  // Small blocks are left alone (ordinary compaction will rewrite them anyway)...
  EXPECT_EQ(Plan(std::vector<BlockInfo>{T("1", 0, 60, 10, 3), B("2", 60, 80)}, kRanges), Ulids{});
  // ...unless everything in them is deleted.
  EXPECT_EQ(Plan(std::vector<BlockInfo>{T("1", 0, 60, 10, 10), B("2", 60, 80)}, kRanges),
            (Ulids{"1"}));
  // No series and no tombstones: nothing to do (no endless rewrite loop).
  EXPECT_EQ(Plan(std::vector<BlockInfo>{T("1", 0, 540, 0, 0), B("2", 540, 560)}, kRanges), Ulids{});
  // The scan goes from newer to older blocks and stops at the first small one.
  EXPECT_EQ(Plan(std::vector<BlockInfo>{T("1", 0, 540, 10, 3), T("2", 540, 1080, 10, 3),
                                        B("3", 1080, 1100)},
                 kRanges),
            (Ulids{"2"}));
  EXPECT_EQ(
      Plan(std::vector<BlockInfo>{T("1", 0, 540, 10, 3), B("2", 540, 560), B("3", 1080, 1100)},
           kRanges),
      Ulids{});
  // Leveled compaction goes first.
  EXPECT_EQ(Plan(std::vector<BlockInfo>{T("1", 0, 540, 10, 3), B("2", 540, 560), B("3", 560, 580),
                                        B("4", 580, 600), B("5", 600, 620)},
                 kRanges),
            (Ulids{"2", "3", "4"}));
}

TEST(PlanRulesTest, RepeatedPlanningConverges) {
  // Simulate the database: 2h blocks arrive one by one; each round compacts what Plan returns
  // into one block. Blocks never overlap, every compacted block fits one range window, and the
  // number of blocks stays small (logarithmic in the covered time).
  const int64_t r = 20;
  std::vector<BlockInfo> blocks;
  int next = 0;
  for (int step = 0; step < 300; ++step) {
    blocks.push_back(B("b" + std::to_string(next++), step * r, (step + 1) * r));
    while (true) {
      Ulids group = Plan(blocks, kRanges);
      if (group.empty()) break;
      int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
      std::vector<BlockInfo> rest;
      for (const auto& b : blocks) {
        if (std::find(group.begin(), group.end(), b.ulid) != group.end()) {
          lo = std::min(lo, b.min_time);
          hi = std::max(hi, b.max_time);
        } else {
          rest.push_back(b);
        }
      }
      ASSERT_GE(group.size(), 2u);
      bool fits = false;
      for (int64_t range : kRanges) fits |= (lo / range == (hi - 1) / range);
      ASSERT_TRUE(fits) << "compacted block [" << lo << "," << hi << ") crosses every window";
      rest.push_back(B("b" + std::to_string(next++), lo, hi));
      blocks = std::move(rest);
    }
    EXPECT_LE(blocks.size(), 12u) << "step " << step;
  }
  int64_t covered = 0;
  for (const auto& b : blocks) covered += b.max_time - b.min_time;
  EXPECT_EQ(covered, 300 * r);
}

// --- Retention ---

TEST(RetentionTest, EmptyInput) { EXPECT_TRUE(BlocksBeyondRetention({}, 100, 100).empty()); }

TEST(RetentionTest, DisabledKeepsEverything) {
  std::vector<BlockInfo> blocks{B("1", 0, 20, 1000), B("2", 20, 40, 1000)};
  EXPECT_TRUE(BlocksBeyondRetention(blocks, 0, 0).empty());
}

TEST(RetentionTest, ByTime) {
  std::vector<BlockInfo> blocks{B("3", 40, 60), B("1", 0, 20), B("4", 60, 80), B("2", 20, 40)};
  // Newest max_time 80; cutoff 80-40 = 40: blocks ending at or before 40 hold only older data.
  EXPECT_EQ(BlocksBeyondRetention(blocks, 40, 0), (Ulids{"1", "2"}));
  EXPECT_EQ(BlocksBeyondRetention(blocks, 41, 0), (Ulids{"1"}));
  EXPECT_EQ(BlocksBeyondRetention(blocks, 61, 0), Ulids{});
  EXPECT_EQ(BlocksBeyondRetention(blocks, 60, 0), (Ulids{"1"}));
  // The newest block survives any retention.
  EXPECT_EQ(BlocksBeyondRetention(blocks, 1, 0), (Ulids{"1", "2", "3"}));
  // Huge retention does not overflow the cutoff.
  EXPECT_TRUE(BlocksBeyondRetention(blocks, std::numeric_limits<int64_t>::max(), 0).empty());
}

TEST(RetentionTest, ByTimeWithNegativeTimesAndOverlaps) {
  std::vector<BlockInfo> blocks{B("1", -100, -50), B("2", -60, 0), B("3", 0, 50)};
  EXPECT_EQ(BlocksBeyondRetention(blocks, 100, 0), (Ulids{"1"}));
  // A long block that started long ago but ends recently is kept.
  std::vector<BlockInfo> long_one{B("long", 0, 1000), B("new", 990, 1010)};
  EXPECT_TRUE(BlocksBeyondRetention(long_one, 50, 0).empty());
}

TEST(RetentionTest, BySize) {
  std::vector<BlockInfo> blocks{B("1", 0, 20, 100), B("2", 20, 40, 200), B("3", 40, 60, 300),
                                B("4", 60, 80, 400)};
  EXPECT_EQ(BlocksBeyondRetention(blocks, 0, 1000), Ulids{});  // exactly at the cap
  EXPECT_EQ(BlocksBeyondRetention(blocks, 0, 999), (Ulids{"1"}));
  EXPECT_EQ(BlocksBeyondRetention(blocks, 0, 700), (Ulids{"1", "2"}));
  EXPECT_EQ(BlocksBeyondRetention(blocks, 0, 699), (Ulids{"1", "2", "3"}));
  // Even the newest goes when it alone exceeds the cap.
  EXPECT_EQ(BlocksBeyondRetention(blocks, 0, 10), (Ulids{"1", "2", "3", "4"}));
  // A small old block is not kept once a newer one was dropped (whole suffixes only).
  std::vector<BlockInfo> uneven{B("old", 0, 20, 1), B("mid", 20, 40, 500), B("new", 40, 60, 10)};
  EXPECT_EQ(BlocksBeyondRetention(uneven, 0, 100), (Ulids{"old", "mid"}));
}

TEST(RetentionTest, TimeThenSize) {
  std::vector<BlockInfo> blocks{B("1", 0, 20, 100), B("2", 20, 40, 200), B("3", 40, 60, 300),
                                B("4", 60, 80, 400)};
  // Time drops 1 (ends at 20 <= 80-50); size then drops 2 (300+400 = 700 <= 750 < 900).
  EXPECT_EQ(BlocksBeyondRetention(blocks, 50, 750), (Ulids{"1", "2"}));
  // Time alone is the stronger rule here.
  EXPECT_EQ(BlocksBeyondRetention(blocks, 30, 5000), (Ulids{"1", "2"}));
  // Size alone is the stronger rule here.
  EXPECT_EQ(BlocksBeyondRetention(blocks, 1000, 400), (Ulids{"1", "2", "3"}));
}

}  // namespace
}  // namespace xscaler::storage::compact
