// An Appender that keeps a digest per series (sample count, sum of values, sum of timestamps)
// and the set of timestamps seen, so two decodings of one workload (remote write and OTLP) can
// be proved to carry the same series and samples.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "storage/storage.h"

namespace xscaler::bench {

class DigestAppender final : public storage::Appender {
 public:
  struct Digest {
    int64_t n = 0;
    double sum = 0;
    int64_t tsum = 0;
    friend bool operator==(const Digest&, const Digest&) = default;
  };

  absl::StatusOr<storage::SeriesRef> Append(storage::SeriesRef, const labels::Labels& l,
                                            int64_t t, double v) override {
    Digest& d = series[l.ToString()];
    ++d.n;
    d.sum += v;
    d.tsum += t;
    times.insert(t);
    return 0;
  }
  void UpdateMetadata(const std::string&, const storage::MetricMetadata&) override {}
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}

  std::map<std::string, Digest> series;  // keyed by the label set's text form
  std::set<int64_t> times;
};

}  // namespace xscaler::bench
