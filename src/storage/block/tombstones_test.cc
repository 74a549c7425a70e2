#include "storage/block/tombstones.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <random>

#include "base/fault_env.h"
#include "storage/block/block.h"
#include "storage/block/test_util.h"
#include "storage/chunk/xor.h"

namespace xscaler::storage::block {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Samples;
using testing::SeriesMap;

constexpr int64_t kT0 = 1732500000000;
constexpr int64_t kRange = 2 * 3600 * 1000;

TEST(IntervalsTest, AddMergesOverlappingAndAdjacent) {
  Intervals ivs;
  AddInterval(&ivs, {10, 20});
  AddInterval(&ivs, {30, 40});
  EXPECT_THAT(ivs, ElementsAre(Interval{10, 20}, Interval{30, 40}));
  AddInterval(&ivs, {21, 25});  // adjacent to the first
  EXPECT_THAT(ivs, ElementsAre(Interval{10, 25}, Interval{30, 40}));
  AddInterval(&ivs, {0, 5});
  AddInterval(&ivs, {24, 31});  // bridges two
  EXPECT_THAT(ivs, ElementsAre(Interval{0, 5}, Interval{10, 40}));
  AddInterval(&ivs, {kMinTime, kMaxTime});
  EXPECT_THAT(ivs, ElementsAre(Interval{kMinTime, kMaxTime}));
  EXPECT_TRUE(IsDeleted(ivs, 0));
  Intervals two = {{0, 5}, {10, 40}};
  EXPECT_TRUE(IsDeleted(two, 5));
  EXPECT_FALSE(IsDeleted(two, 6));
  EXPECT_TRUE(IsDeleted(two, 10));
  EXPECT_FALSE(IsDeleted(two, 41));
  EXPECT_FALSE(IsDeleted(two, -1));
  EXPECT_TRUE(CoversRange(two, 11, 39));
  EXPECT_FALSE(CoversRange(two, 4, 11));
}

TEST(TombstonesFileTest, RoundTripAndCorruption) {
  Tombstones t;
  t[3] = {{-5, 10}, {100, 200}};
  t[70000] = {{kMinTime, kMaxTime}};
  std::string enc = EncodeTombstones(t);
  auto back = DecodeTombstones(enc, "tombstones");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, t);
  EXPECT_TRUE(DecodeTombstones(EncodeTombstones({}), "x")->empty());
  for (size_t i = 0; i < enc.size(); ++i) {
    std::string bad = enc;
    bad[i] ^= 0x10;
    auto r = DecodeTombstones(bad, "tombstones");
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << i;
    EXPECT_THAT(r.status().message(), HasSubstr("tombstones offset"));
  }
  EXPECT_FALSE(DecodeTombstones(enc.substr(0, enc.size() - 1), "t").ok());
}

class DeleteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string base = env_->IsDirectory("/dev/shm") ? "/dev/shm" : ::testing::TempDir();
    std::string tmpl = base::JoinPath(base, "tombstones_test.XXXXXX");
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    data_ = testing::RealisticSeries(3, 480, kT0, 11);
    testing::MapChunkSeriesSet set(data_);
    BlockMeta m;
    m.min_time = kT0 - 100;
    m.max_time = kT0 + kRange;
    auto meta = WriteBlock(env_, dir_, set, m);
    ASSERT_TRUE(meta.ok()) << meta.status();
    block_dir_ = base::JoinPath(dir_, meta->ulid);
    Reopen();
  }
  void TearDown() override {
    block_.reset();
    (void)env_->RemoveDirRecursive(dir_);
  }
  void Reopen(base::Env* env = nullptr) {
    block_.reset();
    auto b = Block::Open(env ? env : env_, block_dir_);
    ASSERT_TRUE(b.ok()) << b.status();
    block_ = *b;
  }

  static bool Matches(const labels::Labels& l, std::span<const labels::Matcher> ms) {
    for (const auto& m : ms) {
      if (!m.Matches(l.Get(m.name()))) return false;
    }
    return true;
  }

  // The model: data_ with the deletion applied.
  void ApplyToModel(std::span<const labels::Matcher> ms, int64_t mint, int64_t maxt) {
    for (auto it = data_.begin(); it != data_.end();) {
      if (Matches(it->first, ms)) {
        std::erase_if(it->second, [&](const auto& p) { return p.first >= mint && p.first <= maxt; });
      }
      it = it->second.empty() ? data_.erase(it) : std::next(it);
    }
  }

  // Queries everything through a querier and through ChunkSeries; both must equal the model.
  void ExpectModel() {
    SeriesMap got;
    auto q = block_->NewQuerier(kMinTime, kMaxTime);
    auto all = std::vector<labels::Matcher>{
        *labels::Matcher::Create(labels::MatchType::kRegexMatch, "__name__", ".+")};
    auto set = q->Select(all);
    while (set->Next()) {
      Samples s;
      auto it = set->At().Iterator();
      while (it->Next()) s.push_back(it->At());
      EXPECT_FALSE(s.empty()) << set->At().Labels().ToString();
      got[set->At().Labels()] = std::move(s);
    }
    ASSERT_TRUE(set->Err().ok());
    EXPECT_TRUE(got == data_);

    SeriesMap from_chunks;
    auto cs = block_->ChunkSeries();
    while (cs->Next()) {
      Samples s;
      for (const auto& c : cs->Chunks()) {
        chunk::XorDecoder d(c.bytes);
        bool first = true;
        while (d.Next()) {
          if (first) {
            EXPECT_EQ(d.t(), c.min_t);
          }
          first = false;
          s.emplace_back(d.t(), d.v());
        }
        EXPECT_EQ(s.back().first, c.max_t);
      }
      from_chunks[cs->Labels()] = std::move(s);
    }
    ASSERT_TRUE(cs->Err().ok());
    EXPECT_TRUE(from_chunks == data_);
  }

  base::Env* env_ = base::Env::Default();
  std::string dir_, block_dir_;
  SeriesMap data_;
  std::shared_ptr<Block> block_;
};

