// Benchmarks of the storage engine (not tests; run by hand or by the performance harness):
//   storage_bench [--benchmark_filter=...]
// Head hot paths (append+commit without WAL, matcher selection, memory per active series) and
// the database as a whole on scrape-like data (a sample every 15 s per series; a mix of
// counters, gauges with two decimals and constants): WAL replay time, block write throughput
// (cutting the head into blocks), block compaction throughput, bytes per sample on disk after
// a flush, and head bytes per series. Figures are reported as benchmark counters.
// Data dirs go under $XS_BENCH_DIR (default /tmp).
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "spdlog/spdlog.h"
#include "storage/db/tsdb.h"
#include "storage/head/head.h"
#include "storage/index/matchers.h"

namespace xscaler::storage {
namespace {

using head::Head;

constexpr int64_t kScrapeMs = 15000;

labels::Labels BenchSeries(int i) {
  return labels::Labels{{"__name__", i % 4 == 0 ? "http_requests_total" : "process_cpu_seconds"},
                        {"code", std::to_string(200 + i % 5)},
                        {"instance", "10.0.0." + std::to_string(i % 250) + ":8080"},
                        {"job", "api-server"},
                        {"method", i % 3 == 0 ? "GET" : "POST"},
                        {"pod", "api-server-7d9f8b-" + std::to_string(i)}};
}

std::string BenchDir(const std::string& name) {
  const char* base = std::getenv("XS_BENCH_DIR");
  return std::string(base != nullptr ? base : "/tmp") + "/xscaler_storage_bench_" + name;
}

// Per-series value generators that look like real metrics: counters that grow by a few
// events per scrape, gauges with two decimals wandering around a level, and constants
// (build info, limits). Deterministic.
class Values {
 public:
  explicit Values(int n) : state_(n), kind_(n) {
    std::mt19937_64 rng(42);
    for (int i = 0; i < n; ++i) {
      kind_[i] = i % 10 < 5 ? 0 : (i % 10 < 9 ? 1 : 2);
      state_[i] = kind_[i] == 1 ? std::uniform_int_distribution<int>(1000, 90000)(rng) / 100.0
                                : std::uniform_int_distribution<int>(0, 1 << 20)(rng);
    }
  }
  double Next(int i) {
    switch (kind_[i]) {
      case 0:
        state_[i] += static_cast<double>(rng_() % 20);
        break;
      case 1:
        state_[i] = std::round((state_[i] + (static_cast<double>(rng_() % 201) - 100) / 100.0) * 100) /
                    100;
        break;
      default:
        break;
    }
    return state_[i];
  }

