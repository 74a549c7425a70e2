#include "storage/db/tsdb.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "base/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/db/db_test_util.h"
#include "storage/head/test_util.h"

namespace xscaler::storage {
namespace {

using labels::Labels;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using namespace xscaler::storage::testing;

// Flips bits of the byte in the middle of the file at `path`.
void FlipMiddleByte(const std::string& path, char mask = 0x5a) {
  auto data = base::Env::Default()->ReadFileToString(path);
  ASSERT_TRUE(data.ok()) << data.status();
  std::string d = *data;
  d[d.size() / 2] ^= mask;
  ASSERT_TRUE(base::Env::Default()->WriteStringToFileAtomic(path, d).ok());
}

// The block directory (name) in `dir` whose meta says it starts at `min_time`, or "".
std::string BlockStartingAt(const std::string& dir, int64_t min_time) {
  for (const auto& b : BlockDirs(dir)) {
    auto m = block::ReadMeta(base::Env::Default(), dir + "/" + b);
    if (m.ok() && m->min_time == min_time) return b;
  }
  return "";
}

// Flips a byte in the middle of the first chunks segment of `block_dir` (inside a page's
// payload: Open still succeeds, reading the page fails its CRC).
void CorruptChunks(const std::string& block_dir) { FlipMiddleByte(block_dir + "/chunks/000001"); }

class TsdbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir(std::string("tsdb_test_") +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Tsdb> Open(base::Env* env = nullptr) {
    TsdbOptions opts;
    opts.env = env;
    return OpenWith(opts);
  }
  std::unique_ptr<Tsdb> OpenWith(const TsdbOptions& opts) {
    auto db = Tsdb::Open(dir_, opts);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }
  // Opens with `o`, writes Gen(n, from, to) through `ref`, flushes it all into blocks and
  // closes: leaves the blocks a test then damages, compacts or reopens.
  void WriteFlushClose(const TsdbOptions& o, Reference& ref, int n, int64_t from, int64_t to);

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

// Media damage in a WAL segment that is not the last one costs the rest of that segment only:
// the acknowledged data in later segments is replayed and no segment is deleted.
TEST_F(TsdbTest, CorruptEarlierWalSegmentKeepsLaterSegments) {
  Labels before{{"__name__", "before"}};
  Labels after{{"__name__", "after"}};
  {
    TsdbOptions o;
    o.wal.segment_size = 4 << 10;
    o.wal.zstd_level = 0;  // uncompressed frames, so that the samples span several segments
    auto db = OpenWith(o);
    for (int i = 0; i < 40; ++i) AppendRange(*db, before, i * 50, (i + 1) * 50);
    AppendRange(*db, after, 0, 50);
    ASSERT_TRUE(db->Close().ok());
  }
  const std::string wal_dir = dir_ + "/wal";
  auto segs = wal::ListSegments(base::Env::Default(), wal_dir);
  ASSERT_TRUE(segs.ok());
  ASSERT_GE(segs->size(), 3u);
  ASSERT_NO_FATAL_FAILURE(FlipMiddleByte(wal::SegmentPath(wal_dir, segs->front()), 0x21));
  auto db = Open();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "after")})["after"], Range(0, 50));
  const auto got = ReadMap(*db, {Eq("__name__", "before")})["before"];
  EXPECT_LT(got.size(), 2000u) << "part of the damaged segment is lost";
  EXPECT_GT(got.size(), 1000u) << "later segments are replayed";
  auto now = wal::ListSegments(base::Env::Default(), wal_dir);
  ASSERT_TRUE(now.ok());
  for (uint64_t seg : *segs) {
    EXPECT_TRUE(std::find(now->begin(), now->end(), seg) != now->end()) << seg;
  }
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


// --- Blocks, compaction, retention ---

constexpr int64_t kH = kHourMs;
constexpr int64_t kStep = 60 * 1000;

Labels SeriesLabels(int i) {
  return Labels{{"__name__", "m"}, {"mod", std::to_string(i % 3)}, {"s", std::to_string(i)}};
}

// `n` series with a sample every kStep in [from, to).
std::vector<std::pair<Labels, Samples>> Gen(int n, int64_t from, int64_t to) {
  std::vector<std::pair<Labels, Samples>> out;
  for (int i = 0; i < n; ++i) {
    Samples s;
    for (int64_t t = from; t < to; t += kStep) s.emplace_back(t, t / 1000.0 + i);
    out.emplace_back(SeriesLabels(i), std::move(s));
  }
  return out;
}

// SmallOpts with compaction capped at the 1 h blocks it cuts: no merges, one block per hour.
TsdbOptions HourBlockOpts(base::Env* env = NoSyncEnv::Get()) {
  TsdbOptions o = SmallOpts(env);
  o.max_block_range_ms = kH;
  return o;
}