TEST_F(DeleteTest, QueriersAndChunkSeriesSkipDeletedSamples) {
  std::mt19937_64 rng(5);
  std::vector<std::vector<labels::Matcher>> sels = {
      {*labels::Matcher::Create(labels::MatchType::kEqual, "instance", "host-1:9100")},
      {*labels::Matcher::Create(labels::MatchType::kEqual, "__name__", "http_requests_total")},
      {*labels::Matcher::Create(labels::MatchType::kRegexMatch, "le", "0.0.*")},
      {*labels::Matcher::Create(labels::MatchType::kEqual, "sensor", "2")},
  };
  for (int round = 0; round < 8; ++round) {
    const auto& sel = sels[round % sels.size()];
    int64_t mint = kT0 + static_cast<int64_t>(rng() % kRange);
    int64_t maxt = mint + static_cast<int64_t>(rng() % (kRange / 4));
    if (round == 3) maxt = kMaxTime;  // deletes whole series
    ASSERT_TRUE(block_->Delete(sel, mint, maxt).ok());
    ApplyToModel(sel, mint, maxt);
    ExpectModel();
  }
  // Tombstones survive a reopen.
  Reopen();
  ExpectModel();
  EXPECT_TRUE(env_->FileExists(base::JoinPath(block_dir_, "tombstones")));
  EXPECT_TRUE(block_->Verify().ok());
}

TEST_F(DeleteTest, QuerierKeepsItsSnapshot) {
  auto q = block_->NewQuerier(kMinTime, kMaxTime);
  SeriesMap before = data_;
  std::vector<labels::Matcher> sel = {
      *labels::Matcher::Create(labels::MatchType::kEqual, "job", "node")};
  ASSERT_TRUE(block_->Delete(sel, kMinTime, kMaxTime).ok());
  auto set = q->Select(sel);
  size_t n = 0;
  while (set->Next()) ++n;
  EXPECT_EQ(n, before.size());
  EXPECT_FALSE(block_->NewQuerier(kMinTime, kMaxTime)->Select(sel)->Next());
}

TEST_F(DeleteTest, FailedDeleteChangesNothing) {
  std::vector<labels::Matcher> sel = {
      *labels::Matcher::Create(labels::MatchType::kEqual, "instance", "host-0:9100")};
  for (base::FaultOp op : {base::FaultOp::kAppend, base::FaultOp::kSync, base::FaultOp::kRename,
                           base::FaultOp::kCreate}) {
    int failures = 0;
    for (int nth = 1;; ++nth) {
      ASSERT_LT(nth, 100);
      base::FaultInjectionEnv fenv(env_);
      Reopen(&fenv);
      fenv.FailNth(op, nth, absl::ResourceExhaustedError("no space left on device"));
      absl::Status st = block_->Delete(sel, kT0, kT0 + kRange / 2);
      if (st.ok()) break;
      ++failures;
      EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
      ExpectModel();  // unchanged in memory
      Reopen();
      ExpectModel();  // and on disk
    }
    EXPECT_GT(failures, 0);
    // Undo for the next op: a fresh block has no tombstones.
    ASSERT_TRUE(env_->RemoveFile(base::JoinPath(block_dir_, "tombstones")).ok());
    Reopen();
  }
}

TEST_F(DeleteTest, CorruptTombstonesFileIsDataLoss) {
  std::vector<labels::Matcher> sel = {
      *labels::Matcher::Create(labels::MatchType::kEqual, "instance", "host-0:9100")};
  ASSERT_TRUE(block_->Delete(sel, kT0, kT0 + 1000).ok());
  block_.reset();
  std::string path = base::JoinPath(block_dir_, "tombstones");
  std::string data = *env_->ReadFileToString(path);
  data[6] ^= 1;
  ASSERT_TRUE(env_->WriteStringToFileAtomic(path, data).ok());
  auto b = Block::Open(env_, block_dir_);
  ASSERT_EQ(b.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(b.status().message(), HasSubstr("tombstones offset"));
}

}  // namespace
}  // namespace xscaler::storage::block
