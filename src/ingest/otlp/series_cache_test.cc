// The series ref cache: the key hasher, the bounded map, and the Ingester with the cache on
// against the same Ingester with it off — they must store exactly the same samples and report
// exactly the same rejections and warnings, over repeated requests that exercise every metric
// type, delta state, resets, staleness markers, target_info, invalid and colliding attributes,
// and refs that went stale.
#include "ingest/otlp/series_cache.h"

#include <stdlib.h>

#include <bit>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "ingest/otlp/fake_appender.h"
#include "ingest/otlp/ingester.h"
#include "labels/matcher.h"
#include "metrics.pb.h"
#include "storage/db/tsdb.h"

namespace xscaler::ingest::otlp {
namespace {

namespace pb = ::xscaler::test::otlp;
using ::testing::HasSubstr;

// ---- SeriesKeyHasher and SeriesCache ----

SeriesCacheKey KeyOf(std::initializer_list<std::string_view> fields) {
  SeriesKeyHasher h;
  for (auto f : fields) h.Add(f);
  return h.Finish();
}

TEST(SeriesKeyHasher, FieldBoundariesAndOrderMatter) {
  std::vector<SeriesCacheKey> keys = {
      KeyOf({"ab", "c"}), KeyOf({"a", "bc"}),   KeyOf({"abc"}),        KeyOf({"abc", ""}),
      KeyOf({"", "abc"}), KeyOf({"c", "ab"}),   KeyOf({"a", "b", "c"}), KeyOf({}),
      KeyOf({""}),        KeyOf({"", ""}),      KeyOf({"method", "GET", "code", "200"}),
      KeyOf({"code", "200", "method", "GET"}), KeyOf({"method", "GET", "code", "2000"}),
      KeyOf({"method", "GE", "Tcode", "200"}),
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t j = i + 1; j < keys.size(); ++j) {
      EXPECT_FALSE(keys[i] == keys[j]) << i << " vs " << j;
      EXPECT_NE(keys[i].a, keys[j].a) << i << " vs " << j;
      EXPECT_NE(keys[i].b, keys[j].b) << i << " vs " << j;
    }
  }
  EXPECT_EQ(KeyOf({"ab", "c"}), KeyOf({"ab", "c"}));
}

TEST(SeriesKeyHasher, NumbersDoNotReadAsStrings) {
  SeriesKeyHasher n, s;
  n.AddU64(3);
  s.Add(std::string("\x03\0\0\0\0\0\0\0", 8));
  EXPECT_FALSE(n.Finish() == s.Finish());
  SeriesKeyHasher one, two;
  one.AddU64(1);
  two.AddU64(2);
  EXPECT_FALSE(one.Finish() == two.Finish());
  // Doubles by bits: 0.0 and -0.0 are different keys (they may well be one series; a miss is
  // fine, a shared entry for different series is not).
  SeriesKeyHasher z, nz;
  z.AddU64(std::bit_cast<uint64_t>(0.0));
  nz.AddU64(std::bit_cast<uint64_t>(-0.0));
  EXPECT_FALSE(z.Finish() == nz.Finish());
}

TEST(SeriesKeyHasher, NoCollisionsAcrossManySimilarAttributeLists) {
  // 200k attribute lists that differ in one character, one value, or the split between key and
  // value: every 64-bit half alone is already collision-free here.
  absl::flat_hash_set<uint64_t> as, bs;
  int n = 0;
  for (int i = 0; i < 50000; ++i) {
    const std::string v = std::to_string(i);
    for (int variant = 0; variant < 4; ++variant) {
      SeriesKeyHasher h;
      h.AddU64(2);
      switch (variant) {
        case 0: h.Add("route"); h.Add("/api/" + v); h.Add("code"); h.Add("200"); break;
        case 1: h.Add("route/"); h.Add("api/" + v); h.Add("code"); h.Add("200"); break;
        case 2: h.Add("code"); h.Add("200"); h.Add("route"); h.Add("/api/" + v); break;
        case 3: h.Add("route"); h.Add("/api/" + v + "c"); h.Add("ode"); h.Add("200"); break;
      }
      SeriesCacheKey k = h.Finish();
      as.insert(k.a);
      bs.insert(k.b);
      ++n;
    }
  }
  EXPECT_EQ(as.size(), static_cast<size_t>(n));
  EXPECT_EQ(bs.size(), static_cast<size_t>(n));
}

TEST(SeriesCache, FindInsertErase) {
  SeriesCache c;
  const SeriesCacheKey k = KeyOf({"x"});
  CachedSeries got;
  EXPECT_FALSE(c.Find(k, &got));
  c.Insert(k, {7, 99});
  ASSERT_TRUE(c.Find(k, &got));
  EXPECT_EQ(got.ref, 7u);
  EXPECT_EQ(got.state_key, 99u);
  EXPECT_FALSE(c.Find(KeyOf({"y"}), &got));
  c.Insert(k, {8, 99});
  ASSERT_TRUE(c.Find(k, &got));
  EXPECT_EQ(got.ref, 8u);
  EXPECT_EQ(c.size(), 1u);
  c.Erase(k);
  EXPECT_FALSE(c.Find(k, &got));
  c.Insert(k, {0, 1});  // an Appender without refs: nothing to remember
  EXPECT_FALSE(c.Find(k, &got));
  EXPECT_EQ(c.size(), 0u);
}

TEST(SeriesCache, EraseKeepsTheOtherEntriesReachable) {
  SeriesCache c;
  std::vector<SeriesCacheKey> keys;
  for (int i = 0; i < 20000; ++i) {
    keys.push_back(KeyOf({std::to_string(i)}));
    c.Insert(keys.back(), {uint64_t(i) + 1, uint64_t(i)});
  }
  for (int i = 0; i < 20000; i += 3) c.Erase(keys[i]);
  std::vector<CachedSeries> batch(keys.size());
  c.FindBatch(keys, batch);
  for (int i = 0; i < 20000; ++i) {
    CachedSeries got;
    const bool found = c.Find(keys[i], &got);
    ASSERT_EQ(found, i % 3 != 0) << i;
    ASSERT_EQ(batch[i].ref, i % 3 != 0 ? uint64_t(i) + 1 : 0u) << i;
    if (found) {
      EXPECT_EQ(got.ref, uint64_t(i) + 1);
      EXPECT_EQ(got.state_key, uint64_t(i));
    }
  }
  EXPECT_EQ(c.size(), 20000u - 6667u);
}

TEST(SeriesCache, StaysWithinItsCap) {
  SeriesCache c(/*max_entries=*/640);  // 10 per stripe
  for (int i = 0; i < 100000; ++i) c.Insert(KeyOf({std::to_string(i)}), {uint64_t(i) + 1, 0});
  EXPECT_LE(c.size(), 640u);
  EXPECT_GT(c.size(), 0u);
}

// ---- The Ingester with and without the cache ----

constexpr uint64_t kSecond = 1'000'000'000ULL;

void Attr(google::protobuf::RepeatedPtrField<pb::KeyValue>* attrs, const std::string& k,
          const std::string& v) {
  auto* kv = attrs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}
void IntAttr(google::protobuf::RepeatedPtrField<pb::KeyValue>* attrs, const std::string& k,
             int64_t v) {
  auto* kv = attrs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_int_value(v);
}

pb::NumberDataPoint* Number(google::protobuf::RepeatedPtrField<pb::NumberDataPoint>* pts,
                            uint64_t start, uint64_t time, double v) {
  auto* p = pts->Add();
  p->set_start_time_unix_nano(start);
  p->set_time_unix_nano(time);
  p->set_as_double(v);
  return p;
}

pb::HistogramDataPoint* Hist(pb::Histogram* h, uint64_t start, uint64_t time, uint64_t scale,
                             bool with_sum) {
  auto* p = h->add_data_points();
  p->set_start_time_unix_nano(start);
  p->set_time_unix_nano(time);
  for (double b : {0.005, 0.1, 1.0, 10.0}) p->add_explicit_bounds(b);
  uint64_t count = 0;
  for (uint64_t c : {1, 3, 0, 2, 1}) {
    p->add_bucket_counts(c * scale);
    count += c * scale;
  }
  p->set_count(count);
  if (with_sum) p->set_sum(0.25 * static_cast<double>(scale));
  return p;
}

constexpr std::string_view kBadUtf8Marker = "bad-utf8:@@";

// Round `r` (0-based) of a workload that touches every translation rule; `base` is the time of
// round 0 in ns. Rounds repeat most series with newer samples, so later rounds hit the cache.
pb::ExportMetricsServiceRequest Round(int r, uint64_t base) {
  const uint64_t t = base + static_cast<uint64_t>(r) * 15 * kSecond;
  const uint64_t start = base - 3600 * kSecond;
  // The process behind resource 1 restarts in round 4: cumulative series reset.
  const uint64_t start1 = r >= 4 ? base + 50 * kSecond : start;
  const double dr = static_cast<double>(r);
  pb::ExportMetricsServiceRequest req;

  // Resource 1: job, instance and a target_info attribute; two scopes.
  auto* rm = req.add_resource_metrics();
  auto* ra = rm->mutable_resource()->mutable_attributes();
  Attr(ra, "service.name", "checkout");
  Attr(ra, "service.namespace", "shop");
  Attr(ra, "service.instance.id", "i-1");
  Attr(ra, "host.name", r == 6 ? "h2" : "h1");  // another target_info series in round 6
  if (r == 5) Attr(ra, "host.arch", "amd64");  // target_info gains a label: a new series
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("lib");
  sm->mutable_scope()->set_version("1.0");

  auto* counter = sm->add_metrics();
  counter->set_name("http.requests");
  counter->set_unit("{request}");
  counter->mutable_sum()->set_is_monotonic(true);
  counter->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  {
    auto* p = Number(counter->mutable_sum()->mutable_data_points(), start1, t, 10 * dr + 1);
    // The same series with the attributes in another order or encoding in odd rounds.
    if (r % 2 == 0) {
      Attr(p->mutable_attributes(), "method", "GET");
      Attr(p->mutable_attributes(), "code", "200");
    } else {
      IntAttr(p->mutable_attributes(), "code", 200);
      Attr(p->mutable_attributes(), "method", "GET");
    }
    // Key/value splits that must stay apart.
    auto* q = Number(counter->mutable_sum()->mutable_data_points(), start1, t, 5 * dr + 2);
    Attr(q->mutable_attributes(), "ab", "c");
    auto* q2 = Number(counter->mutable_sum()->mutable_data_points(), start1, t, 5 * dr + 3);
    Attr(q2->mutable_attributes(), "a", "bc");
    auto* q3 = Number(counter->mutable_sum()->mutable_data_points(), start1, t, 5 * dr + 4);
    Attr(q3->mutable_attributes(), "a", "b");
    Attr(q3->mutable_attributes(), "c", "");
    // A staleness marker in round 3.
    auto* s = Number(counter->mutable_sum()->mutable_data_points(), start1, t, dr + 100);
    Attr(s->mutable_attributes(), "method", "POST");
    if (r == 3) s->set_flags(1);
  }

  auto* gauge = sm->add_metrics();
  gauge->set_name("temperature");
  gauge->set_unit("Cel");
  for (int i = 0; i < 3; ++i) {
    auto* p = Number(gauge->mutable_gauge()->mutable_data_points(), 0, t, dr * 0.5 + i);
    Attr(p->mutable_attributes(), "sensor", std::to_string(i));
    if (r == 2 && i == 1) p->set_flags(1);
  }
  // Colliding keys (a warning every time), an unusable key and an invalid value (rejections
  // every time), a point without timestamp.
  {
    auto* p = Number(gauge->mutable_gauge()->mutable_data_points(), 0, t, dr);
    Attr(p->mutable_attributes(), "a.b", "x");
    Attr(p->mutable_attributes(), "a_b", "y");
    auto* bad_key = Number(gauge->mutable_gauge()->mutable_data_points(), 0, t, dr);
    Attr(bad_key->mutable_attributes(), "...", "x");
    auto* bad_value = Number(gauge->mutable_gauge()->mutable_data_points(), 0, t, dr);
    // Made invalid UTF-8 in the protobuf body only (Body), so libprotobuf does not complain.
    Attr(bad_value->mutable_attributes(), "k", std::string(kBadUtf8Marker));
    Number(gauge->mutable_gauge()->mutable_data_points(), 0, 0, dr);
    // A duplicated key: the last value wins, without a warning.
    auto* dup = Number(gauge->mutable_gauge()->mutable_data_points(), 0, t, dr);
    Attr(dup->mutable_attributes(), "k", "first");
    Attr(dup->mutable_attributes(), "k", "second");
    // An attribute that job overrides.
    auto* job = Number(gauge->mutable_gauge()->mutable_data_points(), 0, t, dr + 7);
    Attr(job->mutable_attributes(), "job", "mine");
    Attr(job->mutable_attributes(), "sensor", "j");
  }

  // Another metric with the same attributes.
  auto* humidity = sm->add_metrics();
  humidity->set_name("humidity");
  humidity->set_unit("%");
  for (int i = 0; i < 3; ++i) {
    auto* p = Number(humidity->mutable_gauge()->mutable_data_points(), 0, t, 40 + dr + i);
    Attr(p->mutable_attributes(), "sensor", std::to_string(i));
  }

  auto* updown = sm->add_metrics();
  updown->set_name("queue.depth");
  updown->mutable_sum()->set_is_monotonic(false);
  updown->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  Number(updown->mutable_sum()->mutable_data_points(), start1, t, 3 - dr);

  auto* hist = sm->add_metrics();
  hist->set_name("http.duration");
  hist->set_unit("s");
  hist->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  {
    auto* p = Hist(hist->mutable_histogram(), start1, t, r >= 4 ? r - 3 : r + 1, true);
    Attr(p->mutable_attributes(), "route", "/a");
    auto* p2 = Hist(hist->mutable_histogram(), start1, t, r + 1, false);
    Attr(p2->mutable_attributes(), "route", "/b");
    if (r == 3) p2->set_flags(1);
  }

  // Deltas: a counter with a re-send and an out-of-order point, a histogram.
  auto* dsum = sm->add_metrics();
  dsum->set_name("jobs.done");
  dsum->mutable_sum()->set_is_monotonic(true);
  dsum->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_DELTA);
  {
    const uint64_t prev = t - 15 * kSecond;
    auto* p = Number(dsum->mutable_sum()->mutable_data_points(), prev, t, 2 + dr);
    Attr(p->mutable_attributes(), "queue", "q1");
    if (r == 2) {
      auto* again = Number(dsum->mutable_sum()->mutable_data_points(), prev, t, 2 + dr);
      Attr(again->mutable_attributes(), "queue", "q1");
      auto* old = Number(dsum->mutable_sum()->mutable_data_points(), prev - 30 * kSecond,
                         prev - 15 * kSecond, 1);
      Attr(old->mutable_attributes(), "queue", "q1");
    }
  }
  auto* dhist = sm->add_metrics();
  dhist->set_name("batch.size");
  dhist->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_DELTA);
  Attr(Hist(dhist->mutable_histogram(), t - 15 * kSecond, t, 1, true)->mutable_attributes(),
       "queue", "q1");

  auto* summary = sm->add_metrics();
  summary->set_name("rpc.latency");
  summary->set_unit("s");
  {
    auto* p = summary->mutable_summary()->add_data_points();
    p->set_start_time_unix_nano(start1);
    p->set_time_unix_nano(t);
    p->set_count(10 + r);
    p->set_sum(2.5 + dr);
    for (double q : {0.5, 0.99}) {
      auto* qv = p->add_quantile_values();
      qv->set_quantile(q);
      qv->set_value(q * (1 + dr));
    }
    Attr(p->mutable_attributes(), "rpc", "get");
  }

  // The same metric and attributes in another scope (no version) and under another unit.
  auto* sm2 = rm->add_scope_metrics();
  sm2->mutable_scope()->set_name("other");
  auto* c2 = sm2->add_metrics();
  *c2 = *counter;
  c2->mutable_sum()->mutable_data_points()->DeleteSubrange(1, 4);
  auto* g2 = sm2->add_metrics();
  g2->set_name("temperature");
  g2->set_unit("K");
  Attr(Number(g2->mutable_gauge()->mutable_data_points(), 0, t, dr)->mutable_attributes(),
       "sensor", "0");

  // The same scope name with another version.
  auto* sm3 = rm->add_scope_metrics();
  sm3->mutable_scope()->set_name("lib");
  sm3->mutable_scope()->set_version("2.0");
  *sm3->add_metrics() = *humidity;

  // Resource 2: another job, no target_info, the same counter.
  auto* rm2 = req.add_resource_metrics();
  Attr(rm2->mutable_resource()->mutable_attributes(), "service.name", "cart");
  auto* c3 = rm2->add_scope_metrics()->add_metrics();
  *c3 = *counter;
  c3->mutable_sum()->mutable_data_points()->DeleteSubrange(1, 4);

  // Resource 1 again with another instance: the same label names, other values.
  auto* rm4 = req.add_resource_metrics();
  *rm4 = *rm;
  rm4->mutable_resource()->mutable_attributes(2)->mutable_value()->set_string_value("i-2");

  // Resource 3: a target_info attribute that cannot become a label (a warning every time).
  auto* rm3 = req.add_resource_metrics();
  Attr(rm3->mutable_resource()->mutable_attributes(), "service.name", "bad");
  Attr(rm3->mutable_resource()->mutable_attributes(), "...", "x");
  auto* c4 = rm3->add_scope_metrics()->add_metrics();
  *c4 = *gauge;
  c4->mutable_gauge()->mutable_data_points()->DeleteSubrange(1, 8);
  return req;
}