void TsdbTest::WriteFlushClose(const TsdbOptions& o, Reference& ref, int n, int64_t from,
                               int64_t to) {
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(ref.Write(*db, Gen(n, from, to)).ok());
  ASSERT_TRUE(db->Flush().ok()) << db->Stats().last_compaction_error;
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(TsdbTest, FlushWritesBlocksThatSurviveRestart) {
  Reference ref;
  {
    auto db = OpenWith(SmallOpts());
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(ref.Write(*db, Gen(10, 0, 5 * kH + 17 * kStep)).ok());
    ASSERT_TRUE(db->Flush().ok()) << db->Stats().last_compaction_error;
    TsdbStats st = db->Stats();
    EXPECT_GE(st.num_blocks, 1u);
    EXPECT_EQ(st.blocks_samples, ref.NumSamples());
    EXPECT_EQ(st.num_samples, 0u) << "the head should be empty after a flush";
    EXPECT_EQ(st.persisted_until, 5 * kH + 16 * kStep + 1);
    EXPECT_EQ(st.blocks_max_time, st.persisted_until);
    EXPECT_EQ(BlockDirs(dir_).size(), st.num_blocks);
    EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
    EXPECT_EQ(ReadMap(*db, {Eq("mod", "1")}, kH + 5, 3 * kH),
              ref.Expect(kH + 5, 3 * kH, [](const std::string& n) {
                return n.find("mod=\"1\"") != std::string::npos;
              }));
    // Older than what was flushed: too old, even for a new series.
    auto app = db->NewAppender();
    EXPECT_EQ(app->Append(0, Labels{{"__name__", "late"}}, 5 * kH, 1).status().code(),
              absl::StatusCode::kOutOfRange);
    app->Rollback();
    // The head keeps taking newer samples, which queries merge with the blocks.
    ASSERT_TRUE(ref.Write(*db, Gen(12, 6 * kH, 6 * kH + 10 * kStep)).ok());
    EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = OpenWith(SmallOpts());
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
  EXPECT_EQ(db->Stats().num_samples, 12u * 10) << "replay must skip what blocks hold";
  auto names = db->NewQuerier(kMinTime, kMaxTime)->LabelValues("s", {});
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 12u);
}

TEST_F(TsdbTest, CompactCutsOnlyRangesOlderThanOneAndAHalfBlocks) {
  auto db = OpenWith(SmallOpts());
  ASSERT_NE(db, nullptr);
  Reference ref;
  ASSERT_TRUE(ref.Write(*db, Gen(5, 0, 5 * kH + 30 * kStep)).ok());
  ASSERT_TRUE(db->Compact().ok()) << db->Stats().last_compaction_error;
  TsdbStats st = db->Stats();
  EXPECT_EQ(st.persisted_until, 4 * kH);
  EXPECT_EQ(st.head_cuts, 4u);
  EXPECT_EQ(st.blocks_samples + st.num_samples, ref.NumSamples());
  EXPECT_EQ(st.blocks_samples, 5u * 4 * 60);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
  // A second round has nothing to cut.
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(db->Stats().head_cuts, 4u);
  auto app = db->NewAppender();
  EXPECT_EQ(app->Append(0, Labels{{"__name__", "late"}}, 4 * kH - 1, 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(app->Append(0, Labels{{"__name__", "late"}}, 4 * kH, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  ref.Add(Labels{{"__name__", "late"}}, 4 * kH, 1);
  ASSERT_TRUE(db->Close().ok());
  db = OpenWith(SmallOpts());
  EXPECT_EQ(ReadMap(*db, {Re("__name__", ".+")}), ref.Expect());
}

TEST_F(TsdbTest, RetentionDropsWholeOldBlocks) {
  TsdbOptions o = HourBlockOpts();
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  Reference ref;
  // The last sample is at 10 h, so the newest (flushed) block ends at 10 h + 1 and
  // retention keeps blocks ending after 7 h + 1.
  ASSERT_TRUE(ref.Write(*db, Gen(4, 0, 10 * kH + kStep)).ok());
  ASSERT_TRUE(db->Flush().ok());
  EXPECT_EQ(db->Stats().num_blocks, 11u);
  db->SetRetention(3 * kH);
  ASSERT_TRUE(db->Compact().ok());
  TsdbStats st = db->Stats();
  EXPECT_EQ(st.blocks_deleted, 7u);
  EXPECT_EQ(st.num_blocks, 4u);
  EXPECT_EQ(st.blocks_min_time, 7 * kH);
  EXPECT_EQ(BlockDirs(dir_).size(), 4u) << "deleted block dirs must be removed";
  ref.DropBefore(7 * kH);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
  // Size cap: the oldest go first.
  const uint64_t one = db->Blocks().front()->SizeBytes();
  db->SetMaxBytes(db->BlocksSizeBytes() - one);
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(db->Stats().num_blocks, 3u);
  EXPECT_EQ(db->Blocks().front()->meta().min_time, 8 * kH);
  db->SetMaxBytes(0);
  const uint64_t oldest = db->Blocks().front()->SizeBytes();
  EXPECT_EQ(db->DeleteOldestBlock(), oldest);
  EXPECT_EQ(db->Stats().num_blocks, 2u);
  EXPECT_EQ(db->DeleteBlock("01JDQ0Z3N8V5W1K8Q3ZB7H2M4X").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(db->DeleteBlock(db->Blocks().front()->meta().ulid).ok());
  EXPECT_GT(db->DeleteOldestBlock(), 0u);
  EXPECT_EQ(db->DeleteOldestBlock(), 0u);
  EXPECT_TRUE(BlockDirs(dir_).empty());
  EXPECT_EQ(db->Stats().blocks_deleted, 11u);
}

// The head is read lazily (HeadQuerier's set snapshots series in Next), and the querier reads
// its block list right after selecting from the head. A flush that publishes its block after
// that must not truncate the head under the open set: it waits for the set
// (Head::WaitForReadersBelow), so the set still returns every sample of the range.
TEST_F(TsdbTest, FlushWaitsForHeadSetsOpenedBeforeItsBlock) {
  auto db = Open();
  ASSERT_NE(db, nullptr);
  const Labels l{{"__name__", "m"}, {"i", "1"}};
  AppendRange(*db, l, 0, 1000);
  auto q = db->NewQuerier(kMinTime, kMaxTime);
  auto set = q->Select(std::vector<labels::Matcher>{Eq("__name__", "m")});
  std::atomic<bool> flushed{false};
  std::thread flusher([&] {
    EXPECT_TRUE(db->Flush().ok()) << db->Stats().last_compaction_error;
    flushed = true;
  });
  // Give an (incorrect) unsynchronized flush every chance to truncate the head first.
  for (int i = 0; i < 40 && !flushed; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(flushed) << "the flush truncated the head while a set selected before it was open";
  std::map<std::string, Samples> got;
  while (set->Next()) {
    Samples s;
    for (auto it = set->At().Iterator(); it->Next();) s.push_back(it->At());
    got[set->At().Labels().ToString()] = s;
  }
  EXPECT_TRUE(set->Err().ok()) << set->Err();
  EXPECT_THAT(got, ElementsAre(Pair(l.ToString(), Range(0, 1000))));
  set.reset();
  q.reset();
  flusher.join();
  EXPECT_TRUE(flushed);
  EXPECT_EQ(db->Stats().num_blocks, 1u);
  EXPECT_THAT(ReadMap(*db, {Eq("__name__", "m")}), ElementsAre(Pair(l.ToString(), Range(0, 1000))));
}

TEST_F(TsdbTest, QuerierPinsBlocksAcrossRetentionAndCompaction) {
  TsdbOptions o = HourBlockOpts();
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  Reference ref;
  ASSERT_TRUE(ref.Write(*db, Gen(3, 0, 3 * kH)).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_EQ(BlockDirs(dir_).size(), 3u);
  // A querier binds the blocks when it selects (see QuerySeesARangeCutBetweenNewQuerierAndSelect);
  // the selected set pins them until it goes.
  auto q = db->NewQuerier(kMinTime, kMaxTime);
  auto set = q->Select(std::vector<labels::Matcher>{Eq("__name__", "m")});
  db->SetRetention(1);
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(db->Stats().num_blocks, 1u);
  EXPECT_EQ(BlockDirs(dir_).size(), 3u) << "pinned blocks must stay on disk";
  // The set selected before still reads every deleted block.
  std::map<std::string, Samples> got;
  while (set->Next()) {
    Samples s;
    auto it = set->At().Iterator();
    while (it->Next()) s.push_back(it->At());
    got[set->At().Labels().ToString()] = s;
  }
  EXPECT_TRUE(set->Err().ok()) << set->Err();
  EXPECT_EQ(got, ref.Expect());
  set.reset();
  EXPECT_EQ(BlockDirs(dir_).size(), 1u) << "unpinned deleted blocks must go";
  // A querier created before the deletion but selecting after it reads what is published now.
  EXPECT_EQ(SelectMap(*q, {Eq("__name__", "m")}), ref.Expect(2 * kH, kMaxTime));
}

TEST_F(TsdbTest, CompactionMergesBlocksAndPinsSources) {
  TsdbOptions o = HourBlockOpts();
  Reference ref;
  ASSERT_NO_FATAL_FAILURE(WriteFlushClose(o, ref, 6, 0, 9 * kH));
  ASSERT_EQ(BlockDirs(dir_).size(), 9u);
  o.max_block_range_ms = 0;  // 1 h, 3 h, 9 h, ... levels
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  auto q = db->NewQuerier(0, 2 * kH);
  ASSERT_TRUE(db->Compact().ok()) << db->Stats().last_compaction_error;
  TsdbStats st = db->Stats();
  EXPECT_GT(st.compactions, 0u);
  EXPECT_LT(st.num_blocks, 9u);
  EXPECT_EQ(st.blocks_samples, ref.NumSamples());
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
  EXPECT_EQ(ReadMap(*db, {Eq("s", "2")}, kH / 2, 7 * kH + 3),
            ref.Expect(kH / 2, 7 * kH + 3, [](const std::string& n) {
              return n.find("s=\"2\"") != std::string::npos;
            }));
  // The querier opened before still sees its (now deleted) sources.
  auto set = q->Select(std::vector<labels::Matcher>{Eq("__name__", "m")});
  size_t n = 0;
  while (set->Next()) ++n;
  EXPECT_TRUE(set->Err().ok());
  EXPECT_EQ(n, 6u);
  set.reset();
  q.reset();
  EXPECT_EQ(BlockDirs(dir_).size(), st.num_blocks);
  ASSERT_TRUE(db->Close().ok());
  db = OpenWith(o);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
}

TEST_F(TsdbTest, OpenRemovesSourcesOfFinishedCompactionsAndTmpDirs) {
  TsdbOptions o = HourBlockOpts();
  Reference ref;
  const std::string backup = dir_ + "_backup";
  std::filesystem::remove_all(backup);
  ASSERT_NO_FATAL_FAILURE(WriteFlushClose(o, ref, 4, 0, 3 * kH + kStep));
  std::vector<std::string> sources = BlockDirs(dir_);
  ASSERT_EQ(sources.size(), 4u);
  std::filesystem::create_directories(backup);
  for (const auto& b : sources) {
    std::filesystem::copy(dir_ + "/" + b, backup + "/" + b, std::filesystem::copy_options::recursive);
  }
  o.max_block_range_ms = 0;
  {
    auto db = OpenWith(o);
    ASSERT_TRUE(db->Compact().ok());
    ASSERT_EQ(db->Stats().num_blocks, 2u);  // [0, 3h) merged, the newest left alone
    ASSERT_TRUE(db->Close().ok());
  }
  // As if the process died after publishing the merged block, before deleting the sources,
  // and while writing another block.
  for (const auto& b : sources) {
    if (std::filesystem::exists(dir_ + "/" + b)) continue;
    std::filesystem::copy(backup + "/" + b, dir_ + "/" + b, std::filesystem::copy_options::recursive);
  }
  std::filesystem::create_directories(dir_ + "/01JDQ0Z3N8V5W1K8Q3ZB7H2M4X.tmp-for-creation/chunks");
  std::filesystem::remove_all(backup);
  ASSERT_EQ(BlockDirs(dir_).size(), 5u);
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Stats().num_blocks, 2u);
  EXPECT_EQ(db->Stats().blocks_samples, ref.NumSamples());
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
  db.reset();
  EXPECT_EQ(BlockDirs(dir_).size(), 2u);
  EXPECT_TRUE(EntriesEndingWith(dir_, ".tmp-for-creation").empty());
}

TEST_F(TsdbTest, CorruptBlockIsQuarantinedAndTheRestServed) {
  TsdbOptions o = HourBlockOpts();
  Reference ref;
  ASSERT_NO_FATAL_FAILURE(WriteFlushClose(o, ref, 4, 0, 3 * kH));
  std::vector<std::string> blocks = BlockDirs(dir_);
  ASSERT_EQ(blocks.size(), 3u);
  // The block holding [1h, 2h) gets a flipped byte in the middle of its index.
  for (const auto& b : blocks) {
    ASSERT_TRUE(block::ReadMeta(base::Env::Default(), dir_ + "/" + b).ok());
  }
  const std::string victim = BlockStartingAt(dir_, kH);
  ASSERT_FALSE(victim.empty());
  ASSERT_NO_FATAL_FAILURE(FlipMiddleByte(dir_ + "/" + victim + "/index"));
  // Read-only opens list it and move nothing.
  {
    TsdbOptions ro = o;
    ro.read_only = true;
    auto db = OpenWith(ro);
    ASSERT_NE(db, nullptr);
    ASSERT_EQ(db->bad_blocks().size(), 1u);
    EXPECT_EQ(db->bad_blocks()[0].error.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(db->bad_blocks()[0].error.message()), ::testing::HasSubstr("index"));
    EXPECT_TRUE(std::filesystem::exists(dir_ + "/" + victim));
  }
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Stats().num_blocks, 2u);
  EXPECT_EQ(db->Stats().quarantined_blocks, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/" + victim));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/quarantine/" + victim + "/index"));
  auto expect = ref.Expect();
  for (auto& [_, s] : expect) {
    std::erase_if(s, [](const auto& p) { return p.first >= kH && p.first < 2 * kH; });
  }
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), expect);
  // And it keeps working.
  ASSERT_TRUE(ref.Write(*db, Gen(1, 4 * kH, 4 * kH + kStep)).ok());
  ASSERT_TRUE(db->Compact().ok());
}

// Open checks only what is cheap; a flipped byte inside a chunk page is found by the start-up
// scrub, which quarantines the block and leaves the rest served.
TEST_F(TsdbTest, StartupScrubQuarantinesABlockWithACorruptChunkPage) {
  TsdbOptions o = HourBlockOpts();
  Reference ref;
  ASSERT_NO_FATAL_FAILURE(WriteFlushClose(o, ref, 2, 0, 3 * kH));
  const std::string victim = BlockStartingAt(dir_, kH);
  ASSERT_FALSE(victim.empty());
  ASSERT_NO_FATAL_FAILURE(CorruptChunks(dir_ + "/" + victim));
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Stats().num_blocks, 3u);  // Open does not read chunk pages
  db->ScrubOpenedBlocks();
  EXPECT_EQ(db->Stats().num_blocks, 2u);
  ASSERT_EQ(db->bad_blocks().size(), 1u);
  EXPECT_EQ(db->bad_blocks()[0].error.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(db->bad_blocks()[0].error.message()), ::testing::HasSubstr("chunks"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/quarantine/" + victim));
  auto expect = ref.Expect();
  for (auto& [_, s] : expect) {
    std::erase_if(s, [](const auto& p) { return p.first >= kH && p.first < 2 * kH; });
  }
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), expect);
  db->ScrubOpenedBlocks();  // once only
  EXPECT_EQ(db->bad_blocks().size(), 1u);
}

TEST_F(TsdbTest, BlocksWithBadMetaOrMissingFilesAreQuarantined) {
  TsdbOptions o = HourBlockOpts();
  Reference ref;
  ASSERT_NO_FATAL_FAILURE(WriteFlushClose(o, ref, 2, 0, 3 * kH));
  std::vector<std::string> blocks = BlockDirs(dir_);
  ASSERT_EQ(blocks.size(), 3u);
  // By min_time (ULIDs made within one millisecond do not sort by creation).
  std::sort(blocks.begin(), blocks.end(), [&](const std::string& a, const std::string& b) {
    return block::ReadMeta(base::Env::Default(), dir_ + "/" + a)->min_time <
           block::ReadMeta(base::Env::Default(), dir_ + "/" + b)->min_time;
  });
  std::filesystem::resize_file(dir_ + "/" + blocks[0] + "/meta.json", 10);
  std::filesystem::remove(dir_ + "/" + blocks[1] + "/index");
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(db->bad_blocks().size(), 2u);
  EXPECT_EQ(db->Stats().num_blocks, 1u);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/quarantine/" + blocks[0]));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/quarantine/" + blocks[1]));
  EXPECT_EQ(BlockDirs(dir_), std::vector<std::string>{blocks[2]});
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect(2 * kH, kMaxTime));
}

