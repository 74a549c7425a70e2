#include "promql/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "promql/eval_math.h"
#include "promql/testing/memory_storage.h"

namespace xscaler::promql {
namespace {

using testing::MemoryStorage;

labels::Labels L(std::initializer_list<labels::Label> l) { return labels::Labels(l); }

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // http_requests_total{job="a"}: 0, 10, 20, ... every 15 s for 10 minutes.
    for (int i = 0; i <= 40; ++i) {
      store_.Add(L({{"__name__", "http_requests_total"}, {"job", "a"}}), i * 15000, i * 10.0);
      store_.Add(L({{"__name__", "http_requests_total"}, {"job", "b"}}), i * 15000, i * 20.0);
    }
    store_.Add(L({{"__name__", "gauge"}, {"job", "a"}}), 0, 1);
    store_.Add(L({{"__name__", "gauge"}, {"job", "a"}}), 60000, storage::StaleNaN());
  }

  Vector Instant(std::string_view q, int64_t t) {
    auto r = engine_.InstantQuery(store_, q, t);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status();
    if (!r.ok()) return {};
    auto* v = std::get_if<Vector>(&r->value);
    EXPECT_NE(v, nullptr) << q;
    return v ? *v : Vector{};
  }

  MemoryStorage store_;
  Engine engine_{EngineOptions{}};
};

TEST_F(EngineTest, ClampFollowsGoSignedZeroRules) {
  store_.Add(L({{"__name__", "negzero"}}), 0, -0.0);
  auto lo = Instant("clamp_min(negzero, 0)", 1000);  // Go: Max(-0, +0) = +0
  ASSERT_EQ(lo.size(), 1u);
  EXPECT_FALSE(std::signbit(lo[0].v));
  auto hi = Instant("clamp_max(negzero, 0)", 1000);  // Go: Min(-0, +0) = -0
  ASSERT_EQ(hi.size(), 1u);
  EXPECT_TRUE(std::signbit(hi[0].v));
}

TEST_F(EngineTest, SelectorLookbackAndStaleness) {
  auto v = Instant("gauge", 30000);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].v, 1);
  EXPECT_EQ(v[0].t, 30000);
  EXPECT_TRUE(Instant("gauge", 60000).empty());  // the staleness marker ends the series
  EXPECT_EQ(Instant("http_requests_total{job=\"a\"}", 600000 + 299999).size(), 1u);
  EXPECT_TRUE(Instant("http_requests_total{job=\"a\"}", 600000 + 300000).empty());  // left-open
}

TEST_F(EngineTest, RateAndSum) {
  auto v = Instant("sum(rate(http_requests_total[1m]))", 300000);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NEAR(v[0].v, 10.0 / 15 + 20.0 / 15, 1e-9);
  EXPECT_TRUE(v[0].metric.empty());
  auto by = Instant("sum by (job) (increase(http_requests_total[1m]))", 300000);
  ASSERT_EQ(by.size(), 2u);
  for (const auto& s : by) {
    EXPECT_NEAR(s.v, s.metric.Get("job") == "a" ? 40 : 80, 1e-9) << s.metric.ToString();
  }
}

TEST_F(EngineTest, RangeQueryAlignsSteps) {
  auto r = engine_.RangeQuery(store_, "http_requests_total{job=\"b\"} / 2", 0, 60000, 30000);
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].metric, L({{"job", "b"}}));  // arithmetic drops the metric name
  ASSERT_EQ(m[0].points.size(), 3u);
  EXPECT_EQ(m[0].points[1], (Point{30000, 20}));
  EXPECT_EQ(m[0].points[2], (Point{60000, 40}));
}

TEST_F(EngineTest, ScalarAndStringResults) {
  auto r = engine_.InstantQuery(store_, "1 + 2 * 3", 5000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<Scalar>(r->value).v, 7);
  EXPECT_EQ(std::get<Scalar>(r->value).t, 5000);
  auto s = engine_.InstantQuery(store_, "\"hello\"", 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(std::get<String>(s->value).v, "hello");
  auto range = engine_.RangeQuery(store_, "time()", 0, 20000, 10000);
  ASSERT_TRUE(range.ok());
  const auto& m = std::get<Matrix>(range->value);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].points.back(), (Point{20000, 20}));
}

