// PromQL evaluation (src/promql/engine.h) of the dashboard queries in bench/queries.tsv over a
// real Tsdb (head + postings, WAL unsynced, temp dir) holding the benchmark workload, loaded
// through the remote-write decoder: rate/sum, histogram_quantile over rate, regex selectors,
// topk. The figure is the time per range query (30 min at a 60 s step).
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "ingest/remote_write/remote_write.h"
#include "ingest/report.h"
#include "loadgen/workload.h"
#include "promql/engine.h"
#include "storage/db/tsdb.h"

namespace xscaler::bench {
namespace {

struct Loaded {
  ~Loaded() {
    if (db) (void)db->Close();
    db.reset();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  std::unique_ptr<storage::Tsdb> db;
  int64_t min_t = 0, max_t = 0;
  std::string error;
};

// Loads `series` x `samples` at 15 s into a fresh Tsdb (in the head; cut into blocks when
// `flush`, as bench/compare.sh does before timing queries).
void Load(Loaded* l, int64_t series, int64_t samples, bool flush) {
  {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "xs-bench-promql-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      l->error = "cannot create a temp dir";
      return;
    }
    l->dir = tmpl;
    storage::TsdbOptions opts;
    opts.wal.sync = false;
    auto db = storage::Tsdb::Open(l->dir, opts);
    if (!db.ok()) {
      l->error = db.status().ToString();
      return;
    }
    l->db = std::move(*db);
    WorkloadOptions o;
    o.series = series;
    o.samples = samples;
    o.shards = 1;
    o.base_ms = 1'700'000'000'000;
    Workload wl(o);
    l->min_t = wl.info().min_t;
    l->max_t = wl.info().max_t;
    for (EncodedRequest& r : wl.Encode(Protocol::kRemoteWrite, 0)) {
      auto app = l->db->NewAppender();
      ingest::IngestReport rep;
      absl::Status st = ingest::remote_write::IngestSnappy(r.body, 64 << 20, *app, rep);
      if (st.ok()) st = app->Commit();
      if (!st.ok()) {
        l->error = st.ToString();
        break;
      }
    }
    if (flush && l->error.empty()) {
      if (absl::Status st = l->db->Flush(); !st.ok()) l->error = st.ToString();
    }
  }
}

// 2000 series x 120 samples at 15 s (30 min), loaded once for every benchmark.
Loaded& Data() {
  static Loaded loaded;
  static bool done = false;
  if (!done) Load(&loaded, 2000, 120, false);
  done = true;
  return loaded;
}

// bench/compare.sh's default figure: 100k series x 60 samples (15 min), in the head (0) or cut
// into a block (1). Loading takes a while; only the benchmarks below pay for it.
Loaded& Data100k(bool flushed) {
  static Loaded loaded[2];
  static bool done[2] = {false, false};
  if (!done[flushed]) Load(&loaded[flushed], 100000, 60, flushed);
  done[flushed] = true;
  return loaded[flushed];
}

const char* const kQueries[] = {
    "sum by (job) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "sum by (job) (rate(http_requests_total{status=~\"5..\"}[5m])) / sum by (job) "
    "(rate(http_requests_total[5m]))",
    "topk(5, rate(process_cpu_seconds_total[5m]))",
    "http_requests_total{job=~\"check.*|cart\",method!=\"GET\"}",
};

void BM_RangeQuery(benchmark::State& state) {
  Loaded& d = Data();
  if (!d.error.empty()) {
    state.SkipWithError(d.error.c_str());
    return;
  }
  const char* q = kQueries[state.range(0)];
  state.SetLabel(q);
  promql::Engine engine(promql::EngineOptions{});
  for (auto _ : state) {
    auto r = engine.RangeQuery(*d.db, q, d.min_t, d.max_t, 60000);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_RangeQuery)->DenseRange(0, 4)->Unit(benchmark::kMillisecond);

// The dashboard queries of bench/queries.tsv at 100k series, timed as compare.sh times them:
// range queries over the whole data at a 60 s step, the selector as an instant query at the
// end, the series call as a labels-only select over the whole range. Args: (query, flushed).
const char* const kDashboard[] = {
    "sum by (job) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.99, sum by (le, route) "
    "(rate(http_request_duration_seconds_bucket{job=\"checkout\"}[5m])))",
    "sum by (job) (rate(http_requests_total{status=~\"5..\"}[5m])) / sum by (job) "
    "(rate(http_requests_total[5m]))",
    "topk(5, rate(process_cpu_seconds_total[5m]))",
    "http_requests_total{job=~\"check.*|cart\",method!=\"GET\"}",  // instant
    "series: http_requests_total{job=\"checkout\"}",
};

void BM_Dashboard100k(benchmark::State& state) {
  Loaded& d = Data100k(state.range(1) != 0);
  if (!d.error.empty()) {
    state.SkipWithError(d.error.c_str());
    return;
  }
  const int q = static_cast<int>(state.range(0));
  state.SetLabel(absl::StrCat(kDashboard[q], state.range(1) != 0 ? " [block]" : " [head]"));
  promql::Engine engine(promql::EngineOptions{});
  for (auto _ : state) {
    if (q == 6) {
      auto querier = d.db->NewQuerier(d.min_t, d.max_t);
      std::vector<labels::Matcher> ms;
      ms.push_back(*labels::Matcher::Create(labels::MatchType::kEqual, "__name__",
                                          "http_requests_total"));
      ms.push_back(*labels::Matcher::Create(labels::MatchType::kEqual, "job", "checkout"));
      auto set = querier->SelectLabels(ms);
      int64_t n = 0;
      while (set->Next()) n += static_cast<int64_t>(set->At().Labels().size());
      benchmark::DoNotOptimize(n);
      continue;
    }
    auto r = q == 5 ? engine.InstantQuery(*d.db, kDashboard[q], d.max_t)
                    : engine.RangeQuery(*d.db, kDashboard[q], d.min_t, d.max_t, 60000);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Dashboard100k)
    ->ArgsProduct({benchmark::CreateDenseRange(0, 6, 1), {0, 1}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xscaler::bench

BENCHMARK_MAIN();
