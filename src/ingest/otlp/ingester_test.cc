#include "ingest/otlp/ingester.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "ingest/otlp/fake_appender.h"
#include "metrics.pb.h"

namespace xscaler::ingest::otlp {
namespace {

namespace pb = ::xscaler::test::otlp;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint64_t kStart = 1700000000000000000ULL;  // ms 1700000000000
constexpr uint64_t kTime = 1700000015123456789ULL;   // ms 1700000015123

void Attr(google::protobuf::RepeatedPtrField<pb::KeyValue>* attrs, const std::string& k,
          const std::string& v) {
  auto* kv = attrs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}

// A resource + scope, ready for metrics.
struct Builder {
  pb::ExportMetricsServiceRequest req;
  pb::ScopeMetrics* scope;

  Builder() {
    auto* rm = req.add_resource_metrics();
    auto* attrs = rm->mutable_resource()->mutable_attributes();
    Attr(attrs, "service.name", "checkout");
    Attr(attrs, "service.namespace", "shop");
    Attr(attrs, "service.instance.id", "i-1");
    Attr(attrs, "telemetry.sdk.language", "python");
    scope = rm->add_scope_metrics();
    scope->mutable_scope()->set_name("my-service");
    scope->mutable_scope()->set_version("1.0.0");
  }
  pb::Metric* Add(const std::string& name, const std::string& unit) {
    auto* m = scope->add_metrics();
    m->set_name(name);
    m->set_unit(unit);
    m->set_description("help for " + name);
    return m;
  }
  std::string Bytes() const { return req.SerializeAsString(); }
};

pb::NumberDataPoint* AddNumber(google::protobuf::RepeatedPtrField<pb::NumberDataPoint>* pts,
                               uint64_t start, uint64_t time, double v) {
  auto* p = pts->Add();
  p->set_start_time_unix_nano(start);
  p->set_time_unix_nano(time);
  p->set_as_double(v);
  return p;
}

std::string Fmt(double v) {
  if (storage::IsStaleNaN(v)) return "stale";
  return absl::StrCat(v);
}

// Every recorded sample as "series t v", sorted.
std::vector<std::string> Dump(const FakeAppender& app) {
  std::vector<std::string> out;
  for (const auto& s : app.samples)
    out.push_back(absl::StrCat(s.lset.ToString(), " ", s.t, " ", Fmt(s.v)));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

struct Outcome {
  absl::Status status;
  FakeAppender app;
  IngestReport report;
};

void IngestProto(Ingester& ing, const std::string& bytes, Outcome& r) {
  std::string body = bytes;
  r.status = ing.Ingest(body, Encoding::kProtobuf, r.app, r.report);
}
void IngestJson(Ingester& ing, const std::string& json, Outcome& r) {
  std::string body = json;
  r.status = ing.Ingest(body, Encoding::kJson, r.app, r.report);
}

const char* kTarget =
    "target_info{instance=\"i-1\", job=\"shop/checkout\", telemetry_sdk_language=\"python\"}";

Builder GuideRequest() {
  Builder b;
  auto* counter = b.Add("http_requests_total", "1");
  counter->mutable_sum()->set_is_monotonic(true);
  counter->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* cp = counter->mutable_sum()->add_data_points();
  cp->set_start_time_unix_nano(kStart);
  cp->set_time_unix_nano(kTime);
  cp->set_as_int(7);
  Attr(cp->mutable_attributes(), "method", "GET");
  Attr(cp->mutable_attributes(), "status", "200");

  auto* hist = b.Add("http_request_duration_seconds", "s");
  hist->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* hp = hist->mutable_histogram()->add_data_points();
  hp->set_start_time_unix_nano(kStart);
  hp->set_time_unix_nano(kTime);
  hp->set_count(4);
  hp->set_sum(0.5);
  for (double bound : {0.005, 0.01, 10000.0}) hp->add_explicit_bounds(bound);
  for (uint64_t c : {1, 0, 2, 1}) hp->add_bucket_counts(c);
  Attr(hp->mutable_attributes(), "route", "/api/v1/metrics");

  auto* updown = b.Add("job_queue_depth", "1");
  updown->mutable_sum()->set_is_monotonic(false);
  updown->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* up = updown->mutable_sum()->add_data_points();
  up->set_start_time_unix_nano(kStart);
  up->set_time_unix_nano(kTime);
  up->set_as_int(3);
  return b;
}

// "series t v" with the label set rendered by Labels (sorted names).
std::string S(const std::string& name, std::vector<labels::Label> ls, int64_t t, double v) {
  ls.push_back({"__name__", name});
  return absl::StrCat(labels::Labels(std::move(ls)).ToString(), " ", t, " ", Fmt(v));
}

std::vector<std::string> GuideExpected() {
  std::vector<labels::Label> c = {{"instance", "i-1"},
                                  {"job", "shop/checkout"},
                                  {"otel_scope_name", "my-service"},
                                  {"otel_scope_version", "1.0.0"}};
  auto with = [&](std::vector<labels::Label> extra) {
    std::vector<labels::Label> out = c;
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
  };
  const int64_t t0 = 1700000000000, t1 = 1700000015123;
  auto bucket = [&](const std::string& le, int64_t t, double v) {
    return S("http_request_duration_seconds_bucket",
             with({{"le", le}, {"route", "/api/v1/metrics"}}), t, v);
  };
  auto route = with({{"route", "/api/v1/metrics"}});
  auto req = with({{"method", "GET"}, {"status", "200"}});
  return Sorted({
      S("http_requests_total", req, t0, 0),
      S("http_requests_total", req, t1, 7),
      bucket("0.005", t0, 0),
      bucket("0.005", t1, 1),
      bucket("0.01", t0, 0),
      bucket("0.01", t1, 1),
      bucket("10000", t0, 0),
      bucket("10000", t1, 3),
      bucket("+Inf", t0, 0),
      bucket("+Inf", t1, 4),
      S("http_request_duration_seconds_count", route, t0, 0),
      S("http_request_duration_seconds_count", route, t1, 4),
      S("http_request_duration_seconds_sum", route, t0, 0),
      S("http_request_duration_seconds_sum", route, t1, 0.5),
      S("job_queue_depth", c, t1, 3),
      absl::StrCat(kTarget, " ", t1, " 1"),
  });
}

// The same request as the OTel JS `-http` exporter would send it (JSON, ints as strings).
const char* kGuideJson = R"({"resourceMetrics":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"checkout"}},
  {"key":"service.namespace","value":{"stringValue":"shop"}},
  {"key":"service.instance.id","value":{"stringValue":"i-1"}},
  {"key":"telemetry.sdk.language","value":{"stringValue":"python"}}],"droppedAttributesCount":0},
 "scopeMetrics":[{"scope":{"name":"my-service","version":"1.0.0"},"metrics":[
  {"name":"http_requests_total","description":"help for http_requests_total","unit":"1",
   "sum":{"dataPoints":[{"attributes":[{"key":"method","value":{"stringValue":"GET"}},
     {"key":"status","value":{"stringValue":"200"}}],
     "startTimeUnixNano":"1700000000000000000","timeUnixNano":"1700000015123456789","asInt":"7"}],
     "aggregationTemporality":2,"isMonotonic":true}},
  {"name":"http_request_duration_seconds","description":"help for http_request_duration_seconds","unit":"s",
   "histogram":{"dataPoints":[{"attributes":[{"key":"route","value":{"stringValue":"/api/v1/metrics"}}],
     "startTimeUnixNano":1700000000000000000,"timeUnixNano":"1700000015123456789","count":"4","sum":0.5,
     "bucketCounts":["1","0",2,"1"],"explicitBounds":[0.005,0.01,10000],"min":0.001,"max":3,
     "exemplars":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","asDouble":1}]}],
     "aggregationTemporality":2}},
  {"name":"job_queue_depth","description":"help for job_queue_depth","unit":"1",
   "sum":{"dataPoints":[{"startTimeUnixNano":"1700000000000000000","timeUnixNano":"1700000015123456789","asInt":3}],
     "aggregationTemporality":2,"isMonotonic":false},"someFutureField":{"x":[1,2]}}]}]}]})";

