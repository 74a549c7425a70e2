#include "promql/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <string>

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
  Engine engine{EngineOptions{}};
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
