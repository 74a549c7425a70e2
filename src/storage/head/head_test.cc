#include "storage/head/head.h"

#include <atomic>
#include <bit>
#include <cmath>
#include <map>
#include <random>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/head/test_util.h"

namespace xscaler::storage::head {
namespace {

using labels::Labels;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using namespace xscaler::storage::testing;

Labels Series(int i) {
  return Labels{{"__name__", i % 2 == 0 ? "even" : "odd"},
                {"i", std::to_string(i)},
                {"mod3", std::to_string(i % 3)}};
}

TEST(HeadTest, RoundTripManySeriesAcrossChunks) {
  HeadStorage db;
  constexpr int kSeries = 500;
  constexpr int kSamples = 300;  // more than two 120-sample chunks
  for (int t = 0; t < kSamples; ++t) {
    auto app = db.NewAppender();
    for (int i = 0; i < kSeries; ++i) {
      ASSERT_TRUE(app->Append(0, Series(i), t * 15000, i * 1000.0 + t).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  auto all = ReadAll(db, {Re("__name__", ".+")});
  ASSERT_EQ(all.size(), static_cast<size_t>(kSeries));
  for (const auto& [name, samples] : all) {
    ASSERT_EQ(samples.size(), static_cast<size_t>(kSamples)) << name;
  }
  auto one = ReadMap(db, {Eq("__name__", "odd"), Eq("i", "7")});
  ASSERT_EQ(one.size(), 1u);
  const Samples& s = one.begin()->second;
  for (int t = 0; t < kSamples; ++t) {
    EXPECT_EQ(s[t], std::make_pair(int64_t{t} * 15000, 7000.0 + t));
  }
  // A sub-range cuts samples at both ends, inclusively.
  auto sub = ReadMap(db, {Eq("i", "7")}, 15000 * 100, 15000 * 130);
  ASSERT_EQ(sub.begin()->second.size(), 31u);
  EXPECT_EQ(sub.begin()->second.front().first, 15000 * 100);
  EXPECT_EQ(sub.begin()->second.back().first, 15000 * 130);
  // Out of range: no series at all.
  EXPECT_THAT(ReadAll(db, {Eq("i", "7")}, 15000 * kSamples, kMaxTime), IsEmpty());

  HeadStats st = db.head.Stats();
  EXPECT_EQ(st.num_series, static_cast<uint64_t>(kSeries));
  EXPECT_EQ(st.num_samples, static_cast<uint64_t>(kSeries * kSamples));
  EXPECT_EQ(st.num_chunks, static_cast<uint64_t>(kSeries * 3));
  EXPECT_EQ(st.min_time, 0);
  EXPECT_EQ(st.max_time, 15000 * (kSamples - 1));
  EXPECT_GT(db.head.MemoryBytes(), 0u);
}

TEST(HeadTest, ChunksCutAtRangeBoundaries) {
  HeadOptions opts;
  opts.chunk.chunk_range_ms = 1000;
  HeadStorage db(opts);
  auto app = db.NewAppender();
  for (int64_t t : {-1500, -1001, -1000, -1, 0, 1, 999, 1000, 5000}) {
    ASSERT_TRUE(app->Append(0, Labels{{"__name__", "m"}}, t, static_cast<double>(t)).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  // Windows: [-2000,-1000) [-1000,0) [0,1000) [1000,2000) [5000,6000)
  EXPECT_EQ(db.head.Stats().num_chunks, 5u);
  auto m = ReadMap(db, {Eq("__name__", "m")});
  EXPECT_EQ(m["m"].size(), 9u);
  auto sub = ReadMap(db, {Eq("__name__", "m")}, -1000, 999);
  EXPECT_THAT(sub["m"], ElementsAre(Pair(-1000, -1000.0), Pair(-1, -1.0), Pair(0, 0.0),
                                    Pair(1, 1.0), Pair(999, 999.0)));
}

TEST(HeadTest, OutOfOrderAndDuplicates) {
  HeadStorage db;
  Labels l{{"__name__", "m"}, {"job", "a"}};
  {
    auto app = db.NewAppender();
    ASSERT_TRUE(app->Append(0, l, 100, 1.0).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  auto app = db.NewAppender();
  auto ooo = app->Append(0, l, 50, 1.0);
  EXPECT_EQ(ooo.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ooo.status().message(),
            "out of order sample: timestamp 50 is older than the series' newest sample 100");
  auto dup = app->Append(0, l, 100, 2.0);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "duplicate sample for timestamp 100 with a different value");
  EXPECT_TRUE(app->Append(0, l, 100, 1.0).ok());  // equal duplicate: accepted, ignored
  // Within one batch.
  ASSERT_TRUE(app->Append(0, l, 200, 5.0).ok());
  EXPECT_EQ(app->Append(0, l, 150, 5.0).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(app->Append(0, l, 200, 6.0).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(app->Append(0, l, 200, 5.0).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_THAT(ReadMap(db, {Eq("job", "a")}).begin()->second,
              ElementsAre(Pair(100, 1.0), Pair(200, 5.0)));
  EXPECT_EQ(db.head.Stats().num_samples, 2u);
  // A NaN equal in bits is a duplicate; another NaN payload conflicts.
  auto app2 = db.NewAppender();
  ASSERT_TRUE(app2->Append(0, l, 300, StaleNaN()).ok());
  EXPECT_TRUE(app2->Append(0, l, 300, StaleNaN()).ok());
  EXPECT_EQ(app2->Append(0, l, 300, std::nan("")).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(app2->Commit().ok());
}

int64_t FixedNowMs() { return 1'000'000'000; }

TEST(HeadTest, SamplesTooFarInTheFutureAreRejected) {
  HeadOptions opts;
  opts.now_ms = &FixedNowMs;
  HeadStorage db(opts);
  Labels l{{"__name__", "m"}};
  auto app = db.NewAppender();
  EXPECT_TRUE(app->Append(0, l, FixedNowMs() + opts.max_future_ms, 1.0).ok());  // at the edge
  auto future = app->Append(0, l, FixedNowMs() + opts.max_future_ms + 3'600'000, 2.0);
  EXPECT_EQ(future.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(future.status().message()),
              ::testing::HasSubstr("too far in the future: 4200 s ahead of the server clock"));
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(db.head.Stats().num_samples, 1u);

  HeadOptions unlimited;
  unlimited.max_future_ms = 0;
  HeadStorage db2(unlimited);
  auto app2 = db2.NewAppender();
  EXPECT_TRUE(app2->Append(0, l, int64_t{1} << 60, 1.0).ok());
}

TEST(HeadTest, StalenessMarkerIsBitExact) {
  HeadStorage db;
  auto app = db.NewAppender();
  Labels l{{"__name__", "m"}};
  ASSERT_TRUE(app->Append(0, l, 1, 1.5).ok());
  ASSERT_TRUE(app->Append(0, l, 2, StaleNaN()).ok());
  ASSERT_TRUE(app->Append(0, l, 3, -0.0).ok());
  ASSERT_TRUE(app->Append(0, l, 4, std::nan("")).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto s = ReadMap(db, {Eq("__name__", "m")})["m"];
  ASSERT_EQ(s.size(), 4u);
  EXPECT_TRUE(IsStaleNaN(s[1].second));
  EXPECT_EQ(std::bit_cast<uint64_t>(s[2].second), std::bit_cast<uint64_t>(-0.0));
  EXPECT_TRUE(std::isnan(s[3].second));
  EXPECT_FALSE(IsStaleNaN(s[3].second));
}

TEST(HeadTest, InvalidLabelsAreRejected) {
  HeadStorage db;
  auto app = db.NewAppender();
  auto no_name = app->Append(0, Labels{{"job", "a"}}, 1, 1);
  EXPECT_EQ(no_name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_name.status().message(), HasSubstr("__name__"));
  auto bad = app->Append(0, Labels{{"__name__", "m"}, {"1bad", "x"}}, 1, 1);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("1bad"));
  EXPECT_EQ(app->Append(0, Labels{{"__name__", "m"}, {"a-b", "x"}}, 1, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(db.head.Stats().num_series, 0u);
}

TEST(HeadTest, RefsAreReusableAndStable) {
  HeadStorage db;
  Labels l{{"__name__", "m"}, {"x", "1"}};
  auto app = db.NewAppender();
  auto ref = app->Append(0, l, 1, 1);
  ASSERT_TRUE(ref.ok());
  EXPECT_NE(*ref, 0u);
  auto ref2 = app->Append(*ref, Labels{}, 2, 2);  // labels ignored when the ref is known
  ASSERT_TRUE(ref2.ok());
  EXPECT_EQ(*ref2, *ref);
  ASSERT_TRUE(app->Commit().ok());
  auto app2 = db.NewAppender();
  EXPECT_EQ(*app2->Append(0, l, 3, 3), *ref);
  EXPECT_EQ(*app2->Append(12345, l, 4, 4), *ref);  // unknown ref: falls back to labels
  ASSERT_TRUE(app2->Commit().ok());
  EXPECT_EQ(ReadMap(db, {Eq("x", "1")}).begin()->second.size(), 4u);
}

TEST(HeadTest, RollbackAndUncommittedAreInvisible) {
  HeadStorage db;
  auto app = db.NewAppender();
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "rolled"}}, 1, 1).ok());
  app->Rollback();
  EXPECT_EQ(app->Commit().code(), absl::StatusCode::kFailedPrecondition);
  auto pending = db.NewAppender();
  ASSERT_TRUE(pending->Append(0, Labels{{"__name__", "pending"}}, 1, 1).ok());
  EXPECT_THAT(ReadAll(db, {Re("__name__", ".+")}), IsEmpty());
  auto q = db.NewQuerier(kMinTime, kMaxTime);
  EXPECT_THAT(*q->LabelValues("__name__", {}), IsEmpty());
  ASSERT_TRUE(pending->Commit().ok());
  EXPECT_THAT(*db.NewQuerier(kMinTime, kMaxTime)->LabelValues("__name__", {}),
              ElementsAre("pending"));
}

TEST(HeadTest, SelectWithAllMatcherKinds) {
  HeadStorage db;
  auto app = db.NewAppender();
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "up"}, {"job", "api"}}, 1, 1).ok());
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "up"}, {"job", "db"}}, 1, 2).ok());
  ASSERT_TRUE(app->Append(0, Labels{{"__name__", "up"}}, 1, 3).ok());
  ASSERT_TRUE(
      app->Append(0, Labels{{"__name__", "http_requests_total"}, {"code", "200"}}, 1, 4).ok());
  ASSERT_TRUE(app->Commit().ok());

  auto names = [&](std::vector<labels::Matcher> ms) {
    std::vector<std::string> out;
    for (auto& [n, _] : ReadAll(db, std::move(ms))) out.push_back(n);
    return out;
  };
  EXPECT_THAT(names({Eq("__name__", "up")}),
              ElementsAre("up", "up{job=\"api\"}", "up{job=\"db\"}"));
  EXPECT_THAT(names({Eq("__name__", "up"), Ne("job", "api")}),
              ElementsAre("up", "up{job=\"db\"}"));
  EXPECT_THAT(names({Eq("__name__", "up"), Re("job", "db|")}), ElementsAre("up", "up{job=\"db\"}"));
  EXPECT_THAT(names({Eq("__name__", "up"), Nre("job", "a.*")}),
              ElementsAre("up", "up{job=\"db\"}"));
  EXPECT_THAT(names({Re("__name__", "http_.*")}), ElementsAre("http_requests_total{code=\"200\"}"));
  EXPECT_THAT(names({Eq("__name__", "up"), Eq("job", "")}), ElementsAre("up"));

  // Only empty-matching matchers: an error, as in Prometheus.
  auto q = db.NewQuerier(kMinTime, kMaxTime);
  std::vector<labels::Matcher> bad = {Re("job", ".*")};
  auto set = q->Select(bad);
  EXPECT_FALSE(set->Next());
  EXPECT_EQ(set->Err().code(), absl::StatusCode::kInvalidArgument);

  std::vector<labels::Matcher> up = {Eq("__name__", "up")};
  EXPECT_THAT(*q->LabelNames(up), ElementsAre("__name__", "job"));
  EXPECT_THAT(*q->LabelNames({}), ElementsAre("__name__", "code", "job"));
  EXPECT_THAT(*q->LabelValues("job", up), ElementsAre("api", "db"));
  EXPECT_THAT(*q->LabelValues("__name__", {}), ElementsAre("http_requests_total", "up"));
  // With matchers, only series with samples in the querier's range count.
  auto late = db.NewQuerier(100, 200);
  EXPECT_THAT(*late->LabelValues("job", up), IsEmpty());
}

TEST(HeadTest, IteratorSeek) {
  HeadStorage db;
  auto app = db.NewAppender();
  for (int t = 0; t < 1000; t += 2) ASSERT_TRUE(app->Append(0, Labels{{"__name__", "m"}}, t, t).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto q = db.NewQuerier(100, 900);
  std::vector<labels::Matcher> ms = {Eq("__name__", "m")};
  auto set = q->Select(ms);
  ASSERT_TRUE(set->Next());
  auto it = set->At().Iterator();
  ASSERT_TRUE(it->Seek(0));  // clamped to mint
  EXPECT_EQ(it->At().first, 100);
  ASSERT_TRUE(it->Seek(50));  // already past: stays
  EXPECT_EQ(it->At().first, 100);
  ASSERT_TRUE(it->Seek(501));  // between samples, in a later chunk
  EXPECT_EQ(it->At().first, 502);
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At().first, 504);
  ASSERT_TRUE(it->Seek(900));
  EXPECT_EQ(it->At().first, 900);
  EXPECT_FALSE(it->Next());  // 902 is past maxt
  EXPECT_FALSE(it->Seek(901));
  auto it2 = set->At().Iterator();
  EXPECT_FALSE(it2->Seek(901));
  EXPECT_FALSE(set->Next());
}

TEST(HeadTest, Metadata) {
  HeadStorage db;
  auto app = db.NewAppender();
  app->UpdateMetadata("http_requests", {"counter", "", "Requests."});
  app->UpdateMetadata("http_requests", {"counter", "", "Requests served."});
  EXPECT_TRUE(db.head.Metadata().empty());  // not before Commit
  ASSERT_TRUE(app->Commit().ok());
  auto md = db.head.Metadata();
  ASSERT_EQ(md.size(), 1u);
  EXPECT_EQ(md["http_requests"], (MetricMetadata{"counter", "", "Requests served."}));
}

TEST(HeadTest, ConcurrentAppendersAndQueriers) {
  HeadStorage db;
  constexpr int kWriters = 4;
  constexpr int kSeriesPerWriter = 50;
  constexpr int kRounds = 200;
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      size_t last_total = 0;
      while (!done.load()) {
        size_t total = 0;
        for (auto& [name, samples] : ReadAll(db, {Re("__name__", "w.*")})) {
          for (size_t i = 1; i < samples.size(); ++i) {
            ASSERT_LT(samples[i - 1].first, samples[i].first) << name;
          }
          total += samples.size();
        }
        ASSERT_GE(total, last_total);  // committed samples never disappear
        last_total = total;
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::vector<SeriesRef> refs(kSeriesPerWriter, 0);
      for (int round = 0; round < kRounds; ++round) {
        auto app = db.NewAppender();
        for (int i = 0; i < kSeriesPerWriter; ++i) {
          Labels l{{"__name__", "w" + std::to_string(w)}, {"i", std::to_string(i)}};
          auto ref = app->Append(refs[i], l, round, round);
          ASSERT_TRUE(ref.ok()) << ref.status();
          refs[i] = *ref;
        }
        ASSERT_TRUE(app->Commit().ok());
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  for (auto& t : readers) t.join();
  auto all = ReadAll(db, {Re("__name__", "w.*")});
  ASSERT_EQ(all.size(), static_cast<size_t>(kWriters * kSeriesPerWriter));
  for (auto& [name, samples] : all) ASSERT_EQ(samples.size(), static_cast<size_t>(kRounds)) << name;
  EXPECT_EQ(db.head.Stats().dropped_samples, 0u);
}

TEST(HeadTest, RacingAppendersOnOneSeriesKeepOrder) {
  HeadStorage db;
  Labels l{{"__name__", "shared"}};
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> reported_dropped{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 300; ++i) {
        auto app = db.NewAppender();
        if (app->Append(0, l, i * 4 + w, w).ok()) {
          ASSERT_TRUE(app->Commit().ok());
          accepted.fetch_add(1);
          for (const auto& d : app->DroppedAtCommit()) {
            EXPECT_EQ(d.metric, "shared");
            reported_dropped.fetch_add(d.samples);
          }
        } else {
          app->Rollback();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto s = ReadMap(db, {Eq("__name__", "shared")})["shared"];
  for (size_t i = 1; i < s.size(); ++i) ASSERT_LT(s[i - 1].first, s[i].first);
  HeadStats st = db.head.Stats();
  EXPECT_EQ(st.num_samples, s.size());
  EXPECT_EQ(static_cast<uint64_t>(accepted.load()), st.num_samples + st.dropped_samples);
  // Every drop is reported to the committer that lost the race, none silently.
  EXPECT_EQ(static_cast<uint64_t>(reported_dropped.load()), st.dropped_samples);
}

TEST(HeadTest, ReplayAppliesTheSameRules) {
  HeadStorage db;
  std::string series, samples, meta;
  std::vector<wal::SeriesRecord> srecs = {{7, Labels{{"__name__", "m"}}},
                                          {9, Labels{{"__name__", "n"}, {"a", "b"}}},
                                          {7, Labels{{"__name__", "m"}}}};  // repeated: harmless
  wal::EncodeSeries(srecs, &series);
  std::vector<wal::SampleRecord> recs = {{7, 10, 1},  {7, 20, 2}, {7, 15, 9} /*ooo*/,
                                         {7, 20, 3} /*conflict*/, {7, 20, 2} /*dup*/,
                                         {9, 5, StaleNaN()}, {42, 1, 1} /*unknown*/};
  wal::EncodeSamples(recs, &samples);
  std::vector<wal::MetadataRecord> mrecs = {{"m", "gauge", "", "h"}};
  wal::EncodeMetadata(mrecs, &meta);
  db.head.ReplayRecord(series);
  db.head.ReplayRecord(samples);
  db.head.ReplayRecord(meta);
  db.head.ReplayRecord("\x09garbage");
  db.head.FinishReplay();
  const ReplayStats& rs = db.head.replay_stats();
  EXPECT_EQ(rs.records, 3u);
  EXPECT_EQ(rs.bad_records, 1u);
  EXPECT_EQ(rs.unknown_refs, 1u);
  EXPECT_EQ(rs.dropped_samples, 2u);
  auto m = ReadMap(db, {Re("__name__", ".+")});
  EXPECT_THAT(m["m"], ElementsAre(Pair(10, 1.0), Pair(20, 2.0)));
  ASSERT_EQ(m["n{a=\"b\"}"].size(), 1u);
  EXPECT_TRUE(IsStaleNaN(m["n{a=\"b\"}"][0].second));
  EXPECT_EQ(db.head.Metadata()["m"].type, "gauge");
  // Replayed refs are kept; new series are numbered after them.
  auto app = db.NewAppender();
  EXPECT_EQ(*app->Append(0, Labels{{"__name__", "m"}}, 30, 1), 7u);
  EXPECT_GT(*app->Append(0, Labels{{"__name__", "fresh"}}, 30, 1), 9u);
  ASSERT_TRUE(app->Commit().ok());
}

// Select lists the series up front and reads their chunks lazily, a batch at a time: across
// many batches the order holds, series created after Select are not returned, and samples a
// listed series received before its batch was read are (the chunks are read in Next).
TEST(HeadTest, SelectReadsSeriesLazilyInLabelOrder) {
  HeadStorage db;
  auto app = db.NewAppender();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(app->Append(0, Labels{{"__name__", "m"}, {"i", std::to_string(1000 + i)}}, 10, i).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  auto q = db.NewQuerier(kMinTime, kMaxTime);
  const std::vector<labels::Matcher> m = {Eq("__name__", "m")};
  auto set = q->Select(m);
  auto late = db.NewAppender();
  ASSERT_TRUE(late->Append(0, Labels{{"__name__", "m"}, {"i", "0999"}}, 10, 1).ok());  // new
  ASSERT_TRUE(late->Append(0, Labels{{"__name__", "m"}, {"i", "1099"}}, 20, 7).ok());  // listed
  ASSERT_TRUE(late->Commit().ok());
  std::vector<std::string> got;
  Samples last;
  while (set->Next()) {
    got.push_back(std::string(set->At().Labels().Get("i")));
    last.clear();
    for (auto it = set->At().Iterator(); it->Next();) last.push_back(it->At());
  }
  ASSERT_TRUE(set->Err().ok()) << set->Err();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], std::to_string(1000 + i));
  EXPECT_EQ(last, (Samples{{10, 99}, {20, 7}}));
}

// A Truncate between Select and Next: series garbage-collected meanwhile are skipped, series
// truncated meanwhile return what is left, without an error (and without the truncation
// waiting for the set).
TEST(HeadTest, TruncateBetweenSelectAndNext) {
  head::HeadOptions o;
  o.chunk.max_samples = 5;
  for (bool whole_series : {false, true}) {
    SCOPED_TRACE(whole_series);
    HeadStorage db(o);
    auto app = db.NewAppender();
    for (int i = 0; i < 40; ++i) {
      const Labels l{{"__name__", "m"}, {"i", std::to_string(i)}};
      // Series 0..19 get samples up to 39 s, so they survive a truncation at 30 s.
      const int64_t end = i < 20 ? 40 : 20;
      for (int64_t t = 0; t < end; ++t) ASSERT_TRUE(app->Append(0, l, t * 1000, 1).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
    const std::vector<labels::Matcher> m = {Eq("__name__", "m")};
    auto q = db.NewQuerier(7'000, kMaxTime);
    auto set = q->Select(m);
    auto labels_set = q->SelectLabels(m);
    const TruncateStats ts = db.head.Truncate(whole_series ? 30'000 : 10'000);
    EXPECT_GT(ts.chunks_removed, 0u);
    EXPECT_EQ(ts.series_removed, whole_series ? 20u : 0u);
    std::map<std::string, Samples> got;
    while (set->Next()) {
      Samples samples;
      for (auto it = set->At().Iterator(); it->Next();) samples.push_back(it->At());
      got[std::string(set->At().Labels().Get("i"))] = samples;
    }
    EXPECT_TRUE(set->Err().ok()) << set->Err();
    size_t listed = 0;
    while (labels_set->Next()) ++listed;
    EXPECT_TRUE(labels_set->Err().ok()) << labels_set->Err();
    EXPECT_EQ(listed, got.size());
    EXPECT_EQ(got.size(), whole_series ? 20u : 40u);
    for (const auto& [i, samples] : got) {
      const int64_t first = whole_series ? 30'000 : 10'000;
      const int64_t end = std::stoi(i) < 20 ? 40'000 : 20'000;
      ASSERT_FALSE(samples.empty()) << i;
      EXPECT_EQ(samples.front().first, first) << i;
      EXPECT_EQ(samples.back().first, end - 1000) << i;
      EXPECT_EQ(samples.size(), static_cast<size_t>((end - first) / 1000)) << i;
    }
  }
}

}  // namespace
}  // namespace xscaler::storage::head

namespace xscaler::storage::head {
namespace {

// The encoded comparison must order label sets exactly as labels::Labels does, including a
// set that is a prefix of another and names or values that are prefixes of each other.
TEST(EncodedLabelsTest, LessAgreesWithLabelsOrder) {
  const std::vector<labels::Labels> sets = {
      labels::Labels({{"__name__", "a"}}),
      labels::Labels({{"__name__", "a"}, {"job", "x"}}),
      labels::Labels({{"__name__", "a"}, {"job", "xy"}}),
      labels::Labels({{"__name__", "a"}, {"jo", "zzz"}}),
      labels::Labels({{"__name__", "ab"}}),
      labels::Labels({{"__name__", "b"}, {"a", ""}}),
      labels::Labels({{"__name__", "b"}, {"a", "\xff"}}),
      labels::Labels({{"__name__", std::string(200, 'q')}}),
      labels::Labels(),
  };
  for (const auto& a : sets) {
    for (const auto& b : sets) {
      EXPECT_EQ(EncodedLabelsLess(EncodeLabels(a), EncodeLabels(b)), a < b)
          << a.ToString() << " vs " << b.ToString();
    }
  }
}

// Select returns series in Labels::operator< order, including values with 0 and 1 bytes,
// prefixes of each other and label sets that are prefixes of others, inserted in random order.
TEST(HeadTest, SelectReturnsSeriesInLabelOrder) {
  std::vector<Labels> sets;
  const std::vector<std::string> values = {"", "a", "ab", "a\x01", std::string("a\0", 2),
                                           std::string("a\0b", 3), "a\x01\x01", "b", "\xff",
                                           std::string(1, '\0'), "\x01", "\x02"};
  for (const auto& v : values) {
    sets.push_back(Labels{{"__name__", "m"}, {"k", v}});
    sets.push_back(Labels{{"__name__", "m"}, {"k", v}, {"z", "1"}});
    sets.push_back(Labels{{"__name__", "m"}, {"ka", v}});
  }
  sets.push_back(Labels{{"__name__", "m"}});
  std::mt19937 rng(3);
  std::shuffle(sets.begin(), sets.end(), rng);
  HeadStorage db;
  auto app = db.NewAppender();
  for (const auto& l : sets) ASSERT_TRUE(app->Append(0, l, 1, 1).ok()) << l.ToString();
  ASSERT_TRUE(app->Commit().ok());
  auto q = db.NewQuerier(kMinTime, kMaxTime);
  const std::vector<labels::Matcher> m = {Eq("__name__", "m")};
  auto set = q->Select(m);
  std::vector<Labels> got;
  while (set->Next()) got.push_back(set->At().Labels());
  ASSERT_TRUE(set->Err().ok());
  std::vector<Labels> want;
  for (const auto& l : sets) {
    bool dup = false;  // an empty value means "no label": {k=""} is {__name__="m"}
    for (const auto& w : want) dup |= w == Labels(l);
    if (!dup) want.push_back(l);
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

// SelectLabels lists exactly the series Select returns, for ranges before, inside, between
// (a gap in a series' data) and after its chunks, with out-of-order data too.
TEST(HeadTest, SelectLabelsListsTheSeriesSelectReturns) {
  head::HeadOptions o;
  o.chunk.max_samples = 4;  // several chunks per series
  o.chunk.chunk_range_ms = 10'000;  // and the late sample of series 3 in a chunk of its own
  o.ooo_window_ms = 1'000'000;
  HeadStorage db(o);
  auto app = db.NewAppender();
  for (int i = 0; i < 8; ++i) {
    const Labels l{{"__name__", "m"}, {"i", std::to_string(i)}};
    for (int64_t t = 0; t < 10; ++t) ASSERT_TRUE(app->Append(0, l, 1000 * t + 100 * i, 1).ok());
    if (i == 3) {  // a long gap: samples again much later
      ASSERT_TRUE(app->Append(0, l, 500'000, 1).ok());
    }
  }
  ASSERT_TRUE(app->Commit().ok());
  auto ooo = db.NewAppender();
  ASSERT_TRUE(ooo->Append(0, Labels{{"__name__", "m"}, {"i", "5"}}, 250, 2).ok());  // out of order
  ASSERT_TRUE(ooo->Commit().ok());
  const std::vector<std::pair<int64_t, int64_t>> ranges = {
      {kMinTime, kMaxTime}, {-100, -1}, {0, 0}, {150, 260}, {250, 250},
      {9'800, 9'900}, {20'000, 400'000}, {500'000, 500'000}, {600'000, kMaxTime}};
  for (const auto& [mint, maxt] : ranges) {
    auto q = db.NewQuerier(mint, maxt);
    const std::vector<labels::Matcher> m = {Eq("__name__", "m")};
    std::vector<Labels> full, only;
    for (auto set = q->Select(m); set->Next();) full.push_back(set->At().Labels());
    for (auto set = q->SelectLabels(m); set->Next();) only.push_back(set->At().Labels());
    EXPECT_EQ(only, full) << mint << ".." << maxt;
  }
  // Series 3 spans the gap range (min and max time) but has no chunk in it: not listed.
  auto q = db.NewQuerier(20'000, 400'000);
  const std::vector<labels::Matcher> m = {Eq("__name__", "m")};
  size_t n = 0;
  for (auto set = q->SelectLabels(m); set->Next();) ++n;
  EXPECT_EQ(n, 0u);
}

}  // namespace
}  // namespace xscaler::storage::head
