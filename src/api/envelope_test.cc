#include "api/envelope.h"

#include "gtest/gtest.h"

namespace xscaler::api {
namespace {

TEST(Envelope, SuccessWithoutAndWithWarnings) {
  http::Response res;
  WriteSuccess(res, "[]");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.body, "{\"status\":\"success\",\"data\":[]}");
  WriteSuccess(res, "{}", {"w\"1"}, {"i1", "i2"});
  EXPECT_EQ(res.body,
            "{\"status\":\"success\",\"data\":{},\"warnings\":[\"w\\\"1\"],"
            "\"infos\":[\"i1\",\"i2\"]}");
}

TEST(Envelope, ErrorTypesAndStatuses) {
  http::Response res;
  WriteApiError(res, ErrorType::kBadData, "bad \"x\"");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body,
            "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"bad \\\"x\\\"\"}");
  WriteApiError(res, ErrorType::kExecution, "e");
  EXPECT_EQ(res.status, 422);
  WriteApiError(res, ErrorType::kTimeout, "e");
  EXPECT_EQ(res.status, 503);
  WriteApiError(res, ErrorType::kCanceled, "e");
  EXPECT_EQ(res.status, 499);
  WriteApiError(res, absl::DeadlineExceededError("too slow"));
  EXPECT_EQ(res.status, 503);
  EXPECT_NE(res.body.find("\"timeout\""), std::string::npos);
  WriteApiError(res, absl::InternalError("boom"));
  EXPECT_EQ(res.status, 500);
}

TEST(Envelope, PromErrorWriterMapsStatus) {
  http::Request req;
  http::Response res;
  WritePromError(req, res, 401, "no token");
  EXPECT_EQ(res.status, 401);
  EXPECT_NE(res.body.find("\"errorType\":\"unauthorized\""), std::string::npos);
  WritePromError(req, res, 403, "no");
  EXPECT_NE(res.body.find("\"forbidden\""), std::string::npos);
  WritePromError(req, res, 405, "method");
  EXPECT_EQ(res.status, 405);
  EXPECT_NE(res.body.find("\"bad_data\""), std::string::npos);
}

}  // namespace
}  // namespace xscaler::api
