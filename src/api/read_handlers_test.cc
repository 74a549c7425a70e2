#include "api/read_handlers.h"

#include "api/fake_storage_test_util.h"
#include "gtest/gtest.h"

namespace xscaler::api {
namespace {

using testing::FakeStorage;

constexpr int64_t kT = 1'700'000'000'000;

class ReadApiTest : public ::testing::Test {
 protected:
  ReadApiTest() {
    acme_.Add({{"__name__", "http_requests_total"}, {"method", "GET"}, {"job", "svc"}}, kT - 10'000,
              5);
    acme_.Add({{"__name__", "http_requests_total"}, {"method", "POST"}, {"job", "svc"}},
              kT - 10'000, 0.005);
    acme_.Add({{"__name__", "job_queue_depth"}, {"job", "svc"}}, kT - 20'000, 3);
    acme_.SetMetadata("http_requests_total", {"counter", "", "Total HTTP requests"});
    acme_.SetMetadata("job_queue_depth", {"gauge", "", "Number of pending jobs"});
    other_.Add({{"__name__", "secret_metric"}, {"job", "x"}}, kT - 10'000, 1);
    ReadApiConfig cfg;
    cfg.storage = [this](std::string_view tenant) -> storage::Storage* {
      if (tenant == "acme") return &acme_;
      if (tenant == "other") return &other_;
      return nullptr;
    };
    cfg.parse_selector = &testing::ParseSelectorForTest;
    cfg.engine = &engine_;
    cfg.now_ms = [] { return kT; };
    cfg.build.version = "9.9.9";
    api_ = std::make_unique<ReadApi>(cfg);
  }

  http::Response Call(void (ReadApi::*fn)(http::Request&, http::Response&) const,
                      std::multimap<std::string, std::string> params, std::string tenant = "acme") {
    http::Request req;
    req.tenant = std::move(tenant);
    req.params = std::move(params);
    http::Response res;
    (api_.get()->*fn)(req, res);
    return res;
  }

  FakeStorage acme_, other_;
  promql::Engine engine_{promql::EngineOptions{}};
  std::unique_ptr<ReadApi> api_;
};

TEST_F(ReadApiTest, QueryInstantVector) {
  auto res = Call(&ReadApi::Query,
                  {{"query", "http_requests_total{method=\"POST\"}"}, {"time", "1700000000.5"}});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
            "{\"__name__\":\"http_requests_total\",\"job\":\"svc\",\"method\":\"POST\"},"
            "\"value\":[1700000000.500,\"0.005\"]}]}}");
}

TEST_F(ReadApiTest, QueryDefaultsToNow) {
  auto res = Call(&ReadApi::Query, {{"query", "job_queue_depth"}});
  EXPECT_NE(res.body.find("\"value\":[1700000000,\"3\"]"), std::string::npos) << res.body;
}

TEST_F(ReadApiTest, QueryErrors) {
  auto bad_time = Call(&ReadApi::Query, {{"query", "up"}, {"time", "x"}});
  EXPECT_EQ(bad_time.status, 400);
  EXPECT_EQ(bad_time.body,
            "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
            "\\\"time\\\": cannot parse \\\"x\\\" to a valid timestamp\"}");
  auto bad_query = Call(&ReadApi::Query, {{"query", "up{"}});
  EXPECT_EQ(bad_query.status, 400);
  EXPECT_NE(bad_query.body.find("invalid parameter \\\"query\\\""), std::string::npos);
  auto empty_matchers = Call(&ReadApi::Query, {{"query", "{job=~\".*\"}"}}, "nobody");
  EXPECT_EQ(empty_matchers.status, 400);
}

TEST_F(ReadApiTest, TenantsAreIsolated) {
  auto res = Call(&ReadApi::Query, {{"query", "secret_metric"}});
  EXPECT_EQ(res.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}");
  auto unknown = Call(&ReadApi::Series, {{"match[]", "secret_metric"}}, "nobody");
  EXPECT_EQ(unknown.body, "{\"status\":\"success\",\"data\":[]}");
  auto names = Call(&ReadApi::LabelValues, {}, "other");
  EXPECT_EQ(names.status, 400);  // no path param
}

TEST_F(ReadApiTest, SeriesMergesMatchSetsSorted) {
  auto res = Call(&ReadApi::Series, {{"match[]", "job_queue_depth"},
                                     {"match[]", "http_requests_total{method=\"GET\"}"},
                                     {"match[]", "job_queue_depth"}});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body,
            "{\"status\":\"success\",\"data\":[{\"__name__\":\"http_requests_total\",\"job\":"
            "\"svc\",\"method\":\"GET\"},{\"__name__\":\"job_queue_depth\",\"job\":\"svc\"}]}");
}

TEST_F(ReadApiTest, SeriesRequiresMatchAndHonoursRangeAndLimit) {
  auto none = Call(&ReadApi::Series, {});
  EXPECT_EQ(none.status, 400);
  EXPECT_NE(none.body.find("no match[] parameter provided"), std::string::npos);
  auto out_of_range =
      Call(&ReadApi::Series, {{"match[]", "job_queue_depth"}, {"start", "1700000001"}});
  EXPECT_EQ(out_of_range.body, "{\"status\":\"success\",\"data\":[]}");
  auto limited = Call(&ReadApi::Series, {{"match[]", "{job=\"svc\"}"}, {"limit", "1"}});
  EXPECT_NE(limited.body.find("\"warnings\":[\"results truncated due to limit\"]"),
            std::string::npos);
  auto bad_end = Call(&ReadApi::Series, {{"match[]", "up"}, {"end", "nope"}});
  EXPECT_EQ(bad_end.status, 400);
  auto empty_matcher = Call(&ReadApi::Series, {{"match[]", "{job=~\".*\"}"}});
  EXPECT_EQ(empty_matcher.status, 400);
}

TEST_F(ReadApiTest, LabelsAndValues) {
  EXPECT_EQ(Call(&ReadApi::Labels, {}).body,
            "{\"status\":\"success\",\"data\":[\"__name__\",\"job\",\"method\"]}");
  EXPECT_EQ(Call(&ReadApi::Labels, {{"match[]", "job_queue_depth"}}).body,
            "{\"status\":\"success\",\"data\":[\"__name__\",\"job\"]}");
  http::Request req;
  req.tenant = "acme";
  req.path_params["name"] = "__name__";
  http::Response res;
  api_->LabelValues(req, res);
  EXPECT_EQ(res.body,
            "{\"status\":\"success\",\"data\":[\"http_requests_total\",\"job_queue_depth\"]}");
  req.path_params["name"] = "method";
  req.params.emplace("match[]", "http_requests_total");
  req.params.emplace("limit", "1");
  api_->LabelValues(req, res);
  EXPECT_EQ(res.body,
            "{\"status\":\"success\",\"data\":[\"GET\"],\"warnings\":[\"results truncated due "
            "to limit\"]}");
}

TEST_F(ReadApiTest, Metadata) {
  EXPECT_EQ(Call(&ReadApi::Metadata, {{"metric", "job_queue_depth"}}).body,
            "{\"status\":\"success\",\"data\":{\"job_queue_depth\":[{\"type\":\"gauge\",\"help\":"
            "\"Number of pending jobs\",\"unit\":\"\"}]}}");
  auto all = Call(&ReadApi::Metadata, {});
  EXPECT_NE(all.body.find("\"http_requests_total\":[{\"type\":\"counter\""), std::string::npos);
  EXPECT_EQ(Call(&ReadApi::Metadata, {{"limit", "1"}}).body.find("job_queue_depth"),
            std::string::npos);
  EXPECT_EQ(Call(&ReadApi::Metadata, {}, "nobody").body, "{\"status\":\"success\",\"data\":{}}");
  EXPECT_EQ(Call(&ReadApi::Metadata, {{"limit", "x"}}).status, 400);
}

TEST_F(ReadApiTest, BuildInfoHasNoFeatures) {
  auto res = Call(&ReadApi::StatusBuildInfo, {});
  EXPECT_EQ(res.body,
            "{\"status\":\"success\",\"data\":{\"version\":\"9.9.9\",\"revision\":\"unknown\","
            "\"branch\":\"main\",\"buildUser\":\"unknown\",\"buildDate\":\"unknown\","
            "\"goVersion\":\"none (C++20)\"}}");
}

TEST_F(ReadApiTest, ExemplarsEmpty) {
  auto res = Call(&ReadApi::QueryExemplars,
                  {{"query", "test"}, {"start", "1700000000"}, {"end", "1700001800"}});
  EXPECT_EQ(res.body, "{\"status\":\"success\",\"data\":[]}");
}

}  // namespace
}  // namespace xscaler::api
