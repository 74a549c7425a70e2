// Throughput of remote-write decode (snappy + protobuf + label checks) into an Appender that
// accepts everything, so only the decoder's cost is measured (BM_IngestSnappy, the parse-only
// figure), and of the whole path into a Tsdb (WAL unsynced) with and without the per-tenant
// SeriesRefCache (BM_IngestTsdb; every iteration sends the same series with newer samples, as
// a Prometheus shard does). Shaped like a Prometheus batch: many series of ~8 labels with one
// or a few samples each.
#include <snappy.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "benchmark/benchmark.h"
#include "ingest/remote_write/remote_write.h"
#include "storage/db/tsdb.h"
#include "storage/db/scratch_tsdb.h"
#include "storage/null_appender.h"
#include "remote_write.pb.h"

namespace xscaler::ingest::remote_write {
namespace {

namespace pb = ::xscaler::test::prompb;

using storage::NullAppender;


std::string MakeBody(int series, int samples_per_series, int64_t base_ms = 1700000000000,
                     int64_t step_ms = 15000) {
  pb::WriteRequest req;
  for (int i = 0; i < series; ++i) {
    auto* ts = req.add_timeseries();
    auto label = [ts](const std::string& n, const std::string& v) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    };
    label("__name__", "http_requests_total");
    label("code", std::to_string(200 + i % 5));
    label("handler", "/api/v1/items/" + std::to_string(i % 50));
    label("instance", "10.0.0." + std::to_string(i % 200) + ":9090");
    label("job", "api");
    label("method", i % 2 ? "GET" : "POST");
    label("namespace", "prod");
    label("pod", "api-" + std::to_string(i));
    for (int s = 0; s < samples_per_series; ++s) {
      auto* smp = ts->add_samples();
      smp->set_timestamp(base_ms + s * step_ms);
      smp->set_value(i + s);
    }
  }
  std::string raw = req.SerializeAsString();
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

void BM_IngestSnappy(benchmark::State& state) {
  const int samples = static_cast<int>(state.range(1));
  std::string body = MakeBody(static_cast<int>(state.range(0)), samples);
  NullAppender app;
  for (auto _ : state) {
    IngestReport report;
    absl::Status s = IngestSnappy(body, 64 << 20, app, report);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * samples);
}
BENCHMARK(BM_IngestSnappy)->Args({2000, 1})->Args({500, 10});

void BM_IngestTsdb(benchmark::State& state) {
  const int series = static_cast<int>(state.range(0));
  const int samples = static_cast<int>(state.range(1));
  const bool use_cache = state.range(2) != 0;
  auto scratch = storage::ScratchTsdb::Open("bench-rw");
  if (!scratch.ok()) {
    state.SkipWithError(scratch.status().ToString().c_str());
    return;
  }
  storage::Tsdb* db = &(*scratch)->db();
  SeriesRefCache cache;
  // Recent timestamps 1 ms apart: thousands of iterations stay inside one head block range
  // and behind the future check, so nothing is rejected and no block is cut mid-run.
  int64_t t = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count() - 3'600'000;
  int64_t accepted = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string body = MakeBody(series, samples, t, /*step_ms=*/1);
    t += samples;
    state.ResumeTiming();
    auto app = db->NewAppender();
    IngestReport report;
    absl::Status s = IngestSnappy(body, 64 << 20, *app, report, use_cache ? &cache : nullptr);
    if (s.ok()) s = app->Commit();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    accepted += report.accepted_samples();
  }
  if (accepted != state.iterations() * series * samples) state.SkipWithError("samples rejected");
  state.SetItemsProcessed(state.iterations() * series * samples);
}
BENCHMARK(BM_IngestTsdb)
    ->ArgNames({"series", "samples", "cache"})
    ->Args({2000, 1, 0})
    ->Args({2000, 1, 1})
    ->Args({500, 10, 0})
    ->Args({500, 10, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xscaler::ingest::remote_write

BENCHMARK_MAIN();
