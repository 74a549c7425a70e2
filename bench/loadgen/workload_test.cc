// The workload's promises (workload.h): both encodings carry the same series and samples
// through xscaler's own decoders, the data does not depend on sharding or batching, batches
// respect their limit, and churn replaces series without changing the active count.
#include "loadgen/workload.h"

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "ingest/otlp/ingester.h"
#include "ingest/remote_write/remote_write.h"
#include "ingest/report.h"
#include "loadgen/digest_appender.h"
#include "storage/storage.h"

namespace xscaler::bench {
namespace {

using Digest = DigestAppender::Digest;


WorkloadOptions Small() {
  WorkloadOptions o;
  o.series = 1500;
  o.samples = 6;
  o.batch = 700;
  o.shards = 3;
  o.base_ms = 1'700'000'000'000;
  return o;
}

void DecodeAll(const Workload& wl, Protocol p, DigestAppender& app) {
  ingest::otlp::Ingester ingester(nullptr, ingest::otlp::TranslationOptions{});
  for (int s = 0; s < wl.options().shards; ++s) {
    for (EncodedRequest& r : wl.Encode(p, s)) {
      ingest::IngestReport rep;
      absl::Status st =
          p == Protocol::kRemoteWrite
              ? ingest::remote_write::IngestSnappy(r.body, 64 << 20, app, rep)
              : ingester.Ingest(r.body, ingest::otlp::Encoding::kProtobuf, app, rep);
      ASSERT_TRUE(st.ok()) << st;
      ASSERT_EQ(rep.rejected_points(), 0) << rep.Summary();
      ASSERT_EQ(rep.accepted_samples(), r.samples);
    }
  }
}

TEST(WorkloadTest, RemoteWriteAndOtlpCarryTheSameSeriesAndSamples) {
  Workload wl(Small());
  DigestAppender rw, otlp;
  DecodeAll(wl, Protocol::kRemoteWrite, rw);
  DecodeAll(wl, Protocol::kOtlp, otlp);
  EXPECT_EQ(static_cast<int64_t>(rw.series.size()), wl.info().series);
  EXPECT_EQ(rw.series, otlp.series);
  int64_t samples = 0;
  for (const auto& [k, d] : rw.series) samples += d.n;
  EXPECT_EQ(samples, wl.info().samples_total);
  EXPECT_GE(*rw.times.begin(), wl.info().min_t);
  EXPECT_LE(*rw.times.rbegin(), wl.info().max_t);
}

TEST(WorkloadTest, SeriesLookLikeRealServices) {
  Workload wl(Small());
  int histogram_buckets = 0;
  for (const auto& set : wl.LabelSets()) {
    ASSERT_GE(set.size(), 7u);
    ASSERT_LE(set.size(), 10u);
    EXPECT_EQ(set.front().first, "__name__");
    for (size_t i = 1; i < set.size(); ++i) EXPECT_LT(set[i - 1].first, set[i].first);
    if (set.front().second == "http_request_duration_seconds_bucket") ++histogram_buckets;
  }
  EXPECT_EQ(static_cast<int64_t>(wl.LabelSets().size()), wl.info().series);
  EXPECT_GT(histogram_buckets, 0);
  EXPECT_EQ(histogram_buckets % 12, 0);
}

TEST(WorkloadTest, DataDoesNotDependOnShardsOrBatches) {
  WorkloadOptions a = Small();
  WorkloadOptions b = Small();
  b.shards = 1;
  b.batch = 100000;
  DigestAppender da, db;
  DecodeAll(Workload(a), Protocol::kRemoteWrite, da);
  DecodeAll(Workload(b), Protocol::kRemoteWrite, db);
  EXPECT_EQ(da.series, db.series);
}

TEST(WorkloadTest, SameSeedSameBytesOtherSeedOtherData) {
  WorkloadOptions a = Small();
  WorkloadOptions b = Small();
  b.seed = 2;
  DigestAppender da, db;
  DecodeAll(Workload(a), Protocol::kRemoteWrite, da);
  DecodeAll(Workload(b), Protocol::kRemoteWrite, db);
  EXPECT_NE(da.series, db.series);
  EXPECT_EQ(Workload(a).Encode(Protocol::kOtlp, 1)[0].body,
            Workload(a).Encode(Protocol::kOtlp, 1)[0].body);
}

TEST(WorkloadTest, RequestsRespectTheBatchLimit) {
  WorkloadOptions o = Small();
  o.batch = 50;
  Workload wl(o);
  int64_t total = 0;
  for (int s = 0; s < o.shards; ++s) {
    for (const EncodedRequest& r : wl.Encode(Protocol::kRemoteWrite, s)) {
      EXPECT_LE(r.samples, 50);
      EXPECT_GT(r.samples, 0);
      total += r.samples;
    }
  }
  EXPECT_EQ(total, wl.info().samples_total);
}

TEST(WorkloadTest, BatchSmallerThanAHistogramStillSendsWholeGroups) {
  WorkloadOptions o = Small();
  o.batch = 1;
  Workload wl(o);
  int64_t max_samples = 0;
  for (const EncodedRequest& r : wl.Encode(Protocol::kRemoteWrite, 0)) {
    max_samples = std::max(max_samples, r.samples);
  }
  EXPECT_EQ(max_samples, 14);  // 12 buckets + _sum + _count, never split
}

TEST(WorkloadTest, ChurnReplacesSeriesAndKeepsTheActiveCount) {
  WorkloadOptions o = Small();
  o.samples = 12;
  o.churn_every = 4;
  o.churn_fraction = 0.5;
  Workload wl(o);
  EXPECT_GT(wl.info().total_series, wl.info().series);
  DigestAppender rw, otlp;
  DecodeAll(wl, Protocol::kRemoteWrite, rw);
  DecodeAll(wl, Protocol::kOtlp, otlp);
  EXPECT_EQ(static_cast<int64_t>(rw.series.size()), wl.info().total_series);
  EXPECT_EQ(rw.series, otlp.series);
  int64_t samples = 0;
  for (const auto& [k, d] : rw.series) samples += d.n;
  EXPECT_EQ(samples, wl.info().samples_total);
}

}  // namespace
}  // namespace xscaler::bench
