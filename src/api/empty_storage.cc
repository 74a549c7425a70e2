#include "api/empty_storage.h"

#include <cstdlib>

namespace xscaler::api {
namespace {

class NoSeries final : public storage::SeriesSet {
 public:
  bool Next() override { return false; }
  const storage::Series& At() const override { std::abort(); }  // Next() is always false
};

class EmptyQuerier final : public storage::Querier {
 public:
  std::unique_ptr<storage::SeriesSet> Select(std::span<const labels::Matcher>) override {
    return std::make_unique<NoSeries>();
  }
  absl::StatusOr<std::vector<std::string>> LabelNames(std::span<const labels::Matcher>) override {
    return std::vector<std::string>{};
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(const std::string&,
                                                       std::span<const labels::Matcher>) override {
    return std::vector<std::string>{};
  }
};

class RefusingAppender final : public storage::Appender {
 public:
  absl::StatusOr<storage::SeriesRef> Append(storage::SeriesRef, const labels::Labels&, int64_t,
                                            double) override {
    return absl::FailedPreconditionError(
        "the empty stand-in storage of a tenant accepts no writes");
  }
  void UpdateMetadata(const std::string&, const storage::MetricMetadata&) override {}
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}
};

}  // namespace

std::unique_ptr<storage::Appender> EmptyStorage::NewAppender() {
  return std::make_unique<RefusingAppender>();
}

std::unique_ptr<storage::Querier> EmptyStorage::NewQuerier(int64_t, int64_t) {
  return std::make_unique<EmptyQuerier>();
}

}  // namespace xscaler::api