TEST(Ingester, GuideInstrumentsProtobuf) {
  Ingester ing(nullptr, {});
  Outcome r;
  IngestProto(ing, GuideRequest().Bytes(), r);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(Dump(r.app), GuideExpected());
  EXPECT_EQ(r.report.rejected_points(), 0);
  EXPECT_THAT(r.report.warnings(), IsEmpty());
  EXPECT_EQ(r.report.accepted_samples(), 9);  // injected zeros are not counted
  EXPECT_EQ(r.app.metadata.at("http_requests_total"),
            (storage::MetricMetadata{"counter", "", "help for http_requests_total"}));
  EXPECT_EQ(
      r.app.metadata.at("http_request_duration_seconds"),
      (storage::MetricMetadata{"histogram", "seconds", "help for http_request_duration_seconds"}));
  EXPECT_EQ(r.app.metadata.at("job_queue_depth"),
            (storage::MetricMetadata{"gauge", "", "help for job_queue_depth"}));
  EXPECT_EQ(r.app.metadata.at("target_info"),
            (storage::MetricMetadata{"gauge", "", "Target metadata"}));
}

TEST(Ingester, GuideInstrumentsJsonGivesIdenticalOutput) {
  Ingester ing(nullptr, {});
  Outcome r;
  IngestJson(ing, kGuideJson, r);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(Dump(r.app), GuideExpected());
  EXPECT_EQ(r.report.rejected_points(), 0);
  EXPECT_EQ(r.app.metadata.size(), 4u);
}

