// The Prometheus API response envelope and its error mapping (docs/querying/api.md, api.go):
//   {"status":"success","data":<data>[,"warnings":[...]][,"infos":[...]]}
//   {"status":"error","errorType":"bad_data","error":"..."}
// errorType ↔ HTTP status: bad_data 400, execution 422, timeout 503, canceled 499, internal
// 500, unavailable 503, not_found 404; unauthorized 401 and forbidden 403 for our auth layer.
// Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "http/message.h"

namespace xscaler::api {

enum class ErrorType {
  kBadData,
  kExecution,
  kTimeout,
  kCanceled,
  kInternal,
  kUnavailable,
  kNotFound,
  kUnauthorized,
  kForbidden,
};

std::string_view ErrorTypeName(ErrorType type);
int HttpStatusFor(ErrorType type);
// InvalidArgument → bad_data, DeadlineExceeded → timeout, Cancelled → canceled,
// Unavailable/ResourceExhausted → unavailable, NotFound → not_found, Internal/DataLoss/Unknown
// → internal, anything else → execution.
ErrorType ErrorTypeFor(const absl::Status& status);

// Writes an error envelope with the type's HTTP status.
void WriteApiError(http::Response& res, ErrorType type, std::string_view message);
void WriteApiError(http::Response& res, const absl::Status& status);

// http::ErrorWriter for Prometheus-API routes: picks the errorType from the HTTP status that
// the router/middleware chose (401 → unauthorized, 403 → forbidden, 404 → not_found, 422 →
// execution, 499 → canceled, 503 → unavailable, 5xx → internal, other 4xx → bad_data).
void WritePromError(const http::Request& req, http::Response& res, int status,
                    std::string_view message);

// Writes a success envelope around already-encoded `data_json`.
void WriteSuccess(http::Response& res, std::string_view data_json,
                  const std::vector<std::string>& warnings = {},
                  const std::vector<std::string>& infos = {});

}  // namespace xscaler::api
