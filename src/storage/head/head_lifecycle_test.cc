// Head lifecycle: ChunkSeries over block ranges, Truncate and series garbage collection
// (with appenders and queriers running), and the minimum valid time.

#include <stdlib.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "base/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/chunk/xor.h"
#include "storage/head/head.h"
#include "storage/head/test_util.h"
#include "storage/wal/wal.h"

namespace xscaler::storage::head {
namespace {

using labels::Labels;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace xscaler::storage::testing;

HeadOptions SmallChunks() {
  HeadOptions o;
  o.chunk.chunk_range_ms = 1000;
  o.chunk.max_samples = 50;
  o.max_future_ms = 0;
  o.stripes = 16;
  return o;
}

// Decodes a ChunkSeriesSet, checking its invariants, into label text -> samples.
std::map<std::string, Samples> Decode(series::ChunkSeriesSet& set, int64_t mint, int64_t maxt) {
  std::map<std::string, Samples> out;
  Labels prev;
  bool first = true;
  while (set.Next()) {
    if (!first) {
      EXPECT_TRUE(prev < set.Labels()) << set.Labels().ToString();
    }
    first = false;
    prev = set.Labels();
    Samples& s = out[set.Labels().ToString()];
    int64_t last_max = kMinTime;
    EXPECT_FALSE(set.Chunks().empty());
    for (const auto& c : set.Chunks()) {
      EXPECT_GE(c.min_t, mint);
      EXPECT_LT(c.max_t, maxt);
      EXPECT_GT(c.min_t, last_max);  // ordered, not overlapping
      last_max = c.max_t;
      chunk::XorDecoder d(c.bytes);
      bool any = false;
      while (d.Next()) {
        if (!any) {
          EXPECT_EQ(d.t(), c.min_t);
        }
        any = true;
        s.emplace_back(d.t(), d.v());
      }
      EXPECT_TRUE(d.status().ok()) << d.status();
      EXPECT_TRUE(any);
      EXPECT_EQ(s.back().first, c.max_t);
    }
  }
  EXPECT_TRUE(set.Err().ok()) << set.Err();
  return out;
}

TEST(HeadLifecycleTest, ChunkSeriesMatchesAReference) {
  HeadStorage db(SmallChunks());
  std::mt19937_64 rng(42);
  std::map<std::string, Samples> ref;
  // 60 series with irregular timestamps; chunks of 50 samples or 1 s windows.
  for (int i = 0; i < 60; ++i) {
    Labels l{{"__name__", i % 3 == 0 ? "a" : "b"}, {"i", std::to_string(i)}};
    auto app = db.NewAppender();
    int64_t t = static_cast<int64_t>(rng() % 500) - 200;  // negative times too
    const int n = 1 + static_cast<int>(rng() % 300);
    for (int k = 0; k < n; ++k) {
      double v = static_cast<double>(rng() % 1000) / 10;
      ASSERT_TRUE(app->Append(0, l, t, v).ok());
      ref[l.ToString()].emplace_back(t, v);
      t += 1 + static_cast<int64_t>(rng() % 40);
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  const std::vector<std::pair<int64_t, int64_t>> ranges = {
      {kMinTime, kMaxTime}, {0, 1000}, {1000, 2000}, {-1000, 0}, {333, 4567}, {5, 6}, {7, 7},
      {20000, 30000}};
  for (auto [mint, maxt] : ranges) {
    SCOPED_TRACE(::testing::Message() << "[" << mint << ", " << maxt << ")");
    std::map<std::string, Samples> want;
    for (const auto& [name, samples] : ref) {
      for (const auto& s : samples) {
        if (s.first >= mint && s.first < maxt) want[name].push_back(s);
      }
    }
    auto set = db.head.ChunkSeries(mint, maxt);
    EXPECT_EQ(Decode(*set, mint, maxt), want);
  }
  // Sealed chunks inside the range are shared with the head, not copied.
  auto set = db.head.ChunkSeries(kMinTime, kMaxTime);
  ASSERT_TRUE(set->Next());
  ASSERT_GT(set->Chunks().size(), 1u);
  EXPECT_GE(set->Chunks()[0].owner.use_count(), 2);
}

TEST(HeadLifecycleTest, TruncateDropsChunksAndCollectsSeries) {
  HeadStorage db(SmallChunks());
  const Labels keep{{"__name__", "keep"}, {"job", "x"}};
  const Labels old{{"__name__", "old"}, {"job", "only_old"}};
  SeriesRef old_ref = 0, keep_ref = 0;
  for (int t = 0; t < 5000; t += 10) {
    auto app = db.NewAppender();
    keep_ref = *app->Append(keep_ref, keep, t, t);
    if (t < 2000) old_ref = *app->Append(old_ref, old, t, t);
    ASSERT_TRUE(app->Commit().ok());
  }
  // Many series with only old samples, so the memory drop is visible.
  for (int i = 0; i < 300; ++i) {
    auto app = db.NewAppender();
    ASSERT_TRUE(app->Append(0, Labels{{"__name__", "bulk"}, {"i", std::to_string(i)}}, i, i).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  const size_t mem_before = db.head.MemoryBytes();
  const HeadStats before = db.head.Stats();
  EXPECT_EQ(before.num_series, 302u);
  EXPECT_EQ(before.min_time, 0);
  ASSERT_TRUE(db.head.HasSeries(old_ref));

  TruncateStats ts = db.head.Truncate(2505);
  EXPECT_EQ(ts.series_removed, 301u);
  EXPECT_GT(ts.chunks_removed, 0u);
  EXPECT_FALSE(db.head.HasSeries(old_ref));
  EXPECT_TRUE(db.head.HasSeries(keep_ref));
  EXPECT_EQ(db.head.NumSeriesInMemory(), 1u);
  EXPECT_EQ(db.head.MinValidTime(), 2505);
  EXPECT_LT(db.head.MemoryBytes(), mem_before / 4);

  // Gone from the postings: names, values, matchers.
  auto q = db.NewQuerier(kMinTime, kMaxTime);
  EXPECT_THAT(*q->LabelValues("__name__", {}), ElementsAre("keep"));
  EXPECT_THAT(*q->LabelValues("job", {}), ElementsAre("x"));
  EXPECT_THAT(*q->LabelNames({}), ElementsAre("__name__", "job"));
  EXPECT_EQ(db.head.postings().NumSeries(), 1u);
  EXPECT_THAT(ReadAll(db, {Eq("job", "only_old")}), IsEmpty());

  // The chunk straddling 2505 ([2500, 2990] with 1 s windows and 50 samples: 2500..2990)
  // stays; everything before it is gone.
  HeadStats after = db.head.Stats();
  EXPECT_EQ(after.num_series, 1u);
  EXPECT_EQ(after.min_time, 2500);
  EXPECT_EQ(after.max_time, 4990);
  EXPECT_EQ(after.num_samples, 250u);
  auto m = ReadMap(db, {Eq("__name__", "keep")});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m.begin()->second.front().first, 2500);
  EXPECT_EQ(m.begin()->second.size(), 250u);
  // ChunkSeries clips the straddling chunk.
  auto set = db.head.ChunkSeries(2505, 3000);
  EXPECT_EQ(Decode(*set, 2505, 3000).begin()->second.front().first, 2510);

  // Too old now: rejected per sample with a specific error; newer ones are fine.
  auto app = db.NewAppender();
  auto r = app->Append(0, old, 2504, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(r.status().message(), HasSubstr("older than the head's minimum time"));
  EXPECT_THAT(r.status().message(), HasSubstr("data before 2505 is already in an on-disk block"));
  ASSERT_TRUE(app->Append(0, old, 2505, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(db.head.Stats().num_series, 2u);
  EXPECT_EQ(ReadMap(db, {Eq("__name__", "old")}).size(), 1u);

  // Never lowered; truncating everything empties the head.
  db.head.SetMinValidTime(0);
  EXPECT_EQ(db.head.MinValidTime(), 2505);
  ts = db.head.Truncate(kMaxTime);
  EXPECT_EQ(ts.series_removed, 2u);
  EXPECT_EQ(db.head.Stats().min_time, kMaxTime);
  EXPECT_EQ(db.head.Stats().num_samples, 0u);
  EXPECT_EQ(db.head.Stats().num_chunks, 0u);
  EXPECT_EQ(db.head.postings().NumLabelPairs(), 0u);
}

TEST(HeadLifecycleTest, GcSparesPinnedSeriesAndCollectsFailedCommits) {
  HeadStorage db(SmallChunks());
  // A rolled-back appender and a commit whose WAL write fails both leave series behind.
  {
    auto app = db.NewAppender();
    ASSERT_TRUE(app->Append(0, Labels{{"__name__", "rolled_back"}}, 10, 1).ok());
    app->Rollback();
  }
  std::string tmpl = ::testing::TempDir() + "/gctest.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  base::FaultInjectionEnv fenv(base::Env::Default());
  {
    auto w = wal::Writer::Open(&fenv, tmpl + "/wal");
    ASSERT_TRUE(w.ok());
    db.head.SetWal(w->get());
    fenv.SetDiskFull(true);
    auto app = db.NewAppender();
    ASSERT_TRUE(app->Append(0, Labels{{"__name__", "failed"}}, 10, 1).ok());
    EXPECT_FALSE(app->Commit().ok());
    fenv.SetDiskFull(false);
    db.head.SetWal(nullptr);
  }
  (void)base::Env::Default()->RemoveDirRecursive(tmpl);
  EXPECT_EQ(db.head.NumSeriesInMemory(), 2u);
  EXPECT_EQ(db.head.Stats().num_series, 0u);

  // An appender holding a series with no samples yet: GC must leave it alone.
  auto pinned = db.NewAppender();
  auto ref = pinned->Append(0, Labels{{"__name__", "pinned"}}, 100, 1);
  ASSERT_TRUE(ref.ok());
  // And one that staged a sample the truncation makes too old: dropped at commit.
  auto late = db.NewAppender();
  ASSERT_TRUE(late->Append(0, Labels{{"__name__", "late"}}, 40, 1).ok());
  ASSERT_TRUE(late->Append(0, Labels{{"__name__", "late"}}, 60, 2).ok());

  TruncateStats ts = db.head.Truncate(50);
  EXPECT_EQ(ts.series_removed, 2u);  // rolled_back and failed
  EXPECT_EQ(db.head.NumSeriesInMemory(), 2u);
  EXPECT_TRUE(db.head.HasSeries(*ref));

  ASSERT_TRUE(pinned->Commit().ok());
  ASSERT_TRUE(late->Commit().ok());
  std::vector<CommitDrop> drops = late->DroppedAtCommit();
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(drops[0].metric, "late");
  EXPECT_EQ(drops[0].samples, 1);
  auto m = ReadMap(db, {Re("__name__", ".+")});
  EXPECT_THAT(m["pinned"], ElementsAre(std::make_pair(int64_t{100}, 1.0)));
  EXPECT_THAT(m["late"], ElementsAre(std::make_pair(int64_t{60}, 2.0)));
  EXPECT_EQ(m.size(), 2u);

  // Refs of collected series fall back to the labels (a new series, a new ref).
  auto app = db.NewAppender();
  auto again = app->Append(1, Labels{{"__name__", "rolled_back"}}, 200, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_GT(*again, *ref);
  ASSERT_TRUE(app->Commit().ok());
  // Once the appenders are done the series are no longer pinned.
  EXPECT_EQ(db.head.Truncate(1000).series_removed, 3u);
  EXPECT_EQ(db.head.NumSeriesInMemory(), 0u);
}

// Appenders create and abandon series while a truncator keeps cutting and queriers read: no
// crash, and every acknowledged sample at or above the final minimum time is there.
TEST(HeadLifecycleTest, ConcurrentAppendersTruncateAndQueriers) {
  HeadStorage db(SmallChunks());
  constexpr int kThreads = 2;
  constexpr int kCommits = 3000;
  std::atomic<int64_t> acked_max{0};
  std::atomic<bool> done{false};
  std::vector<std::map<std::string, Samples>> acked(kThreads);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int k = 0; k < kCommits; ++k) {
        const int64_t t = int64_t{k} * 100;
        auto app = db.NewAppender();
        std::vector<std::pair<std::string, double>> staged;
        for (int j = 0; j < 8; ++j) {
          // A new generation of series every 40 commits; old ones stop receiving samples.
          Labels l{{"__name__", "s"}, {"gen", std::to_string(k / 40)},
                   {"th", std::to_string(th)}, {"j", std::to_string(j)}};
          if (app->Append(0, l, t, k + j).ok()) staged.emplace_back(l.ToString(), k + j);
        }
        if (!app->Commit().ok() || !app->DroppedAtCommit().empty()) continue;
        for (auto& [name, v] : staged) acked[th][name].emplace_back(t, v);
        int64_t cur = acked_max.load();
        while (t > cur && !acked_max.compare_exchange_weak(cur, t)) {
        }
      }
    });
  }
  int64_t final_mint = kMinTime;
  std::thread truncator([&] {
    while (!done.load()) {
      const int64_t mint = acked_max.load() - 3000;
      db.head.Truncate(mint);
      final_mint = std::max(final_mint, mint);
      std::this_thread::yield();
    }
  });
  std::thread querier([&] {
    while (!done.load()) {
      auto q = db.NewQuerier(kMinTime, kMaxTime);
      auto set = q->Select(std::vector<labels::Matcher>{Eq("__name__", "s")});
      while (set->Next()) {
        auto it = set->At().Iterator();
        while (it->Next()) {
        }
      }
      (void)q->LabelValues("gen", {});
      auto cs = db.head.ChunkSeries(kMinTime, kMaxTime);
      while (cs->Next()) {
      }
      (void)db.head.MemoryBytes();
    }
  });
  for (auto& t : threads) t.join();
  done.store(true);
  truncator.join();
  querier.join();

  auto got = ReadMap(db, {Eq("__name__", "s")});
  size_t checked = 0;
  for (const auto& per_thread : acked) {
    for (const auto& [name, samples] : per_thread) {
      Samples want;
      for (const auto& s : samples) {
        if (s.first >= final_mint) want.push_back(s);
      }
      Samples have;
      for (const auto& s : got[name]) {
        if (s.first >= final_mint) have.push_back(s);
      }
      EXPECT_EQ(have, want) << name;
      checked += want.size();
    }
  }
  EXPECT_GT(checked, 0u);
  EXPECT_GT(final_mint, 100000);
  // Abandoned generations were collected.
  EXPECT_LT(db.head.NumSeriesInMemory(), size_t{kThreads} * 8 * (kCommits / 40));
}

}  // namespace
}  // namespace xscaler::storage::head
