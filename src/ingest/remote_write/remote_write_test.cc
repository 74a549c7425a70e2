// Encodes WriteRequests with libprotobuf (from the prompb mirror) and snappy, then checks what
// the zero-copy decoder hands to a recording Appender.
#include "ingest/remote_write/remote_write.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <snappy.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "remote_write.pb.h"

namespace xscaler::ingest::remote_write {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace pb = ::xscaler::test::prompb;

struct Appended {
  labels::Labels lset;
  int64_t t;
  double v;
  storage::SeriesRef ref_in;
};

class RecordingAppender final : public storage::Appender {
 public:
  absl::StatusOr<storage::SeriesRef> Append(storage::SeriesRef ref, const labels::Labels& lset,
                                            int64_t t, double v) override {
    if (t < 0) return absl::OutOfRangeError("out of order sample: timestamp before the newest");
    if (v == 666) return absl::AlreadyExistsError("duplicate sample with a different value");
    samples.push_back({lset, t, v, ref});
    auto it = refs.find(lset);
    if (it == refs.end()) it = refs.emplace(lset, refs.size() + 1).first;
    if (ref != 0) {
      EXPECT_EQ(ref, it->second) << "re-append must reuse the ref handed out";
    }
    return it->second;
  }
  void UpdateMetadata(const std::string& family, const storage::MetricMetadata& md) override {
    metadata[family] = md;
  }
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}

  std::vector<Appended> samples;
  std::map<labels::Labels, storage::SeriesRef> refs;
  std::map<std::string, storage::MetricMetadata> metadata;
};

pb::TimeSeries* AddSeries(pb::WriteRequest& req,
                          std::vector<std::pair<std::string, std::string>> lbls) {
  pb::TimeSeries* ts = req.add_timeseries();
  for (auto& [n, v] : lbls) {
    pb::Label* l = ts->add_labels();
    l->set_name(n);
    l->set_value(v);
  }
  return ts;
}

void AddSample(pb::TimeSeries* ts, int64_t t, double v) {
  pb::Sample* s = ts->add_samples();
  s->set_timestamp(t);
  s->set_value(v);
}

