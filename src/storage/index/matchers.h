// Selecting series by label matchers over an IndexReader, with Prometheus' semantics
// (tsdb/querier.go PostingsForMatchers):
//   - a matcher that does not match "" requires its label to be present, and its postings
//     (the union over the label's matching values) are intersected;
//   - a matcher that matches "" also selects series WITHOUT the label: the series whose value
//     does not match are subtracted instead (`{a!="x"}`, `{a=~"x|"}`, `{a=""}`);
//   - `!=` / `!~` on a label another matcher requires are subtracted as well;
//   - with nothing to intersect, subtraction starts from all series.
// Regexes are evaluated only against the values of their label; a regex that is a literal
// alternation (`a|b|c`) becomes direct lookups, and a literal prefix filters values before the
// regex runs.
//
// Thread-safety: stateless functions; safe wherever the IndexReader is.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "labels/matcher.h"
#include "storage/index/index_reader.h"

namespace xscaler::storage::index {

// Sorted refs of the series that satisfy every matcher. No matchers selects every series.
absl::StatusOr<Postings> PostingsForMatchers(const IndexReader& ix,
                                             std::span<const labels::Matcher> matchers);

// Sorted label names / values of `name` among the series selected by `matchers` (all series
// when `matchers` is empty).
absl::StatusOr<std::vector<std::string>> LabelNames(const IndexReader& ix,
                                                    std::span<const labels::Matcher> matchers);
absl::StatusOr<std::vector<std::string>> LabelValues(const IndexReader& ix, std::string_view name,
                                                     std::span<const labels::Matcher> matchers);

// Regex analysis used by the fast paths; exposed for tests.
// The alternatives when `re` (unanchored RE2 syntax, implicitly anchored by the matcher) is a
// plain alternation of literals such as `GET|POST` or `x|` (escaped metacharacters like `\.`
// count as literals); nullopt otherwise.
std::optional<std::vector<std::string>> LiteralAlternatives(std::string_view re);
// A prefix every string fully matching `re` starts with ("" when unknown).
std::string LiteralPrefix(std::string_view re);

}  // namespace xscaler::storage::index