constexpr int kRounds = 8;

std::string Body(const pb::ExportMetricsServiceRequest& req, Encoding enc) {
  if (enc == Encoding::kProtobuf) {
    std::string body = req.SerializeAsString();
    // "\xc3(" is not UTF-8; same length, so the framing stays valid.
    for (size_t at = body.find(kBadUtf8Marker); at != std::string::npos;
         at = body.find(kBadUtf8Marker, at)) {
      body.replace(at + kBadUtf8Marker.size() - 2, 2, "\xc3(");
    }
    return body;
  }
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(req, &json).ok());
  return json;
}

// Everything observable about one request, as text.
std::string Describe(const absl::Status& st, const IngestReport& rep) {
  std::string out = absl::StrCat(st.ToString(), " accepted=", rep.accepted_samples(),
                                 " rejected=", rep.rejected_points(), "\n");
  for (const auto& r : rep.rejections()) {
    absl::StrAppend(&out, "reject ", r.metric, ": ", r.reason, " x", r.points, "\n");
  }
  for (const auto& w : rep.warnings()) absl::StrAppend(&out, "warn ", w, "\n");
  return out;
}

std::vector<std::string> Samples(const FakeAppender& app) {
  std::vector<std::string> out;
  for (const auto& s : app.samples) {
    out.push_back(
        absl::StrCat(s.lset.ToString(), " ", s.t, " ", std::bit_cast<uint64_t>(s.v)));
  }
  return out;
}

