// An Appender that accepts every sample and stores nothing, for benchmarks that measure what a
// decoder costs without the storage behind it (the "parse-only" figure of the performance
// issue). Counts what it was given. Each Append by labels hands out a new ref, and
// AppendExisting accepts any ref it could have handed out, so an ingest-side series cache in
// front of it reaches its steady state (hits) as it would in front of a real storage.
// Not thread-safe, like every Appender.
#pragma once

#include <cstdint>
#include <string>

#include "storage/storage.h"

namespace xscaler::storage {

class NullAppender final : public Appender {
 public:
  absl::StatusOr<SeriesRef> Append(SeriesRef ref, const labels::Labels&, int64_t,
                                   double) override {
    ++appended_;
    return ref == 0 ? ++last_ref_ : ref;
  }
  absl::StatusOr<SeriesRef> AppendExisting(SeriesRef ref, int64_t, double) override {
    if (ref == 0 || ref > last_ref_) return Appender::AppendExisting(ref, 0, 0);  // NotFound
    ++appended_;
    return ref;
  }
  void UpdateMetadata(const std::string&, const MetricMetadata&) override {}
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}

  int64_t appended() const { return appended_; }

 private:
  int64_t appended_ = 0;
  SeriesRef last_ref_ = 0;
};

}  // namespace xscaler::storage