TEST_F(EngineTest, VectorMatching) {
  store_.Add(L({{"__name__", "info"}, {"job", "a"}, {"team", "x"}}), 0, 1);
  auto v = Instant("http_requests_total * on(job) group_left(team) info", 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].metric, L({{"job", "a"}, {"team", "x"}}));
  auto cmp = Instant("http_requests_total > 100", 150000);
  ASSERT_EQ(cmp.size(), 1u);  // job b only; comparisons keep the name
  EXPECT_EQ(cmp[0].metric.MetricName(), "http_requests_total");
  EXPECT_EQ(Instant("http_requests_total and on(job) info", 0).size(), 1u);
  EXPECT_EQ(Instant("http_requests_total unless on(job) info", 0).size(), 1u);
  EXPECT_EQ(Instant("http_requests_total or info", 0).size(), 3u);
}

TEST_F(EngineTest, ErrorKinds) {
  auto parse = engine_.InstantQuery(store_, "sum(", 0);
  ASSERT_FALSE(parse.ok());
  EXPECT_EQ(KindOf(parse.status()), ErrorKind::kBadData);
  auto range = engine_.RangeQuery(store_, "http_requests_total[1m]", 0, 10, 1);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(KindOf(range.status()), ErrorKind::kBadData);
  EXPECT_THAT(std::string(range.status().message()), ::testing::HasSubstr("range vector"));
  store_.Add(L({{"__name__", "dup"}, {"job", "a"}, {"x", "1"}}), 0, 1);
  store_.Add(L({{"__name__", "dup"}, {"job", "a"}, {"x", "2"}}), 0, 1);
  auto m2m = engine_.InstantQuery(store_, "http_requests_total + on(job) dup", 0);
  ASSERT_FALSE(m2m.ok());
  EXPECT_EQ(KindOf(m2m.status()), ErrorKind::kExecution);
  EXPECT_EQ(std::string(m2m.status().message()),
            "found duplicate series for the match group {job=\"a\"} on the right hand-side of "
            "the operation: [{__name__=\"dup\", job=\"a\", x=\"1\"}, {__name__=\"dup\", "
            "job=\"a\", x=\"2\"}];many-to-many matching not allowed: matching labels must be "
            "unique on one side");
  auto unsupported = engine_.InstantQuery(store_, "info(http_requests_total)", 0);
  ASSERT_FALSE(unsupported.ok());
  EXPECT_THAT(std::string(unsupported.status().message()), ::testing::HasSubstr("not supported"));
}

TEST_F(EngineTest, MaxSamplesLimit) {
  Engine small(EngineOptions{.max_samples = 10});
  auto r = small.InstantQuery(store_, "count_over_time(http_requests_total[10m])", 600000);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("too many samples"));
  EXPECT_EQ(KindOf(r.status()), ErrorKind::kExecution);
}

TEST_F(EngineTest, Annotations) {
  store_.Add(L({{"__name__", "not_a_counter"}}), 0, 1);
  store_.Add(L({{"__name__", "not_a_counter"}}), 15000, 2);
  auto r = engine_.InstantQuery(store_, "rate(not_a_counter[1m])", 30000);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->infos.size(), 1u);
  EXPECT_THAT(r->infos[0], ::testing::HasSubstr("might not be a counter"));
  auto q = engine_.InstantQuery(store_, "quantile(2, http_requests_total)", 0);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->warnings.size(), 1u);
  EXPECT_EQ(q->warnings[0], "PromQL warning: quantile value should be between 0 and 1, got 2");
}

TEST_F(EngineTest, SubqueryAndAt) {
  auto v = Instant("max_over_time(http_requests_total{job=\"a\"}[2m:30s])", 300000);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].v, 200);
  auto at = Instant("http_requests_total{job=\"a\"} @ 60", 600000);
  ASSERT_EQ(at.size(), 1u);
  EXPECT_EQ(at[0].v, 40);
  auto off = Instant("http_requests_total{job=\"a\"} offset 1m", 120000);
  ASSERT_EQ(off.size(), 1u);
  EXPECT_EQ(off[0].v, 40);
}

TEST_F(EngineTest, NameRemovalModes) {
  // Immediate removal (Prometheus' default): both rates become {job=...}; grouping by
  // __name__ sees no names.
  auto v = Instant("sum by (__name__) (rate(http_requests_total[1m]))", 300000);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].metric.empty());
  auto lr =
      Instant("label_replace(rate(http_requests_total[1m]), \"n\", \"$1\", \"__name__\", \"(.*)\")",
              300000);
  ASSERT_EQ(lr.size(), 2u);
  EXPECT_FALSE(lr[0].metric.Has("n"));
  // Delayed removal: label_replace still sees the name; the final result has none.
  Engine delayed(EngineOptions{.delayed_name_removal = true});
  auto d = delayed.InstantQuery(
      store_, "label_replace(rate(http_requests_total[1m]), \"n\", \"$1\", \"__name__\", \"(.*)\")",
      300000);
  ASSERT_TRUE(d.ok()) << d.status();
  const auto& dv = std::get<Vector>(d->value);
  ASSERT_EQ(dv.size(), 2u);
  EXPECT_EQ(dv[0].metric.Get("n"), "http_requests_total");
  EXPECT_FALSE(dv[0].metric.Has("__name__"));
}