 private:
  std::vector<double> state_;
  std::vector<int> kind_;
  std::mt19937_64 rng_{7};
};

TsdbOptions BenchOpts() {
  TsdbOptions o;
  o.background = false;
  o.retention_ms = 0;
  o.head.max_future_ms = 0;
  o.wal.sync = false;  // the benchmarks measure the engine, not the disk's fsync latency
  return o;
}

// Writes `n` series x `steps` scrapes starting at t0 (commits of up to 1000 series).
absl::Status Fill(Tsdb& db, int n, int steps, int64_t t0, Values& values) {
  std::vector<SeriesRef> refs(n, 0);
  std::vector<labels::Labels> lsets;
  lsets.reserve(n);
  for (int i = 0; i < n; ++i) lsets.push_back(BenchSeries(i));
  for (int s = 0; s < steps; ++s) {
    const int64_t t = t0 + s * kScrapeMs;
    for (int from = 0; from < n; from += 1000) {
      auto app = db.NewAppender();
      for (int i = from; i < std::min(n, from + 1000); ++i) {
        auto r = app->Append(refs[i], lsets[i], t + (i % 7), values.Next(i));
        if (!r.ok()) return r.status();
        refs[i] = *r;
      }
      if (auto st = app->Commit(); !st.ok()) return st;
    }
  }
  return absl::OkStatus();
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
    t += kScrapeMs;
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
      for (int i = 0; i < n; ++i) refs[i] = *app->Append(refs[i], BenchSeries(i), s * kScrapeMs, s);
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

// WAL replay: series x 1 h of scrapes written through a Tsdb, then the Tsdb reopened.
void BM_Replay(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int steps = 240;
  const std::string dir = BenchDir("replay");
  base::Env::Default()->RemoveDirRecursive(dir).IgnoreError();
  {
    auto db = Tsdb::Open(dir, BenchOpts());
    Values values(n);
    absl::Status st = db.ok() ? Fill(**db, n, steps, 0, values) : db.status();
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
  }
  uint64_t series = 0;
  for (auto _ : state) {
    auto db = Tsdb::Open(dir, BenchOpts());
    if (!db.ok()) {
      state.SkipWithError(db.status().ToString().c_str());
      break;
    }
    series = (*db)->Stats().num_series;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n) * steps);
  state.counters["series"] = static_cast<double>(series);
  state.counters["samples"] = static_cast<double>(n) * steps;
  base::Env::Default()->RemoveDirRecursive(dir).IgnoreError();
}
BENCHMARK(BM_Replay)->Arg(20000)->Iterations(3)->Unit(benchmark::kMillisecond);

// Cutting the head into blocks (Flush): series x 2 h of scrapes -> one 2 h block. Reports the
// write throughput, the bytes per sample of the blocks on disk (index included) and the head's
// bytes per series before the cut.
void BM_BlockWrite(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int steps = 480;
  const std::string dir = BenchDir("block_write");
  double bytes_per_sample = 0, head_bytes_per_series = 0, samples = 0, blocks = 0;
  for (auto _ : state) {
    state.PauseTiming();
    base::Env::Default()->RemoveDirRecursive(dir).IgnoreError();
    auto db = Tsdb::Open(dir, BenchOpts());
    Values values(n);
    absl::Status st = db.ok() ? Fill(**db, n, steps, 0, values) : db.status();
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    head_bytes_per_series = static_cast<double>((*db)->head().MemoryBytes()) / n;
    state.ResumeTiming();
    st = (*db)->Flush();
    state.PauseTiming();
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    const TsdbStats s = (*db)->Stats();
    samples = static_cast<double>(s.blocks_samples);
    blocks = static_cast<double>(s.num_blocks);
    bytes_per_sample = static_cast<double>(s.blocks_bytes) / samples;
    state.ResumeTiming();
  }
  state.counters["samples"] = samples;
  state.counters["blocks"] = blocks;
  state.counters["disk_bytes_per_sample"] = bytes_per_sample;
  state.counters["head_bytes_per_series"] = head_bytes_per_series;
  state.counters["samples_per_s"] =
      benchmark::Counter(samples * state.iterations(), benchmark::Counter::kIsRate);
  base::Env::Default()->RemoveDirRecursive(dir).IgnoreError();
}
BENCHMARK(BM_BlockWrite)->Arg(20000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Compaction: three adjacent 2 h blocks (series x 6 h of scrapes) merged into one 6 h block.
void BM_Compaction(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string dir = BenchDir("compaction");
  double samples = 0, before = 0, after = 0;
  for (auto _ : state) {
    state.PauseTiming();
    base::Env::Default()->RemoveDirRecursive(dir).IgnoreError();
    TsdbOptions o = BenchOpts();
    o.max_block_range_ms = o.block_range_ms;  // no merges while the blocks are written
    absl::Status st;
    {
      auto db = Tsdb::Open(dir, o);
      Values values(n);
      st = db.ok() ? Fill(**db, n, 3 * 480 + 1, 0, values) : db.status();
      if (st.ok()) st = (*db)->Flush();
      if (st.ok()) before = static_cast<double>((*db)->Stats().blocks_bytes);
    }
    o.max_block_range_ms = 0;
    auto db = Tsdb::Open(dir, o);
    if (!st.ok() || !db.ok()) {
      state.SkipWithError((st.ok() ? db.status() : st).ToString().c_str());
      break;
    }
    state.ResumeTiming();
    st = (*db)->Compact();
    state.PauseTiming();
    const TsdbStats s = (*db)->Stats();
    if (!st.ok() || s.compactions == 0) {
      state.SkipWithError(st.ok() ? "nothing was compacted" : st.ToString().c_str());
      break;
    }
    samples = static_cast<double>(s.blocks_samples);
    after = static_cast<double>(s.blocks_bytes);
    state.ResumeTiming();
  }
  state.counters["samples"] = samples;
  state.counters["bytes_before"] = before;
  state.counters["bytes_after"] = after;
  state.counters["samples_per_s"] =
      benchmark::Counter(samples * state.iterations(), benchmark::Counter::kIsRate);
  base::Env::Default()->RemoveDirRecursive(dir).IgnoreError();
}
BENCHMARK(BM_Compaction)->Arg(20000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xscaler::storage

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