std::string Snappy(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

std::string Encode(const pb::WriteRequest& req) { return Snappy(req.SerializeAsString()); }

TEST(RemoteWriteTest, AppendsEverySampleWithSortedLabelsAndReusedRefs) {
  pb::WriteRequest req;
  auto* a = AddSeries(req, {{"job", "api"}, {"__name__", "http_requests_total"}, {"code", "200"}});
  AddSample(a, 1000, 1);
  AddSample(a, 2000, 2.5);
  AddSample(a, 3000, 4);
  auto* b = AddSeries(req, {{"__name__", "up"}});
  AddSample(b, 1500, 1);

  RecordingAppender app;
  IngestReport report;
  ASSERT_TRUE(IngestSnappy(Encode(req), 1 << 20, app, report).ok());
  ASSERT_EQ(app.samples.size(), 4u);
  labels::Labels want{{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}};
  EXPECT_EQ(app.samples[0].lset, want);
  EXPECT_EQ(app.samples[0].lset.items()[0].name, "__name__");
  EXPECT_EQ(app.samples[0].t, 1000);
  EXPECT_EQ(app.samples[1].v, 2.5);
  EXPECT_EQ(app.samples[0].ref_in, 0u);
  EXPECT_NE(app.samples[1].ref_in, 0u);  // second sample of a series uses the returned ref
  EXPECT_NE(app.samples[2].ref_in, 0u);
  EXPECT_EQ(app.samples[3].lset, (labels::Labels{{"__name__", "up"}}));
  EXPECT_EQ(app.samples[3].ref_in, 0u);
  EXPECT_EQ(report.accepted_samples(), 4);
  EXPECT_EQ(report.rejected_points(), 0);
}

TEST(RemoteWriteTest, PassesStaleMarkersAndSpecialValuesThrough) {
  pb::WriteRequest req;
  auto* a = AddSeries(req, {{"__name__", "x"}});
  AddSample(a, 1, storage::StaleNaN());
  AddSample(a, 2, std::numeric_limits<double>::infinity());
  RecordingAppender app;
  IngestReport report;
  ASSERT_TRUE(IngestProto(req.SerializeAsString(), app, report).ok());
  ASSERT_EQ(app.samples.size(), 2u);
  EXPECT_TRUE(storage::IsStaleNaN(app.samples[0].v));
  EXPECT_TRUE(std::isinf(app.samples[1].v));
}

TEST(RemoteWriteTest, EmptyLabelValuesAreDropped) {
  pb::WriteRequest req;
  AddSample(AddSeries(req, {{"__name__", "x"}, {"env", ""}}), 1, 1);
  RecordingAppender app;
  IngestReport report;
  ASSERT_TRUE(IngestProto(req.SerializeAsString(), app, report).ok());
  ASSERT_EQ(app.samples.size(), 1u);
  EXPECT_EQ(app.samples[0].lset, (labels::Labels{{"__name__", "x"}}));
}

TEST(RemoteWriteTest, RejectsBadSeriesButKeepsTheRest) {
  pb::WriteRequest req;
  auto* noname = AddSeries(req, {{"job", "a"}});
  AddSample(noname, 1, 1);
  AddSample(noname, 2, 1);
  AddSample(AddSeries(req, {{"__name__", "bad_label"}, {"foo-bar", "1"}}), 1, 1);
  AddSample(AddSeries(req, {{"__name__", "dup"}, {"a", "1"}, {"a", "2"}}), 1, 1);
  AddSample(AddSeries(req, {{"__name__", "bad metric"}}), 1, 1);
  AddSample(AddSeries(req, {{"__name__", "utf"}, {"v", "\xff\xfe"}}), 1, 1);
  AddSample(AddSeries(req, {{"__name__", "good"}}), 1, 1);

  RecordingAppender app;
  IngestReport report;
  ASSERT_TRUE(IngestSnappy(Encode(req), 1 << 20, app, report).ok());
  ASSERT_EQ(app.samples.size(), 1u);
  EXPECT_EQ(app.samples[0].lset.MetricName(), "good");
  EXPECT_EQ(report.accepted_samples(), 1);
  EXPECT_EQ(report.rejected_points(), 6);
  const auto& rj = report.rejections();
  ASSERT_EQ(rj.size(), 5u);
  EXPECT_EQ(rj[0].metric, "");
  EXPECT_THAT(rj[0].reason, HasSubstr("__name__"));
  EXPECT_EQ(rj[0].points, 2);
  EXPECT_EQ(rj[1].metric, "bad_label");
  EXPECT_THAT(rj[1].reason, HasSubstr("invalid label name \"foo-bar\""));
  EXPECT_EQ(rj[2].metric, "dup");
  EXPECT_THAT(rj[2].reason, HasSubstr("duplicate label name \"a\""));
  EXPECT_EQ(rj[3].metric, "bad metric");
  EXPECT_THAT(rj[3].reason, HasSubstr("invalid metric name"));
  EXPECT_EQ(rj[4].metric, "utf");
  EXPECT_THAT(rj[4].reason, HasSubstr("not valid UTF-8"));
}

TEST(RemoteWriteTest, NativeHistogramsAreRejectedWithAClearReason) {
  pb::WriteRequest req;
  auto* ts = AddSeries(req, {{"__name__", "latency"}});
  ts->add_histograms()->set_count_int(3);
  ts->add_histograms()->set_count_int(4);
  AddSample(ts, 5, 1);  // float samples of the same series still count
  RecordingAppender app;
  IngestReport report;
  ASSERT_TRUE(IngestProto(req.SerializeAsString(), app, report).ok());
  EXPECT_EQ(app.samples.size(), 1u);
  ASSERT_EQ(report.rejections().size(), 1u);
  EXPECT_EQ(report.rejections()[0].metric, "latency");
  EXPECT_EQ(report.rejections()[0].points, 2);
  EXPECT_THAT(report.rejections()[0].reason, HasSubstr("native histograms are not supported yet"));
}

TEST(RemoteWriteTest, AppendErrorsAreReportedAndMergedPerSeries) {
  pb::WriteRequest req;
  auto* ts = AddSeries(req, {{"__name__", "m"}});
  AddSample(ts, 1, 1);
  for (int i = 0; i < 50; ++i) AddSample(ts, -1 - i, 1);  // 50 out-of-order samples
  AddSample(ts, 2, 666);                                 // a conflicting duplicate
  AddSample(ts, 3, 3);
  RecordingAppender app;
  IngestReport report;
  ASSERT_TRUE(IngestProto(req.SerializeAsString(), app, report).ok());
  EXPECT_EQ(app.samples.size(), 2u);
  EXPECT_EQ(report.accepted_samples(), 2);
  EXPECT_EQ(report.rejected_points(), 51);
  ASSERT_EQ(report.rejections().size(), 2u);
  EXPECT_EQ(report.rejections()[0].metric, "m");
  EXPECT_EQ(report.rejections()[0].points, 50);
  EXPECT_THAT(report.rejections()[0].reason, HasSubstr("out of order"));
  EXPECT_EQ(report.rejections()[1].points, 1);
}

TEST(RemoteWriteTest, MetadataBecomesUpdateMetadata) {
  pb::WriteRequest req;
  auto* md = req.add_metadata();
  md->set_type(pb::MetricMetadata::COUNTER);
  md->set_metric_family_name("http_requests");
  md->set_help("Requests served.");
  md->set_unit("requests");
  auto* md2 = req.add_metadata();
  md2->set_type(pb::MetricMetadata::STATESET);
  md2->set_metric_family_name("state");
  req.add_metadata()->set_help("no family name: ignored");
  RecordingAppender app;
  IngestReport report;
  ASSERT_TRUE(IngestSnappy(Encode(req), 1 << 20, app, report).ok());
  ASSERT_EQ(app.metadata.size(), 2u);
  EXPECT_EQ(app.metadata["http_requests"],
            (storage::MetricMetadata{"counter", "requests", "Requests served."}));
  EXPECT_EQ(app.metadata["state"].type, "stateset");
  EXPECT_EQ(MetricTypeName(0), "unknown");
  EXPECT_EQ(MetricTypeName(4), "gaugehistogram");
  EXPECT_EQ(MetricTypeName(99), "unknown");
}

TEST(RemoteWriteTest, EmptyRequestIsFine) {
  RecordingAppender app;
  IngestReport report;
  EXPECT_TRUE(IngestSnappy(Snappy(""), 1 << 20, app, report).ok());
  EXPECT_TRUE(app.samples.empty());
}

TEST(RemoteWriteTest, BadSnappyIsInvalidArgument) {
  RecordingAppender app;
  IngestReport report;
  absl::Status s = IngestSnappy("", 1 << 20, app, report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("empty"));

  s = IngestSnappy("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 1 << 20, app, report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("snappy"));

  s = IngestSnappy(std::string("\xff\x06\x00\x00sNaPpY", 10) + "xx", 1 << 20, app, report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("framed"));

  // Valid length header but truncated compressed data.
  pb::WriteRequest req;
  for (int i = 0; i < 20; ++i) AddSample(AddSeries(req, {{"__name__", "m" + std::to_string(i)}}), i, i);
  std::string body = Encode(req);
  s = IngestSnappy(body.substr(0, body.size() / 2), 1 << 20, app, report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(app.samples.empty());
}

TEST(RemoteWriteTest, HugeClaimedLengthIsRejectedBeforeAllocating) {
  // A snappy header claiming ~4 GiB followed by nothing.
  std::string body = "\xff\xff\xff\xff\x0f";
  RecordingAppender app;
  IngestReport report;
  absl::Status s = IngestSnappy(body, 64 << 20, app, report);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("over the limit of 67108864 bytes"));

  pb::WriteRequest req;
  AddSample(AddSeries(req, {{"__name__", "m"}}), 1, 1);
  std::string raw = req.SerializeAsString();
  EXPECT_EQ(IngestSnappy(Snappy(raw), raw.size() - 1, app, report).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(IngestSnappy(Snappy(raw), raw.size(), app, report).ok());
}

TEST(RemoteWriteTest, MalformedProtobufAppendsNothing) {
  pb::WriteRequest req;
  for (int i = 0; i < 3; ++i) AddSample(AddSeries(req, {{"__name__", "ok"}}), i, i);
  std::string raw = req.SerializeAsString();

  // Every strict prefix that cuts inside a message must fail and must append nothing; prefixes
  // ending exactly at a timeseries boundary are valid shorter requests.
  int failures = 0;
  for (size_t n = 1; n < raw.size(); ++n) {
    RecordingAppender app;
    IngestReport report;
    absl::Status s = IngestProto(raw.substr(0, n), app, report);
    if (!s.ok()) {
      ++failures;
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(s.message(), HasSubstr("malformed remote-write WriteRequest"));
      EXPECT_TRUE(app.samples.empty()) << "prefix " << n;
    }
  }
  EXPECT_GT(failures, 0);

  // A valid series followed by a sample with the wrong wire type for `value`.
  std::string bad = raw;
  std::string wrong_sample("\x08\x01", 2);  // field 1 as varint instead of double
  std::string ts = std::string("\x12") + char(wrong_sample.size()) + wrong_sample;
  bad += std::string("\x0a") + char(ts.size()) + ts;
  RecordingAppender app;
  IngestReport report;
  absl::Status s = IngestSnappy(Snappy(bad), 1 << 20, app, report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("timeseries #3"));
  EXPECT_TRUE(app.samples.empty());

  // Groups are not allowed.
  EXPECT_EQ(IngestProto(std::string("\x0b\x0c", 2), app, report).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RemoteWriteTest, UnknownFieldsAndExemplarsAreSkipped) {
  pb::WriteRequest req;
  auto* ts = AddSeries(req, {{"__name__", "m"}});
  AddSample(ts, 1, 1);
  auto* ex = ts->add_exemplars();
  ex->set_value(3);
  ex->add_labels()->set_name("trace_id");
  std::string raw = req.SerializeAsString();
  raw += std::string("\xa0\x06\x07", 3);  // field 100, varint 7
  RecordingAppender app;
  IngestReport report;
  ASSERT_TRUE(IngestProto(raw, app, report).ok());
  EXPECT_EQ(app.samples.size(), 1u);
}



// A store with refs that can be forgotten (as garbage collection does), recording which entry
// point each sample came through. Same per-sample rules as RecordingAppender.
class RefAppender final : public storage::Appender {
 public:
  absl::StatusOr<storage::SeriesRef> Append(storage::SeriesRef ref, const labels::Labels& lset,
                                            int64_t t, double v) override {
    ++by_labels;
    auto it = refs.find(lset);
    if (ref != 0 && by_ref.contains(ref)) {
      EXPECT_EQ(by_ref.at(ref), lset) << "a ref must stand for its own labels";
    }
    if (absl::Status s = Rule(t, v); !s.ok()) return s;
    if (it == refs.end()) {
      it = refs.emplace(lset, ++next_ref).first;
      by_ref.emplace(it->second, lset);
      ever.emplace(it->second, lset);
    }
    stored.push_back({lset, t, v, ref});
    return it->second;
  }
  absl::StatusOr<storage::SeriesRef> AppendExisting(storage::SeriesRef ref, int64_t t,
                                                    double v) override {
    ++existing;
    auto it = by_ref.find(ref);
    if (it == by_ref.end()) return absl::NotFoundError("gone");
    if (absl::Status s = Rule(t, v); !s.ok()) return s;
    stored.push_back({it->second, t, v, ref});
    return ref;
  }
  void UpdateMetadata(const std::string&, const storage::MetricMetadata&) override {}
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}

  void ForgetAll() {
    refs.clear();
    by_ref.clear();
  }

  static absl::Status Rule(int64_t t, double v) {
    if (t < 0) return absl::OutOfRangeError("out of order sample: timestamp before the newest");
    if (v == 666) return absl::AlreadyExistsError("duplicate sample with a different value");
    return absl::OkStatus();
  }

  std::vector<Appended> stored;
  std::map<labels::Labels, storage::SeriesRef> refs;
  std::map<storage::SeriesRef, labels::Labels> by_ref;
  std::map<storage::SeriesRef, labels::Labels> ever;  // ForgetAll keeps these
  storage::SeriesRef next_ref = 0;
  int by_labels = 0;
  int existing = 0;
};

// Valid series (sorted, unsorted, with an empty value, with failing samples, with a native
// histogram) next to invalid ones.
std::string MixedRequest() {
  pb::WriteRequest req;
  auto* a = AddSeries(req, {{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}});
  AddSample(a, 1000, 1);
  AddSample(a, 2000, 2);
  auto* b = AddSeries(req, {{"job", "api"}, {"__name__", "up"}, {"empty", ""}});
  AddSample(b, 1000, 1);
  auto* c = AddSeries(req, {{"__name__", "errs"}, {"k", "v"}});
  AddSample(c, 1000, 1);
  AddSample(c, -5, 1);    // OutOfRange
  AddSample(c, -6, 1);    // merged with the previous
  AddSample(c, 3000, 666);  // AlreadyExists
  AddSample(c, 4000, 4);
  auto* d = AddSeries(req, {{"__name__", "hist"}, {"le", "1"}});
  AddSample(d, 1000, 1);
  d->add_histograms();
  auto* e = AddSeries(req, {{"__name__", "bad"}, {"0invalid", "x"}});
  AddSample(e, 1000, 1);
  auto* f = AddSeries(req, {{"job", "no_name"}});
  AddSample(f, 1000, 1);
  auto* g = AddSeries(req, {{"__name__", "dup"}, {"a", "1"}, {"a", "2"}});
  AddSample(g, 1000, 1);
  auto* h = AddSeries(req, {{"__name__", "only_failures"}});
  AddSample(h, -1, 1);
  return req.SerializeAsString();
}

void ExpectSameReports(const IngestReport& got, const IngestReport& want) {
  EXPECT_EQ(got.accepted_samples(), want.accepted_samples());
  EXPECT_EQ(got.rejected_points(), want.rejected_points());
  ASSERT_EQ(got.rejections().size(), want.rejections().size());
  for (size_t i = 0; i < got.rejections().size(); ++i) {
    EXPECT_EQ(got.rejections()[i].metric, want.rejections()[i].metric) << i;
    EXPECT_EQ(got.rejections()[i].reason, want.rejections()[i].reason) << i;
    EXPECT_EQ(got.rejections()[i].points, want.rejections()[i].points) << i;
  }
}

void ExpectSameStored(const std::vector<Appended>& got, const std::vector<Appended>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].lset, want[i].lset) << i;
    EXPECT_EQ(got[i].t, want[i].t) << i;
    EXPECT_EQ(got[i].v, want[i].v) << i;
  }
}