TEST_F(EngineTest, QueryOptions) {
  std::atomic<bool> cancel{true};
  QueryOptions qo;
  qo.cancel = &cancel;
  auto r = engine_.InstantQuery(store_, "http_requests_total", 0, qo);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(KindOf(r.status()), ErrorKind::kCanceled);
  QueryOptions lb;
  lb.lookback_delta_ms = 10000;
  auto short_lb = engine_.InstantQuery(store_, "gauge", 30000, lb);
  ASSERT_TRUE(short_lb.ok());
  EXPECT_TRUE(std::get<Vector>(short_lb->value).empty());
  auto too_many = engine_.RangeQuery(store_, "1", 0, 11000 * 1000, 1000);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(KindOf(too_many.status()), ErrorKind::kBadData);
  auto bad_step = engine_.RangeQuery(store_, "1", 0, 10, 0);
  EXPECT_EQ(KindOf(bad_step.status()), ErrorKind::kBadData);
}

// Prometheus' topk/bottomk run the series (in label order) through a bounded heap; on ties the
// evicted element is the heap root, not the last tied input. With x = a:5 b:1 c:1 d:1 e:7 and
// k=3 the heap is [b a c] when e arrives, so b (not c) is replaced: the result is {e, a, c}.
class TopkTieTest : public EngineTest {
 protected:
  void SetUp() override {
    const std::pair<const char*, double> values[] = {
        {"a", 5}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 7}};
    for (int t = 0; t <= 120000; t += 15000) {
      for (const auto& [id, v] : values) store_.Add(L({{"__name__", "x"}, {"id", id}}), t, v);
      store_.Add(L({{"__name__", "n"}, {"id", "a"}}), t, std::nan(""));
      store_.Add(L({{"__name__", "n"}, {"id", "b"}}), t, 1);
      store_.Add(L({{"__name__", "n"}, {"id", "c"}}), t, std::nan(""));
      store_.Add(L({{"__name__", "n"}, {"id", "d"}}), t, 2);
    }
  }
  static std::vector<std::string> Ids(const Vector& v) {
    std::vector<std::string> out;
    for (const auto& s : v) out.emplace_back(s.metric.Get("id"));
    return out;
  }
};

TEST_F(TopkTieTest, InstantKeepsPrometheusHeapChoiceAndOrder) {
  EXPECT_THAT(Ids(Instant("topk(3, x)", 60000)), ::testing::ElementsAre("e", "a", "c"));
  EXPECT_THAT(Ids(Instant("bottomk(3, -x)", 60000)), ::testing::ElementsAre("e", "a", "c"));
  // All tied: the first k in label order stay.
  EXPECT_THAT(Ids(Instant("topk(2, x == 1)", 60000)), ::testing::ElementsAre("b", "c"));
  EXPECT_EQ(Instant("topk by (id) (1, x)", 60000).size(), 5u);
  EXPECT_TRUE(Instant("topk(0, x)", 60000).empty());
}

TEST_F(TopkTieTest, NaNIsSmallestAndReplacedFirst) {
  // Heap after a, b, c is [c b a]; d replaces the NaN root and sinks below the other NaN.
  auto v = Instant("topk(3, n)", 60000);
  ASSERT_THAT(Ids(v), ::testing::ElementsAre("d", "b", "a"));
  EXPECT_TRUE(std::isnan(v[2].v));
  EXPECT_THAT(Ids(Instant("topk(2, n)", 60000)), ::testing::ElementsAre("d", "b"));
  EXPECT_THAT(Ids(Instant("bottomk(2, n)", 60000)), ::testing::ElementsAre("b", "d"));
}