TEST(Ingester, SecondExportDoesNotInjectZeroAgain) {
  Ingester ing(nullptr, {});
  FakeAppender app;
  for (int i = 0; i < 2; ++i) {
    Builder b = GuideRequest();
    auto* p = b.scope->mutable_metrics(0)->mutable_sum()->mutable_data_points(0);
    p->set_time_unix_nano(kTime + i * 15'000'000'000ULL);
    std::string body = b.Bytes();
    IngestReport report;
    ASSERT_TRUE(ing.Ingest(body, Encoding::kProtobuf, app, report).ok());
    EXPECT_EQ(report.rejected_points(), 0) << report.Summary();
  }
  int zeros = 0;
  for (const auto& s : app.samples) {
    if (s.lset.MetricName() == "http_requests_total" && s.v == 0) ++zeros;
  }
  EXPECT_EQ(zeros, 1);
}

TEST(Ingester, GaugeWithRatioAndNoResourceAttributes) {
  pb::ExportMetricsServiceRequest req;
  auto* m = req.add_resource_metrics()->add_scope_metrics()->add_metrics();
  m->set_name("cpu.utilization");
  m->set_unit("1");
  auto* p = AddNumber(m->mutable_gauge()->mutable_data_points(), kStart, kTime, 0.25);
  Attr(p->mutable_attributes(), "cpu", "0");
  Attr(p->mutable_attributes(), "job", "from-point");  // kept: the resource sets no job
  Ingester ing(nullptr, {});
  Outcome r;
  IngestProto(ing, req.SerializeAsString(), r);
  ASSERT_TRUE(r.status.ok());
  // No zero injection for gauges, no target_info without job/instance, no scope labels.
  EXPECT_THAT(
      Dump(r.app),
      ElementsAre("cpu_utilization_ratio{cpu=\"0\", job=\"from-point\"} 1700000015123 0.25"));
  EXPECT_EQ(r.app.metadata.at("cpu_utilization_ratio").type, "gauge");
}

TEST(Ingester, HistogramWithoutSumAndWithoutBuckets) {
  Builder b;
  auto* m = b.Add("latency", "ms");
  m->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* p = m->mutable_histogram()->add_data_points();
  p->set_time_unix_nano(kTime);
  p->set_count(3);
  TranslationOptions opts;
  opts.emit_target_info = false;
  opts.promote_scope_labels = false;
  Ingester ing(nullptr, opts);
  Outcome r;
  IngestProto(ing, b.Bytes(), r);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(Dump(r.app),
            Sorted({"latency_milliseconds_bucket{instance=\"i-1\", job=\"shop/checkout\", "
                    "le=\"+Inf\"} 1700000015123 3",
                    "latency_milliseconds_count{instance=\"i-1\", job=\"shop/checkout\"} "
                    "1700000015123 3"}));
}

TEST(Ingester, Summary) {
  Builder b;
  auto* m = b.Add("rpc.latency", "s");
  auto* p = m->mutable_summary()->add_data_points();
  p->set_start_time_unix_nano(kStart);
  p->set_time_unix_nano(kTime);
  p->set_count(10);
  p->set_sum(2.5);
  auto* q = p->add_quantile_values();
  q->set_quantile(0.5);
  q->set_value(0.2);
  q = p->add_quantile_values();
  q->set_quantile(0.99);
  q->set_value(0.9);
  TranslationOptions opts;
  opts.emit_target_info = false;
  opts.promote_scope_labels = false;
  Ingester ing(nullptr, opts);
  Outcome r;
  IngestProto(ing, b.Bytes(), r);
  ASSERT_TRUE(r.status.ok());
  const std::string c = "instance=\"i-1\", job=\"shop/checkout\"";
  EXPECT_EQ(Dump(r.app),
            Sorted({
                absl::StrCat("rpc_latency_seconds{", c, ", quantile=\"0.5\"} 1700000015123 0.2"),
                absl::StrCat("rpc_latency_seconds{", c, ", quantile=\"0.99\"} 1700000015123 0.9"),
                absl::StrCat("rpc_latency_seconds_count{", c, "} 1700000015123 10"),
                absl::StrCat("rpc_latency_seconds_sum{", c, "} 1700000015123 2.5"),
            }));
  EXPECT_EQ(r.app.metadata.at("rpc_latency_seconds").type, "summary");
}

Builder DeltaCounter(uint64_t start, uint64_t time, double v) {
  Builder b;
  auto* m = b.Add("requests", "");
  m->mutable_sum()->set_is_monotonic(true);
  m->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_DELTA);
  AddNumber(m->mutable_sum()->mutable_data_points(), start, time, v);
  return b;
}

TEST(Ingester, DeltaSumBecomesCumulative) {
  TranslationOptions opts;
  opts.emit_target_info = false;
  opts.promote_scope_labels = false;
  Ingester ing(nullptr, opts);
  FakeAppender app;
  const uint64_t s = 1'000'000'000ULL;
  struct Step {
    uint64_t start, time;
    double v;
  };
  for (Step st : {Step{kStart, kStart + 10 * s, 5}, Step{kStart + 10 * s, kStart + 20 * s, 3},
                  Step{kStart + 10 * s, kStart + 20 * s, 3} /* re-send */,
                  Step{kStart + 20 * s, kStart + 30 * s, 0.5}}) {
    std::string body = DeltaCounter(st.start, st.time, st.v).Bytes();
    IngestReport report;
    ASSERT_TRUE(ing.Ingest(body, Encoding::kProtobuf, app, report).ok());
    EXPECT_EQ(report.rejected_points(), 0) << report.Summary();
  }
  const std::string series = "requests_total{instance=\"i-1\", job=\"shop/checkout\"}";
  EXPECT_EQ(Dump(app), Sorted({absl::StrCat(series, " 1700000000000 0"),
                               absl::StrCat(series, " 1700000010000 5"),
                               absl::StrCat(series, " 1700000020000 8"),
                               absl::StrCat(series, " 1700000030000 8.5")}));
  EXPECT_EQ(app.metadata.at("requests_total").type, "counter");

  // An older delta point is rejected and does not change the total.
  std::string body = DeltaCounter(kStart, kStart + 15 * s, 100).Bytes();
  IngestReport report;
  ASSERT_TRUE(ing.Ingest(body, Encoding::kProtobuf, app, report).ok());
  EXPECT_EQ(report.rejected_points(), 1);
  EXPECT_THAT(report.Summary(), HasSubstr("older than the previous point"));
  body = DeltaCounter(kStart + 30 * s, kStart + 40 * s, 1).Bytes();
  IngestReport report2;
  ASSERT_TRUE(ing.Ingest(body, Encoding::kProtobuf, app, report2).ok());
  EXPECT_EQ(app.samples.back().v, 9.5);
}

