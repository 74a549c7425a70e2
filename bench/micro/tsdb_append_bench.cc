// One tenant's database (src/storage/db/tsdb.h) in a temp dir: append one sample to each of
// N workload series and Commit, i.e. one scrape's worth per iteration, with the WAL synced or
// not (sync=0 isolates the head and WAL encoding from the disk's fsync latency).
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "labels/labels.h"
#include "loadgen/workload.h"
#include "storage/db/tsdb.h"

namespace xscaler::storage {
namespace {

std::vector<labels::Labels> SeriesSets(int64_t n) {
  bench::WorkloadOptions o;
  o.series = n;
  o.samples = 1;
  bench::Workload wl(o);
  std::vector<labels::Labels> out;
  for (const auto& set : wl.LabelSets()) {
    std::vector<labels::Label> ls;
    for (const auto& [k, v] : set) ls.push_back({k, v});
    out.emplace_back(std::move(ls));
  }
  return out;
}

std::string TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "xs-bench-tsdb-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

void BM_TsdbAppendCommit(benchmark::State& state) {
  const auto sets = SeriesSets(state.range(0));
  const std::string dir = TempDir();
  TsdbOptions opts;
  opts.wal.sync = state.range(1) != 0;
  auto db = Tsdb::Open(dir, opts);
  if (!db.ok()) {
    state.SkipWithError(db.status().ToString().c_str());
    return;
  }
  std::vector<SeriesRef> refs(sets.size(), 0);
  int64_t t = 1'700'000'000'000;
  for (auto _ : state) {
    auto app = (*db)->NewAppender();
    for (size_t i = 0; i < sets.size(); ++i) {
      auto r = app->Append(refs[i], sets[i], t, static_cast<double>(t % 1000));
      if (r.ok()) refs[i] = *r;
    }
    absl::Status st = app->Commit();
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    t += 15000;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(sets.size()));
  (void)(*db)->Close();
  db->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_TsdbAppendCommit)
    ->ArgNames({"series", "sync"})
    ->Args({1000, 0})
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xscaler::storage

BENCHMARK_MAIN();