TEST_F(TopkTieTest, RangeQueryKeepsTheSameSeriesAsPrometheus) {
  for (const char* q : {"topk(3, x)", "topk(3, rate(x[1m]) + x)", "bottomk(3, -x)"}) {
    auto r = engine_.RangeQuery(store_, q, 60000, 120000, 15000);
    ASSERT_TRUE(r.ok()) << q << ": " << r.status();
    const auto& m = std::get<Matrix>(r->value);
    std::vector<std::string> ids;
    for (const auto& s : m) {
      ids.emplace_back(s.metric.Get("id"));
      EXPECT_EQ(s.points.size(), 5u) << q << " " << s.metric.ToString();
    }
    EXPECT_THAT(ids, ::testing::UnorderedElementsAre("a", "c", "e")) << q;
  }
}

// Many tied series, as in the benchmark's topk over equal rates. Expected answers come from
// Prometheus 3.x's algorithm run with Go's container/heap and sort.Sort.
TEST_F(TopkTieTest, ManyTiesMatchGoHeap) {
  for (int i = 0; i < 20; ++i) {
    std::string id = absl::StrFormat("s%02d", i);
    if (i < 12) store_.Add(L({{"__name__", "y"}, {"id", id}}), 60000, (i * 7) % 3);
    store_.Add(L({{"__name__", "z"}, {"id", id}}), 60000, (i * 5) % 4);
  }
  EXPECT_THAT(Ids(Instant("topk(5, y)", 60000)),
              ::testing::ElementsAre("s11", "s02", "s05", "s08", "s04"));
  EXPECT_THAT(Ids(Instant("bottomk(5, y)", 60000)),
              ::testing::ElementsAre("s06", "s09", "s03", "s00", "s01"));
  // Beyond 12 elements Go's output order comes from pdqsort; only the kept set is compared.
  EXPECT_THAT(Ids(Instant("topk(13, z)", 60000)),
              ::testing::UnorderedElementsAre("s07", "s15", "s11", "s19", "s03", "s14", "s06",
                                              "s02", "s18", "s10", "s01", "s05", "s09"));
  EXPECT_THAT(Ids(Instant("bottomk(13, z)", 60000)),
              ::testing::UnorderedElementsAre("s00", "s12", "s16", "s04", "s08", "s13", "s01",
                                              "s09", "s05", "s17", "s06", "s10", "s14"));
}

TEST(EvalMath, Helpers) {
  EXPECT_EQ(XXHash64("", 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(Quantile(0.5, {1, 2, 3, 4}), 2.5);
  EXPECT_TRUE(std::isnan(Quantile(0.5, {})));
  EXPECT_EQ(Quantile(-1, {1}), -INFINITY);
  bool forced = false;
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, {{1, 10}, {2, 20}, {INFINITY, 20}}, &forced), 1.0);
  EXPECT_FALSE(forced);
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, {{1, 10}, {2, 20}}, &forced)));  // no +Inf
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, {{1, 10}, {2, 5}, {INFINITY, 20}}, &forced), 1.0);
  EXPECT_TRUE(forced);
  EXPECT_EQ(FormatFloatF(1e21), "1000000000000000000000");
  EXPECT_EQ(FormatFloatF(0.1), "0.1");
  double d;
  EXPECT_TRUE(ParseGoFloat("+Inf", &d));
  EXPECT_TRUE(std::isinf(d));
  EXPECT_FALSE(ParseGoFloat("abc", &d));
}

}  // namespace
}  // namespace xscaler::promql