TEST(Ingester, DeltaHistogramAccumulatesPerBucket) {
  TranslationOptions opts;
  opts.emit_target_info = false;
  opts.promote_scope_labels = false;
  opts.inject_start_zero = false;
  Ingester ing(nullptr, opts);
  FakeAppender app;
  for (int i = 0; i < 2; ++i) {
    Builder b;
    auto* m = b.Add("size", "By");
    m->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_DELTA);
    auto* p = m->mutable_histogram()->add_data_points();
    p->set_start_time_unix_nano(kStart + i * 10'000'000'000ULL);
    p->set_time_unix_nano(kStart + (i + 1) * 10'000'000'000ULL);
    p->set_count(3);
    p->set_sum(30);
    p->add_explicit_bounds(10);
    p->add_bucket_counts(1);
    p->add_bucket_counts(2);
    std::string body = b.Bytes();
    IngestReport report;
    ASSERT_TRUE(ing.Ingest(body, Encoding::kProtobuf, app, report).ok());
  }
  const std::string c = "instance=\"i-1\", job=\"shop/checkout\"";
  EXPECT_EQ(Dump(app), Sorted({
                           absl::StrCat("size_bytes_bucket{", c, ", le=\"10\"} 1700000010000 1"),
                           absl::StrCat("size_bytes_bucket{", c, ", le=\"10\"} 1700000020000 2"),
                           absl::StrCat("size_bytes_bucket{", c, ", le=\"+Inf\"} 1700000010000 3"),
                           absl::StrCat("size_bytes_bucket{", c, ", le=\"+Inf\"} 1700000020000 6"),
                           absl::StrCat("size_bytes_count{", c, "} 1700000010000 3"),
                           absl::StrCat("size_bytes_count{", c, "} 1700000020000 6"),
                           absl::StrCat("size_bytes_sum{", c, "} 1700000010000 30"),
                           absl::StrCat("size_bytes_sum{", c, "} 1700000020000 60"),
                       }));
}

TEST(Ingester, DeltaRejectedWhenConversionIsOff) {
  TranslationOptions opts;
  opts.delta_to_cumulative = false;
  Ingester ing(nullptr, opts);
  Outcome r;
  IngestProto(ing, DeltaCounter(kStart, kTime, 1).Bytes(), r);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.report.rejected_points(), 1);
  EXPECT_THAT(r.report.Summary(), HasSubstr("DELTA temporality is not accepted"));
}

TEST(Ingester, NoRecordedValueBecomesStaleMarker) {
  Builder b = GuideRequest();
  b.scope->mutable_metrics(0)->mutable_sum()->mutable_data_points(0)->set_flags(1);
  b.scope->mutable_metrics(0)->mutable_sum()->mutable_data_points(0)->clear_as_int();
  b.scope->mutable_metrics(1)->mutable_histogram()->mutable_data_points(0)->set_flags(1);
  Ingester ing(nullptr, {});
  Outcome r;
  IngestProto(ing, b.Bytes(), r);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.report.rejected_points(), 0) << r.report.Summary();
  int stale = 0;
  for (const auto& s : r.app.samples) {
    if (storage::IsStaleNaN(s.v)) {
      ++stale;
      EXPECT_EQ(s.t, 1700000015123);
    }
  }
  EXPECT_EQ(stale, 1 + 4 + 2);  // counter; 4 buckets + count + sum
  // No zero injection for stale points.
  for (const auto& s : r.app.samples) EXPECT_NE(s.t, 1700000000000) << s.lset.ToString();
}

TEST(Ingester, ExponentialHistogramsAreRejectedWithExplanation) {
  Builder b;
  auto* m = b.Add("exp", "s");
  m->mutable_exponential_histogram()->set_aggregation_temporality(
      pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  for (int i = 0; i < 3; ++i) {
    auto* p = m->mutable_exponential_histogram()->add_data_points();
    p->set_time_unix_nano(kTime);
    p->set_count(1);
    p->set_scale(3);
    p->mutable_positive()->add_bucket_counts(1);
  }
  Ingester ing(nullptr, {});
  Outcome r;
  IngestProto(ing, b.Bytes(), r);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.report.rejected_points(), 3);
  ASSERT_EQ(r.report.rejections().size(), 1u);
  EXPECT_EQ(r.report.rejections()[0].metric, "exp");
  EXPECT_EQ(r.report.rejections()[0].reason,
            "exponential histograms are not supported yet (native histograms are planned); "
            "convert with the SDK's explicit-bucket aggregation");
  // target_info is still written for the resource.
  EXPECT_THAT(Dump(r.app), ElementsAre(absl::StrCat(kTarget, " 1700000015123 1")));
}

TEST(Ingester, BadPointsAreRejectedOthersKept) {
  Builder b;
  auto* good = b.Add("good", "");
  AddNumber(good->mutable_gauge()->mutable_data_points(), 0, kTime, 1);
  b.Add("", "")->mutable_gauge()->add_data_points()->set_time_unix_nano(kTime);
  AddNumber(b.Add("...", "")->mutable_gauge()->mutable_data_points(), 0, kTime, 1);
  AddNumber(b.Add("no_time", "")->mutable_gauge()->mutable_data_points(), 0, 0, 1);
  b.Add("no_value", "")->mutable_gauge()->add_data_points()->set_time_unix_nano(kTime);
  auto* bad_attr =
      AddNumber(b.Add("bad_attr", "")->mutable_gauge()->mutable_data_points(), 0, kTime, 1);
  Attr(bad_attr->mutable_attributes(), "...", "x");
  auto* h = b.Add("mismatch", "");
  h->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* hp = h->mutable_histogram()->add_data_points();
  hp->set_time_unix_nano(kTime);
  hp->add_explicit_bounds(1);
  hp->add_explicit_bounds(2);
  hp->add_bucket_counts(1);
  auto* nan = b.Add("nan_bound", "");
  nan->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* np = nan->mutable_histogram()->add_data_points();
  np->set_time_unix_nano(kTime);
  np->add_explicit_bounds(std::nan(""));
  np->add_bucket_counts(1);
  np->add_bucket_counts(1);
  auto* bad_utf8 =
      AddNumber(b.Add("bad_utf8", "")->mutable_gauge()->mutable_data_points(), 0, kTime, 1);
  Attr(bad_utf8->mutable_attributes(), "k", "\xff");
  auto* unspec = b.Add("unspec", "");
  AddNumber(unspec->mutable_sum()->mutable_data_points(), 0, kTime, 1);
  b.Add("no_points", "")->mutable_gauge();

  TranslationOptions opts;
  opts.emit_target_info = false;
  opts.promote_scope_labels = false;
  Ingester ing(nullptr, opts);
  Outcome r;
  IngestProto(ing, b.Bytes(), r);
  ASSERT_TRUE(r.status.ok());
  EXPECT_THAT(Dump(r.app),
              ElementsAre("good{instance=\"i-1\", job=\"shop/checkout\"} 1700000015123 1"));
  EXPECT_EQ(r.report.rejected_points(), 9);
  std::string summary = r.report.Summary();
  EXPECT_THAT(summary, HasSubstr("metric \"\": metric has an empty name"));
  EXPECT_THAT(
      summary,
      HasSubstr(
          "metric \"...\": metric name \"...\" cannot be turned into a Prometheus metric name"));
  EXPECT_THAT(summary, HasSubstr("metric \"no_time\": data point has no timestamp"));
  EXPECT_THAT(summary, HasSubstr("metric \"no_value\": number data point has no value"));
  EXPECT_THAT(
      summary,
      HasSubstr(
          "metric \"bad_attr\": attribute \"...\" cannot be turned into a Prometheus label name"));
  EXPECT_THAT(
      summary,
      HasSubstr(
          "metric \"mismatch\": histogram data point has 1 bucket counts for 2 explicit bounds"));
  EXPECT_THAT(summary, HasSubstr("metric \"nan_bound\": histogram explicit bound is NaN"));
  EXPECT_THAT(summary,
              HasSubstr("metric \"bad_utf8\": value of attribute \"k\" is not valid UTF-8"));
  EXPECT_THAT(summary, HasSubstr("metric \"unspec\": aggregation temporality is missing"));
  EXPECT_THAT(summary, ::testing::Not(HasSubstr("no_points")));  // nothing lost, no noise
  EXPECT_THAT(r.report.warnings(), IsEmpty());
}