TEST_F(TsdbTest, ReadOnlyOpenWritesNothing) {
  Reference ref;
  auto rw = OpenWith(SmallOpts());
  ASSERT_NE(rw, nullptr);
  ASSERT_TRUE(ref.Write(*rw, Gen(3, 0, 2 * kH)).ok());
  ASSERT_TRUE(rw->Flush().ok());
  ASSERT_TRUE(ref.Write(*rw, Gen(3, 3 * kH, 3 * kH + 5 * kStep)).ok());
  // A second read-write open is refused while rw holds the lock.
  auto second = Tsdb::Open(dir_, SmallOpts());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  TsdbOptions ro = SmallOpts();
  ro.read_only = true;
  auto db = OpenWith(ro);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
  auto app = db->NewAppender();
  ASSERT_TRUE(app->Append(0, SeriesLabels(0), 10 * kH, 1).ok());
  EXPECT_EQ(app->Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(db->Compact().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(db->DeleteOldestBlock(), 0u);
  EXPECT_EQ(db->Stats().num_blocks, rw->Stats().num_blocks);
  EXPECT_TRUE(Tsdb::Open(dir_ + "_missing", ro).status().code() == absl::StatusCode::kNotFound);
}

TEST_F(TsdbTest, DiskFullDuringFlushChangesNothingAndRecovers) {
  base::FaultInjectionEnv env(NoSyncEnv::Get());
  auto db = OpenWith(SmallOpts(&env));
  ASSERT_NE(db, nullptr);
  Reference ref;
  ASSERT_TRUE(ref.Write(*db, Gen(5, 0, 4 * kH)).ok());
  env.SetDiskFull(true);
  absl::Status st = db->Flush();
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  TsdbStats s = db->Stats();
  EXPECT_EQ(s.num_blocks, 0u);
  EXPECT_EQ(s.compaction_failures, 1u);
  EXPECT_FALSE(s.last_compaction_error.empty());
  EXPECT_TRUE(BlockDirs(dir_).empty());
  EXPECT_TRUE(EntriesEndingWith(dir_, ".tmp-for-creation").empty());
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
  env.SetDiskFull(false);
  ASSERT_TRUE(db->Flush().ok()) << db->Stats().last_compaction_error;
  s = db->Stats();
  EXPECT_GT(s.num_blocks, 0u);
  EXPECT_TRUE(s.last_compaction_error.empty());
  EXPECT_EQ(s.blocks_samples, ref.NumSamples());
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
  ASSERT_TRUE(db->Close().ok());
  db = OpenWith(SmallOpts(&env));
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
}

TEST_F(TsdbTest, BackgroundCompactorCutsWhenTheHeadGrows) {
  TsdbOptions o = SmallOpts();
  o.background = true;
  o.compaction_interval_ms = 3600 * 1000;  // only the head-size trigger can fire in this test
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  Reference ref;
  ASSERT_TRUE(ref.Write(*db, Gen(3, 0, kH)).ok());
  EXPECT_EQ(db->Stats().head_cuts, 0u);
  ASSERT_TRUE(ref.Write(*db, Gen(3, kH, 3 * kH)).ok());  // head spans ~3 h > 1.5 h
  for (int i = 0; i < 1000 && db->Stats().head_cuts == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(db->Stats().head_cuts, 0u);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
  ASSERT_TRUE(db->Close().ok());
  EXPECT_EQ(db->Compact().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TsdbTest, RejectsBadOptions) {
  TsdbOptions o;
  o.block_range_ms = 0;
  EXPECT_EQ(Tsdb::Open(dir_, o).status().code(), absl::StatusCode::kInvalidArgument);
}

// storage.h: Select returns only series with at least one sample in range.
TEST_F(TsdbTest, SelectSkipsSeriesWithoutSamplesInRange) {
  auto db = OpenWith(SmallOpts());
  ASSERT_NE(db, nullptr);
  Labels l{{"__name__", "a"}, {"i", "1"}};
  auto app = db->NewAppender();
  // One chunk spanning [0, 50 min]; [10 min, 20 min] holds no sample of it.
  ASSERT_TRUE(app->Append(0, l, 0, 1).ok());
  ASSERT_TRUE(app->Append(0, l, 50 * kStep, 2).ok());
  ASSERT_TRUE(app->Commit().ok());
  // (The head querier itself still lists such a series, with no samples: see the report.)
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_EQ(db->Stats().num_blocks, 1u);
  auto q = db->Blocks()[0]->NewQuerier(10 * kStep, 20 * kStep);
  auto set = q->Select(std::vector<labels::Matcher>{Eq("__name__", "a")});
  EXPECT_FALSE(set->Next()) << "block querier";
  EXPECT_THAT(ReadAll(*db, {Eq("__name__", "a")}, 10 * kStep, 20 * kStep), IsEmpty()) << "db";
}

// Appends, queries and compaction rounds all at once: every acknowledged sample must end up
// stored exactly once, whatever the interleaving.
TEST_F(TsdbTest, ConcurrentAppendsQueriesAndCompactions) {
  auto db = OpenWith(SmallOpts());
  ASSERT_NE(db, nullptr);
  constexpr int kWriters = 4, kSeriesPerWriter = 5, kCommitsPerWriter = 600;
  std::atomic<int64_t> clock{0};
  std::atomic<bool> done{false};
  std::vector<Reference> refs(kWriters);
  std::vector<int> rejected(kWriters, 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kCommitsPerWriter; ++i) {
        // One sample per commit, so a sample dropped at commit is identified exactly.
        const int64_t t = clock.fetch_add(15 * 1000);
        Labels l{{"__name__", "c"}, {"w", std::to_string(w)},
                 {"s", std::to_string(i % kSeriesPerWriter)}};
        auto app = db->NewAppender();
        if (!app->Append(0, l, t, static_cast<double>(i)).ok()) {
          ++rejected[w];  // too old: a cut overtook this writer
          app->Rollback();
          continue;
        }
        absl::Status st = app->Commit();
        if (st.ok() && app->DroppedAtCommit().empty()) {
          refs[w].Add(l, t, static_cast<double>(i));
        } else {
          ++rejected[w];
        }
      }
    });
  }
  std::thread compactor([&] {
    while (!done.load()) {
      absl::Status st = db->Compact();
      EXPECT_TRUE(st.ok()) << st;
    }
  });
  std::thread reader([&] {
    while (!done.load()) {
      auto m = ReadMap(*db, {Eq("__name__", "c")}, clock.load() - 3 * kH, kMaxTime);
      for (const auto& [name, samples] : m) {
        for (size_t i = 1; i < samples.size(); ++i) {
          ASSERT_LT(samples[i - 1].first, samples[i].first) << name;
        }
      }
    }
  });
  for (auto& t : threads) t.join();
  done.store(true);
  compactor.join();
  reader.join();
  std::map<std::string, Samples> want;
  size_t total = 0;
  for (auto& r : refs) {
    for (auto& [name, samples] : r.Expect()) {
      total += samples.size();
      want[name] = samples;
    }
  }
  int rejected_total = 0;
  for (int r : rejected) rejected_total += r;
  EXPECT_LT(rejected_total, kWriters * kCommitsPerWriter / 10);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "c")}), want);
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_GT(db->Stats().head_cuts, 0u);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "c")}), want);
  ASSERT_TRUE(db->Flush().ok());
  EXPECT_EQ(db->Stats().blocks_samples, total) << "a sample is stored twice or lost";
  ASSERT_TRUE(db->Close().ok());
  db = OpenWith(SmallOpts());
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "c")}), want);
}