namespace xscaler::promql {
namespace {

// Aggregations over a range function of a selector that fixes __name__ are evaluated in one
// fused pass; `{__name__=~"m"}` selects the same series through the general path. Both must
// give bit-identical results, series order included, on awkward data (counter resets, NaN,
// infinities, gaps, series that start late), for ranges, instants and every fusable pair.
TEST(FusedAggregateTest, MatchesTheGeneralPath) {
  MemoryStorage store;
  uint64_t rnd = 42;
  auto next = [&rnd] {
    rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
    return rnd >> 33;
  };
  const char* jobs[] = {"a", "b", "c"};
  for (int s = 0; s < 60; ++s) {
    labels::Labels l = L({{"__name__", "m"},
                          {"job", jobs[s % 3]},
                          {"le", std::to_string(s % 4)},
                          {"inst", std::to_string(s)}});
    double v = 0;
    for (int i = static_cast<int>(next() % 20); i < 120; ++i) {
      if (next() % 7 == 0) continue;  // gap
      uint64_t r = next() % 100;
      if (r == 0) {
        v = 0;  // counter reset
      } else if (r == 1 && s % 5 == 0) {
        v = std::nan("");
      } else if (r == 2 && s % 11 == 0) {
        v = std::numeric_limits<double>::infinity();
      } else if (!std::isfinite(v)) {
        v = static_cast<double>(next() % 1000);
      } else {
        v += static_cast<double>(next() % 1000) / 7.0;
      }
      store.Add(l, int64_t{i} * 15000 + static_cast<int64_t>(next() % 3000), v);
    }
  }
  Engine engine{EngineOptions{.parallel_min_series = 0}};
  Engine parallel{EngineOptions{.parallel_min_series = 1}};
  const char* aggs[] = {"sum",
                        "avg",
                        "count",
                        "group",
                        "min",
                        "max",
                        "stddev",
                        "stdvar",
                        "sum by (job)",
                        "avg by (le)",
                        "max without (inst)",
                        "sum by (__name__, job)",
                        "count without (job, le)"};
  const char* funcs[] = {"rate",
                         "increase",
                         "delta",
                         "irate",
                         "idelta",
                         "deriv",
                         "changes",
                         "resets",
                         "avg_over_time",
                         "sum_over_time",
                         "count_over_time",
                         "min_over_time",
                         "max_over_time",
                         "stddev_over_time",
                         "stdvar_over_time",
                         "present_over_time"};
  auto same = [](const absl::StatusOr<Result>& x, const absl::StatusOr<Result>& y,
                 const std::string& q) {
    ASSERT_EQ(x.ok(), y.ok()) << q;
    if (!x.ok()) return;
    const Matrix* mx = std::get_if<Matrix>(&x->value);
    const Matrix* my = std::get_if<Matrix>(&y->value);
    if (mx != nullptr && my != nullptr) {
      ASSERT_EQ(mx->size(), my->size()) << q;
      for (size_t i = 0; i < mx->size(); ++i) {
        EXPECT_EQ((*mx)[i].metric, (*my)[i].metric) << q;
        ASSERT_EQ((*mx)[i].points.size(), (*my)[i].points.size()) << q;
        for (size_t j = 0; j < (*mx)[i].points.size(); ++j) {
          const Point& a = (*mx)[i].points[j];
          const Point& b = (*my)[i].points[j];
          EXPECT_EQ(a.t, b.t) << q;
          EXPECT_TRUE(std::bit_cast<uint64_t>(a.v) == std::bit_cast<uint64_t>(b.v) ||
                      (std::isnan(a.v) && std::isnan(b.v)))
              << q << " " << a.v << " vs " << b.v;
        }
      }
      return;
    }
    const Vector* vx = std::get_if<Vector>(&x->value);
    const Vector* vy = std::get_if<Vector>(&y->value);
    ASSERT_TRUE(vx != nullptr && vy != nullptr) << q;
    ASSERT_EQ(vx->size(), vy->size()) << q;
    for (size_t i = 0; i < vx->size(); ++i) {
      EXPECT_EQ((*vx)[i].metric, (*vy)[i].metric) << q;
      EXPECT_TRUE(std::bit_cast<uint64_t>((*vx)[i].v) == std::bit_cast<uint64_t>((*vy)[i].v) ||
                  (std::isnan((*vx)[i].v) && std::isnan((*vy)[i].v)))
          << q;
    }
    EXPECT_EQ(x->infos, y->infos) << q;
  };
  int checked = 0;
  for (const char* agg : aggs) {
    for (const char* f : funcs) {
      std::string fused = absl::StrFormat("%s (%s(m[2m]))", agg, f);
      std::string general = absl::StrFormat("%s (%s({__name__=~\"m\"}[2m]))", agg, f);
      same(engine.RangeQuery(store, fused, 0, 1800000, 45000),
           engine.RangeQuery(store, general, 0, 1800000, 45000), fused);
      same(engine.InstantQuery(store, fused, 900000), engine.InstantQuery(store, general, 900000),
           fused);
      // The same on the thread pool (both paths), against the one-thread general path.
      same(parallel.RangeQuery(store, fused, 0, 1800000, 45000),
           engine.RangeQuery(store, general, 0, 1800000, 45000), fused);
      same(parallel.RangeQuery(store, general, 0, 1800000, 45000),
           engine.RangeQuery(store, general, 0, 1800000, 45000), general);
      ++checked;
    }
  }
  // Nested: the fused sum feeds histogram_quantile and a binary operation.
  for (const char* q : {"histogram_quantile(0.9, sum by (le) (rate(%s[5m])))",
                        "sum by (job) (rate(%s[5m])) / sum by (job) (increase(%s[5m]))"}) {
    std::string fused = absl::StrReplaceAll(q, {{"%s", "m"}});
    std::string general = absl::StrReplaceAll(q, {{"%s", "{__name__=~\"m\"}"}});
    same(engine.RangeQuery(store, fused, 0, 1800000, 60000),
         engine.RangeQuery(store, general, 0, 1800000, 60000), fused);
  }
  EXPECT_EQ(checked, 13 * 16);
}

}  // namespace
}  // namespace xscaler::promql

