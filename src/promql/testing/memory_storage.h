// A small in-memory storage::Storage for PromQL tests: series kept sorted by labels, selection
// by linear scan with matchers. Appends are visible after Commit. Not for production: no WAL,
// no limits. Thread-safe (one mutex).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/storage.h"

namespace xscaler::promql::testing {

class MemoryStorage : public storage::Storage {
 public:
  std::unique_ptr<storage::Appender> NewAppender() override;
  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt) override;
  std::map<std::string, storage::MetricMetadata> Metadata() const override { return {}; }

  // Adds a sample directly (tests' fast path). Samples may arrive in any order; a sample at an
  // existing timestamp replaces it.
  void Add(const labels::Labels& lset, int64_t t_ms, double v);
  void Clear();

  struct Data {
    std::map<labels::Labels, std::map<int64_t, double>> series;
  };

 private:
  friend class MemoryAppender;
  mutable std::mutex mu_;
  std::shared_ptr<Data> data_ = std::make_shared<Data>();
};

}  // namespace xscaler::promql::testing
