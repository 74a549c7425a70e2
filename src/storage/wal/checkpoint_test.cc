#include "storage/wal/checkpoint.h"

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/wal/record.h"
#include "storage/wal/wal.h"

namespace xscaler::storage::wal {
namespace {

using ::testing::HasSubstr;

// What replaying a WAL dir yields, reduced to what a checkpoint must preserve.
bool Keep(uint64_t ref) { return ref % 5 != 0; }

struct Model {
  std::map<uint64_t, labels::Labels> series;
  std::map<uint64_t, std::vector<std::pair<int64_t, double>>> samples;
  std::map<std::string, MetadataRecord> metadata;
  bool operator==(const Model&) const = default;
};

void ReadInto(base::Env* env, const std::string& dir, uint64_t first, Model* m) {
  auto r = Reader::Open(env, dir, first);
  ASSERT_TRUE(r.ok()) << r.status();
  std::string_view rec;
  std::vector<SeriesRecord> series;
  std::vector<SampleRecord> samples;
  std::vector<MetadataRecord> md;
  while ((*r)->Next(&rec)) {
    switch (*PeekType(rec)) {
      case RecordType::kSeries:
        ASSERT_TRUE(DecodeSeries(rec, &series).ok());
        for (auto& s : series) m->series[s.ref] = s.labels;
        break;
      case RecordType::kSamples:
      case RecordType::kOooSamples:
        ASSERT_TRUE(DecodeSamples(rec, &samples).ok());
        for (auto& s : samples) {
          // Samples follow the series record that defines their ref, unless the series was
          // dropped by a checkpoint (replay skips them as unknown refs).
          if (!m->series.contains(s.ref)) {
            ASSERT_FALSE(Keep(s.ref)) << "sample before its series, ref " << s.ref;
            continue;
          }
          m->samples[s.ref].emplace_back(s.t, s.v);
        }
        break;
      case RecordType::kMetadata:
        ASSERT_TRUE(DecodeMetadata(rec, &md).ok());
        for (auto& x : md) m->metadata[x.family] = x;
        break;
    }
  }
  ASSERT_TRUE((*r)->status().ok()) << (*r)->status();
}

// Replays like head::ReplayWal: newest checkpoint, then the segments after it.
Model Replay(base::Env* env, const std::string& dir) {
  Model m;
  uint64_t first = 0;
  if (auto cp = LatestCheckpoint(env, dir); cp.ok()) {
    ReadInto(env, cp->dir, 0, &m);
    first = cp->segment + 1;
  }
  ReadInto(env, dir, first, &m);
  return m;
}

// The part of a replay a checkpoint with (Keep, mint) must preserve exactly.
Model Filter(Model m, int64_t mint) {
  std::erase_if(m.series, [](const auto& e) { return !Keep(e.first); });
  std::erase_if(m.samples, [](const auto& e) { return !Keep(e.first); });
  for (auto& [_, v] : m.samples) std::erase_if(v, [&](const auto& s) { return s.first < mint; });
  std::erase_if(m.samples, [](const auto& e) { return e.second.empty(); });
  return m;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/cptest.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/wal";
  }
  void TearDown() override { (void)base::Env::Default()->RemoveDirRecursive(root_); }

  // Writes `rounds` commits of series (new ones every few rounds), samples and metadata into
  // dir with small segments; returns the last segment written to.
  uint64_t WriteLog(const std::string& dir, int rounds, int first_round = 0) {
    WriterOptions wo;
    wo.segment_size = 600;
    wo.sync = false;
    auto w = Writer::Open(env_, dir, wo);
    EXPECT_TRUE(w.ok()) << w.status();
    for (int r = first_round; r < first_round + rounds; ++r) {
      std::vector<std::string> recs;
      std::vector<SeriesRecord> series;
      if (r % 4 == 0) {
        for (int i = 0; i < 6; ++i) {
          uint64_t ref = static_cast<uint64_t>(r / 4 * 6 + i + 1);
          series.push_back({ref, labels::Labels{{"__name__", "m"}, {"ref", absl::StrCat(ref)}}});
        }
        EncodeSeries(series, &recs.emplace_back());
      }
      std::vector<SampleRecord> samples;
      for (uint64_t ref = 1; ref <= static_cast<uint64_t>(r / 4 * 6 + 6); ++ref) {
        samples.push_back({ref, int64_t{r} * 1000, static_cast<double>(ref * 100 + r)});
      }
      EncodeSamples(samples, &recs.emplace_back());
      if (r % 3 == 0) {
        std::vector<MetadataRecord> md = {
            {absl::StrCat("fam", r % 2), "gauge", "", absl::StrCat("help at ", r)}};
        EncodeMetadata(md, &recs.emplace_back());
      }
      EXPECT_TRUE((*w)->Write(std::span<const std::string>(recs)).ok());
    }
    uint64_t seg = (*w)->Segment();
    EXPECT_TRUE((*w)->Close().ok());
    return seg;
  }

