// BenchRng: deterministic random numbers for chunk benchmarks (SplitMix64, plus the Poisson
// draws their synthetic counters and histogram buckets need), so every run encodes the same
// chunks. Not for anything but benchmarks and tests.
#pragma once

#include <cmath>
#include <cstdint>

namespace xscaler::storage::chunk {

struct BenchRng {
  uint64_t s;
  uint64_t Next() {
    s += 0x9e3779b97f4a7c15ULL;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) / 9007199254740992.0; }
  // Knuth's multiplication method; fine for the small means benchmarks use.
  double Poisson(double mean) {
    const double l = std::exp(-mean);
    double k = 0, p = Uniform();
    while (p > l && k < 1000) {
      p *= Uniform();
      k += 1;
    }
    return k;
  }
};

}  // namespace xscaler::storage::chunk
