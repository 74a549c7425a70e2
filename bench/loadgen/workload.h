// The benchmark workload: a deterministic fleet of instrumented HTTP services ("targets"), each
// exposing process gauges/counters, http_requests_total{method,route,status} and a classic
// histogram http_request_duration_seconds{method,route} (12 buckets), pre-encoded into request
// bodies for Prometheus remote write 1.0 (snappy) or OTLP/HTTP protobuf.
//
// Invariants:
//   - Every label value and sample value derives from (seed, target, group, step) only, never
//     from the shard count or batch size, so every system and protocol sees the same series and
//     samples. The OTLP form translates (Prometheus' OTLP rules: service.name → job,
//     service.instance.id → instance, attributes → labels, monotonic Sum → counter, explicit
//     Histogram → _bucket/_sum/_count) into exactly the remote-write series.
//   - A target (and so every series) lives in exactly one shard; a shard's requests walk forward
//     in time, so sending one shard's requests in order on one connection keeps per-series order.
//   - A request holds at most `batch` samples (at least one group: a histogram is never split).
//
// Thread-safety: a Workload is immutable after construction; Encode may run concurrently for
// different shards.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xscaler::bench {

enum class Protocol { kRemoteWrite, kOtlp };

struct WorkloadOptions {
  uint64_t seed = 1;
  int64_t series = 10000;      // active series (rounded up to a whole group)
  int64_t samples = 120;       // samples per series
  int64_t interval_ms = 15000; // scrape interval
  int64_t batch = 2000;        // max samples per request
  int shards = 4;              // one per sender connection
  int64_t base_ms = 0;         // first scrape time; 0: now - samples*interval - 60 s, aligned
  int64_t churn_every = 0;     // steps between churn epochs (0: no churn)
  double churn_fraction = 0.1; // share of targets replaced (new pod/instance) per epoch
  bool otlp_start_time = false;  // set start_time_unix_nano (xscaler then adds a 0 sample)
};

struct EncodedRequest {
  std::string body;
  int64_t samples = 0;
};

struct WorkloadInfo {
  int64_t series = 0;        // active series at any step
  int64_t targets = 0;
  int64_t samples_total = 0; // over all steps and series
  int64_t min_t = 0;         // ms
  int64_t max_t = 0;         // ms
  int64_t total_series = 0;  // distinct series ever (more than `series` with churn)
};

class Workload {
 public:
  explicit Workload(const WorkloadOptions& opts);
  ~Workload();
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  const WorkloadOptions& options() const { return opts_; }
  const WorkloadInfo& info() const { return info_; }

  // The requests of shard `shard` (0 <= shard < shards), in send order.
  std::vector<EncodedRequest> Encode(Protocol protocol, int shard) const;

  // Every active series' label set at the first step, (name, value) sorted by name.
  std::vector<std::vector<std::pair<std::string, std::string>>> LabelSets() const;

  struct Group;
  struct Target;

 private:
  WorkloadOptions opts_;
  WorkloadInfo info_;
  std::vector<Target> targets_;
  std::vector<Group> groups_;
};

const char* ProtocolName(Protocol p);

}  // namespace xscaler::bench
