// ReadApi's PromQL endpoints: query, query_range, format_query, parse_query. Parameter checks
// and their order follow Prometheus' web/api/v1/api.go so the same request fails with the same
// message; evaluation is promql::Engine's.
#include <algorithm>
#include <optional>
#include <string>
#include <variant>

#include "api/empty_storage.h"
#include "api/envelope.h"
#include "api/json_writer.h"
#include "api/params.h"
#include "api/query_result_json.h"
#include "api/read_handlers.h"
#include "http/str.h"
#include "promql/ast_json.h"
#include "promql/parser.h"
#include "promql/printer.h"

namespace xscaler::api {
namespace {

using http::Cat;
using http::Sv;

absl::Status InvalidParam(std::string_view name, const absl::Status& cause) {
  return absl::InvalidArgumentError(Cat("invalid parameter \"", name, "\": ", Sv(cause.message())));
}

// Prometheus' returnAPIError: engine failures are execution errors unless they are a timeout,
// a cancellation or a storage fault. Validation the engine repeats (bad_data) blames `query`,
// as Prometheus' NewRangeQuery errors do.
void WriteEngineError(http::Response& res, const absl::Status& st) {
  switch (promql::KindOf(st)) {
    case promql::ErrorKind::kBadData:
      return WriteApiError(res, ErrorType::kBadData,
                           Cat("invalid parameter \"query\": ", Sv(st.message())));
    case promql::ErrorKind::kTimeout:
      return WriteApiError(res, ErrorType::kTimeout, Sv(st.message()));
    case promql::ErrorKind::kCanceled:
      return WriteApiError(res, ErrorType::kCanceled, Sv(st.message()));
    case promql::ErrorKind::kExecution:
      break;
  }
  bool storage_fault = st.code() == absl::StatusCode::kInternal ||
                       st.code() == absl::StatusCode::kDataLoss ||
                       st.code() == absl::StatusCode::kUnavailable;
  WriteApiError(res, storage_fault ? ErrorType::kInternal : ErrorType::kExecution,
                Sv(st.message()));
}

// `timeout` and `lookback_delta`, both optional.
absl::StatusOr<promql::QueryOptions> ParseQueryOptions(const http::Request& req,
                                                       const promql::Engine& engine) {
  promql::QueryOptions qo;
  if (std::optional<std::string_view> v = req.Param("timeout"); v.has_value() && !v->empty()) {
    absl::StatusOr<int64_t> d = ParseDuration(*v);
    if (!d.ok()) return InvalidParam("timeout", d.status());
    // The request's budget and the engine's own both apply, as context deadlines do in Go; a
    // zero or negative budget is already spent.
    int64_t t = std::max<int64_t>(*d, 1);
    int64_t engine_default = engine.options().timeout_ms;
    qo.timeout_ms = engine_default > 0 ? std::min(t, engine_default) : t;
  }
  if (std::optional<std::string_view> v = req.Param("lookback_delta");
      v.has_value() && !v->empty()) {
    absl::StatusOr<int64_t> d = ParseDuration(*v);
    if (!d.ok()) {
      return absl::InvalidArgumentError(
          Cat("error parsing lookback delta duration: ", Sv(d.status().message())));
    }
    qo.lookback_delta_ms = *d;  // <= 0 means the engine's default, as in Prometheus
  }
  return qo;
}

// Prometheus' Annotations.AsStrings(query, 10, 10): at most ten of each kind, then a count.
std::vector<std::string> CapAnnotations(std::vector<std::string> in, std::string_view kind) {
  constexpr size_t kMax = 10;
  if (in.size() <= kMax) return in;
  size_t skipped = in.size() - kMax;
  in.resize(kMax);
  in.push_back(Cat(skipped, " more ", kind, " annotations omitted"));
  return in;
}

// Prometheus' truncateResults: `limit` series of a vector or matrix (0 = all).
bool Truncate(promql::Value& value, int64_t limit) {
  if (limit <= 0) return false;
  auto cut = [limit](auto& series) {
    if (series.size() <= static_cast<size_t>(limit)) return false;
    series.resize(static_cast<size_t>(limit));
    return true;
  };
  if (auto* v = std::get_if<promql::Vector>(&value)) return cut(*v);
  if (auto* m = std::get_if<promql::Matrix>(&value)) return cut(*m);
  return false;
}

}  // namespace

storage::Storage& ReadApi::StorageFor(std::string_view tenant) const {
  static EmptyStorage* const kEmpty = new EmptyStorage();
  storage::Storage* db = config_.storage ? config_.storage(tenant) : nullptr;
  return db != nullptr ? *db : *kEmpty;
}

void ReadApi::Evaluate(const http::Request& req, http::Response& res, int64_t limit, bool range,
                       int64_t start_ms, int64_t end_ms, int64_t step_ms) const {
  if (config_.engine == nullptr) {
    return WriteApiError(res, ErrorType::kInternal, "no PromQL engine is configured");
  }
  absl::StatusOr<promql::QueryOptions> qo = ParseQueryOptions(req, *config_.engine);
  if (!qo.ok()) return WriteApiError(res, ErrorType::kBadData, Sv(qo.status().message()));
  absl::StatusOr<promql::ExprPtr> expr = promql::ParseExpr(req.Param("query").value_or(""));
  if (!expr.ok()) return WriteApiError(res, InvalidParam("query", expr.status()));
  absl::StatusOr<promql::Result> result =
      config_.engine->Exec(StorageFor(req.tenant), **expr, start_ms, end_ms, step_ms, range, *qo);
  if (!result.ok()) return WriteEngineError(res, result.status());
  if (Truncate(result->value, limit)) {
    result->warnings.emplace_back("results truncated due to limit");
  }
  WriteSuccess(res, QueryDataJson(result->value),
               CapAnnotations(std::move(result->warnings), "warning"),
               CapAnnotations(std::move(result->infos), "info"));
}

void ReadApi::Query(http::Request& req, http::Response& res) const {
  absl::StatusOr<int64_t> limit = ParseLimitParam(req.Param("limit"));
  if (!limit.ok()) return WriteApiError(res, limit.status());
  absl::StatusOr<int64_t> t = ParseTimeParam("time", req.Param("time"), config_.now_ms());
  if (!t.ok()) return WriteApiError(res, t.status());
  Evaluate(req, res, *limit, /*range=*/false, *t, *t, 0);
}

void ReadApi::QueryRange(http::Request& req, http::Response& res) const {
  absl::StatusOr<int64_t> limit = ParseLimitParam(req.Param("limit"));
  if (!limit.ok()) return WriteApiError(res, limit.status());
  // Unlike `time`, start/end/step have no defaults: a missing one is a parse error.
  absl::StatusOr<int64_t> start = ParseTime(req.Param("start").value_or(""));
  if (!start.ok()) return WriteApiError(res, InvalidParam("start", start.status()));
  absl::StatusOr<int64_t> end = ParseTime(req.Param("end").value_or(""));
  if (!end.ok()) return WriteApiError(res, InvalidParam("end", end.status()));
  if (*end < *start) {
    return WriteApiError(res, ErrorType::kBadData,
                         "invalid parameter \"end\": end timestamp must not be before start time");
  }
  absl::StatusOr<int64_t> step = ParseDuration(req.Param("step").value_or(""));
  if (!step.ok()) return WriteApiError(res, InvalidParam("step", step.status()));
  if (*step <= 0) {
    return WriteApiError(res, ErrorType::kBadData,
                         "invalid parameter \"step\": zero or negative query resolution step "
                         "widths are not accepted. Try a positive integer");
  }
  // For safety Prometheus caps the points per series (a week at 60 s, a year at 1 h).
  if ((*end - *start) / *step > 11000) {
    return WriteApiError(res, ErrorType::kBadData,
                         "exceeded maximum resolution of 11,000 points per timeseries. Try "
                         "decreasing the query resolution (?step=XX)");
  }
  Evaluate(req, res, *limit, /*range=*/true, *start, *end, *step);
}

void ReadApi::FormatQuery(http::Request& req, http::Response& res) const {
  absl::StatusOr<promql::ExprPtr> expr = promql::ParseExpr(req.Param("query").value_or(""));
  if (!expr.ok()) return WriteApiError(res, InvalidParam("query", expr.status()));
  std::string json;
  AppendJsonString(json, promql::Print(**expr));
  WriteSuccess(res, json);
}

void ReadApi::ParseQuery(http::Request& req, http::Response& res) const {
  absl::StatusOr<promql::ExprPtr> expr = promql::ParseExpr(req.Param("query").value_or(""));
  if (!expr.ok()) return WriteApiError(res, InvalidParam("query", expr.status()));
  WriteSuccess(res, promql::AstToJson(**expr));
}

}  // namespace xscaler::api
