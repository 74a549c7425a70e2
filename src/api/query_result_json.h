// Renders a PromQL result value as the `data` of Prometheus' /api/v1/query and query_range
// responses (docs/querying/api.md "Expression query result formats"):
//   {"resultType":"vector","result":[{"metric":{...},"value":[1700000000.123,"1"]}]}
//   {"resultType":"matrix","result":[{"metric":{...},"values":[[t,"v"],...]}]}
//   {"resultType":"scalar","result":[t,"v"]}    {"resultType":"string","result":[t,"s"]}
// Stateless; thread-safe.
#pragma once

#include <string>

#include "promql/value.h"

namespace xscaler::api {

std::string QueryDataJson(const promql::Value& value);

}  // namespace xscaler::api
