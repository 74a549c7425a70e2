// Ingest decoders over the benchmark workload's real request bodies (bench/loadgen): remote
// write (snappy + protobuf + label building) and OTLP (protobuf decode, then translation) into
// an Appender that stores nothing, plus the OTLP decode alone; and both protocols into a real
// storage::Tsdb with their series ref caches (BM_IngestTsdb), the server's path minus HTTP.
// Items = samples.
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

#include "benchmark/benchmark.h"
#include "ingest/otlp/decode.h"
#include "ingest/otlp/ingester.h"
#include "ingest/otlp/model.h"
#include "ingest/remote_write/remote_write.h"
#include "ingest/report.h"
#include "loadgen/workload.h"
#include "storage/db/tsdb.h"
#include "storage/db/scratch_tsdb.h"
#include "storage/null_appender.h"

namespace xscaler::bench {
namespace {

using storage::NullAppender;

// As in the server (server/main.cc): absl's deadlock detection would otherwise dominate every
// Mutex::Lock of the ref caches and the head.
const bool kNoDeadlockDetection = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();


// 2000 series x 10 samples in requests of at most 2000 samples.
struct Bodies {
  std::vector<EncodedRequest> requests;
  int64_t samples = 0;
};
Bodies Make(Protocol p) {
  WorkloadOptions o;
  o.series = 2000;
  o.samples = 10;
  o.shards = 1;
  o.base_ms = 1'700'000'000'000;
  Workload wl(o);
  Bodies b;
  b.requests = wl.Encode(p, 0);
  b.samples = wl.info().samples_total;
  return b;
}

void BM_RemoteWriteDecode(benchmark::State& state) {
  Bodies b = Make(Protocol::kRemoteWrite);
  NullAppender app;
  for (auto _ : state) {
    for (const auto& r : b.requests) {
      ingest::IngestReport rep;
      benchmark::DoNotOptimize(ingest::remote_write::IngestSnappy(r.body, 64 << 20, app, rep));
    }
  }
  state.SetItemsProcessed(state.iterations() * b.samples);
}
BENCHMARK(BM_RemoteWriteDecode)->Unit(benchmark::kMillisecond);

void BM_OtlpDecodeTranslate(benchmark::State& state) {
  Bodies b = Make(Protocol::kOtlp);
  NullAppender app;
  // The full translation every time, as before the series ref cache: a NullAppender has no
  // refs, so with the cache every pass after the first would pay a lookup and a fallback.
  ingest::otlp::TranslationOptions topts;
  topts.series_cache_entries = 0;
  ingest::otlp::Ingester ingester(nullptr, topts);
  for (auto _ : state) {
    for (auto& r : b.requests) {
      ingest::IngestReport rep;
      benchmark::DoNotOptimize(
          ingester.Ingest(r.body, ingest::otlp::Encoding::kProtobuf, app, rep));
    }
  }
  state.SetItemsProcessed(state.iterations() * b.samples);
}
BENCHMARK(BM_OtlpDecodeTranslate)->Unit(benchmark::kMillisecond);

void BM_OtlpDecodeOnly(benchmark::State& state) {
  Bodies b = Make(Protocol::kOtlp);
  ingest::otlp::Request req;
  for (auto _ : state) {
    for (const auto& r : b.requests) {
      benchmark::DoNotOptimize(ingest::otlp::DecodeProto(r.body, req));
      req.Clear();
    }
  }
  state.SetItemsProcessed(state.iterations() * b.samples);
}
BENCHMARK(BM_OtlpDecodeOnly)->Unit(benchmark::kMillisecond);

// The workload's requests (2000 series, 1 s apart so that 300 steps stay well inside one head
// block and behind the future check) into a fresh Tsdb, one request per iteration, in order.
// The first step is ingested before timing, so the timed requests are all series seen before:
// the steady state of a long push. Args: protocol (0 remote write, 1 OTLP), cache (0/1).
constexpr int64_t kTsdbSeries = 2000;
constexpr int64_t kTsdbSteps = 300;

void BM_IngestTsdb(benchmark::State& state) {
  const Protocol proto = state.range(0) == 0 ? Protocol::kRemoteWrite : Protocol::kOtlp;
  const bool cache = state.range(1) != 0;
  WorkloadOptions o;
  o.series = kTsdbSeries;
  o.samples = kTsdbSteps;
  o.interval_ms = 1000;
  o.shards = 1;
  o.base_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count() -
              3'600'000;
  Workload wl(o);
  std::vector<EncodedRequest> requests = wl.Encode(proto, 0);
  auto scratch = storage::ScratchTsdb::Open("bench-ingest");
  if (!scratch.ok()) {
    state.SkipWithError(scratch.status().ToString().c_str());
    return;
  }
  storage::Tsdb* db = &(*scratch)->db();
  ingest::remote_write::SeriesRefCache rw_cache;
  ingest::otlp::TranslationOptions topts;
  if (!cache) topts.series_cache_entries = 0;
  ingest::otlp::Ingester ingester(db, topts);
  size_t next = 0;
  int64_t samples = 0, warm = 0, rejected = 0;
  auto ingest_one = [&]() -> absl::Status {
    EncodedRequest& r = requests[next++];
    auto app = db->NewAppender();
    ingest::IngestReport rep;
    absl::Status s =
        proto == Protocol::kRemoteWrite
            ? ingest::remote_write::IngestSnappy(r.body, 64 << 20, *app, rep,
                                                 cache ? &rw_cache : nullptr)
            : ingester.Ingest(r.body, ingest::otlp::Encoding::kProtobuf, *app, rep);
    if (s.ok()) s = app->Commit();
    rejected += rep.rejected_points();
    return s;
  };
  while (next < requests.size() && warm < kTsdbSeries) {
    warm += requests[next].samples;
    if (absl::Status s = ingest_one(); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
  }
  for (auto _ : state) {
    if (next == requests.size()) {
      state.SkipWithError("workload exhausted: raise kTsdbSteps or lower the iterations");
      break;
    }
    samples += requests[next].samples;
    if (absl::Status s = ingest_one(); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  if (rejected > 0) state.SkipWithError("samples rejected");
  state.SetItemsProcessed(samples);
}
BENCHMARK(BM_IngestTsdb)
    ->ArgNames({"otlp", "cache"})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Iterations(200)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xscaler::bench

BENCHMARK_MAIN();
