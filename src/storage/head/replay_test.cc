#include "storage/head/replay.h"

#include <stdlib.h>

#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/chunk/xor.h"
#include "storage/head/test_util.h"
#include "storage/wal/checkpoint.h"
#include "storage/wal/record.h"
#include "storage/wal/wal.h"

namespace xscaler::storage::head {
namespace {

using labels::Labels;
using namespace xscaler::storage::testing;

// Everything observable about a head, for equality checks.
struct Dump {
  std::map<std::string, Samples> series;  // via ChunkSeries over [mint, kMaxTime)
  std::map<std::string, std::vector<std::string>> label_values;
  std::map<std::string, MetricMetadata> metadata;
  uint64_t num_series = 0, num_samples = 0, num_chunks = 0, dropped = 0;
  int64_t min_time = 0, max_time = 0;
  bool operator==(const Dump&) const = default;
};

Dump Take(Head& h, int64_t mint = kMinTime, bool stats = true) {
  Dump d;
  auto set = h.ChunkSeries(mint, kMaxTime);
  while (set->Next()) {
    Samples& s = d.series[set->Labels().ToString()];
    for (const auto& c : set->Chunks()) {
      chunk::XorDecoder dec(c.bytes);
      while (dec.Next()) s.emplace_back(dec.t(), dec.v());
    }
  }
  EXPECT_TRUE(set->Err().ok());
  for (const auto& n : h.postings().LabelNames()) d.label_values[n] = h.postings().LabelValues(n);
  d.metadata = h.Metadata();
  if (stats) {
    HeadStats st = h.Stats();
    d.num_series = st.num_series;
    d.num_samples = st.num_samples;
    d.num_chunks = st.num_chunks;
    d.dropped = st.dropped_samples;
    d.min_time = st.min_time;
    d.max_time = st.max_time;
  }
  return d;
}

void ExpectSameReplayStats(const ReplayStats& a, const ReplayStats& b) {
  EXPECT_EQ(a.records, b.records);
  EXPECT_EQ(a.series, b.series);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.metadata, b.metadata);
  EXPECT_EQ(a.unknown_refs, b.unknown_refs);
  EXPECT_EQ(a.dropped_samples, b.dropped_samples);
  EXPECT_EQ(a.bad_records, b.bad_records);
  EXPECT_EQ(a.too_old, b.too_old);
}

HeadOptions Opts() {
  HeadOptions o;
  o.chunk.chunk_range_ms = 100000;
  o.max_future_ms = 0;
  o.stripes = 64;
  return o;
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/replaytest.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/wal";
  }
  void TearDown() override { (void)env_->RemoveDirRecursive(root_); }

  // A log with everything replay must handle: many series and frames across segments,
  // out-of-order / duplicate / conflicting samples, unknown refs, a repeated series record, a
  // ref redefined with other labels, metadata updates and an undecodable record.
  void WriteMessyLog() {
    wal::WriterOptions wo;
    wo.segment_size = 64 << 10;
    wo.sync = false;
    auto w = wal::Writer::Open(env_, dir_, wo);
    ASSERT_TRUE(w.ok());
    std::mt19937_64 rng(7);
    constexpr int kSeries = 3000;
    std::vector<std::string> recs;
    std::vector<wal::SeriesRecord> series;
    for (int i = 1; i <= kSeries; ++i) {
      series.push_back({static_cast<uint64_t>(i),
                        Labels{{"__name__", absl::StrCat("m", i % 7)},
                               {"i", absl::StrCat(i)},
                               {"z", absl::StrCat(i % 13)}}});
      if (series.size() == 500) {
        wal::EncodeSeries(series, &recs.emplace_back());
        series.clear();
      }
    }
    series.push_back({5, Labels{{"__name__", "m5"}, {"i", "5"}, {"z", "5"}}});  // repeated
    series.push_back({6, Labels{{"__name__", "other"}}});                     // conflicting
    // An alias: ref 3001 repeats ref 8's labels (replay maps it to that series; its samples
    // must be applied by the same worker, in log order).
    series.push_back({3001, Labels{{"__name__", "m1"}, {"i", "8"}, {"z", "8"}}});
    wal::EncodeSeries(series, &recs.emplace_back());
    ASSERT_TRUE((*w)->Write(std::span<const std::string>(recs)).ok());
    for (int round = 0; round < 60; ++round) {
      recs.clear();
      std::vector<wal::SampleRecord> samples;
      for (int k = 0; k < 2000; ++k) {
        uint64_t ref = 1 + rng() % (kSeries + 20);  // a few unknown refs
        int64_t t = int64_t{round} * 1000 + static_cast<int64_t>(rng() % 1500) - 250;
        double v = static_cast<double>(rng() % 4);  // collisions: dups and conflicts
        samples.push_back({ref, t, v});
      }
      wal::EncodeSamples(samples, &recs.emplace_back());
      if (round % 10 == 0) {
        std::vector<wal::MetadataRecord> md = {
            {absl::StrCat("m", round % 7), "counter", "", absl::StrCat("r", round)}};
        wal::EncodeMetadata(md, &recs.emplace_back());
      }
      if (round == 30) recs.push_back("\x02\xff");  // samples record that fails to decode
      ASSERT_TRUE((*w)->Write(std::span<const std::string>(recs)).ok());
    }
    ASSERT_TRUE((*w)->Close().ok());
    ASSERT_GT(wal::ListSegments(env_, dir_)->size(), 3u);
  }