// Samples grouped by series, in staging order within each: what a storage keeps. (Staging
// order across series is not observable in storage.)
std::vector<std::string> PerSeries(const FakeAppender& app) {
  std::vector<std::string> out = Samples(app);
  std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return a.substr(0, a.find("} ")) < b.substr(0, b.find("} "));
  });
  return out;
}

std::vector<std::string> Metadata(const FakeAppender& app) {
  std::vector<std::string> out;
  for (const auto& [k, md] : app.metadata) {
    out.push_back(absl::StrCat(k, " ", md.type, " ", md.unit, " ", md.help));
  }
  return out;
}

TranslationOptions Uncached() {
  TranslationOptions o;
  o.series_cache_entries = 0;
  return o;
}

// Runs the rounds through a cached and an uncached Ingester, each into one long-lived
// FakeAppender (its refs stay valid across requests), and compares after every request.
// `forget(round, app)` may drop refs of the cached side's storage before a round.
// `all_forgotten` names the rounds before which `forget` drops every ref. Samples are compared
// in staging order, or per series when refs were forgotten (a sample whose ref went stale is
// re-appended by labels after the rest of its batch).
template <typename Forget>
void ExpectSameAsUncached(Encoding enc, Forget&& forget, const TranslationOptions& base = {},
                          std::set<int> all_forgotten = {}, bool strict_order = true) {
  TranslationOptions uncached_opts = base;
  uncached_opts.series_cache_entries = 0;
  Ingester cached(nullptr, base), uncached(nullptr, uncached_opts);
  FakeAppender a, b;
  int64_t by_ref_before = 0;
  std::string reports;
  for (int r = 0; r < kRounds; ++r) {
    SCOPED_TRACE(absl::StrCat("round ", r));
    forget(r, a);
    pb::ExportMetricsServiceRequest req = Round(r, 1700000000000000000ULL);
    std::string body_a = Body(req, enc), body_b = body_a;
    IngestReport rep_a, rep_b;
    absl::Status st_a = cached.Ingest(body_a, enc, a, rep_a);
    absl::Status st_b = uncached.Ingest(body_b, enc, b, rep_b);
    ASSERT_EQ(Describe(st_a, rep_a), Describe(st_b, rep_b));
    if (strict_order) {
      ASSERT_EQ(Samples(a), Samples(b));
    } else {
      ASSERT_EQ(PerSeries(a), PerSeries(b));
    }
    ASSERT_EQ(Metadata(a), Metadata(b));
    reports += Describe(st_b, rep_b);
    EXPECT_EQ(cached.TrackedSeries(), uncached.TrackedSeries());
    if (r >= 2 && !all_forgotten.contains(r)) {  // rounds repeat series: most go by ref
      EXPECT_GT(a.by_ref, by_ref_before);
    }
    by_ref_before = a.by_ref;
  }
  EXPECT_EQ(b.by_ref, 0);
  EXPECT_GT(cached.CachedSeries(), 20u);
  EXPECT_EQ(uncached.CachedSeries(), 0u);
  // Checks that the workload exercised what it claims to.
  if (enc == Encoding::kProtobuf) {
    EXPECT_THAT(reports, HasSubstr("is not valid UTF-8"));
  }
  EXPECT_THAT(reports, HasSubstr("cannot be turned into a Prometheus label name"));
  EXPECT_THAT(reports, HasSubstr("map to the same label"));
  EXPECT_THAT(reports, HasSubstr("target_info not written"));
  EXPECT_THAT(reports, HasSubstr("data point has no timestamp"));
  if (base.delta_to_cumulative) {
    EXPECT_THAT(reports, HasSubstr("is older than the previous point"));
  }
  const std::string all = absl::StrJoin(Samples(b), "\n");
  EXPECT_THAT(all, HasSubstr(std::to_string(storage::kStaleNaNBits)));
  if (!base.add_suffixes) return;
  EXPECT_THAT(all, HasSubstr("target_info{host_arch=\"amd64\""));
  EXPECT_THAT(all, HasSubstr("http_duration_seconds_bucket{"));
  EXPECT_THAT(all, HasSubstr("rpc_latency_seconds{"));
  EXPECT_THAT(all, HasSubstr("jobs_done_total{"));
}