// A querier created before a cut and used after it: the cut published the range as a block and
// truncated it from the head in between, so binding the block list at creation (and the head
// at Select) would find the range in neither.
TEST_F(TsdbTest, QuerySeesARangeCutBetweenNewQuerierAndSelect) {
  auto db = OpenWith(SmallOpts());
  ASSERT_NE(db, nullptr);
  Reference ref;
  ASSERT_TRUE(ref.Write(*db, Gen(4, 0, 3 * kH)).ok());
  auto q = db->NewQuerier(kMinTime, kMaxTime);
  auto q2 = db->NewQuerier(0, kH);
  ASSERT_TRUE(db->Compact().ok()) << db->Stats().last_compaction_error;
  ASSERT_GT(db->Stats().head_cuts, 0u);
  EXPECT_EQ(SelectMap(*q, {Eq("__name__", "m")}), ref.Expect());
  auto values = q2->LabelValues("s", {});
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(values->size(), 4u);
  // The same after a flush that empties the head.
  auto q3 = db->NewQuerier(kMinTime, kMaxTime);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_EQ(db->Stats().num_samples, 0u);
  EXPECT_EQ(SelectMap(*q3, {Eq("__name__", "m")}), ref.Expect());
  auto names = q3->LabelNames(std::vector<labels::Matcher>{Eq("mod", "1")});
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("__name__", "mod", "s"));
  EXPECT_EQ(SelectMap(*q3, {Eq("__name__", "absent")}).size(), 0u);
  EXPECT_FALSE(q3->Select(std::vector<labels::Matcher>{Eq("x", "")})->Err().ok());
}

