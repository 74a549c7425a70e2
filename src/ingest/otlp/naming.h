// OTLP → Prometheus naming: metric names (Prometheus' UnderscoreEscapingWithSuffixes strategy,
// or plain escaping without suffixes), the UNIT metadata string, label names, and the number
// formats used in label values (`le`, `quantile`, non-string attribute values).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/utf8.h"

namespace xscaler::ingest::otlp {

// How a metric's type influences its name suffixes.
enum class NameType { kGauge, kCounter /* monotonic sum */, kOther };

// Returns the Prometheus metric name, or "" when the name cannot be made valid (empty, or only
// separators). With suffixes: tokens of [a-zA-Z0-9:] joined by `_` (collapsing `__` runs), unit
// suffix (and `per_x`) unless already a token, `total` moved to the end for counters, `ratio`
// for gauges with unit "1", `_` prefix before a leading digit.
std::string BuildMetricName(std::string_view name, std::string_view unit, NameType type,
                            bool add_suffixes);

// The UNIT metadata for an OTLP unit: `s` → "seconds", `By/s` → "bytes_per_second", `1` and
// annotations like `{request}` → "".
std::string UnitMetadata(std::string_view unit);

// Prometheus label name for an attribute key, or "" when it cannot be made valid (empty, or only
// underscores after escaping). Invalid characters → `_`; leading digit → `key_` prefix; a single
// leading `_` → `key_` prefix; names starting with `__` are kept.
std::string BuildLabelName(std::string_view key);

// Shortest decimal that round-trips, never in exponent form (Go's FormatFloat(f, 'f', -1)),
// as Prometheus writes `le` and `quantile`: 0.005, 10000, +Inf, -Inf, NaN.
std::string FormatLabelFloat(double v);

// A double attribute value as text: shortest round-trip, exponent form only below 1e-6 or from
// 1e21 on (like JavaScript / Go's JSON encoder): 1.5, 1e-7, 1e+21, NaN, Inf, -Inf.
std::string FormatAttrDouble(double v);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF),
// as Prometheus requires of label values.
using base::IsValidUtf8;

// `s` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD. Protobuf string
// fields and JSON must be valid UTF-8 (Go's decoders in the Collector refuse anything else), and
// so must label values.
using base::ToValidUtf8;

// Concatenates strings, string views (std and absl, which differ in Debian's absl build) and
// integers — absl::StrCat does not take std::string_view here.
inline void CatAppend(std::string& out, std::string_view s) { out.append(s); }
inline void CatAppend(std::string& out, const char* s) { out.append(s); }
inline void CatAppend(std::string& out, const std::string& s) { out.append(s); }
template <typename T>
requires(std::is_integral_v<T> && !std::is_same_v<T, char> &&
         !std::is_same_v<T, bool>) inline void CatAppend(std::string& out, T v) {
  out.append(std::to_string(v));
}
template <typename S>
requires(!std::is_convertible_v<S, std::string_view> && requires(const S& x) {
  x.data();
  x.size();
}) inline void CatAppend(std::string& out, const S& s) {
  out.append(s.data(), s.size());
}
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (CatAppend(out, args), ...);
  return out;
}

// Appends `s` as a JSON string literal (quotes and escapes) — for rendering array/kvlist values.
void AppendJsonString(std::string& out, std::string_view s);

// Appends a JSON object of (key, already-rendered JSON value) entries, keys sorted as Go's
// encoding/json does for maps; a repeated key keeps its last value. Reorders `entries`.
void AppendJsonObject(std::vector<std::pair<std::string_view, std::string>>& entries,
                      std::string& json);

}  // namespace xscaler::ingest::otlp
