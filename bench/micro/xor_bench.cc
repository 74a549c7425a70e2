// Gorilla XOR chunk (src/storage/chunk/xor.h): append and iterate one full chunk (120 samples)
// of the value shapes the head sees: integer counters, float gauges, constant series; and
// iterate realistic chunks shaped like the bench workload's series (bench/loadgen/workload.cc:
// integer and float counters, histogram buckets and sums, 2-decimal and float gauges) with
// scrape jitter, one shape at a time and as a mix.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "storage/chunk/bench_rng.h"
#include "storage/chunk/xor.h"

namespace xscaler::storage::chunk {
namespace {

constexpr int kSamples = 120;

std::vector<double> Values(int shape) {
  std::vector<double> v(kSamples);
  double x = 1000;
  uint64_t r = 12345;
  for (int i = 0; i < kSamples; ++i) {
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    switch (shape) {
      case 0: x += static_cast<double>((r >> 33) % 20); break;       // integer counter
      case 1: x = 0.35 + 0.01 * std::sin(i / 7.0) + (r >> 40) * 1e-9; break;  // float gauge
      default: x = 42; break;                                         // constant
    }
    v[i] = x;
  }
  return v;
}

void BM_XorAppend(benchmark::State& state) {
  const std::vector<double> v = Values(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    XorEncoder enc;
    int64_t t = 1'700'000'000'000;
    for (int i = 0; i < kSamples; ++i) {
      enc.Append(t, v[i]);
      t += 15000 + (i % 3 == 0 ? 1 : 0);  // scrape jitter
    }
    bytes = enc.SizeBytes();
    benchmark::DoNotOptimize(enc.Bytes().data());
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
  state.counters["bytes/sample"] = static_cast<double>(bytes) / kSamples;
}
BENCHMARK(BM_XorAppend)->ArgName("shape")->Arg(0)->Arg(1)->Arg(2);

void BM_XorIterate(benchmark::State& state) {
  const std::vector<double> v = Values(static_cast<int>(state.range(0)));
  XorEncoder enc;
  int64_t t = 1'700'000'000'000;
  for (int i = 0; i < kSamples; ++i) {
    enc.Append(t, v[i]);
    t += 15000 + (i % 3 == 0 ? 1 : 0);
  }
  const std::string bytes(enc.Bytes());
  for (auto _ : state) {
    XorDecoder dec(bytes);
    double sum = 0;
    while (dec.Next()) sum += dec.v();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
}
BENCHMARK(BM_XorIterate)->ArgName("shape")->Arg(0)->Arg(1)->Arg(2);

// Realistic shapes, after the bench workload's generator.
enum Shape {
  kIntCounter,    // requests: Poisson(rate * 15 s) increments
  kFloatCounter,  // cpu seconds: rate * 15 s * U(0.5, 1.5)
  kBucket,        // histogram bucket: integer, often unchanged (low-latency buckets)
  kHistSum,       // histogram _sum: float increments
  kDecGauge,      // 2-decimal gauge, random walk, changes every third scrape
  kFloatGauge,    // mean-reverting float gauge
  kNumShapes,
};
const char* const kShapeNames[] = {"int_counter", "float_counter", "bucket",
                                   "hist_sum",    "dec_gauge",     "float_gauge"};

using Rng = xscaler::storage::chunk::BenchRng;

// One 120-sample chunk of `shape`; `seed` varies the series.
std::string RealisticChunk(int shape, uint64_t seed) {
  Rng r{seed * 7919 + static_cast<uint64_t>(shape)};
  XorEncoder enc;
  int64_t t = 1'732'500'000'000 + static_cast<int64_t>(r.Next() % 15000);
  double v = shape == kDecGauge ? 40 + static_cast<double>(r.Next() % 2000) / 100
             : shape == kFloatGauge ? 0.5 + r.Uniform()
                                    : static_cast<double>(r.Next() % 100000);
  const double rate = 0.05 + 20 * r.Uniform() * r.Uniform();
  for (int i = 0; i < kSamples; ++i) {
    enc.Append(t, v);
    // Mostly exactly 15 s; one scrape in five a few ms early or late.
    t += 15000 + (r.Next() % 5 == 0 ? static_cast<int64_t>(r.Next() % 5) - 2 : 0);
    switch (shape) {
      case kIntCounter: v += r.Poisson(rate * 15); break;
      case kFloatCounter: v += rate * 15 * (0.5 + r.Uniform()); break;
      case kBucket: v += r.Poisson(rate * 15 * 0.2); break;
      case kHistSum: v += r.Poisson(rate * 15) * 0.13 * (0.9 + 0.2 * r.Uniform()); break;
      case kDecGauge:
        if (r.Next() % 3 == 0) {
          v = std::round((v + (static_cast<double>(r.Next() % 21) - 10) / 100) * 100) / 100;
        }
        break;
      case kFloatGauge: v = std::max(0.0, v + 0.2 * (1 - v) + 0.05 * (r.Uniform() - 0.5)); break;
    }
  }
  return std::string(enc.Bytes());
}

double Decode(const std::vector<std::string>& chunks) {
  double sum = 0;
  for (const auto& c : chunks) {
    XorDecoder dec(c);
    while (dec.Next()) sum += dec.v() + static_cast<double>(dec.t());
  }
  return sum;
}

// 64 different chunks of one realistic shape per iteration (so branch history is not one
// chunk's).
void BM_XorIterateRealistic(benchmark::State& state) {
  const int shape = static_cast<int>(state.range(0));
  std::vector<std::string> chunks;
  size_t bytes = 0;
  for (uint64_t s = 0; s < 64; ++s) {
    chunks.push_back(RealisticChunk(shape, s));
    bytes += chunks.back().size();
  }
  for (auto _ : state) benchmark::DoNotOptimize(Decode(chunks));
  state.SetItemsProcessed(state.iterations() * kSamples * static_cast<int64_t>(chunks.size()));
  state.SetLabel(kShapeNames[shape]);
  state.counters["bytes/sample"] =
      static_cast<double>(bytes) / static_cast<double>(kSamples * chunks.size());
}
BENCHMARK(BM_XorIterateRealistic)->ArgName("shape")->DenseRange(0, kNumShapes - 1);

// The workload's mix: per target, 12 histogram series (10 buckets, _sum, _count), 4 integer
// counters, 1 float counter, 2 gauges (one 2-decimal, one float).
void BM_XorIterateMix(benchmark::State& state) {
  std::vector<std::string> chunks;
  for (uint64_t s = 0; s < 8; ++s) {
    for (int i = 0; i < 10; ++i) chunks.push_back(RealisticChunk(kBucket, s * 100 + i));
    chunks.push_back(RealisticChunk(kHistSum, s));
    for (int i = 0; i < 5; ++i) chunks.push_back(RealisticChunk(kIntCounter, s * 100 + i));
    chunks.push_back(RealisticChunk(kFloatCounter, s));
    chunks.push_back(RealisticChunk(kDecGauge, s));
    chunks.push_back(RealisticChunk(kFloatGauge, s));
  }
  for (auto _ : state) benchmark::DoNotOptimize(Decode(chunks));
  state.SetItemsProcessed(state.iterations() * kSamples * static_cast<int64_t>(chunks.size()));
}
BENCHMARK(BM_XorIterateMix);

void BM_XorSeekMiddle(benchmark::State& state) {
  const std::vector<double> v = Values(0);
  XorEncoder enc;
  for (int i = 0; i < kSamples; ++i) enc.Append(int64_t{15000} * (i + 1), v[i]);
  const std::string bytes(enc.Bytes());
  for (auto _ : state) {
    XorDecoder dec(bytes);
    benchmark::DoNotOptimize(dec.Seek(int64_t{15000} * (kSamples / 2)));
  }
}
BENCHMARK(BM_XorSeekMiddle);

}  // namespace
}  // namespace xscaler::storage::chunk

BENCHMARK_MAIN();