// Head::Truncate recomputes the head's min_time from scratch (kMaxTime while it scans); a
// query must not lose the head in that window.
TEST_F(TsdbTest, HeadStaysVisibleWhileItIsTruncated) {
  auto db = OpenWith(SmallOpts());
  ASSERT_NE(db, nullptr);
  Reference ref;
  std::vector<std::pair<Labels, Samples>> batch;
  for (int i = 0; i < 3000; ++i) {
    batch.push_back({Labels{{"__name__", "h"}, {"i", std::to_string(i)}}, {{2 * kH, 1.0}}});
  }
  batch.push_back({Labels{{"__name__", "old"}}, Range(0, 10)});
  ASSERT_TRUE(ref.Write(*db, batch).ok());
  ASSERT_TRUE(ref.Write(*db, {{Labels{{"__name__", "h"}, {"i", "0"}}, {{3 * kH, 2.0}}}}).ok());
  ASSERT_TRUE(db->Compact().ok());  // [0, 1h) is now a block, so queries also read blocks
  ASSERT_EQ(db->Stats().num_blocks, 1u);
  const auto want = ref.Expect(kH / 2, 4 * kH, [](const std::string& n) {
    return n.find("i=\"7\"") != std::string::npos;
  });
  ASSERT_EQ(want.size(), 1u);
  std::atomic<bool> done{false};
  std::atomic<int> truncations{0};
  std::thread truncator([&] {
    while (!done.load()) {
      db->head().Truncate(kH);
      ++truncations;
    }
  });
  int misses = 0;
  for (int i = 0; i < 300 || truncations.load() < 20; ++i) {
    if (ReadMap(*db, {Eq("__name__", "h"), Eq("i", "7")}, kH / 2, 4 * kH) != want) ++misses;
  }
  done.store(true);
  truncator.join();
  EXPECT_EQ(misses, 0) << "in " << truncations.load() << " truncations";
}

