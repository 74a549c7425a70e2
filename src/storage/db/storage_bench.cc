// Benchmarks for the head's hot paths: append+commit throughput (no WAL, so it measures the
// head itself), matcher selection over a realistic index, and memory per active series.
// Run: build-*/src/storage/head/head_bench
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "storage/head/head.h"
#include "storage/db/tsdb.h"
#include "storage/index/matchers.h"

namespace xscaler::storage::head {
namespace {

labels::Labels BenchSeries(int i) {
  return labels::Labels{{"__name__", "http_requests_total"},
                        {"job", "api-server"},
                        {"instance", "10.0.0." + std::to_string(i % 250) + ":8080"},
                        {"method", i % 3 == 0 ? "GET" : "POST"},
                        {"code", std::to_string(200 + i % 5)},
                        {"pod", "api-server-7d9f8b-" + std::to_string(i)}};
}

void BM_AppendCommit(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Head head;
  std::vector<labels::Labels> lsets;
  for (int i = 0; i < n; ++i) lsets.push_back(BenchSeries(i));
  std::vector<SeriesRef> refs(n, 0);
  int64_t t = 0;
  for (auto _ : state) {
    auto app = head.NewAppender();
    for (int i = 0; i < n; ++i) refs[i] = *app->Append(refs[i], lsets[i], t, t * 1.5);
    benchmark::DoNotOptimize(app->Commit());
    t += 15000;
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_AppendCommit)->Arg(1000)->Arg(10000);

void BM_MemoryPerSeries(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    Head head;
    std::vector<SeriesRef> refs(n, 0);
    for (int64_t s = 0; s < 120; ++s) {  // 30 min at a 15 s interval: one full chunk
      auto app = head.NewAppender();
      for (int i = 0; i < n; ++i) refs[i] = *app->Append(refs[i], BenchSeries(i), s * 15000, s);
      benchmark::DoNotOptimize(app->Commit());
    }
    state.counters["head_bytes_per_series"] = static_cast<double>(head.MemoryBytes()) / n;
  }
}
BENCHMARK(BM_MemoryPerSeries)->Arg(20000)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_Select(benchmark::State& state) {
  Head head;
  auto app = head.NewAppender();
  for (int i = 0; i < 100000; ++i) (void)app->Append(0, BenchSeries(i), 0, 1);
  (void)app->Commit();
  std::vector<labels::Matcher> ms = {
      *labels::Matcher::Create(labels::MatchType::kEqual, "__name__", "http_requests_total"),
      *labels::Matcher::Create(labels::MatchType::kRegexMatch, "code", "5..|201"),
      *labels::Matcher::Create(labels::MatchType::kNotEqual, "method", "GET"),
      *labels::Matcher::Create(labels::MatchType::kRegexMatch, "instance", "10.0.0.1.*")};
  for (auto _ : state) {
    auto p = index::PostingsForMatchers(head.postings(), ms);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_Select)->Unit(benchmark::kMicrosecond);

// WAL replay speed: series x 120 samples (one chunk each) written through a Tsdb, then reopened.
void BM_Replay(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string dir = "/tmp/xscaler_head_bench_replay";
  base::Env::Default()->RemoveDirRecursive(dir).IgnoreError();
  {
    auto db = Tsdb::Open(dir, {});
    if (!db.ok()) {
      state.SkipWithError(db.status().ToString().c_str());
      return;
    }
    std::vector<SeriesRef> refs(n, 0);
    for (int64_t s = 0; s < 120; ++s) {
      auto app = (*db)->NewAppender();
      for (int i = 0; i < n; ++i) refs[i] = *app->Append(refs[i], BenchSeries(i), s * 15000, s);
      (void)app->Commit();
    }
  }
  for (auto _ : state) {
    auto db = Tsdb::Open(dir, {});
    benchmark::DoNotOptimize(db);
  }
  state.SetItemsProcessed(state.iterations() * n * 120);
  base::Env::Default()->RemoveDirRecursive(dir).IgnoreError();
}
BENCHMARK(BM_Replay)->Arg(20000)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xscaler::storage::head

BENCHMARK_MAIN();
