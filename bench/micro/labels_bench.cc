// Label sets (src/labels/labels.h): building (sort + dedupe) and hashing the benchmark
// workload's real series (8-10 labels, ~200 bytes each).
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "labels/labels.h"
#include "loadgen/workload.h"

namespace xscaler::labels {
namespace {

std::vector<std::vector<Label>> RawSets(int64_t n) {
  bench::WorkloadOptions o;
  o.series = n;
  o.samples = 1;
  bench::Workload wl(o);
  std::vector<std::vector<Label>> out;
  for (const auto& set : wl.LabelSets()) {
    std::vector<Label> ls;
    // Reversed, so that Build really sorts (remote write senders need not sort).
    for (auto it = set.rbegin(); it != set.rend(); ++it) ls.push_back({it->first, it->second});
    out.push_back(std::move(ls));
  }
  return out;
}

void BM_LabelsHash(benchmark::State& state) {
  std::vector<Labels> sets;
  for (auto& raw : RawSets(state.range(0))) sets.emplace_back(std::move(raw));
  for (auto _ : state) {
    uint64_t h = 0;
    for (const Labels& l : sets) h ^= l.Hash();
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(sets.size()));
}
BENCHMARK(BM_LabelsHash)->Arg(10000);

void BM_LabelsBuild(benchmark::State& state) {
  const auto raw = RawSets(state.range(0));
  for (auto _ : state) {
    for (const auto& r : raw) {
      Labels l(r);
      benchmark::DoNotOptimize(l.size());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(raw.size()));
}
BENCHMARK(BM_LabelsBuild)->Arg(10000);

void BM_LabelsCompare(benchmark::State& state) {
  std::vector<Labels> sets;
  for (auto& raw : RawSets(state.range(0))) sets.emplace_back(std::move(raw));
  for (auto _ : state) {
    size_t less = 0;
    for (size_t i = 1; i < sets.size(); ++i) less += sets[i - 1] < sets[i];
    benchmark::DoNotOptimize(less);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(sets.size()));
}
BENCHMARK(BM_LabelsCompare)->Arg(10000);

}  // namespace
}  // namespace xscaler::labels

BENCHMARK_MAIN();
