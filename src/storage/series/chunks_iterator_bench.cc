// Iterating series' chunks the way the query engine does (ChunkListSeries::Iterator, then
// Next/At through the SampleIterator interface into a vector): the current iterator and
// decoder against the per-sample reference iterator over the reference decoder (the code before
// session 9). 1000 series of 4 chunks x 120 samples, shaped like the bench workload (histogram
// buckets, integer counters, float counters and gauges, 2-decimal gauges, scrape jitter).
// Run: build-x/src/storage/series/chunks_iterator_bench --benchmark_min_time=0.3
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "storage/chunk/bench_rng.h"
#include "storage/chunk/xor.h"
#include "storage/chunk/xor_reference.h"
#include "storage/series/chunks_iterator_reference.h"
#include "storage/series/series_sets.h"

namespace xscaler::storage::series {
namespace {

using Rng = chunk::BenchRng;

std::vector<chunk::ChunkData> SeriesChunks(uint64_t id) {
  Rng r{id};
  const int shape = static_cast<int>(id % 20);  // 0-11 histogram, 12-16 counters, 17-19 other
  double v = shape == 18 ? 40 : shape == 19 ? 0.5 : static_cast<double>(r.Next() % 100000);
  const double rate = 0.05 + 20 * r.Uniform() * r.Uniform();
  int64_t t = 1'732'500'000'000;
  std::vector<chunk::ChunkData> out;
  for (int c = 0; c < 4; ++c) {
    chunk::XorEncoder enc;
    for (int i = 0; i < 120; ++i) {
      enc.Append(t, v);
      t += 15000 + (r.Next() % 5 == 0 ? static_cast<int64_t>(r.Next() % 5) - 2 : 0);
      if (shape < 10) {
        v += r.Poisson(rate * 3);
      } else if (shape == 10) {
        v += r.Poisson(rate * 15) * 0.13 * (0.9 + 0.2 * r.Uniform());
      } else if (shape <= 16) {
        v += r.Poisson(rate * 15);
      } else if (shape == 17) {
        v += rate * 15 * (0.5 + r.Uniform());
      } else if (shape == 18) {
        if (r.Next() % 3 == 0)
          v = std::round((v + (static_cast<double>(r.Next() % 21) - 10) / 100) * 100) / 100;
      } else {
        v = std::max(0.0, v + 0.2 * (1 - v) + 0.05 * (r.Uniform() - 0.5));
      }
    }
    out.push_back(chunk::ChunkData::Owning(enc.MinTime(), enc.MaxTime(), std::string(enc.Bytes())));
  }
  return out;
}

struct Point {
  int64_t t;
  double v;
};

// state.range(0): 0 = reference iterator and decoder, 1 = current, 2 = the reference
// (per-sample) iterator over the current decoder.
void BM_SeriesIterate(benchmark::State& state) {
  const int mode = static_cast<int>(state.range(0));
  const bool current = mode == 1;
  std::vector<std::unique_ptr<ChunkListSeries>> series;
  for (uint64_t i = 0; i < 1000; ++i) {
    series.push_back(
        std::make_unique<ChunkListSeries>(labels::Labels(), SeriesChunks(i), kMinTime, kMaxTime));
  }
  std::vector<Point> points;
  int64_t samples = 0;
  for (auto _ : state) {
    for (const auto& s : series) {
      points.clear();
      std::unique_ptr<SampleIterator> it;
      if (current) {
        it = s->Iterator();
      } else if (mode == 2) {
        it =
            std::make_unique<ReferenceIterator<chunk::XorDecoder>>(s->chunks(), kMinTime, kMaxTime);
      } else {
        it = std::make_unique<ReferenceIterator<chunk::reference::XorDecoder>>(s->chunks(),
                                                                               kMinTime, kMaxTime);
      }
      while (it->Next()) {
        auto [t, v] = it->At();
        points.push_back(Point{t, v});
      }
      samples += static_cast<int64_t>(points.size());
      benchmark::DoNotOptimize(points.data());
    }
  }
  state.SetItemsProcessed(samples);
  state.SetLabel(mode == 0 ? "reference" : mode == 1 ? "current" : "per-sample iterator");
}
BENCHMARK(BM_SeriesIterate)->ArgName("mode")->Arg(0)->Arg(1)->Arg(2);

}  // namespace
}  // namespace xscaler::storage::series

BENCHMARK_MAIN();
