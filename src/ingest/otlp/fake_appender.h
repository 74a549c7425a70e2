// Test helper: an in-memory Appender that records what was appended and enforces the storage
// seam's per-series rules (older than newest → OutOfRange; same time, different value →
// AlreadyExists; same time and value → accepted and ignored). Not thread-safe.
#pragma once

#include <bit>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/storage.h"

namespace xscaler::ingest::otlp {

struct FakeSample {
  labels::Labels lset;
  int64_t t = 0;
  double v = 0;
};

class FakeAppender : public storage::Appender {
 public:
  absl::StatusOr<storage::SeriesRef> Append(storage::SeriesRef, const labels::Labels& lset,
                                            int64_t t, double v) override {
    if (lset.MetricName().empty()) return absl::InvalidArgumentError("empty metric name");
    auto it = newest_.find(lset);
    if (it != newest_.end()) {
      if (t < it->second.first) {
        return absl::OutOfRangeError(absl::StrCat("sample at ", t, " is older than the newest (",
                                                  it->second.first, ") of ", lset.ToString()));
      }
      if (t == it->second.first) {
        if (std::bit_cast<uint64_t>(v) == std::bit_cast<uint64_t>(it->second.second)) return 1;
        return absl::AlreadyExistsError(absl::StrCat("duplicate timestamp ", t));
      }
    }
    newest_[lset] = {t, v};
    samples.push_back({lset, t, v});
    return 1;
  }
  void UpdateMetadata(const std::string& family, const storage::MetricMetadata& md) override {
    metadata[family] = md;
  }
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}

  std::vector<FakeSample> samples;
  std::map<std::string, storage::MetricMetadata> metadata;

 private:
  std::map<labels::Labels, std::pair<int64_t, double>> newest_;
};

}  // namespace xscaler::ingest::otlp