// A sample committed while a cut computes its range, below that range (here: a new series'
// first sample, older than everything in the head), must end up in a block, not be truncated.
TEST_F(TsdbTest, SampleCommittedBelowARangeBeingCutIsKept) {
  TsdbOptions o = SmallOpts();
  Reference ref;
  Tsdb* raw = nullptr;
  bool fired = false;
  const Labels late{{"__name__", "late"}};
  o.cut_hook_for_testing = [&](int64_t mint, int64_t maxt) {
    if (fired) return;
    fired = true;
    EXPECT_EQ(mint, kH);
    ASSERT_TRUE(ref.Write(*raw, {{late, {{kH / 2, 42.0}}}}).ok());
  };
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  raw = db.get();
  ASSERT_TRUE(ref.Write(*db, Gen(3, kH, 3 * kH + kStep)).ok());
  ASSERT_TRUE(db->Compact().ok()) << db->Stats().last_compaction_error;
  ASSERT_TRUE(fired);
  EXPECT_EQ(ReadMap(*db, {Re("__name__", ".+")}), ref.Expect());
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "late")}).size(), 1u);
  TsdbStats st = db->Stats();
  EXPECT_EQ(st.blocks_samples + st.num_samples, ref.NumSamples());
  ASSERT_TRUE(db->Close().ok());
  o.cut_hook_for_testing = nullptr;
  db = OpenWith(o);
  EXPECT_EQ(ReadMap(*db, {Re("__name__", ".+")}), ref.Expect());
}