TEST(Ingester, AppendErrorsAreReportedPerMetricAndCode) {
  TranslationOptions opts;
  opts.emit_target_info = false;
  Ingester ing(nullptr, opts);
  FakeAppender app;
  Builder b;
  auto* g = b.Add("temp", "");
  AddNumber(g->mutable_gauge()->mutable_data_points(), 0, kTime, 1);
  std::string body = b.Bytes();
  IngestReport r1;
  ASSERT_TRUE(ing.Ingest(body, Encoding::kProtobuf, app, r1).ok());
  // Same timestamp, different value, twice → one reason, 2 points.
  Builder b2;
  auto* g2 = b2.Add("temp", "");
  AddNumber(g2->mutable_gauge()->mutable_data_points(), 0, kTime, 2);
  auto* p = AddNumber(g2->mutable_gauge()->mutable_data_points(), 0, kTime - 1'000'000'000, 2);
  (void)p;
  AddNumber(g2->mutable_gauge()->mutable_data_points(), 0, kTime - 2'000'000'000, 2);
  body = b2.Bytes();
  IngestReport r2;
  ASSERT_TRUE(ing.Ingest(body, Encoding::kProtobuf, app, r2).ok());
  EXPECT_EQ(r2.rejected_points(), 3);
  ASSERT_EQ(r2.rejections().size(), 2u);
  EXPECT_THAT(r2.rejections()[0].reason,
              HasSubstr("duplicate sample for a timestamp with a different value"));
  EXPECT_THAT(r2.rejections()[1].reason, HasSubstr("out of order or too old sample: sample at"));
  EXPECT_EQ(r2.rejections()[1].points, 2);
}

TEST(Ingester, LabelCollisionsAreMergedAndAttributeTypesRendered) {
  Builder b;
  auto* g = b.Add("g", "");
  auto* p = AddNumber(g->mutable_gauge()->mutable_data_points(), 0, kTime, 1);
  Attr(p->mutable_attributes(), "a_b", "2");
  Attr(p->mutable_attributes(), "a.b", "1");
  auto* kv = p->add_attributes();
  kv->set_key("int");
  kv->mutable_value()->set_int_value(-42);
  kv = p->add_attributes();
  kv->set_key("dbl");
  kv->mutable_value()->set_double_value(0.5);
  kv = p->add_attributes();
  kv->set_key("bool");
  kv->mutable_value()->set_bool_value(true);
  kv = p->add_attributes();
  kv->set_key("bytes");
  kv->mutable_value()->set_bytes_value("hi");
  kv = p->add_attributes();
  kv->set_key("arr");
  auto* arr = kv->mutable_value()->mutable_array_value();
  arr->add_values()->set_string_value("x");
  arr->add_values()->set_int_value(1);
  auto* kvl = arr->add_values()->mutable_kvlist_value()->add_values();
  kvl->set_key("k");
  kvl->mutable_value()->set_bool_value(false);
  Attr(p->mutable_attributes(), "job", "overridden");
  TranslationOptions opts;
  opts.emit_target_info = false;
  opts.promote_scope_labels = false;
  Ingester ing(nullptr, opts);
  Outcome r;
  IngestProto(ing, b.Bytes(), r);
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.app.samples.size(), 1u);
  const auto& l = r.app.samples[0].lset;
  EXPECT_EQ(l.Get("a_b"), "1;2");  // key order: "a.b" < "a_b"
  EXPECT_EQ(l.Get("int"), "-42");
  EXPECT_EQ(l.Get("dbl"), "0.5");
  EXPECT_EQ(l.Get("bool"), "true");
  EXPECT_EQ(l.Get("bytes"), "aGk=");
  EXPECT_EQ(l.Get("arr"), "[\"x\",1,{\"k\":false}]");
  EXPECT_EQ(l.Get("job"), "shop/checkout");
  ASSERT_EQ(r.report.warnings().size(), 1u);
  EXPECT_THAT(r.report.warnings()[0], HasSubstr("\"a.b\", \"a_b\" map to the same label \"a_b\""));
}

TEST(Ingester, UnknownFieldsAreSkipped) {
  std::string body = GuideRequest().Bytes();
  // Append unknown fields at the top level: varint 99, fixed32 100, LEN 101.
  std::string extra;
  extra += static_cast<char>(0x98);  // field 99, varint: tag = 99<<3 = 792 → 0x98 0x06
  extra += static_cast<char>(0x06);
  extra += static_cast<char>(0x01);
  extra += static_cast<char>(0xA5);  // field 100, I32: 800|5 = 805 → 0xA5 0x06
  extra += static_cast<char>(0x06);
  extra += std::string(4, 'x');
  extra += static_cast<char>(0xAA);  // field 101, LEN: 808|2 = 810 → 0xAA 0x06
  extra += static_cast<char>(0x06);
  extra += static_cast<char>(0x02);
  extra += "zz";
  // Also an unknown field inside Metric via libprotobuf's unknown-field set.
  pb::ExportMetricsServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(GuideRequest().Bytes()));
  pb::Metric* metric =
      req.mutable_resource_metrics(0)->mutable_scope_metrics(0)->mutable_metrics(0);
  metric->GetReflection()->MutableUnknownFields(metric)->AddVarint(1234, 7);
  metric->GetReflection()->MutableUnknownFields(metric)->AddLengthDelimited(1235, "skip me");
  // A known field with an unexpected wire type is skipped like an unknown one (libprotobuf
  // does the same): resource_metrics (1) as a varint.
  extra += static_cast<char>(0x08);
  extra += static_cast<char>(0x05);
  body = extra + req.SerializeAsString() + extra;
  Ingester ing(nullptr, {});
  Outcome r;
  IngestProto(ing, body, r);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(Dump(r.app), GuideExpected());
}