TEST(IngesterCache, SameSamplesAndReportsAsUncachedProtobuf) {
  ExpectSameAsUncached(Encoding::kProtobuf, [](int, FakeAppender&) {});
}

TEST(IngesterCache, SameSamplesAndReportsAsUncachedJson) {
  ExpectSameAsUncached(Encoding::kJson, [](int, FakeAppender&) {});
}

TEST(IngesterCache, SameSamplesAndReportsWithOtherOptions) {
  TranslationOptions o;
  o.add_suffixes = false;
  o.promote_scope_labels = false;
  o.inject_start_zero = false;
  ExpectSameAsUncached(Encoding::kProtobuf, [](int, FakeAppender&) {}, o);
}

TEST(IngesterCache, StaleRefsFallBackToLabels) {
  // Every ref is forgotten before rounds 3 and 6 (a storage that garbage-collected every
  // series), and a third of them before the others.
  ExpectSameAsUncached(Encoding::kProtobuf, [](int r, FakeAppender& app) {
    if (r == 3 || r == 6) {
      app.ForgetAll();
      return;
    }
    std::set<labels::Labels> series;
    for (const auto& s : app.samples) series.insert(s.lset);
    size_t i = 0;
    for (const auto& l : series) {
      if (i++ % 3 == static_cast<size_t>(r % 3)) app.Forget(l);
    }
  }, {}, {3, 6}, /*strict_order=*/false);
}

