// Renders a parsed PromQL AST as the JSON tree Prometheus' /api/v1/parse_query returns (the
// shape of its translateAST: `{"type":"vectorSelector","name":...,"matchers":[...],...}`), with
// object keys in sorted order as Go's encoding/json writes them. Pure; thread-safe.
#pragma once

#include <string>

#include "promql/ast.h"

namespace xscaler::promql {

std::string AstToJson(const Expr& e);

// A JSON string literal (quotes included) for arbitrary bytes; invalid UTF-8 becomes U+FFFD,
// as in Go.
std::string JsonString(std::string_view s);

}  // namespace xscaler::promql
