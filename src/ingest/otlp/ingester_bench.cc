// Throughput of OTLP decode + translate into an Appender that accepts everything (no storage
// cost), for counters and histograms, protobuf and JSON, with the series ref cache off and on
// (cache:1 measures the steady state, where every series was seen before); and the same into a
// real storage::Tsdb (BM_IngestTsdb: every iteration sends the same series with newer samples,
// as an SDK's periodic export does).
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "google/protobuf/util/json_util.h"
#include "ingest/otlp/ingester.h"
#include "storage/db/tsdb.h"
#include "storage/db/scratch_tsdb.h"
#include "metrics.pb.h"

namespace xscaler::ingest::otlp {
namespace {

namespace pb = ::xscaler::test::otlp;

// As in the server (server/main.cc): absl's deadlock detection would otherwise dominate every
// Mutex::Lock.
const bool kNoDeadlockDetection = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();

// Accepts everything and stores nothing, like storage::NullAppender, but hands out refs that
// AppendExisting accepts, so the cached path is measured rather than its NotFound fallback.
class RefNullAppender final : public storage::Appender {
 public:
  absl::StatusOr<storage::SeriesRef> Append(storage::SeriesRef ref, const labels::Labels&,
                                            int64_t, double) override {
    return ref != 0 ? ref : ++next_;
  }
  absl::StatusOr<storage::SeriesRef> AppendExisting(storage::SeriesRef ref, int64_t,
                                                    double) override {
    if (ref == 0 || ref > next_) return absl::NotFoundError("unknown ref");
    return ref;
  }
  void UpdateMetadata(const std::string&, const storage::MetricMetadata&) override {}
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}

 private:
  storage::SeriesRef next_ = 0;
};


void Attr(google::protobuf::RepeatedPtrField<pb::KeyValue>* attrs, const std::string& k,
          const std::string& v) {
  auto* kv = attrs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}

// `series` points of a cumulative counter with 4 attributes, or histograms with 10 buckets.
pb::ExportMetricsServiceRequest MakeRequest(int series, bool histogram,
                                            uint64_t start_ns = 1700000000000000000ULL,
                                            uint64_t time_ns = 1700000015000000000ULL) {
  pb::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  Attr(rm->mutable_resource()->mutable_attributes(), "service.name", "bench");
  Attr(rm->mutable_resource()->mutable_attributes(), "service.instance.id", "i-1");
  Attr(rm->mutable_resource()->mutable_attributes(), "host.name", "h1");
  auto* m = rm->add_scope_metrics()->add_metrics();
  m->set_name(histogram ? "http.server.request.duration" : "http.server.requests");
  m->set_unit(histogram ? "s" : "1");
  for (int i = 0; i < series; ++i) {
    google::protobuf::RepeatedPtrField<pb::KeyValue>* attrs;
    if (histogram) {
      m->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
      auto* p = m->mutable_histogram()->add_data_points();
      p->set_start_time_unix_nano(start_ns);
      p->set_time_unix_nano(time_ns);
      p->set_count(100);
      p->set_sum(12.5);
      for (int b = 0; b < 10; ++b) {
        p->add_explicit_bounds(0.005 * (1 << b));
        p->add_bucket_counts(10);
      }
      p->add_bucket_counts(0);
      attrs = p->mutable_attributes();
    } else {
      m->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
      m->mutable_sum()->set_is_monotonic(true);
      auto* p = m->mutable_sum()->add_data_points();
      p->set_start_time_unix_nano(start_ns);
      p->set_time_unix_nano(time_ns);
      p->set_as_int(i);
      attrs = p->mutable_attributes();
    }
    Attr(attrs, "http.request.method", "GET");
    Attr(attrs, "http.response.status_code", std::to_string(200 + i % 5));
    Attr(attrs, "http.route", "/api/v1/items/" + std::to_string(i));
    Attr(attrs, "server.address", "example.com");
  }
  return req;
}

TranslationOptions Options(bool cache) {
  TranslationOptions o;
  if (!cache) o.series_cache_entries = 0;
  return o;
}

void Run(benchmark::State& state, bool histogram, Encoding enc) {
  const bool cache = state.range(0) != 0;
  pb::ExportMetricsServiceRequest req = MakeRequest(1000, histogram);
  std::string body;
  if (enc == Encoding::kProtobuf) {
    body = req.SerializeAsString();
  } else {
    (void)google::protobuf::util::MessageToJsonString(req, &body);
  }
  Ingester ing(nullptr, Options(cache));
  RefNullAppender app;
  int64_t samples = 0;
  for (auto _ : state) {
    std::string copy = body;
    IngestReport report;
    if (!ing.Ingest(copy, enc, app, report).ok()) state.SkipWithError("ingest failed");
    samples += report.accepted_samples();
  }
  state.counters["points/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * 1000,
                                                  benchmark::Counter::kIsRate);
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
}

void BM_CounterProto(benchmark::State& s) { Run(s, false, Encoding::kProtobuf); }
void BM_HistogramProto(benchmark::State& s) { Run(s, true, Encoding::kProtobuf); }
void BM_CounterJson(benchmark::State& s) { Run(s, false, Encoding::kJson); }
BENCHMARK(BM_CounterProto)->ArgName("cache")->Arg(0)->Arg(1);
BENCHMARK(BM_HistogramProto)->ArgName("cache")->Arg(0)->Arg(1);
BENCHMARK(BM_CounterJson)->ArgName("cache")->Arg(0)->Arg(1);

void BM_IngestTsdb(benchmark::State& state) {
  const int series = static_cast<int>(state.range(0));
  const bool histogram = state.range(1) != 0;
  const bool cache = state.range(2) != 0;
  auto scratch = storage::ScratchTsdb::Open("bench-otlp");
  if (!scratch.ok()) {
    state.SkipWithError(scratch.status().ToString().c_str());
    return;
  }
  storage::Tsdb* db = &(*scratch)->db();
  Ingester ing(db, Options(cache));
  // Recent timestamps 1 ms apart: thousands of iterations stay inside one head block range
  // and behind the future check, so nothing is rejected and no block is cut mid-run.
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const uint64_t start_ns = static_cast<uint64_t>(now_ms - 7'200'000) * 1'000'000ULL;
  uint64_t t_ms = static_cast<uint64_t>(now_ms - 3'600'000);
  const int64_t per_request = histogram ? series * 13 : series;
  int64_t accepted = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::string body =
        MakeRequest(series, histogram, start_ns, t_ms++ * 1'000'000ULL).SerializeAsString();
    state.ResumeTiming();
    auto app = db->NewAppender();
    IngestReport report;
    absl::Status s = ing.Ingest(body, Encoding::kProtobuf, *app, report);
    if (s.ok()) s = app->Commit();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    // The first request also writes the start-time zeros (not counted) and target_info.
    accepted += report.accepted_samples();
  }
  if (accepted < state.iterations() * per_request) state.SkipWithError("samples rejected");
  state.SetItemsProcessed(state.iterations() * per_request);
}
BENCHMARK(BM_IngestTsdb)
    ->ArgNames({"series", "histogram", "cache"})
    ->Args({2000, 0, 0})
    ->Args({2000, 0, 1})
    ->Args({200, 1, 0})
    ->Args({200, 1, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xscaler::ingest::otlp

BENCHMARK_MAIN();