TEST(IngesterCache, AnAppenderWithoutRefsStaysCorrect) {
  // A new FakeAppender per request: every cached ref is unknown to it (NotFound).
  Ingester cached(nullptr, {}), uncached(nullptr, Uncached());
  for (int r = 0; r < 4; ++r) {
    pb::ExportMetricsServiceRequest req = Round(r, 1700000000000000000ULL);
    std::string body_a = req.SerializeAsString(), body_b = body_a;
    FakeAppender a, b;
    IngestReport rep_a, rep_b;
    absl::Status st_a = cached.Ingest(body_a, Encoding::kProtobuf, a, rep_a);
    absl::Status st_b = uncached.Ingest(body_b, Encoding::kProtobuf, b, rep_b);
    ASSERT_EQ(Describe(st_a, rep_a), Describe(st_b, rep_b));
    ASSERT_EQ(Samples(a), Samples(b));
  }
}

TEST(IngesterCache, AttributeOrderAndEncodingGetTheirOwnEntries) {
  // One series reached four ways: each way is its own entry, all append to the one series.
  Ingester ing(nullptr, {});
  FakeAppender app;
  auto body = [](int variant, uint64_t t) {
    pb::ExportMetricsServiceRequest req;
    auto* m = req.add_resource_metrics()->add_scope_metrics()->add_metrics();
    m->set_name("g");
    auto* p = Number(m->mutable_gauge()->mutable_data_points(), 0, t, static_cast<double>(t));
    auto* a = p->mutable_attributes();
    switch (variant) {
      case 0: Attr(a, "x", "1"); Attr(a, "y", "2"); break;
      case 1: Attr(a, "y", "2"); Attr(a, "x", "1"); break;
      case 2: IntAttr(a, "x", 1); Attr(a, "y", "2"); break;
      case 3: Attr(a, "x", "1"); Attr(a, "y", "2"); Attr(a, "z", ""); break;
    }
    return req.SerializeAsString();
  };
  uint64_t t = 1700000000000000000ULL;
  for (int round = 0; round < 3; ++round) {
    for (int v = 0; v < 4; ++v) {
      std::string b = body(v, t += kSecond);
      IngestReport rep;
      ASSERT_TRUE(ing.Ingest(b, Encoding::kProtobuf, app, rep).ok());
      EXPECT_EQ(rep.accepted_samples(), 1);
    }
  }
  // Variants 0 and 2 render the same attribute text, so they share an entry.
  EXPECT_EQ(ing.CachedSeries(), 3u);
  std::set<std::string> series;
  for (const auto& s : app.samples) series.insert(s.lset.ToString());
  EXPECT_EQ(series, std::set<std::string>{"g{x=\"1\", y=\"2\"}"});
  EXPECT_EQ(app.samples.size(), 12u);
}