TEST(Ingester, TruncatedBodiesFailAndAppendNothing) {
  const std::string full = GuideRequest().Bytes();
  Ingester ing(nullptr, {});
  int failures = 0;
  for (size_t n = 1; n < full.size(); ++n) {
    Outcome r;
    IngestProto(ing, full.substr(0, n), r);
    if (!r.status.ok()) {
      ++failures;
      EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(r.app.samples, IsEmpty()) << "prefix " << n;
      EXPECT_THAT(std::string(r.status.message()),
                  HasSubstr("cannot decode the OTLP protobuf body"));
    }
  }
  // Every proper prefix cuts a length-delimited field short.
  EXPECT_EQ(failures, static_cast<int>(full.size()) - 1);
}

TEST(Ingester, EmptyBodiesAreValidEmptyRequests) {
  Ingester ing(nullptr, {});
  Outcome r1;
  IngestProto(ing, "", r1);
  EXPECT_TRUE(r1.status.ok());
  Outcome r2;
  IngestJson(ing, "{}", r2);
  EXPECT_TRUE(r2.status.ok());
  EXPECT_THAT(r1.app.samples, IsEmpty());
}

TEST(Ingester, JsonErrorsNameThePath) {
  Ingester ing(nullptr, {});
  Outcome r;
  IngestJson(
      ing,
      R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[{"timeUnixNano":"abc"}]}}]}]}]})",
      r);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(r.status.message()),
      HasSubstr("resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].timeUnixNano"));
  Outcome r2;
  IngestJson(ing, R"({"resourceMetrics":[{)", r2);
  EXPECT_EQ(r2.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r2.status.message()), HasSubstr("at byte"));
  Outcome r3;
  IngestJson(ing, R"([1,2])", r3);
  EXPECT_EQ(r3.status.code(), absl::StatusCode::kInvalidArgument);
  // A valid first metric must not be appended when a later part is undecodable.
  Outcome r4;
  IngestJson(ing,
             R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
               {"name":"ok","gauge":{"dataPoints":[{"timeUnixNano":"1700000015123456789","asDouble":1}]}},
               {"name":"bad","gauge":{"dataPoints":[{"timeUnixNano":"1","asDouble":{}}]}}]}]}]})",
             r4);
  EXPECT_EQ(r4.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r4.app.samples, IsEmpty());
}

TEST(Ingester, JsonSpecialDoublesAndNanBucketCounts) {
  Ingester ing(nullptr, {});
  Outcome r;
  IngestJson(ing, R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
    {"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1700000015123456789","asDouble":"-Infinity"}]}},
    {"name":"h","histogram":{"aggregationTemporality":2,"dataPoints":[
      {"timeUnixNano":"1700000015123456789","count":"1","bucketCounts":["NaN","1"],"explicitBounds":[1]}]}}]}]}]})",
             r);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.app.samples.size(), 1u);
  EXPECT_EQ(r.app.samples[0].v, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(r.report.rejected_points(), 1);
  EXPECT_THAT(r.report.Summary(),
              HasSubstr("metric \"h\": a histogram bucket count is not a non-negative integer"));
}

