// Formats a PromQL AST back to canonical PromQL text, as Prometheus' Expr.String() does (used
// by /api/v1/format_query and for round-trip tests: ParseExpr(Print(e)) equals e). Also the
// Go-compatible number/duration/string formatting helpers the engine and API reuse.
// Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/format.h"
#include "promql/ast.h"

namespace xscaler::promql {

std::string Print(const Expr& e);

// Go's strconv.FormatFloat(v, 'g', -1, 64) / fmt "%v": shortest round-trip digits, exponent
// form when the decimal exponent is < -4 or >= 6; "+Inf", "-Inf", "NaN".
using base::FormatFloatG;
// Prometheus' model.Duration.String(): "1h30m", "90d", "0s".
std::string FormatDuration(int64_t ms);
// Go's strconv.Quote.
std::string QuoteString(std::string_view s);

}  // namespace xscaler::promql
