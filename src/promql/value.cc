#include "promql/value.h"

namespace xscaler::promql {

ErrorKind KindOf(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorKind::kBadData;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorKind::kTimeout;
    case absl::StatusCode::kCancelled:
      return ErrorKind::kCanceled;
    default:
      return ErrorKind::kExecution;
  }
}

std::string_view ErrorKindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::kBadData:
      return "bad_data";
    case ErrorKind::kExecution:
      return "execution";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kCanceled:
      return "canceled";
  }
  return "execution";
}

}  // namespace xscaler::promql