  // The single-threaded reference: Head::ReplayRecord over the raw log.
  void SerialReplay(Head& h) {
    auto r = wal::Reader::Open(env_, dir_);
    ASSERT_TRUE(r.ok());
    std::string_view rec;
    while ((*r)->Next(&rec)) h.ReplayRecord(rec);
    h.FinishReplay();
  }

  base::Env* env_ = base::Env::Default();
  std::string root_, dir_;
};

TEST_F(ReplayTest, ParallelEqualsSerial) {
  WriteMessyLog();
  for (int64_t min_valid : {kMinTime, int64_t{25000}}) {
    Head serial(Opts());
    serial.SetMinValidTime(min_valid);
    SerialReplay(serial);
    const Dump want = Take(serial);
    ASSERT_GT(want.series.size(), 2900u);
    ASSERT_GT(serial.replay_stats().dropped_samples, 0u);
    ASSERT_GT(serial.replay_stats().unknown_refs, 0u);
    ASSERT_EQ(serial.replay_stats().bad_records, 2u);
    if (min_valid != kMinTime) {
      ASSERT_GT(serial.replay_stats().too_old, 0u);
    }
    for (int threads : {1, 2, 5}) {
      SCOPED_TRACE(absl::StrCat("threads ", threads, " min_valid ", min_valid));
      Head par(Opts());
      par.SetMinValidTime(min_valid);
      ASSERT_TRUE(ReplayWal(env_, dir_, &par, ReplayOptions{threads}).ok());
      EXPECT_TRUE(Take(par) == want);
      ExpectSameReplayStats(par.replay_stats(), serial.replay_stats());
      EXPECT_FALSE(par.replay_stats().repaired);
      EXPECT_EQ(par.replay_stats().segments, wal::ListSegments(env_, dir_)->size());
      // New series are numbered after the replayed refs.
      auto app = par.NewAppender();
      EXPECT_GT(*app->Append(0, Labels{{"__name__", "fresh"}}, 100000, 1), 3000u);
      ASSERT_TRUE(app->Commit().ok());
    }
  }
  // An absent WAL dir replays to an empty head.
  Head empty(Opts());
  ASSERT_TRUE(ReplayWal(env_, root_ + "/none", &empty).ok());
  EXPECT_EQ(empty.Stats().num_series, 0u);
}

TEST_F(ReplayTest, CheckpointThenReplayRebuildsTheHead) {
  Head live(Opts());
  auto w = wal::Writer::Open(env_, dir_, wal::WriterOptions{.segment_size = 32 << 10});
  ASSERT_TRUE(w.ok());
  live.SetWal(w->get());
  auto append_round = [&](int round) {
    auto app = live.NewAppender();
    // Generations of series come and go; each lives for 20 rounds.
    for (int j = 0; j < 40; ++j) {
      Labels l{{"__name__", "c"}, {"gen", absl::StrCat(round / 20)}, {"j", absl::StrCat(j)}};
      ASSERT_TRUE(app->Append(0, l, int64_t{round} * 10000, round * 100 + j).ok());
    }
    app->UpdateMetadata("c", MetricMetadata{"gauge", "", absl::StrCat("round ", round / 25)});
    ASSERT_TRUE(app->Commit().ok());
  };
  for (int round = 0; round < 100; ++round) append_round(round);

  const int64_t mint = 55 * 10000 + 5000;
  TruncateStats ts = live.Truncate(mint);
  EXPECT_GT(ts.series_removed, 0u);
  auto next = (*w)->NextSegment();
  ASSERT_TRUE(next.ok());
  wal::CheckpointStats cs;
  ASSERT_TRUE(wal::Checkpoint(
                  env_, dir_, *next - 1, [&](uint64_t ref) { return live.HasSeries(ref); }, mint,
                  &cs)
                  .ok());
  EXPECT_GT(cs.series_dropped, 0u);
  EXPECT_GT(cs.samples_dropped, 0u);
  for (int round = 100; round < 130; ++round) append_round(round);
  ASSERT_TRUE((*w)->Close().ok());

  Head replayed(Opts());
  replayed.SetMinValidTime(mint);
  ASSERT_TRUE(ReplayWal(env_, dir_, &replayed, ReplayOptions{2}).ok());
  // The live head still has the straddling part of chunks below mint; compare from mint.
  const Dump want = Take(live, mint, false);
  ASSERT_GT(want.series.size(), 40u);
  EXPECT_TRUE(Take(replayed, mint, false) == want);
  EXPECT_EQ(replayed.Stats().min_time, mint + 5000);
  EXPECT_EQ(replayed.Stats().max_time, live.Stats().max_time);
  EXPECT_EQ(replayed.Metadata()["c"].help, "round 5");
  EXPECT_EQ(replayed.replay_stats().too_old, 0u);  // the checkpoint already dropped them
  // Series the checkpoint dropped are not in the head at all.
  EXPECT_EQ(replayed.NumSeriesInMemory(), live.NumSeriesInMemory());
}

