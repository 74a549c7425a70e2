// WAL write path micro benchmarks: encoding a remote-write-sized samples record in either
// layout, and Writer::Write of such records (one frame per Write, as one Commit does) with
// fsync on or off, preallocation on or off and each zstd level. Reports bytes per sample of the
// segments written. The values imitate a scrape of counters and histograms (integers that grow
// a little per scrape, a few floats), so ratios are indicative, not those of real data (see
// docs/format/wal.md for those).
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "storage/wal/record.h"
#include "storage/wal/wal.h"

namespace xscaler::storage::wal {
namespace {

constexpr int kSamplesPerBatch = 2000;
constexpr int kSeries = 100'000;

// One batch per call: kSamplesPerBatch consecutive series (230 per target, each target with
// its own scrape offset) at scrape `step`.
class Scrapes {
 public:
  Scrapes() : rng_(1), base_(kSeries) {
    for (auto& b : base_) b = static_cast<double>(rng_() % 5'000'000);
  }
  std::vector<SampleRecord> Next() {
    std::vector<SampleRecord> out(kSamplesPerBatch);
    for (int i = 0; i < kSamplesPerBatch; ++i) {
      const uint64_t ref = (next_ + i) % kSeries + 1;
      const int64_t target = static_cast<int64_t>(ref / 230);
      out[i].ref = ref;
      out[i].t = 1'700'000'000'000 + step_ * 15'000 + (target * 37) % 15'000;
      if (ref % 16 == 0) {
        out[i].v = std::uniform_real_distribution<double>(0, 100)(rng_);
      } else {
        base_[ref - 1] += static_cast<double>(rng_() % 50);
        out[i].v = base_[ref - 1];
      }
    }
    next_ += kSamplesPerBatch;
    if (next_ >= kSeries) {
      next_ = 0;
      ++step_;
    }
    return out;
  }

 private:
  std::mt19937_64 rng_;
  std::vector<double> base_;
  uint64_t next_ = 0;
  int64_t step_ = 0;
};

void BM_EncodeSamples(benchmark::State& state) {
  const bool columnar = state.range(0) != 0;
  Scrapes scrapes;
  const auto batch = scrapes.Next();
  std::string rec;
  for (auto _ : state) {
    rec.clear();
    if (columnar) {
      EncodeSamples(batch, &rec);
    } else {
      EncodeSamplesRowLayout(batch, &rec);
    }
    benchmark::DoNotOptimize(rec.data());
  }
  state.SetItemsProcessed(state.iterations() * kSamplesPerBatch);
  state.counters["B/sample"] = static_cast<double>(rec.size()) / kSamplesPerBatch;
}
BENCHMARK(BM_EncodeSamples)->ArgName("columnar")->Arg(0)->Arg(1);

void BM_DecodeSamples(benchmark::State& state) {
  const bool columnar = state.range(0) != 0;
  Scrapes scrapes;
  const auto batch = scrapes.Next();
  std::string rec;
  if (columnar) {
    EncodeSamples(batch, &rec);
  } else {
    EncodeSamplesRowLayout(batch, &rec);
  }
  std::vector<SampleRecord> out;
  for (auto _ : state) {
    if (!DecodeSamples(rec, &out).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kSamplesPerBatch);
}
BENCHMARK(BM_DecodeSamples)->ArgName("columnar")->Arg(0)->Arg(1);

void BM_WalWrite(benchmark::State& state) {
  WriterOptions opts;
  opts.sync = state.range(0) != 0;
  opts.preallocate_bytes = state.range(1) != 0 ? kDefaultPreallocateBytes : 0;
  opts.zstd_level = static_cast<int>(state.range(2));
  const bool columnar = state.range(3) != 0;
  std::string dir = (std::filesystem::temp_directory_path() / "xs-wal-bench-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  Scrapes scrapes;
  std::vector<std::vector<std::string>> records(64);
  for (auto& r : records) {
    const auto batch = scrapes.Next();
    if (columnar) {
      EncodeSamples(batch, &r.emplace_back());
    } else {
      EncodeSamplesRowLayout(batch, &r.emplace_back());
    }
  }
  {
    auto w = Writer::Open(base::Env::Default(), dir, opts);
    if (!w.ok()) {
      state.SkipWithError(w.status().ToString().c_str());
      return;
    }
    size_t i = 0;
    for (auto _ : state) {
      if (!(*w)->Write(records[i++ % records.size()]).ok()) state.SkipWithError("write failed");
    }
    (void)(*w)->Close();
  }
  uint64_t bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) bytes += e.file_size();
  state.SetItemsProcessed(state.iterations() * kSamplesPerBatch);
  state.counters["B/sample"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations() * kSamplesPerBatch);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_WalWrite)
    ->ArgNames({"sync", "prealloc", "zstd", "columnar"})
    ->Args({0, 0, 0, 0})
    ->Args({0, 0, 0, 1})
    ->Args({0, 0, 1, 0})
    ->Args({0, 0, 1, 1})
    ->Args({0, 0, 2, 1})
    ->Args({0, 0, 3, 1})
    ->Args({1, 0, 0, 0})
    ->Args({1, 1, 0, 0})
    ->Args({1, 0, 1, 1})
    ->Args({1, 1, 1, 1})
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace
}  // namespace xscaler::storage::wal

BENCHMARK_MAIN();
