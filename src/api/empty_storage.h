// A storage::Storage with no series, for tenants that have never written anything: PromQL
// still evaluates against it (`1+1`, `vector(1)`, `time()`), selectors just find nothing. It
// refuses writes, so it can never become a tenant's real database by accident.
//
// Thread-safety: stateless; safe for concurrent use.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace xscaler::api {

class EmptyStorage final : public storage::Storage {
 public:
  std::unique_ptr<storage::Appender> NewAppender() override;
  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt) override;
  std::map<std::string, storage::MetricMetadata> Metadata() const override { return {}; }
};

}  // namespace xscaler::api
