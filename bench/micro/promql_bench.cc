// PromQL evaluation (src/promql/engine.h) of the dashboard queries in bench/queries.tsv over a
// real Tsdb (head + postings, WAL unsynced, temp dir) holding the benchmark workload, loaded
// through the remote-write decoder: rate/sum, histogram_quantile over rate, regex selectors,
// topk. The figure is the time per range query (30 min at a 60 s step).
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

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

// 2000 series x 120 samples at 15 s (30 min), loaded once for every benchmark.
Loaded& Data() {
  static Loaded loaded;
  static bool done = false;
  if (done) return loaded;
  done = true;
  {
    Loaded* l = &loaded;
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "xs-bench-promql-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      l->error = "cannot create a temp dir";
      return loaded;
    }
    l->dir = tmpl;
    storage::TsdbOptions opts;
    opts.wal.sync = false;
    auto db = storage::Tsdb::Open(l->dir, opts);
    if (!db.ok()) {
      l->error = db.status().ToString();
      return loaded;
    }
    l->db = std::move(*db);
    WorkloadOptions o;
    o.series = 2000;
    o.samples = 120;
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
  }
  return loaded;
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

}  // namespace
}  // namespace xscaler::bench

BENCHMARK_MAIN();
