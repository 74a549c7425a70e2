#include "api/envelope.h"

#include "api/json_writer.h"
#include "http/str.h"

namespace xscaler::api {

namespace {
constexpr std::string_view kJson = "application/json";
}  // namespace

std::string_view ErrorTypeName(ErrorType type) {
  switch (type) {
    case ErrorType::kBadData:
      return "bad_data";
    case ErrorType::kExecution:
      return "execution";
    case ErrorType::kTimeout:
      return "timeout";
    case ErrorType::kCanceled:
      return "canceled";
    case ErrorType::kInternal:
      return "internal";
    case ErrorType::kUnavailable:
      return "unavailable";
    case ErrorType::kNotFound:
      return "not_found";
    case ErrorType::kUnauthorized:
      return "unauthorized";
    case ErrorType::kForbidden:
      return "forbidden";
  }
  return "internal";
}

int HttpStatusFor(ErrorType type) {
  switch (type) {
    case ErrorType::kBadData:
      return 400;
    case ErrorType::kExecution:
      return 422;
    case ErrorType::kTimeout:
      return 503;
    case ErrorType::kCanceled:
      return 499;
    case ErrorType::kInternal:
      return 500;
    case ErrorType::kUnavailable:
      return 503;
    case ErrorType::kNotFound:
      return 404;
    case ErrorType::kUnauthorized:
      return 401;
    case ErrorType::kForbidden:
      return 403;
  }
  return 500;
}

ErrorType ErrorTypeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorType::kBadData;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorType::kTimeout;
    case absl::StatusCode::kCancelled:
      return ErrorType::kCanceled;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
      return ErrorType::kUnavailable;
    case absl::StatusCode::kNotFound:
      return ErrorType::kNotFound;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnknown:
      return ErrorType::kInternal;
    default:
      return ErrorType::kExecution;
  }
}

namespace {

void WriteError(http::Response& res, int status, std::string_view type, std::string_view msg) {
  JsonWriter w;
  w.BeginObject();
  w.StringField("status", "error");
  w.StringField("errorType", type);
  w.StringField("error", msg);
  w.EndObject();
  res.Set(status, std::string(kJson), w.Take());
}

}  // namespace

void WriteApiError(http::Response& res, ErrorType type, std::string_view message) {
  WriteError(res, HttpStatusFor(type), ErrorTypeName(type), message);
}

void WriteApiError(http::Response& res, const absl::Status& status) {
  WriteApiError(res, ErrorTypeFor(status), http::Sv(status.message()));
}

void WritePromError(const http::Request&, http::Response& res, int status,
                    std::string_view message) {
  ErrorType type = ErrorType::kBadData;
  switch (status) {
    case 401:
      type = ErrorType::kUnauthorized;
      break;
    case 403:
      type = ErrorType::kForbidden;
      break;
    case 404:
      type = ErrorType::kNotFound;
      break;
    case 422:
      type = ErrorType::kExecution;
      break;
    case 499:
      type = ErrorType::kCanceled;
      break;
    case 503:
      type = ErrorType::kUnavailable;
      break;
    default:
      if (status >= 500) type = ErrorType::kInternal;
  }
  // Keep the router's/middleware's status (e.g. 405, 413, 415): it is the more precise one.
  WriteError(res, status, ErrorTypeName(type), message);
}

void WriteSuccess(http::Response& res, std::string_view data_json,
                  const std::vector<std::string>& warnings, const std::vector<std::string>& infos) {
  std::string out;
  out.reserve(data_json.size() + 64);
  out.append("{\"status\":\"success\",\"data\":");
  out.append(data_json);
  auto list = [&out](std::string_view key, const std::vector<std::string>& items) {
    if (items.empty()) return;
    out.append(",\"").append(key).append("\":[");
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(out, items[i]);
    }
    out.push_back(']');
  };
  list("warnings", warnings);
  list("infos", infos);
  out.push_back('}');
  res.Set(200, std::string(kJson), std::move(out));
}

}  // namespace xscaler::api
