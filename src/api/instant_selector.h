// Evaluation of an instant vector selector (`metric{a="b", c=~"d.*"}`) at one time, with
// Prometheus' lookback: each matching series contributes its newest sample in (t - lookback, t],
// unless that sample is a staleness marker. Stopgap for /api/v1/query until the PromQL engine
// (issue 4) replaces it. Stateless; thread-safe given a thread-safe Storage.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "labels/labels.h"
#include "labels/matcher.h"
#include "storage/storage.h"

namespace xscaler::api {

inline constexpr int64_t kDefaultLookbackMs = 5 * 60 * 1000;

struct InstantSample {
  labels::Labels metric;
  int64_t t_ms = 0;  // the sample's own timestamp (the API reports the evaluation time)
  double value = 0;
};

// REQUIRES: at least one matcher that does not match the empty string (else InvalidArgument,
// Prometheus' "vector selector must contain at least one non-empty matcher").
absl::StatusOr<std::vector<InstantSample>> EvalInstantSelector(
    storage::Storage& db, std::span<const labels::Matcher> matchers, int64_t t_ms,
    int64_t lookback_ms = kDefaultLookbackMs);

}  // namespace xscaler::api