TEST(IngesterCache, ConcurrentIngestMatchesUncached) {
  // Several threads send the same rounds (each its own tenant-like appender), sharing one
  // cached Ingester; each thread's result must equal a sequential uncached run.
  TranslationOptions opts;
  opts.delta_to_cumulative = false;  // delta state is per series, shared across threads here
  Ingester cached(nullptr, opts);
  TranslationOptions uopts = opts;
  uopts.series_cache_entries = 0;
  constexpr int kThreads = 4;
  std::vector<FakeAppender> apps(kThreads);
  std::vector<std::string> reports(kThreads);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int r = 0; r < kRounds; ++r) {
        std::string body = Round(r, 1700000000000000000ULL).SerializeAsString();
        IngestReport rep;
        absl::Status st = cached.Ingest(body, Encoding::kProtobuf, apps[th], rep);
        reports[th] += Describe(st, rep);
      }
    });
  }
  for (auto& t : threads) t.join();
  // The cumulative start-time state is shared too: only the first thread to see a series
  // writes its start zero. Compare each thread's samples without those.
  Ingester uncached(nullptr, uopts);
  FakeAppender want;
  for (int r = 0; r < kRounds; ++r) {
    std::string body = Round(r, 1700000000000000000ULL).SerializeAsString();
    IngestReport rep;
    (void)uncached.Ingest(body, Encoding::kProtobuf, want, rep);
  }
  auto without_zeros = [](const FakeAppender& app) {
    std::set<std::string> out;
    for (const auto& s : app.samples) {
      if (s.v == 0) continue;
      out.insert(absl::StrCat(s.lset.ToString(), " ", s.t, " ", std::bit_cast<uint64_t>(s.v)));
    }
    return out;
  };
  std::string want_reports;
  {
    Ingester again(nullptr, uopts);
    FakeAppender scratch;
    for (int r = 0; r < kRounds; ++r) {
      std::string body = Round(r, 1700000000000000000ULL).SerializeAsString();
      IngestReport rep;
      absl::Status st = again.Ingest(body, Encoding::kProtobuf, scratch, rep);
      want_reports += Describe(st, rep);
    }
  }
  for (int th = 0; th < kThreads; ++th) {
    EXPECT_EQ(without_zeros(apps[th]), without_zeros(want));
    EXPECT_EQ(reports[th], want_reports);
    EXPECT_GT(apps[th].by_ref, 0);
  }
}