namespace xscaler::promql {
namespace {

// A storage over MemoryStorage whose series behave like the real ones: a series (At()) is
// destroyed by the next Next(), while its iterator owns what it reads. Series labelled
// zbad="1" fail their iterator with a DataLoss error naming them. Iterators record the
// threads that read them; with `need_helper`, the first series the test's thread reads waits
// until another thread has read one, so a test passes only if a worker really helped.
class ThreadedStorage : public storage::Storage {
 public:
  explicit ThreadedStorage(MemoryStorage* inner) : inner_(inner) {}
  std::unique_ptr<storage::Appender> NewAppender() override { return inner_->NewAppender(); }
  std::map<std::string, storage::MetricMetadata> Metadata() const override { return {}; }
  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    return std::make_unique<Querier>(this, inner_->NewQuerier(mint, maxt));
  }

  bool need_helper = false;
  std::atomic<bool>* cancel_after_reads = nullptr;  // set once `reads_before_cancel` series read
  int reads_before_cancel = 0;
  std::atomic<int> reads{0};
  std::atomic<bool> helper_seen{false};
  std::atomic<bool> helper_wait_failed{false};
  std::thread::id test_thread = std::this_thread::get_id();

 private:
  using Points = std::vector<std::pair<int64_t, double>>;

  class Iterator : public storage::SampleIterator {
   public:
    Iterator(ThreadedStorage* st, Points p, absl::Status err)
        : st_(st), p_(std::move(p)), err_(std::move(err)) {}
    bool Next() override {
      if (i_ < 0) st_->Reading();
      if (!err_.ok()) return false;
      return ++i_ < static_cast<int64_t>(p_.size());
    }
    bool Seek(int64_t) override { return false; }
    std::pair<int64_t, double> At() const override { return p_[i_]; }
    absl::Status Err() const override { return err_; }

   private:
    ThreadedStorage* st_;
    Points p_;
    absl::Status err_;
    int64_t i_ = -1;
  };

  class Series : public storage::Series {
   public:
    Series(ThreadedStorage* st, const storage::Series& s) : st_(st), l_(s.Labels()) {
      auto it = s.Iterator();
      while (it->Next()) p_.push_back(it->At());
    }
    const labels::Labels& Labels() const override { return l_; }
    std::unique_ptr<storage::SampleIterator> Iterator() const override {
      absl::Status err;
      if (l_.Get("zbad") == "1") err = absl::DataLossError("corrupt chunk in " + l_.ToString());
      return std::make_unique<ThreadedStorage::Iterator>(st_, p_, err);
    }

   private:
    ThreadedStorage* st_;
    labels::Labels l_;
    Points p_;
  };

  class SeriesSet : public storage::SeriesSet {
   public:
    SeriesSet(ThreadedStorage* st, std::unique_ptr<storage::SeriesSet> in)
        : st_(st), in_(std::move(in)) {}
    bool Next() override {
      cur_.reset();
      if (!in_->Next()) return false;
      cur_ = std::make_unique<Series>(st_, in_->At());
      return true;
    }
    const storage::Series& At() const override { return *cur_; }

   private:
    ThreadedStorage* st_;
    std::unique_ptr<storage::SeriesSet> in_;
    std::unique_ptr<Series> cur_;
  };

  class Querier : public storage::Querier {
   public:
    Querier(ThreadedStorage* st, std::unique_ptr<storage::Querier> in)
        : st_(st), in_(std::move(in)) {}
    std::unique_ptr<storage::SeriesSet> Select(std::span<const labels::Matcher> ms) override {
      return std::make_unique<SeriesSet>(st_, in_->Select(ms));
    }
    absl::StatusOr<std::vector<std::string>> LabelNames(
        std::span<const labels::Matcher> ms) override {
      return in_->LabelNames(ms);
    }
    absl::StatusOr<std::vector<std::string>> LabelValues(
        const std::string& name, std::span<const labels::Matcher> ms) override {
      return in_->LabelValues(name, ms);
    }

   private:
    ThreadedStorage* st_;
    std::unique_ptr<storage::Querier> in_;
  };

