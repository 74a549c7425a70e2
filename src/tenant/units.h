// Parsing of the human units operators write in config files and flags: durations ("15d",
// "1h30m", as Prometheus writes them) and byte sizes ("500GB", "1TiB"). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace xscaler::tenant {

// A Prometheus-style duration in milliseconds: one or more <integer><unit> terms with units
// ms, s, m, h, d (24h), w (7d), y (365d), largest unit first ("1h30m"); a bare "0" is zero.
// InvalidArgument naming the text otherwise (negative, unknown unit, overflow, empty).
absl::StatusOr<int64_t> ParseDurationMs(std::string_view text);

// The shortest exact rendering of `ms` in those units ("15d", "1h30m", "0s").
std::string FormatDurationMs(int64_t ms);

// A byte count: a non-negative number (decimals allowed: "1.5TiB") with an optional unit,
// case-insensitive: B, KB/MB/GB/TB/PB (powers of 1000; K/M/G/T/P alone too) or KiB/MiB/GiB/
// TiB/PiB (powers of 1024). "0" is zero. InvalidArgument naming the text otherwise.
absl::StatusOr<uint64_t> ParseBytes(std::string_view text);

// "1.5 GiB"-style rendering for logs and status pages.
std::string FormatBytes(uint64_t bytes);

}  // namespace xscaler::tenant