// ---- Against a real database: the head's refs, and delta seeding after a restart ----

class IngesterCacheTsdb : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "xs-otlp-cache-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (auto& db : dbs_) {
      if (db) (void)db->Close();
    }
    dbs_.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  storage::Tsdb* Open(const std::string& name) {
    storage::TsdbOptions o;
    o.wal.sync = false;
    o.background = false;
    auto db = storage::Tsdb::Open(dir_ + "/" + name, o);
    EXPECT_TRUE(db.ok()) << db.status();
    dbs_.push_back(std::move(*db));
    return dbs_.back().get();
  }
  static std::string Ingest(Ingester& ing, storage::Tsdb& db, std::string body) {
    auto app = db.NewAppender();
    IngestReport rep;
    absl::Status st = ing.Ingest(body, Encoding::kProtobuf, *app, rep);
    absl::Status c = app->Commit();
    return Describe(st, rep) + c.ToString();
  }
  static std::vector<std::string> Everything(storage::Tsdb& db) {
    auto m = labels::Matcher::Create(labels::MatchType::kRegexMatch, "__name__", ".+");
    auto q = db.NewQuerier(storage::kMinTime, storage::kMaxTime);
    std::vector<std::string> out;
    auto set = q->Select(std::vector<labels::Matcher>{*m});
    while (set->Next()) {
      std::string line = set->At().Labels().ToString();
      auto it = set->At().Iterator();
      while (it->Next()) {
        auto [t, v] = it->At();
        absl::StrAppend(&line, " ", t, "=", std::bit_cast<uint64_t>(v));
      }
      out.push_back(std::move(line));
    }
    return out;
  }

  std::string dir_;
  std::vector<std::unique_ptr<storage::Tsdb>> dbs_;
};