  void Reading() {
    if (cancel_after_reads != nullptr && reads.fetch_add(1) + 1 >= reads_before_cancel) {
      cancel_after_reads->store(true);
    }
    if (std::this_thread::get_id() != test_thread) {
      helper_seen = true;
      return;
    }
    if (!need_helper || helper_seen) return;
    // Bounded, so that a broken pool fails the test instead of hanging it.
    for (int i = 0; i < 600000 && !helper_seen; ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (!helper_seen) helper_wait_failed = true;
    helper_seen = true;
  }

  MemoryStorage* inner_;
};

void ExpectSameResult(const absl::StatusOr<Result>& x, const absl::StatusOr<Result>& y,
                      const std::string& q) {
  ASSERT_EQ(x.ok(), y.ok()) << q << ": " << x.status() << " vs " << y.status();
  if (!x.ok()) {
    EXPECT_EQ(x.status(), y.status()) << q;
    return;
  }
  EXPECT_EQ(x->warnings, y->warnings) << q;
  EXPECT_EQ(x->infos, y->infos) << q;
  auto same_value = [&](double a, double b) {
    return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b) ||
           (std::isnan(a) && std::isnan(b));
  };
  if (const Matrix* mx = std::get_if<Matrix>(&x->value)) {
    const Matrix* my = std::get_if<Matrix>(&y->value);
    ASSERT_NE(my, nullptr) << q;
    ASSERT_EQ(mx->size(), my->size()) << q;
    for (size_t i = 0; i < mx->size(); ++i) {
      EXPECT_EQ((*mx)[i].metric, (*my)[i].metric) << q;
      ASSERT_EQ((*mx)[i].points.size(), (*my)[i].points.size()) << q;
      for (size_t j = 0; j < (*mx)[i].points.size(); ++j) {
        EXPECT_EQ((*mx)[i].points[j].t, (*my)[i].points[j].t) << q;
        EXPECT_TRUE(same_value((*mx)[i].points[j].v, (*my)[i].points[j].v)) << q;
      }
    }
    return;
  }
  const Vector* vx = std::get_if<Vector>(&x->value);
  const Vector* vy = std::get_if<Vector>(&y->value);
  ASSERT_TRUE(vx != nullptr && vy != nullptr) << q;
  ASSERT_EQ(vx->size(), vy->size()) << q;
  for (size_t i = 0; i < vx->size(); ++i) {
    EXPECT_EQ((*vx)[i].metric, (*vy)[i].metric) << q;
    EXPECT_TRUE(same_value((*vx)[i].v, (*vy)[i].v)) << q;
  }
}

// Range functions over large selections run on the thread pool; with parallel_min_series 1
// every selection does. The results — values bit for bit, series order, annotations, errors —
// must equal the one-thread evaluation (parallel_min_series 0), over enough series for
// several batches and work items.
class ParallelRangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uint64_t rnd = 7;
    auto next = [&rnd] {
      rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
      return rnd >> 33;
    };
    const char* jobs[] = {"a", "b", "c"};
    for (int s = 0; s < kSeries; ++s) {
      // "m" is a counter family; "g" is not named like one (rate's info annotation).
      const char* name = s % 10 == 9 ? "g_total_not" : "m";
      labels::Labels l = L({{"__name__", name},
                            {"inst", absl::StrFormat("%04d", s)},
                            {"job", jobs[s % 3]},
                            {"le", std::to_string(s % 4)}});
      double v = 0;
      for (int i = static_cast<int>(next() % 10); i < 50; ++i) {
        if (next() % 7 == 0) continue;
        uint64_t r = next() % 100;
        if (r == 0) {
          v = 0;
        } else if (r == 1 && s % 5 == 0) {
          v = std::nan("");
        } else if (r == 2 && s % 11 == 0) {
          v = std::numeric_limits<double>::infinity();
        } else if (!std::isfinite(v)) {
          v = static_cast<double>(next() % 1000);
        } else {
          v += static_cast<double>(next() % 1000) / 7.0;
        }
        mem_.Add(l, int64_t{i} * 15000 + static_cast<int64_t>(next() % 3000), v);
      }
    }
  }

  absl::StatusOr<Result> Run(Engine& e, std::string_view q, bool range) {
    return range ? e.RangeQuery(storage_, q, 0, 750000, 30000)
                 : e.InstantQuery(storage_, q, 600000);
  }

  static constexpr int kSeries = 2200;  // > kRoundsInFlight rounds of kSeriesBatch (512)
  MemoryStorage mem_;
  ThreadedStorage storage_{&mem_};
};

