// Crash consistency of a compaction round: for every operation kind the round performs
// (append, sync, rename, create, remove, truncate) and every N, the Nth such operation fails
// (ENOSPC). The database must keep serving exactly the acknowledged samples; then the machine
// "loses power" (unsynced data dropped, the old process can do nothing more), the database is
// reopened on a clean env, and again every acknowledged sample must be present exactly once:
// equal query results, and after a final flush the blocks must hold each sample once.
#include <filesystem>

#include "base/fault_env.h"
#include "gtest/gtest.h"
#include "storage/db/db_test_util.h"
#include "storage/db/tsdb.h"

namespace xscaler::storage {
namespace {

using labels::Labels;
using namespace xscaler::storage::testing;
namespace fs = std::filesystem;

constexpr int64_t kH = kHourMs;

std::vector<std::pair<Labels, Samples>> Gen(int n, int64_t from, int64_t to) {
  std::vector<std::pair<Labels, Samples>> out;
  for (int i = 0; i < n; ++i) {
    Samples s;
    for (int64_t t = from + i * 1000; t < to; t += 5 * 60 * 1000) s.emplace_back(t, t % 977 + i);
    out.emplace_back(Labels{{"__name__", "c"}, {"s", std::to_string(i)}}, std::move(s));
  }
  return out;
}

class DbCrashTest : public ::testing::Test {
 protected:
  // A data dir with level-1 blocks [0,1h) [1h,2h) [2h,3h) and 3h..8h in the head/WAL, so one
  // Compact round cuts four ranges, checkpoints the WAL and merges blocks twice.
  static void SetUpTestSuite() {
    template_ = TestDir("db_crash_template");
    fs::remove_all(template_);
    ref_ = new Reference;
    auto db = Tsdb::Open(template_, SmallOpts());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(ref_->Write(**db, Gen(6, 0, 4 * kH)).ok());
    ASSERT_TRUE((*db)->Compact().ok());
    ASSERT_EQ((*db)->Stats().num_blocks, 3u);
    ASSERT_TRUE(ref_->Write(**db, Gen(8, 4 * kH, 8 * kH)).ok());
    ASSERT_TRUE((*db)->Close().ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(template_);
    delete ref_;
  }
  void SetUp() override {
    dir_ = TestDir("db_crash_test");
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void Check(Tsdb& db, const std::string& when) {
    ASSERT_EQ(ReadMap(db, {Eq("__name__", "c")}), ref_->Expect()) << when;
    ASSERT_EQ(NonEmpty(ReadMap(db, {Eq("s", "3")}, 2 * kH + 1, 6 * kH)),
              ref_->Expect(2 * kH + 1, 6 * kH,
                           [](const std::string& n) { return n == "c{s=\"3\"}"; }))
        << when;
  }

  // Runs one faulted round; returns whether the fault fired (false: N is past the last op).
  bool RunOne(base::FaultOp op, int n, bool sticky) {
    SCOPED_TRACE(::testing::Message() << "op " << static_cast<int>(op) << " n " << n
                                      << (sticky ? " sticky" : ""));
    fs::remove_all(dir_);
    fs::copy(template_, dir_, fs::copy_options::recursive);
    fs::remove(fs::path(dir_) / "LOCK");
    base::FaultInjectionEnv env(NoSyncEnv::Get());
    auto db = Tsdb::Open(dir_, SmallOpts(&env));
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return false;
    const int64_t before = env.Count(op);
    env.FailNth(op, n, absl::ResourceExhaustedError("injected: no space left on device"), sticky);
    absl::Status st = (*db)->Compact();
    const bool fired = env.Count(op) - before >= n;
    Check(**db, "after the faulted round: " + st.ToString());

    // Power loss: only synced bytes survive, the old process writes nothing more.
    EXPECT_TRUE(env.DropUnsyncedData().ok());
    for (int k = 0; k < base::kNumFaultOps; ++k) {
      if (static_cast<base::FaultOp>(k) == base::FaultOp::kRead) continue;
      env.FailNth(static_cast<base::FaultOp>(k), 1, absl::UnavailableError("crashed"), true);
    }
    db->reset();
    env.ClearFaults();

    auto db2 = Tsdb::Open(dir_, SmallOpts(&env));
    EXPECT_TRUE(db2.ok()) << db2.status();
    if (!db2.ok()) return false;
    Check(**db2, "after reopening");
    EXPECT_TRUE((*db2)->bad_blocks().empty()) << (*db2)->bad_blocks()[0].error;
    absl::Status again = (*db2)->Compact();
    EXPECT_TRUE(again.ok()) << again;
    Check(**db2, "after a clean round");
    EXPECT_TRUE((*db2)->Flush().ok());
    Check(**db2, "after flushing");
    TsdbStats s = (*db2)->Stats();
    EXPECT_EQ(s.num_samples, 0u);
    EXPECT_EQ(s.blocks_samples, ref_->NumSamples()) << "a sample is stored twice or lost";
    EXPECT_TRUE(EntriesEndingWith(dir_, ".tmp-for-creation").empty());
    EXPECT_TRUE((*db2)->Close().ok());
    db2 = Tsdb::Open(dir_, SmallOpts(&env));
    EXPECT_TRUE(db2.ok());
    if (db2.ok()) Check(**db2, "after the last restart");
    return fired;
  }

  // Every N from 1 until N is past the round's last operation of kind `op`.
  void Run(base::FaultOp op, bool sticky) {
    int n = 1;
    for (; n < 500; ++n) {
      if (!RunOne(op, n, sticky) || HasFailure()) break;
    }
    EXPECT_GT(n, 1) << "the round never performed this operation";
    std::cerr << "op " << static_cast<int>(op) << (sticky ? " sticky" : "") << ": " << n - 1
              << " injection points\n";
  }

  static std::string template_;
  static Reference* ref_;
  std::string dir_;
};

std::string DbCrashTest::template_;
Reference* DbCrashTest::ref_ = nullptr;

TEST_F(DbCrashTest, FailEveryAppend) { Run(base::FaultOp::kAppend, false); }
TEST_F(DbCrashTest, FailEverySync) { Run(base::FaultOp::kSync, false); }
TEST_F(DbCrashTest, FailEveryRename) { Run(base::FaultOp::kRename, false); }
TEST_F(DbCrashTest, FailEveryCreate) { Run(base::FaultOp::kCreate, false); }
TEST_F(DbCrashTest, FailEveryRemove) { Run(base::FaultOp::kRemove, false); }
TEST_F(DbCrashTest, DiskStaysFullFromEveryAppend) { Run(base::FaultOp::kAppend, true); }
TEST_F(DbCrashTest, SyncFailsForeverFromEverySync) { Run(base::FaultOp::kSync, true); }

}  // namespace
}  // namespace xscaler::storage