  std::vector<std::string> Children(const std::string& dir) {
    auto c = env_->GetChildren(dir);
    EXPECT_TRUE(c.ok());
    std::sort(c->begin(), c->end());
    return *c;
  }

  base::Env* env_ = base::Env::Default();
  std::string root_, dir_;
};

TEST_F(CheckpointTest, FoldsFiltersAndDeletes) {
  const uint64_t last = WriteLog(dir_, 40);
  ASSERT_GT(last, 5u);
  const Model before = Replay(env_, dir_);
  ASSERT_EQ(before.series.size(), 60u);
  const int64_t mint = 20000;
  const uint64_t upto = last - 2;  // the newest segments stay as they are

  CheckpointStats cs;
  ASSERT_TRUE(Checkpoint(env_, dir_, upto, Keep, mint, &cs).ok());
  EXPECT_EQ(cs.segments_read, upto);
  EXPECT_GT(cs.series_dropped, 0u);
  EXPECT_GT(cs.samples_dropped, 0u);
  EXPECT_EQ(cs.metadata_kept, 2u);  // latest per family

  auto cp = LatestCheckpoint(env_, dir_);
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->segment, upto);
  EXPECT_EQ(cp->dir, CheckpointPath(dir_, upto));
  EXPECT_EQ(CheckpointPath("/w", 7), "/w/checkpoint.00000007");
  EXPECT_EQ(*ListSegments(env_, dir_), (std::vector<uint64_t>{last - 1, last}));

  // Everything kept and >= mint survives; the segments after the checkpoint are untouched, so
  // samples < mint of those stay too: compare the filtered views.
  const Model after = Replay(env_, dir_);
  EXPECT_EQ(Filter(after, mint), Filter(before, mint));
  EXPECT_EQ(after.metadata, before.metadata);
  for (const auto& [ref, _] : after.series) {
    EXPECT_TRUE(Keep(ref) || ref > 54) << ref;  // dropped unless defined after the checkpoint
  }

  // Not above the newest checkpoint: nothing to do.
  ASSERT_TRUE(Checkpoint(env_, dir_, upto, Keep, mint).ok());
  ASSERT_TRUE(Checkpoint(env_, dir_, upto - 1, Keep, mint).ok());

  // A second checkpoint folds the first and removes it; a writer continues above it.
  const uint64_t last2 = WriteLog(dir_, 10, 40);
  const Model before2 = Replay(env_, dir_);
  ASSERT_TRUE(Checkpoint(env_, dir_, last2, Keep, mint + 5000).ok());
  EXPECT_THAT(Children(dir_), ::testing::ElementsAre(absl::StrFormat("checkpoint.%08d", last2)));
  EXPECT_EQ(Filter(Replay(env_, dir_), mint + 5000), Filter(before2, mint + 5000));
  auto w = Writer::Open(env_, dir_);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Segment(), last2 + 1);  // numbered above the checkpoint, not from 1
}

