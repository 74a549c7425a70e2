#include "storage/db/tsdb.h"

#include <atomic>
#include <filesystem>
#include <thread>

#include "base/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/head/test_util.h"

namespace xscaler::storage {
namespace {

using labels::Labels;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using namespace xscaler::storage::testing;

class TsdbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           (std::string("tsdb_test_") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Tsdb> Open(base::Env* env = nullptr) {
    TsdbOptions opts;
    opts.env = env;
    auto db = Tsdb::Open(dir_, opts);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  static void AppendRange(Storage& db, const Labels& l, int64_t from, int64_t to) {
    auto app = db.NewAppender();
    for (int64_t t = from; t < to; ++t) ASSERT_TRUE(app->Append(0, l, t, t * 0.5).ok());
    ASSERT_TRUE(app->Commit().ok());
  }

  std::string dir_;
};

Samples Range(int64_t from, int64_t to) {
  Samples s;
  for (int64_t t = from; t < to; ++t) s.emplace_back(t, t * 0.5);
  return s;
}

TEST_F(TsdbTest, RestartReplaysEverything) {
  Labels a{{"__name__", "a"}, {"job", "x"}};
  Labels b{{"__name__", "b"}};
  SeriesRef ref_a;
  {
    auto db = Open();
    ASSERT_NE(db, nullptr);
    AppendRange(*db, a, 0, 500);
    AppendRange(*db, b, 10, 20);
    auto app = db->NewAppender();
    ref_a = *app->Append(0, a, 500, 250);
    ASSERT_TRUE(app->Append(0, b, 20, StaleNaN()).ok());
    app->UpdateMetadata("a", {"gauge", "seconds", "A gauge."});
    ASSERT_TRUE(app->Commit().ok());
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = Open();
  ASSERT_NE(db, nullptr);
  auto m = ReadMap(*db, {Re("__name__", "a|b")});
  EXPECT_EQ(m["a{job=\"x\"}"], Range(0, 501));
  ASSERT_EQ(m["b"].size(), 11u);
  EXPECT_TRUE(IsStaleNaN(m["b"].back().second));
  EXPECT_EQ(db->Metadata()["a"], (MetricMetadata{"gauge", "seconds", "A gauge."}));
  EXPECT_EQ(db->replay_stats().samples, 512u);
  EXPECT_EQ(db->Stats().num_series, 2u);
  // Refs survive the restart, and new series get fresh ones.
  auto app = db->NewAppender();
  EXPECT_EQ(*app->Append(0, a, 501, 1), ref_a);
  auto ref_c = app->Append(0, Labels{{"__name__", "c"}}, 1, 1);
  ASSERT_TRUE(ref_c.ok());
  EXPECT_NE(*ref_c, ref_a);
  // The replayed newest sample still guards ordering.
  EXPECT_EQ(app->Append(0, a, 400, 1).status().code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(app->Commit().ok());
  ASSERT_TRUE(db->Close().ok());
  db = Open();
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "c")}).size(), 1u);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "a")}).begin()->second.size(), 502u);
}

TEST_F(TsdbTest, PowerLossKeepsCommittedOnly) {
  base::FaultInjectionEnv env(base::Env::Default());
  Labels l{{"__name__", "m"}};
  {
    auto db = Open(&env);
    ASSERT_NE(db, nullptr);
    AppendRange(*db, l, 0, 100);
    AppendRange(*db, Labels{{"__name__", "n"}}, 0, 3);
    auto pending = db->NewAppender();  // staged, never committed
    ASSERT_TRUE(pending->Append(0, l, 100, 1).ok());
    ASSERT_TRUE(pending->Append(0, Labels{{"__name__", "never"}}, 1, 1).ok());
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    // The "process" is dead: nothing it does from now on reaches the disk.
    env.FailNth(base::FaultOp::kAppend, 1, absl::UnavailableError("crashed"), /*sticky=*/true);
    env.FailNth(base::FaultOp::kSync, 1, absl::UnavailableError("crashed"), /*sticky=*/true);
    env.FailNth(base::FaultOp::kCreate, 1, absl::UnavailableError("crashed"), /*sticky=*/true);
    env.FailNth(base::FaultOp::kTruncate, 1, absl::UnavailableError("crashed"), true);
    EXPECT_FALSE(pending->Commit().ok());
  }
  env.ClearFaults();
  auto db = Open(&env);
  ASSERT_NE(db, nullptr);
  auto m = ReadMap(*db, {Re("__name__", ".+")});
  EXPECT_EQ(m["m"], Range(0, 100));
  EXPECT_EQ(m["n"], Range(0, 3));
  EXPECT_EQ(m.count("never"), 0u);
  // And the database keeps working.
  AppendRange(*db, l, 100, 110);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")})["m"], Range(0, 110));
}