TEST_F(ParallelRangeTest, MatchesSequentialEvaluation) {
  Engine seq{EngineOptions{.parallel_min_series = 0}};
  Engine par{EngineOptions{.parallel_min_series = 1}};
  storage_.need_helper = true;
  const char* queries[] = {
      "sum by (job) (rate(m[2m]))",
      "sum(rate(m[2m]))",
      "avg without (inst) (increase(m[2m]))",
      "max by (le) (max_over_time(m[2m]))",
      "stddev by (job) (deriv(m[2m]))",
      "count(changes(m[2m]))",
      "sum by (le) (rate({__name__=~\"m|g_total_not\"}[2m]))",
      "rate({__name__=~\"m|g_total_not\"}[2m])",
      "rate(g_total_not[2m])",
      "sum(rate(g_total_not[2m]))",
      "irate(m[2m])",
      "last_over_time(m[2m])",
      "quantile_over_time(0.9, m[2m])",
      "quantile_over_time(2, m[2m])",
      "predict_linear(m[2m], 60)",
      "avg_over_time(m[2m] offset 1m)",
      "sum_over_time(m[2m] @ 300)",
      "topk(3, rate(m[2m]))",
      "histogram_quantile(0.9, sum by (le) (rate(m[5m])))",
      "sum by (job) (rate(m{le=~\"1|2\"}[5m])) / sum by (job) (rate(m[5m]))",
      "absent_over_time(m[1m])",
  };
  for (const char* q : queries) {
    for (bool range : {true, false}) {
      SCOPED_TRACE(absl::StrCat(q, range ? " (range)" : " (instant)"));
      ExpectSameResult(Run(seq, q, range), Run(par, q, range), q);
    }
  }
  EXPECT_FALSE(storage_.helper_wait_failed.load()) << "no worker read a series";
  EXPECT_TRUE(storage_.helper_seen.load());
}

TEST_F(ParallelRangeTest, FirstErrorInSeriesOrderWins) {
  // Corrupt series in label order 0100 < 0333 (same round, other work items) < 1900 (a later
  // round): the first one's error is the query's, whichever worker read it.
  for (const char* inst : {"1900", "0333", "0100"}) {
    for (int64_t t : {15000, 590000}) {
      mem_.Add(L({{"__name__", "m"}, {"inst", inst}, {"zbad", "1"}}), t, 1);
    }
  }
  Engine seq{EngineOptions{.parallel_min_series = 0}};
  Engine par{EngineOptions{.parallel_min_series = 1}};
  for (const char* q : {"sum by (job) (rate(m[2m]))", "rate(m[2m])"}) {
    for (bool range : {true, false}) {
      auto a = Run(seq, q, range);
      auto b = Run(par, q, range);
      ASSERT_FALSE(b.ok()) << q;
      EXPECT_EQ(b.status().code(), absl::StatusCode::kDataLoss) << q;
      EXPECT_THAT(std::string(b.status().message()), ::testing::HasSubstr("0100")) << q;
      ExpectSameResult(a, b, q);
    }
  }
}

TEST_F(ParallelRangeTest, LimitsAndCancellationMatchSequential) {
  // Around the query's sample peak, both engines must agree on success or the limit error.
  for (int64_t limit : {100, 1000, 5000, 20000, 40000, 60000, 80000, 100000, 200000, 1000000}) {
    Engine seq{EngineOptions{.max_samples = limit, .parallel_min_series = 0}};
    Engine par{EngineOptions{.max_samples = limit, .parallel_min_series = 1}};
    for (const char* q : {"sum by (job) (rate(m[2m]))", "rate(m[2m])"}) {
      SCOPED_TRACE(absl::StrCat(q, " limit ", limit));
      ExpectSameResult(Run(seq, q, true), Run(par, q, true), q);
    }
  }
  // Canceled while workers read the series: the query fails as canceled.
  Engine par{EngineOptions{.parallel_min_series = 1}};
  for (const char* q : {"sum by (job) (rate(m[2m]))", "rate(m[2m])"}) {
    std::atomic<bool> cancel{false};
    storage_.cancel_after_reads = &cancel;
    storage_.reads_before_cancel = 1500;
    storage_.reads = 0;
    QueryOptions qo;
    qo.cancel = &cancel;
    auto r = par.RangeQuery(storage_, q, 0, 750000, 30000, qo);
    storage_.cancel_after_reads = nullptr;
    ASSERT_FALSE(r.ok()) << q;
    EXPECT_EQ(KindOf(r.status()), ErrorKind::kCanceled) << q << ": " << r.status();
    EXPECT_TRUE(cancel.load());
  }
}

}  // namespace
}  // namespace xscaler::promql
