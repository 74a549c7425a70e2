// Test helper: an in-memory Appender that records what was appended and enforces the storage
// seam's per-series rules (older than newest → OutOfRange; same time, different value →
// AlreadyExists; same time and value → accepted and ignored). Each label set gets a series ref
// unique in the process (across FakeAppenders, so a ref cached from another one is NotFound
// here, as for a series another storage holds), which AppendExisting accepts until Forget drops
// it (a series the storage garbage-collected). Not thread-safe.
#pragma once

#include <atomic>
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
    ++by_labels;
    const storage::SeriesRef ref = RefOf(lset);
    auto it = newest_.find(lset);
    if (it != newest_.end()) {
      if (t < it->second.first) {
        return absl::OutOfRangeError(absl::StrCat("sample at ", t, " is older than the newest (",
                                                  it->second.first, ") of ", lset.ToString()));
      }
      if (t == it->second.first) {
        if (std::bit_cast<uint64_t>(v) == std::bit_cast<uint64_t>(it->second.second)) return ref;
        return absl::AlreadyExistsError(absl::StrCat("duplicate timestamp ", t));
      }
    }
    newest_[lset] = {t, v};
    samples.push_back({lset, t, v});
    return ref;
  }
  absl::StatusOr<storage::SeriesRef> AppendExisting(storage::SeriesRef ref, int64_t t,
                                                    double v) override {
    auto it = by_ref_.find(ref);
    if (it == by_ref_.end()) return absl::NotFoundError(absl::StrCat("no series with ref ", ref));
    ++by_ref;
    --by_labels;  // counted by Append below
    return Append(ref, it->second, t, v);
  }
  // Drops the series' ref (its samples stay): the next AppendExisting with it is NotFound and
  // an Append by labels gives the series a new ref.
  void Forget(const labels::Labels& lset) {
    auto it = refs_.find(lset);
    if (it == refs_.end()) return;
    by_ref_.erase(it->second);
    refs_.erase(it);
  }
  void ForgetAll() {
    refs_.clear();
    by_ref_.clear();
  }
  void UpdateMetadata(const std::string& family, const storage::MetricMetadata& md) override {
    metadata[family] = md;
  }
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}

  std::vector<FakeSample> samples;
  std::map<std::string, storage::MetricMetadata> metadata;
  int64_t by_labels = 0;  // Append calls (with a metric name)
  int64_t by_ref = 0;     // AppendExisting calls that found their series

 private:
  storage::SeriesRef RefOf(const labels::Labels& lset) {
    static std::atomic<storage::SeriesRef> next{1};
    auto [it, inserted] = refs_.try_emplace(lset, 0);
    if (inserted) {
      it->second = next.fetch_add(1);
      by_ref_[it->second] = lset;
    }
    return it->second;
  }
  std::map<labels::Labels, storage::SeriesRef> refs_;
  std::map<storage::SeriesRef, labels::Labels> by_ref_;
  std::map<labels::Labels, std::pair<int64_t, double>> newest_;
};

}  // namespace xscaler::ingest::otlp