TEST_F(TsdbTest, FailedWalWriteIsNotVisibleAndRecovers) {
  base::FaultInjectionEnv env(base::Env::Default());
  auto db = Open(&env);
  ASSERT_NE(db, nullptr);
  Labels l{{"__name__", "m"}};
  AppendRange(*db, l, 0, 10);
  env.SetDiskFull(true);
  auto app = db->NewAppender();
  ASSERT_TRUE(app->Append(0, l, 10, 5).ok());
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "new_series"}}, 10, 5).ok());
  absl::Status st = app->Commit();
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")})["m"], Range(0, 10));
  EXPECT_THAT(ReadAll(*db, {Eq("__name__", "new_series")}), IsEmpty());
  env.SetDiskFull(false);
  // The same timestamp is accepted again: the failed sample never reached the head.
  auto app2 = db->NewAppender();
  ASSERT_TRUE(app2->Append(0, l, 10, 7).ok());
  ASSERT_TRUE(app2->Append(0, Labels{{"__name__", "new_series"}}, 10, 5).ok());
  ASSERT_TRUE(app2->Commit().ok());
  ASSERT_TRUE(db->Close().ok());
  db = Open(&env);
  auto m = ReadMap(*db, {Re("__name__", ".+")});
  EXPECT_THAT(m["m"].back(), Pair(10, 7.0));
  EXPECT_EQ(m["new_series"].size(), 1u);  // its series record was written with app2's batch
}

TEST_F(TsdbTest, CorruptTailIsRepaired) {
  Labels l{{"__name__", "m"}};
  {
    auto db = Open();
    AppendRange(*db, l, 0, 50);
    ASSERT_TRUE(db->Close().ok());
  }
  // Garbage after the last frame, as a torn write would leave.
  auto segs = wal::ListSegments(base::Env::Default(), dir_ + "/wal");
  ASSERT_TRUE(segs.ok());
  ASSERT_FALSE(segs->empty());
  {
    auto f = base::Env::Default()->NewAppendableFile(wal::SegmentPath(dir_ + "/wal", segs->back()));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(std::string("\x01\xff\x00\x00\x00garbage", 12)).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  {
    auto db = Open();
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")})["m"], Range(0, 50));
    AppendRange(*db, l, 50, 60);
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = Open();
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")})["m"], Range(0, 60));
}

TEST_F(TsdbTest, ReplayMatchesLiveHeadAfterRaces) {
  std::map<std::string, Samples> before;
  uint64_t dropped = 0;
  {
    auto db = Open();
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w) {
      threads.emplace_back([&, w] {
        for (int i = 0; i < 100; ++i) {
          auto app = db->NewAppender();
          bool any = false;
          for (int s = 0; s < 3; ++s) {
            Labels l{{"__name__", "r"}, {"s", std::to_string(s)}};
            any |= app->Append(0, l, i * 4 + ((w + s) % 4), w).ok();
          }
          if (any) {
            ASSERT_TRUE(app->Commit().ok());
          } else {
            app->Rollback();
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    before = ReadMap(*db, {Eq("__name__", "r")});
    dropped = db->Stats().dropped_samples;
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = Open();
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "r")}), before);
  EXPECT_EQ(db->replay_stats().dropped_samples, dropped);
}

TEST_F(TsdbTest, ConcurrentCommitsAllDurable) {
  constexpr int kThreads = 4;
  constexpr int kCommits = 50;
  {
    auto db = Open();
    std::vector<std::thread> threads;
    for (int w = 0; w < kThreads; ++w) {
      threads.emplace_back([&, w] {
        for (int i = 0; i < kCommits; ++i) {
          auto app = db->NewAppender();
          for (int s = 0; s < 20; ++s) {
            Labels l{{"__name__", "c"}, {"w", std::to_string(w)}, {"s", std::to_string(s)}};
            ASSERT_TRUE(app->Append(0, l, i, i).ok());
          }
          ASSERT_TRUE(app->Commit().ok());
        }
      });
    }
    for (auto& t : threads) t.join();
  }  // destructor closes
  auto db = Open();
  auto m = ReadMap(*db, {Eq("__name__", "c")});
  ASSERT_EQ(m.size(), static_cast<size_t>(kThreads * 20));
  for (auto& [name, s] : m) EXPECT_EQ(s.size(), static_cast<size_t>(kCommits)) << name;
}

TEST_F(TsdbTest, CommitAfterCloseFails) {
  auto db = Open();
  ASSERT_TRUE(db->Close().ok());
  auto app = db->NewAppender();
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "m"}}, 1, 1).ok());
  EXPECT_FALSE(app->Commit().ok());
  EXPECT_THAT(ReadAll(*db, {Eq("__name__", "m")}), IsEmpty());
}

}  // namespace
}  // namespace xscaler::storage
