// Postings set operations (src/storage/index/postings.h) at the shapes selectors produce:
// a selective list against a huge one (job="x" AND __name__="y"), two similar-sized lists,
// and the k-way merge of a regex matcher's many value lists.
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "storage/index/postings.h"

namespace xscaler::storage::index {
namespace {

// Every `stride`-th ref starting at `offset`, `n` of them.
Postings Strided(int64_t n, uint64_t stride, uint64_t offset) {
  Postings p;
  p.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p.push_back(offset + static_cast<uint64_t>(i) * stride);
  return p;
}

void BM_IntersectSmallLarge(benchmark::State& state) {
  const Postings small = Strided(state.range(0), 997, 3);
  const Postings large = Strided(state.range(1), 1, 0);
  for (auto _ : state) benchmark::DoNotOptimize(Intersect(small, large));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_IntersectSmallLarge)->Args({1000, 1000000})->Args({100, 1000000});

void BM_IntersectSimilar(benchmark::State& state) {
  const Postings a = Strided(state.range(0), 2, 0);
  const Postings b = Strided(state.range(0), 3, 0);
  for (auto _ : state) benchmark::DoNotOptimize(Intersect(a, b));
  state.SetItemsProcessed(state.iterations() * state.range(0) * 2);
}
BENCHMARK(BM_IntersectSimilar)->Arg(10000)->Arg(100000);

void BM_IntersectThree(benchmark::State& state) {
  const std::vector<Postings> lists = {Strided(state.range(0), 2, 0),
                                       Strided(state.range(0), 3, 0),
                                       Strided(state.range(0) / 10, 7, 0)};
  for (auto _ : state) benchmark::DoNotOptimize(Intersect(lists));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_IntersectThree)->Arg(100000);

void BM_MergeMany(benchmark::State& state) {
  std::vector<Postings> lists;
  const int64_t k = state.range(0);
  for (int64_t i = 0; i < k; ++i) lists.push_back(Strided(100000 / k, static_cast<uint64_t>(k), static_cast<uint64_t>(i)));
  for (auto _ : state) benchmark::DoNotOptimize(Merge(lists));
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_MergeMany)->Arg(4)->Arg(64)->Arg(1000);

}  // namespace
}  // namespace xscaler::storage::index

BENCHMARK_MAIN();
