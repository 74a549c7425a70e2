// Ingest decoders over the benchmark workload's real request bodies (bench/loadgen): remote
// write (snappy + protobuf + label building) and OTLP (protobuf decode, then translation) into
// an Appender that stores nothing, plus the OTLP decode alone. Items = samples.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "ingest/otlp/decode.h"
#include "ingest/otlp/ingester.h"
#include "ingest/otlp/model.h"
#include "ingest/remote_write/remote_write.h"
#include "ingest/report.h"
#include "loadgen/workload.h"
#include "storage/null_appender.h"

namespace xscaler::bench {
namespace {

using storage::NullAppender;


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
  ingest::otlp::Ingester ingester(nullptr, ingest::otlp::TranslationOptions{});
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

}  // namespace
}  // namespace xscaler::bench

BENCHMARK_MAIN();