TEST_F(ReplayTest, CorruptTailIsTruncatedAndReplayContinues) {
  WriteMessyLog();
  auto segs = *wal::ListSegments(env_, dir_);
  const std::string last = wal::SegmentPath(dir_, segs.back());
  auto data = env_->ReadFileToString(last);
  ASSERT_TRUE(data.ok());
  std::string bad = *data;
  bad[bad.size() - 10] ^= 0x40;
  ASSERT_TRUE(env_->WriteStringToFileAtomic(last, bad).ok());

  Head serial(Opts());
  SerialReplay(serial);  // stops at the corruption, like the parallel replay
  Head par(Opts());
  ASSERT_TRUE(ReplayWal(env_, dir_, &par, ReplayOptions{2}).ok());
  EXPECT_TRUE(par.replay_stats().repaired);
  EXPECT_TRUE(Take(par) == Take(serial));
  EXPECT_GT(par.Stats().num_samples, 0u);
  // The log now reads cleanly to its (shorter) end.
  auto r = wal::Reader::Open(env_, dir_);
  std::string rec;
  while ((*r)->Next(&rec)) {
  }
  EXPECT_TRUE((*r)->status().ok()) << (*r)->status();
  EXPECT_LT(*env_->FileSize(last), data->size());
}

// A series garbage-collected and re-created under a new ref before a crash: replay maps the
// second ref to the first series, and checkpoints must keep the second ref's records.
TEST_F(ReplayTest, RepeatedLabelsUnderANewRefSurviveCheckpoints) {
  const Labels l{{"__name__", "churn"}};
  {
    auto w = wal::Writer::Open(env_, dir_);
    ASSERT_TRUE(w.ok());
    std::vector<std::string> recs(4);
    std::vector<wal::SeriesRecord> s1 = {{1, l}}, s2 = {{2, l}};
    std::vector<wal::SampleRecord> x1 = {{1, 10, 1}}, x2 = {{2, 1000, 2}, {2, 1010, 3}};
    wal::EncodeSeries(s1, &recs[0]);
    wal::EncodeSamples(x1, &recs[1]);
    wal::EncodeSeries(s2, &recs[2]);
    wal::EncodeSamples(x2, &recs[3]);
    ASSERT_TRUE((*w)->Write(std::span<const std::string>(recs)).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    Head h(Opts());
    h.SetMinValidTime(500);
    ASSERT_TRUE(ReplayWal(env_, dir_, &h, ReplayOptions{2}).ok());
    EXPECT_TRUE(h.HasSeries(1));
    EXPECT_TRUE(h.HasSeries(2));  // alias of 1
    EXPECT_FALSE(h.HasSeries(3));
    const Dump d = Take(h, kMinTime, false);
    ASSERT_EQ(d.series.size(), 1u);
    EXPECT_EQ(d.series.begin()->second,
              (Samples{{int64_t{1000}, 2.0}, {int64_t{1010}, 3.0}}));
    // Checkpoint everything written so far (the writer opens the next segment).
    auto w = wal::Writer::Open(env_, dir_);
    ASSERT_TRUE(w.ok());
    const uint64_t last = (*w)->Segment() - 1;
    ASSERT_TRUE((*w)->Close().ok());
    ASSERT_TRUE(
        wal::Checkpoint(env_, dir_, last, [&](uint64_t ref) { return h.HasSeries(ref); }, 500)
            .ok());
  }
  // Once the series is collected, its aliases go too.
  Head h(Opts());
  ASSERT_TRUE(ReplayWal(env_, dir_, &h, ReplayOptions{1}).ok());
  ASSERT_TRUE(h.HasSeries(2));
  h.Truncate(5000);
  EXPECT_FALSE(h.HasSeries(1));
  EXPECT_FALSE(h.HasSeries(2));
}

}  // namespace
}  // namespace xscaler::storage::head
