#include "api/instant_selector.h"

namespace xscaler::api {

absl::StatusOr<std::vector<InstantSample>> EvalInstantSelector(
    storage::Storage& db, std::span<const labels::Matcher> matchers, int64_t t_ms,
    int64_t lookback_ms) {
  bool has_non_empty = false;
  for (const auto& m : matchers) has_non_empty = has_non_empty || !m.MatchesEmpty();
  if (!has_non_empty) {
    return absl::InvalidArgumentError(
        "vector selector must contain at least one non-empty matcher");
  }
  // Left-open window, as in Prometheus 3.x: (t - lookback, t].
  std::unique_ptr<storage::Querier> q = db.NewQuerier(t_ms - lookback_ms + 1, t_ms);
  std::unique_ptr<storage::SeriesSet> set = q->Select(matchers);
  std::vector<InstantSample> out;
  while (set->Next()) {
    const storage::Series& series = set->At();
    std::unique_ptr<storage::SampleIterator> it = series.Iterator();
    bool found = false;
    std::pair<int64_t, double> newest{0, 0};
    while (it->Next()) {
      auto s = it->At();
      if (s.first > t_ms) break;
      if (s.first <= t_ms - lookback_ms) continue;
      newest = s;
      found = true;
    }
    if (absl::Status st = it->Err(); !st.ok()) return st;
    if (!found || storage::IsStaleNaN(newest.second)) continue;
    out.push_back({series.Labels(), newest.first, newest.second});
  }
  if (absl::Status st = set->Err(); !st.ok()) return st;
  return out;
}

}  // namespace xscaler::api