TEST_F(TsdbTest, CorruptBlockFoundByCompactionIsQuarantinedAndCompactionGoesOn) {
  TsdbOptions o = HourBlockOpts();
  Reference ref;
  ASSERT_NO_FATAL_FAILURE(WriteFlushClose(o, ref, 6, 0, 9 * kH));
  const std::string victim = BlockStartingAt(dir_, kH);
  ASSERT_FALSE(victim.empty());
  ASSERT_NO_FATAL_FAILURE(CorruptChunks(dir_ + "/" + victim));
  o.max_block_range_ms = 0;  // 1 h, 3 h, 9 h levels: [0, 3h) gets merged first
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(db->Stats().num_blocks, 9u) << "the damage must be invisible to Open";
  absl::Status st = db->Compact();
  EXPECT_TRUE(st.ok()) << st;
  TsdbStats s = db->Stats();
  EXPECT_EQ(s.quarantined_blocks, 1u);
  EXPECT_EQ(s.compaction_failures, 0u);
  EXPECT_GT(s.compactions, 0u);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/quarantine/" + victim + "/chunks/000001"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/" + victim));
  auto expect = ref.Expect();
  for (auto& [_, samples] : expect) {
    std::erase_if(samples, [](const auto& p) { return p.first >= kH && p.first < 2 * kH; });
  }
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), expect);
  EXPECT_TRUE(db->Compact().ok());
  ASSERT_TRUE(db->Close().ok());
  db = OpenWith(o);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), expect);
}

// Fails every attempt to create a WAL checkpoint while `fail` is set.
class FailCheckpointEnv final : public base::FaultInjectionEnv {
 public:
  using FaultInjectionEnv::FaultInjectionEnv;
  std::atomic<bool> fail{true};
  absl::Status CreateDir(const std::string& dir) override {
    if (fail.load() && dir.find("/wal/checkpoint.") != std::string::npos) {
      return absl::UnavailableError("injected: cannot create " + dir);
    }
    return FaultInjectionEnv::CreateDir(dir);
  }
  absl::StatusOr<std::unique_ptr<base::WritableFile>> NewWritableFile(
      const std::string& path) override {
    if (fail.load() && path.find("/wal/checkpoint.") != std::string::npos) {
      return absl::UnavailableError("injected: cannot create " + path);
    }
    return FaultInjectionEnv::NewWritableFile(path);
  }
};

TEST_F(TsdbTest, FailedCheckpointDoesNotStopCompactionOrRetention) {
  FailCheckpointEnv env(NoSyncEnv::Get());
  TsdbOptions o = HourBlockOpts(&env);
  Reference ref;
  env.fail = false;
  ASSERT_NO_FATAL_FAILURE(WriteFlushClose(o, ref, 3, 0, 6 * kH));
  env.fail = true;
  o.max_block_range_ms = 9 * kH;  // 1 h, 3 h, 9 h levels whatever the retention
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(ref.Write(*db, Gen(3, 6 * kH, 9 * kH)).ok());  // a cut, hence a checkpoint
  db->SetRetention(4 * kH);
  absl::Status st = db->Compact();
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("checkpoint"));
  TsdbStats s = db->Stats();
  EXPECT_GT(s.head_cuts, 0u);
  EXPECT_GT(s.compactions, 0u) << "block compaction must run although the checkpoint failed";
  EXPECT_GT(s.blocks_deleted, 0u) << "retention must run although the checkpoint failed";
  EXPECT_EQ(s.checkpoints, 0u);
  env.fail = false;
  ASSERT_TRUE(db->Compact().ok()) << db->Stats().last_compaction_error;
  EXPECT_EQ(db->Stats().checkpoints, 1u) << "the checkpoint is retried";
  ref.DropBefore(db->Stats().blocks_min_time);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
}