TEST(Ingester, TargetInfoOncePerDistinctTime) {
  Builder b;
  auto* g = b.Add("g", "");
  AddNumber(g->mutable_gauge()->mutable_data_points(), 0, kTime, 1);
  AddNumber(g->mutable_gauge()->mutable_data_points(), 0, kTime + 5'000'000'000ULL, 2);
  auto* g2 = b.Add("g2", "");
  AddNumber(g2->mutable_gauge()->mutable_data_points(), 0, kTime, 1);
  Ingester ing(nullptr, {});
  Outcome r;
  IngestProto(ing, b.Bytes(), r);
  ASSERT_TRUE(r.status.ok());
  int infos = 0;
  for (const auto& s : r.app.samples) infos += s.lset.MetricName() == "target_info";
  EXPECT_EQ(infos, 2);
}

// A read-only Storage holding fixed series, for delta seeding.
class FakeStorage : public storage::Storage {
 public:
  struct Data {
    labels::Labels lset;
    std::vector<std::pair<int64_t, double>> samples;
  };
  std::vector<Data> series;
  int queries = 0;

  std::unique_ptr<storage::Appender> NewAppender() override { return nullptr; }
  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    ++queries;
    return std::make_unique<Q>(this, mint, maxt);
  }
  std::map<std::string, storage::MetricMetadata> Metadata() const override { return {}; }

 private:
  struct It : storage::SampleIterator {
    std::vector<std::pair<int64_t, double>> s;
    size_t i = 0;
    bool started = false;
    bool Next() override {
      if (started) ++i;
      started = true;
      return i < s.size();
    }
    bool Seek(int64_t t) override {
      while (Next()) {
        if (s[i].first >= t) return true;
      }
      return false;
    }
    std::pair<int64_t, double> At() const override { return s[i]; }
  };
  struct Ser : storage::Series {
    Data d;
    const labels::Labels& Labels() const override { return d.lset; }
    std::unique_ptr<storage::SampleIterator> Iterator() const override {
      auto it = std::make_unique<It>();
      it->s = d.samples;
      return it;
    }
  };
  struct Set : storage::SeriesSet {
    std::vector<Ser> v;
    size_t i = 0;
    bool started = false;
    bool Next() override {
      if (started) ++i;
      started = true;
      return i < v.size();
    }
    const storage::Series& At() const override { return v[i]; }
  };
  struct Q : storage::Querier {
    FakeStorage* db;
    int64_t mint, maxt;
    Q(FakeStorage* d, int64_t a, int64_t b) : db(d), mint(a), maxt(b) {}
    std::unique_ptr<storage::SeriesSet> Select(std::span<const labels::Matcher> ms) override {
      auto set = std::make_unique<Set>();
      for (const auto& d : db->series) {
        bool ok = true;
        for (const auto& m : ms) ok = ok && m.Matches(d.lset.Get(m.name()));
        if (!ok) continue;
        Ser s;
        s.d.lset = d.lset;
        for (auto [t, v] : d.samples) {
          if (t >= mint && t <= maxt) s.d.samples.push_back({t, v});
        }
        if (!s.d.samples.empty()) set->v.push_back(std::move(s));
      }
      return set;
    }
    absl::StatusOr<std::vector<std::string>> LabelNames(std::span<const labels::Matcher>) override {
      return std::vector<std::string>{};
    }
    absl::StatusOr<std::vector<std::string>> LabelValues(
        const std::string&, std::span<const labels::Matcher>) override {
      return std::vector<std::string>{};
    }
  };
};

TEST(Ingester, DeltaTotalsAreSeededFromStorageAfterRestart) {
  FakeStorage db;
  const labels::Labels series{
      {"__name__", "requests_total"}, {"instance", "i-1"}, {"job", "shop/checkout"}};
  // A superset series must not be mistaken for ours.
  const labels::Labels other{
      {"__name__", "requests_total"}, {"instance", "i-1"}, {"job", "shop/checkout"}, {"x", "y"}};
  db.series.push_back(
      {series, {{1700000000000, 10}, {1700000005000, 40}, {1700000006000, storage::StaleNaN()}}});
  db.series.push_back({other, {{1700000005000, 1000}}});
  TranslationOptions opts;
  opts.emit_target_info = false;
  opts.promote_scope_labels = false;
  Ingester ing(&db, opts);
  Outcome r;
  IngestProto(ing, DeltaCounter(1700000005000000000ULL, 1700000010000000000ULL, 2).Bytes(), r);
  ASSERT_TRUE(r.status.ok());
  EXPECT_THAT(Dump(r.app),
              ElementsAre(S("requests_total", {{"instance", "i-1"}, {"job", "shop/checkout"}},
                            1700000010000, 42)));
  EXPECT_EQ(db.queries, 1);
  // Later points use the in-memory state, not the storage.
  Outcome r2;
  IngestProto(ing, DeltaCounter(1700000010000000000ULL, 1700000020000000000ULL, 1).Bytes(), r2);
  EXPECT_EQ(r2.app.samples.back().v, 43);
  EXPECT_EQ(db.queries, 1);
  EXPECT_EQ(ing.TrackedSeries(), 1u);
}

TEST(Ingester, ConcurrentDeltaIngestIsConsistent) {
  TranslationOptions opts;
  opts.emit_target_info = false;
  Ingester ing(nullptr, opts);
  constexpr int kThreads = 4, kRounds = 50;
  std::vector<std::thread> threads;
  std::vector<FakeAppender> apps(kThreads);
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < kRounds; ++i) {
        Builder b;
        auto* m = b.Add("work", "");
        m->mutable_sum()->set_is_monotonic(true);
        m->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_DELTA);
        auto* p = AddNumber(m->mutable_sum()->mutable_data_points(), 0,
                            kStart + (i + 1) * 1'000'000'000ULL, 1);
        Attr(p->mutable_attributes(), "worker", std::to_string(th));
        std::string body = b.Bytes();
        IngestReport report;
        ASSERT_TRUE(ing.Ingest(body, Encoding::kProtobuf, apps[th], report).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int th = 0; th < kThreads; ++th) {
    ASSERT_EQ(apps[th].samples.size(), static_cast<size_t>(kRounds));
    EXPECT_EQ(apps[th].samples.back().v, kRounds);
  }
}

