#include "http/router.h"

#include "gtest/gtest.h"

namespace xscaler::http {
namespace {

void JsonError(const Request&, Response& res, int status, std::string_view msg) {
  res.Set(status, "application/json", "{\"error\":\"" + std::string(msg) + "\"}");
}

Request Make(std::string method, std::string path) {
  Request req;
  req.method = std::move(method);
  req.path = std::move(path);
  return req;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Handle("/api/v1/query", {"GET", "POST"},
                   [](Request&, Response& res) { res.Set(200, "text/plain", "query"); }, &JsonError,
                   {.prometheus_alias = true});
    router_.Handle("/api/v1/label/{name}/values", {"GET"},
                   [](Request& req, Response& res) {
                     res.Set(200, "text/plain", "values of " + req.path_params["name"]);
                   },
                   &JsonError, {.prometheus_alias = true});
    router_.Handle(
        "/api/v1/push", {"POST"}, [](Request&, Response& res) { res.Set(204, "", ""); }, nullptr);
  }
  Response Run(std::string method, std::string path) {
    Request req = Make(std::move(method), std::move(path));
    Response res;
    router_.Dispatch(req, res);
    return res;
  }
  Router router_;
};

TEST_F(RouterTest, ExactAndAliasedPaths) {
  EXPECT_EQ(Run("GET", "/api/v1/query").body, "query");
  EXPECT_EQ(Run("POST", "/prometheus/api/v1/query").body, "query");
  EXPECT_EQ(Run("HEAD", "/api/v1/query").status, 200);
}

TEST_F(RouterTest, PushIsNotAliased) {
  EXPECT_EQ(Run("POST", "/api/v1/push").status, 204);
  EXPECT_EQ(Run("POST", "/prometheus/api/v1/push").status, 404);
}

TEST_F(RouterTest, CapturesSegments) {
  EXPECT_EQ(Run("GET", "/api/v1/label/job/values").body, "values of job");
  EXPECT_EQ(Run("GET", "/prometheus/api/v1/label/__name__/values").body, "values of __name__");
  EXPECT_EQ(Run("GET", "/api/v1/label//values").status, 404);
  EXPECT_EQ(Run("GET", "/api/v1/label/a/b/values").status, 404);
}

TEST_F(RouterTest, WrongMethodIs405WithAllowInRouteFormat) {
  Response res = Run("DELETE", "/api/v1/query");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.content_type, "application/json");
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].first, "Allow");
  EXPECT_EQ(res.headers[0].second, "GET, POST");
  EXPECT_NE(res.body.find("DELETE"), std::string::npos);

  Response push = Run("GET", "/api/v1/push");
  EXPECT_EQ(push.status, 405);
  EXPECT_EQ(push.content_type, "text/plain; charset=utf-8");
}

TEST_F(RouterTest, UnknownPathIs404) {
  Response res = Run("GET", "/nope");
  EXPECT_EQ(res.status, 404);
  EXPECT_NE(res.body.find("/nope"), std::string::npos);
}

TEST_F(RouterTest, ErrorWriterForPath) {
  EXPECT_EQ(router_.ErrorWriterFor("/prometheus/api/v1/query"), &JsonError);
  EXPECT_EQ(router_.ErrorWriterFor("/api/v1/push"), &WriteTextError);
  EXPECT_EQ(router_.ErrorWriterFor("/unknown"), &WriteTextError);
}

}  // namespace
}  // namespace xscaler::http
