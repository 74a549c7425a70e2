// Throughput of remote-write decode (snappy + protobuf + label checks) into an Appender that
// accepts everything, so only the decoder's cost is measured. Shaped like a Prometheus batch:
// many series of ~8 labels with one or a few samples each.
#include <snappy.h>

#include <string>

#include "benchmark/benchmark.h"
#include "ingest/remote_write/remote_write.h"
#include "storage/null_appender.h"
#include "remote_write.pb.h"

namespace xscaler::ingest::remote_write {
namespace {

namespace pb = ::xscaler::test::prompb;

using storage::NullAppender;


std::string MakeBody(int series, int samples_per_series) {
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
      smp->set_timestamp(1700000000000 + s * 15000);
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

}  // namespace
}  // namespace xscaler::ingest::remote_write

BENCHMARK_MAIN();