TEST(RemoteWriteCacheTest, SameRequestTwiceStoresAndReportsExactlyAsWithoutCache) {
  const std::string body = Snappy(MixedRequest());
  RefAppender plain, cached;
  SeriesRefCache cache;
  for (int round = 0; round < 2; ++round) {
    IngestReport want, got;
    ASSERT_TRUE(IngestSnappy(body, 1 << 20, plain, want).ok());
    ASSERT_TRUE(IngestSnappy(body, 1 << 20, cached, got, &cache).ok());
    ExpectSameReports(got, want);
    ASSERT_FALSE(want.rejections().empty());
  }
  ExpectSameStored(cached.stored, plain.stored);
  EXPECT_EQ(plain.existing, 0);
  // Four valid series with at least one stored sample are cached; the second round appends
  // their 2 + 1 + 5 + 1 samples by ref.
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cached.existing, 9);
  EXPECT_EQ(cached.by_labels, plain.by_labels - 9);
}

TEST(RemoteWriteCacheTest, ForgottenRefFallsBackToLabelsAndIsRecached) {
  const std::string raw = MixedRequest();
  RefAppender plain, cached;
  SeriesRefCache cache;
  for (int round = 0; round < 3; ++round) {
    IngestReport want, got;
    ASSERT_TRUE(IngestProto(raw, plain, want).ok());
    ASSERT_TRUE(IngestProto(raw, cached, got, &cache).ok());
    ExpectSameReports(got, want);
    if (round == 0) {
      cached.ForgetAll();  // every cached ref is now NotFound
      plain.ForgetAll();
    }
  }
  ExpectSameStored(cached.stored, plain.stored);
  // Round 2: four NotFound, then Append by labels; round 3: all by the new refs.
  EXPECT_EQ(cached.existing, 4 + 9);
  EXPECT_EQ(cache.size(), 4u);
  // Every sample appended with a ref went to that ref's own series.
  for (const auto& s : cached.stored) {
    if (s.ref_in != 0) {
      EXPECT_EQ(cached.ever.at(s.ref_in), s.lset);
    }
  }
  EXPECT_EQ(cached.ever.size(), 8u);  // the 4 series with a stored sample, created twice
}