TEST(Ingester, AttributeRenderingIsIdenticalForProtobufAndJson) {
  pb::ExportMetricsServiceRequest req;
  auto* m = req.add_resource_metrics()->add_scope_metrics()->add_metrics();
  m->set_name("g");
  auto* p = AddNumber(m->mutable_gauge()->mutable_data_points(), 0, kTime, 1);
  auto add = [&](const std::string& k) {
    auto* kv = p->add_attributes();
    kv->set_key(k);
    return kv->mutable_value();
  };
  add("i")->set_int_value(-9007199254740993);
  add("d")->set_double_value(1e-7);
  add("b")->set_bool_value(false);
  add("y")->set_bytes_value(std::string("\x00\xff", 2));
  add("e");
  auto* kvl = add("m")->mutable_kvlist_value();
  auto* e1 = kvl->add_values();
  e1->set_key("z");
  e1->mutable_value()->set_double_value(2.5);
  auto* e2 = kvl->add_values();
  e2->set_key("a");
  e2->mutable_value()->mutable_array_value()->add_values()->set_string_value("q\"");
  Ingester ing(nullptr, {});
  Outcome rp;
  IngestProto(ing, req.SerializeAsString(), rp);
  ASSERT_TRUE(rp.status.ok());
  Outcome rj;
  IngestJson(ing,
             R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[
    {"timeUnixNano":"1700000015123456789","asDouble":1,"attributes":[
      {"key":"i","value":{"intValue":"-9007199254740993"}},
      {"key":"d","value":{"doubleValue":1e-7}},
      {"key":"b","value":{"boolValue":false}},
      {"key":"y","value":{"bytesValue":"AP8="}},
      {"key":"e","value":{}},
      {"key":"m","value":{"kvlistValue":{"values":[{"key":"z","value":{"doubleValue":2.5}},
        {"key":"a","value":{"arrayValue":{"values":[{"stringValue":"q\""}]}}}]}}}]}]}}]}]}]})",
             rj);
  ASSERT_TRUE(rj.status.ok()) << rj.status;
  ASSERT_EQ(rp.app.samples.size(), 1u);
  ASSERT_EQ(rj.app.samples.size(), 1u);
  EXPECT_EQ(rp.app.samples[0].lset, rj.app.samples[0].lset);
  const auto& l = rp.app.samples[0].lset;
  EXPECT_EQ(l.Get("i"), "-9007199254740993");
  EXPECT_EQ(l.Get("d"), "1e-7");
  EXPECT_EQ(l.Get("b"), "false");
  EXPECT_EQ(l.Get("y"), "AP8=");
  EXPECT_FALSE(l.Has("e"));
  EXPECT_EQ(l.Get("m"), "{\"a\":[\"q\\\"\"],\"z\":2.5}");
}

TEST(Ingester, DeeplyNestedAttributeValuesAreRefused) {
  std::string json = R"({"resourceMetrics":[{"resource":{"attributes":[{"key":"a","value":)";
  for (int i = 0; i < 100; ++i) json += R"({"arrayValue":{"values":[)";
  json += "{}";
  for (int i = 0; i < 100; ++i) json += "]}}";
  json += "}]}}]}";
  Ingester ing(nullptr, {});
  Outcome r;
  IngestJson(ing, json, r);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status.message()), HasSubstr("nested deeper than"));
}

TEST(Ingester, CumulativeResetGetsZeroAtNewStartTime) {
  TranslationOptions opts;
  opts.emit_target_info = false;
  opts.promote_scope_labels = false;
  Ingester ing(nullptr, opts);
  FakeAppender app;
  const uint64_t s = 1'000'000'000ULL;
  struct Step {
    uint64_t start, time;
    double v;
  };
  for (Step st : {Step{kStart, kStart + 10 * s, 5}, Step{kStart, kStart + 20 * s, 8},
                  Step{kStart + 25 * s, kStart + 30 * s, 2}}) {
    Builder b;
    auto* m = b.Add("c", "");
    m->mutable_sum()->set_is_monotonic(true);
    m->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
    AddNumber(m->mutable_sum()->mutable_data_points(), st.start, st.time, st.v);
    std::string body = b.Bytes();
    IngestReport report;
    ASSERT_TRUE(ing.Ingest(body, Encoding::kProtobuf, app, report).ok());
    EXPECT_EQ(report.rejected_points(), 0) << report.Summary();
  }
  std::vector<labels::Label> l = {{"instance", "i-1"}, {"job", "shop/checkout"}};
  EXPECT_EQ(Dump(app), Sorted({S("c_total", l, 1700000000000, 0), S("c_total", l, 1700000010000, 5),
                               S("c_total", l, 1700000020000, 8), S("c_total", l, 1700000025000, 0),
                               S("c_total", l, 1700000030000, 2)}));
}

TEST(Ingester, TargetInfoFailuresAreWarningsNotRejections) {
  Ingester ing(nullptr, {});
  FakeAppender app;
  for (uint64_t t : std::vector<uint64_t>{kTime, kTime - 5000000000}) {
    Builder b;
    AddNumber(b.Add("g" + std::to_string(t % 7), "")->mutable_gauge()->mutable_data_points(), 0, t,
              1);
    std::string body = b.Bytes();
    IngestReport report;
    ASSERT_TRUE(ing.Ingest(body, Encoding::kProtobuf, app, report).ok());
    if (t != kTime) {
      EXPECT_EQ(report.rejected_points(), 0);
      ASSERT_EQ(report.warnings().size(), 1u);
      EXPECT_THAT(
          report.warnings()[0],
          HasSubstr(
              "target_info of job \"shop/checkout\" instance \"i-1\" not stored: out of order"));
    }
  }
}

TEST(Ingester, JsonAcceptsProtoFieldNamesToo) {
  Ingester ing(nullptr, {});
  Outcome r;
  IngestJson(ing, R"({"resource_metrics":[{"scope_metrics":[{"metrics":[{"name":"g",
    "sum":{"aggregation_temporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","is_monotonic":false,
    "data_points":[{"time_unix_nano":"1700000015123456789","as_double":2,
    "attributes":[{"key":"k","value":{"int_value":"5"}}]}]}}]}]}]})",
             r);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(Dump(r.app), ElementsAre("g{k=\"5\"} 1700000015123 2"));
}

}  // namespace
}  // namespace xscaler::ingest::otlp