TEST_F(IngesterCacheTsdb, SameDatabaseContentsAsUncachedAcrossARestart) {
  storage::Tsdb* da = Open("cached");
  storage::Tsdb* db = Open("uncached");
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const uint64_t base = static_cast<uint64_t>(now_ms - 600'000) / 1000 * 1000 * 1'000'000ULL;
  {
    Ingester ca(da, {}), ub(db, Uncached());
    for (int r = 0; r < 4; ++r) {
      std::string body = Round(r, base).SerializeAsString();
      ASSERT_EQ(Ingest(ca, *da, body), Ingest(ub, *db, body)) << "round " << r;
    }
    EXPECT_GT(ca.CachedSeries(), 20u);
  }
  ASSERT_EQ(Everything(*da), Everything(*db));
  // New Ingesters (a restart of the ingest side): delta totals are seeded from the database,
  // cached refs start empty and fill again.
  Ingester ca(da, {}), ub(db, Uncached());
  for (int r = 4; r < kRounds; ++r) {
    std::string body = Round(r, base).SerializeAsString();
    ASSERT_EQ(Ingest(ca, *da, body), Ingest(ub, *db, body)) << "round " << r;
  }
  const std::vector<std::string> got = Everything(*da);
  ASSERT_EQ(got, Everything(*db));
  const std::string all = absl::StrJoin(got, "\n");
  EXPECT_THAT(all, HasSubstr("jobs_done_total{"));
  EXPECT_THAT(all, HasSubstr("target_info{"));
}

}  // namespace
}  // namespace xscaler::ingest::otlp
