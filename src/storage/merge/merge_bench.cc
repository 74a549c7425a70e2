// Merge throughput (not a test; run by hand): samples/s through the query-time merge when the
// sources are adjacent in time (blocks + head, the common case) or fully overlapping
// (duplicates), and series/s through the compaction merge with and without re-encoding.

#include <benchmark/benchmark.h>

#include "storage/merge/merge.h"
#include "storage/merge/test_util.h"
#include "storage/series/series_sets.h"

namespace xscaler::storage::merge {
namespace {

using testing::EncodeChunks;
using testing::Samples;
using testing::VectorChunkSeriesSet;

constexpr int kSeries = 1000;
constexpr int kSamplesPerSource = 240;

labels::Labels Series(int i) {
  std::string id = std::to_string(i);
  return labels::Labels{{"__name__", "m"}, {"i", std::string(6 - id.size(), '0') + id}};
}

// Source `src` holds each series' samples starting at src*shift (shift 0: all overlap).
std::vector<std::vector<chunk::ChunkData>> MakeSource(int src, int64_t shift) {
  std::vector<std::vector<chunk::ChunkData>> out;
  for (int i = 0; i < kSeries; ++i) {
    Samples s;
    for (int k = 0; k < kSamplesPerSource; ++k) {
      int64_t t = src * shift + k * 15000;
      s.emplace_back(t, static_cast<double>(k % 100));
    }
    out.push_back(EncodeChunks(s, 120));
  }
  return out;
}

void RunQueryMerge(benchmark::State& state, int64_t shift) {
  const int sources = static_cast<int>(state.range(0));
  std::vector<std::vector<std::vector<chunk::ChunkData>>> data;
  for (int s = 0; s < sources; ++s) data.push_back(MakeSource(s, shift));
  int64_t samples = 0;
  for (auto _ : state) {
    std::vector<std::unique_ptr<SeriesSet>> sets;
    for (int s = 0; s < sources; ++s) {
      std::vector<std::unique_ptr<storage::Series>> series;
      for (int i = 0; i < kSeries; ++i) {
        series.push_back(
            std::make_unique<series::ChunkListSeries>(Series(i), data[s][i], kMinTime, kMaxTime));
      }
      sets.push_back(series::NewVectorSeriesSet(std::move(series)));
    }
    auto set = MergeSeriesSets(std::move(sets));
    while (set->Next()) {
      auto it = set->At().Iterator();
      while (it->Next()) {
        benchmark::DoNotOptimize(it->At());
        ++samples;
      }
    }
  }
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
}

void BM_QueryMergeAdjacent(benchmark::State& state) {
  RunQueryMerge(state, int64_t{kSamplesPerSource} * 15000);
}
void BM_QueryMergeOverlapping(benchmark::State& state) { RunQueryMerge(state, 0); }
BENCHMARK(BM_QueryMergeAdjacent)->Arg(1)->Arg(3)->Arg(8);
BENCHMARK(BM_QueryMergeOverlapping)->Arg(2)->Arg(3);

void RunChunkMerge(benchmark::State& state, int64_t shift) {
  const int sources = 3;
  std::vector<std::vector<std::vector<chunk::ChunkData>>> data;
  for (int s = 0; s < sources; ++s) data.push_back(MakeSource(s, shift));
  int64_t series = 0;
  for (auto _ : state) {
    std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets;
    for (int s = 0; s < sources; ++s) {
      std::vector<VectorChunkSeriesSet::Entry> entries;
      for (int i = 0; i < kSeries; ++i) entries.emplace_back(Series(i), data[s][i]);
      sets.push_back(std::make_unique<VectorChunkSeriesSet>(std::move(entries)));
    }
    auto set = MergeChunkSeriesSets(std::move(sets));
    while (set->Next()) {
      benchmark::DoNotOptimize(set->Chunks().data());
      ++series;
    }
  }
  state.counters["series/s"] =
      benchmark::Counter(static_cast<double>(series), benchmark::Counter::kIsRate);
}

void BM_ChunkMergePassThrough(benchmark::State& state) {
  RunChunkMerge(state, int64_t{kSamplesPerSource} * 15000);
}
void BM_ChunkMergeReencode(benchmark::State& state) { RunChunkMerge(state, 7500); }
BENCHMARK(BM_ChunkMergePassThrough);
BENCHMARK(BM_ChunkMergeReencode);

}  // namespace
}  // namespace xscaler::storage::merge

BENCHMARK_MAIN();