// Persisted-until must not move back when the newest block goes, or a restart would accept
// samples for a range that was already cut (and whose WAL was checkpointed away).
TEST_F(TsdbTest, PersistedUntilSurvivesDeletingTheNewestBlock) {
  TsdbOptions o = HourBlockOpts();
  Reference ref;
  int64_t p = 0;
  {
    auto db = OpenWith(o);
    ASSERT_TRUE(ref.Write(*db, Gen(2, 0, 3 * kH)).ok());
    ASSERT_TRUE(db->Flush().ok());
    p = db->Stats().persisted_until;
    ASSERT_EQ(p, 3 * kH - kStep + 1);
    auto blocks = db->Blocks();
    ASSERT_TRUE(db->DeleteBlock(blocks.back()->meta().ulid).ok());
    EXPECT_EQ(db->Stats().persisted_until, p);
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Stats().persisted_until, p);
  EXPECT_EQ(db->Stats().blocks_max_time, 2 * kH);
  auto app = db->NewAppender();
  EXPECT_EQ(app->Append(0, SeriesLabels(0), p - 1, 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(app->Append(0, SeriesLabels(0), p, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  // An unreadable file is ignored (the blocks still give a lower bound).
  ASSERT_TRUE(
      base::Env::Default()->WriteStringToFileAtomic(dir_ + "/persisted_until", "junk").ok());
  db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Stats().persisted_until, 2 * kH) << "only the blocks' bound is left";
}

// meta.json "parents" only vouch for blocks that can be parents: a lower level, inside the
// child's range, and not the child itself.
TEST_F(TsdbTest, OpenIgnoresImpossibleParents) {
  TsdbOptions o = HourBlockOpts();
  Reference ref;
  ASSERT_NO_FATAL_FAILURE(WriteFlushClose(o, ref, 2, 0, 3 * kH));
  const std::string b0 = BlockStartingAt(dir_, 0), b1 = BlockStartingAt(dir_, kH),
                    b2 = BlockStartingAt(dir_, 2 * kH);
  ASSERT_FALSE(b0.empty() || b1.empty() || b2.empty());
  // b1 names itself and its neighbours (same level, outside its range); b2 claims level 2
  // but its parent b0 lies outside its range.
  auto m1 = block::ReadMeta(base::Env::Default(), dir_ + "/" + b1);
  ASSERT_TRUE(m1.ok());
  m1->parents = {b0, b1, b2};
  ASSERT_TRUE(base::Env::Default()
                  ->WriteStringToFileAtomic(dir_ + "/" + b1 + "/meta.json", block::EncodeMeta(*m1))
                  .ok());
  auto m2 = block::ReadMeta(base::Env::Default(), dir_ + "/" + b2);
  ASSERT_TRUE(m2.ok());
  m2->level = 2;
  m2->parents = {b0};
  ASSERT_TRUE(base::Env::Default()
                  ->WriteStringToFileAtomic(dir_ + "/" + b2 + "/meta.json", block::EncodeMeta(*m2))
                  .ok());
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Stats().num_blocks, 3u);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "m")}), ref.Expect());
  db.reset();
  EXPECT_EQ(BlockDirs(dir_).size(), 3u);
}

TEST_F(TsdbTest, OooWindowIsWiredAndChangesLive) {
  TsdbOptions o = SmallOpts();
  o.ooo_window_ms = 10 * kStep;
  auto db = OpenWith(o);
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(std::filesystem::is_directory(dir_ + "/chunks_head"));
  const Labels l{{"__name__", "o"}};
  Reference ref;
  ASSERT_TRUE(ref.Write(*db, {{l, {{20 * kStep, 1.0}}}}).ok());
  auto app = db->NewAppender();
  EXPECT_TRUE(app->Append(0, l, 15 * kStep, 2.0).ok());
  ASSERT_TRUE(app->Commit().ok());
  ref.Add(l, 15 * kStep, 2.0);
  db->SetOooWindow(0);
  app = db->NewAppender();
  EXPECT_EQ(app->Append(0, l, 16 * kStep, 3.0).status().code(), absl::StatusCode::kOutOfRange);
  app->Rollback();
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "o")}), ref.Expect());
  ASSERT_TRUE(db->Close().ok());
  db = OpenWith(o);
  EXPECT_EQ(ReadMap(*db, {Eq("__name__", "o")}), ref.Expect());
}

}  // namespace
}  // namespace xscaler::storage

namespace xscaler::storage {
namespace {

// Two databases sharing a one-slot limiter: a round of the second waits while the first holds
// the slot, and runs once it is released.
TEST(CompactionLimiterTest, RoundsWaitForAFreeSlot) {
  auto limiter = std::make_shared<CompactionLimiter>(1);
  EXPECT_EQ(limiter->free_slots(), 1);
  std::atomic<bool> ran{false};
  std::thread waiter;
  {
    CompactionLimiter::Slot held(limiter.get());
    EXPECT_EQ(limiter->free_slots(), 0);
    waiter = std::thread([&] {
      CompactionLimiter::Slot s(limiter.get());
      ran = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(ran.load());  // cannot have run: the only slot is held
  }
  waiter.join();
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(limiter->free_slots(), 1);
  CompactionLimiter::Slot unlimited(nullptr);  // no limiter: never waits
}

}  // namespace
}  // namespace xscaler::storage
