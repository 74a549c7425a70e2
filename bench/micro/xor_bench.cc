// Gorilla XOR chunk (src/storage/chunk/xor.h): append and iterate one full chunk (120 samples)
// of the value shapes the head sees: integer counters, float gauges, constant series.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
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