TEST(RemoteWriteCacheTest, InvalidLabelSetsAreNeverCached) {
  pb::WriteRequest req;
  AddSample(AddSeries(req, {{"__name__", "bad"}, {"0invalid", "x"}}), 1000, 1);
  AddSample(AddSeries(req, {{"job", "no_name"}}), 1000, 1);
  AddSample(AddSeries(req, {{"__name__", "dup"}, {"a", "1"}, {"a", "2"}}), 1000, 1);
  AddSample(AddSeries(req, {{"__name__", "9bad"}}), 1000, 1);
  AddSample(AddSeries(req, {{"__name__", "utf8"}, {"a", "\xff"}}), 1000, 1);
  const std::string raw = req.SerializeAsString();
  RefAppender app;
  SeriesRefCache cache;
  for (int round = 0; round < 2; ++round) {
    IngestReport report;
    ASSERT_TRUE(IngestProto(raw, app, report, &cache).ok());
    EXPECT_EQ(report.rejected_points(), 5);
    EXPECT_EQ(report.accepted_samples(), 0);
  }
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(app.existing, 0);
  EXPECT_TRUE(app.stored.empty());
}

TEST(RemoteWriteCacheTest, AppenderWithoutAppendExistingStillStoresEverything) {
  const std::string raw = MixedRequest();
  RecordingAppender plain, cached;  // default AppendExisting: always NotFound
  SeriesRefCache cache;
  for (int round = 0; round < 2; ++round) {
    IngestReport want, got;
    ASSERT_TRUE(IngestProto(raw, plain, want).ok());
    ASSERT_TRUE(IngestProto(raw, cached, got, &cache).ok());
    ExpectSameReports(got, want);
  }
  ExpectSameStored(cached.samples, plain.samples);
}

}  // namespace
}  // namespace xscaler::ingest::remote_write
