// The PromQL parser: a hand-written recursive-descent / precedence-climbing parser over the
// lexer's tokens, with Prometheus' type checks and error messages
// (`1:5: parse error: unexpected ...`). Stateless functions; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "labels/matcher.h"
#include "promql/ast.h"

namespace xscaler::promql {

// Parses a full PromQL expression. Errors are InvalidArgument with Prometheus' message text.
absl::StatusOr<ExprPtr> ParseExpr(std::string_view input);

// Parses a series selector as used by `match[]` (`metric`, `metric{a="b"}`, `{__name__=~"x"}`)
// into its matchers (the metric name becomes a `__name__` equality matcher, first). Rejects
// selectors whose matchers all match the empty string.
absl::StatusOr<std::vector<labels::Matcher>> ParseMetricSelector(std::string_view input);

// Parses a Prometheus duration (`1h30m`, `5m`, `100ms`) into milliseconds.
absl::StatusOr<int64_t> ParseDuration(std::string_view s);

// Unquotes a PromQL string literal token ("...", '...' or `...`) with Go's escape rules.
absl::StatusOr<std::string> UnquoteString(std::string_view quoted);

}  // namespace xscaler::promql