// Out-of-order sample records survive a checkpoint as their own type, and in-order and
// out-of-order samples keep their log order (replay outcomes depend on it).
TEST_F(CheckpointTest, KeepsOooSamplesInLogOrder) {
  WriterOptions wo;
  wo.segment_size = 400;
  wo.sync = false;
  using Entry = std::tuple<RecordType, uint64_t, int64_t, double>;
  std::vector<Entry> want;
  {
    auto w = Writer::Open(env_, dir_, wo);
    ASSERT_TRUE(w.ok());
    std::vector<std::string> recs;
    std::vector<SeriesRecord> series = {{1, labels::Labels{{"__name__", "a"}}},
                                        {2, labels::Labels{{"__name__", "b"}}}};
    EncodeSeries(series, &recs.emplace_back());
    ASSERT_TRUE((*w)->Write(std::span<const std::string>(recs)).ok());
    for (int r = 0; r < 60; ++r) {
      recs.clear();
      const RecordType type = r % 3 == 2 ? RecordType::kOooSamples : RecordType::kSamples;
      std::vector<SampleRecord> samples;
      for (uint64_t ref = 1; ref <= 2; ++ref) {
        const int64_t t = type == RecordType::kSamples ? r * 1000 : r * 1000 - 1500;
        samples.push_back({ref, t, static_cast<double>(r)});
        if (t >= 10000) want.emplace_back(type, ref, t, static_cast<double>(r));
      }
      EncodeSamples(samples, &recs.emplace_back(), type);
      ASSERT_TRUE((*w)->Write(std::span<const std::string>(recs)).ok());
    }
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto segs = ListSegments(env_, dir_);
  ASSERT_TRUE(segs.ok());
  ASSERT_TRUE(Checkpoint(env_, dir_, segs->back(), [](uint64_t) { return true; }, 10000).ok());
  auto cp = LatestCheckpoint(env_, dir_);
  ASSERT_TRUE(cp.ok());
  auto r = Reader::Open(env_, cp->dir);
  ASSERT_TRUE(r.ok());
  std::vector<Entry> got;
  std::string_view rec;
  std::vector<SampleRecord> samples;
  while ((*r)->Next(&rec)) {
    const RecordType type = *PeekType(rec);
    if (type != RecordType::kSamples && type != RecordType::kOooSamples) continue;
    ASSERT_TRUE(DecodeSamples(rec, &samples).ok());
    for (const auto& s : samples) got.emplace_back(type, s.ref, s.t, s.v);
  }
  EXPECT_EQ(got, want);
  EXPECT_GT(std::count_if(got.begin(), got.end(),
                          [](const Entry& e) { return std::get<0>(e) == RecordType::kOooSamples; }),
            10);
}

TEST_F(CheckpointTest, IgnoresTmpAndFailsOnCorruption) {
  const uint64_t last = WriteLog(dir_, 30);
  // A leftover tmp dir from a crash is ignored by LatestCheckpoint and removed.
  ASSERT_TRUE(env_->CreateDir(base::JoinPath(dir_, "checkpoint.00000099.tmp")).ok());
  EXPECT_TRUE(absl::IsNotFound(LatestCheckpoint(env_, dir_).status()));
  EXPECT_TRUE(absl::IsNotFound(LatestCheckpoint(env_, root_ + "/nope").status()));

  // Corrupt segment 2: the checkpoint fails with DataLoss and deletes nothing.
  const std::string seg2 = SegmentPath(dir_, 2);
  auto data = env_->ReadFileToString(seg2);
  ASSERT_TRUE(data.ok());
  std::string bad = *data;
  bad[bad.size() / 2] ^= 0x55;
  ASSERT_TRUE(env_->WriteStringToFileAtomic(seg2, bad).ok());
  absl::Status st = Checkpoint(env_, dir_, last - 1, Keep, 0);
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("segment 00000002"));
  EXPECT_THAT(st.message(), HasSubstr("nothing was deleted"));
  EXPECT_EQ(ListSegments(env_, dir_)->size(), last);
  EXPECT_TRUE(absl::IsNotFound(LatestCheckpoint(env_, dir_).status()));

  // Repaired, it works and cleans the tmp leftover up.
  ASSERT_TRUE(env_->WriteStringToFileAtomic(seg2, *data).ok());
  ASSERT_TRUE(Checkpoint(env_, dir_, last - 1, Keep, 0).ok());
  EXPECT_FALSE(env_->FileExists(base::JoinPath(dir_, "checkpoint.00000099.tmp")));
}

// Fails each file-system operation of a checkpoint in turn (once, or from then on as a crash
// would), drops unsynced data, and checks the log still replays to the same filtered state;
// then a retry succeeds.
TEST_F(CheckpointTest, CrashAtEveryStepLeavesAReplayableLog) {
  const std::string golden = root_ + "/golden";
  const uint64_t last = WriteLog(golden, 24);
  // A previous checkpoint, so the old-checkpoint removal is exercised too.
  ASSERT_TRUE(Checkpoint(env_, golden, 3, Keep, 0).ok());
  const int64_t mint = 15000;
  const Model want = Filter(Replay(env_, golden), mint);
  const uint64_t upto = last - 1;

  int runs = 0;
  for (base::FaultOp op : {base::FaultOp::kCreate, base::FaultOp::kAppend, base::FaultOp::kSync,
                           base::FaultOp::kRename, base::FaultOp::kRemove}) {
    for (bool sticky : {false, true}) {
      for (int nth = 1;; ++nth) {
        SCOPED_TRACE(absl::StrCat("op ", static_cast<int>(op), " nth ", nth, " sticky ", sticky));
        ASSERT_TRUE(env_->RemoveDirRecursive(dir_).ok());
        ASSERT_TRUE(env_->CreateDir(dir_).ok());
        std::filesystem::copy(golden, dir_, std::filesystem::copy_options::recursive);
        base::FaultInjectionEnv fenv(env_);
        fenv.FailNth(op, nth, absl::ResourceExhaustedError("injected: no space left on device"),
                     sticky);
        absl::Status st = Checkpoint(&fenv, dir_, upto, Keep, mint);
        const bool fired = fenv.Count(op) >= nth;
        ASSERT_TRUE(fenv.DropUnsyncedData().ok());
        fenv.ClearFaults();
        if (fired) {
          // Remove failures after the rename are reported but harmless; anything else fails.
          ++runs;
        } else {
          ASSERT_TRUE(st.ok()) << st;
        }
        EXPECT_EQ(Filter(Replay(&fenv, dir_), mint), want);
        // A retry (the next compaction round) completes and replays the same.
        ASSERT_TRUE(Checkpoint(&fenv, dir_, upto, Keep, mint).ok());
        ASSERT_TRUE(fenv.DropUnsyncedData().ok());
        EXPECT_EQ(Filter(Replay(&fenv, dir_), mint), want);
        EXPECT_EQ(LatestCheckpoint(&fenv, dir_)->segment, upto);
        if (!fired) break;
      }
    }
  }
  EXPECT_GT(runs, 10);
}

}  // namespace
}  // namespace xscaler::storage::wal
