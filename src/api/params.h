// Parsing of the Prometheus API's request parameters with Prometheus' error texts, e.g.
// `invalid parameter "time": cannot parse "x" to a valid timestamp`. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"

namespace xscaler::api {

// Prometheus' MinTime/MaxTime in ms: the defaults of `start`/`end` on metadata endpoints.
inline constexpr int64_t kApiMinTime = -9223309901257974000;
inline constexpr int64_t kApiMaxTime = 9223309901257974000;

// A timestamp as float unix seconds ("1700000000.123", rounded to ms) or RFC 3339 with
// optional fraction and offset ("2026-11-25T10:00:00.5+01:00"), in ms. Prometheus' formatted
// min/max times are accepted too. Error (InvalidArgument): `cannot parse "x" to a valid
// timestamp`.
absl::StatusOr<int64_t> ParseTime(std::string_view s);

// ParseTime for parameter `name`, `default_ms` when absent or empty; the error names the
// parameter.
absl::StatusOr<int64_t> ParseTimeParam(std::string_view name, std::optional<std::string_view> v,
                                       int64_t default_ms);

// A duration as float seconds ("30", "1.5") or Prometheus duration ("5m", "1h30m", "500ms"),
// in ms. Error: `cannot parse "x" to a valid duration`.
absl::StatusOr<int64_t> ParseDuration(std::string_view s);

// `limit`: absent/empty → 0 (no limit); else a non-negative integer.
absl::StatusOr<int64_t> ParseLimitParam(std::optional<std::string_view> v);

}  // namespace xscaler::api
