// Golden tests of /api/v1/query, query_range, format_query and parse_query at the handler
// level, with the real PromQL engine over an in-memory storage.
#include <thread>

#include "api/fake_storage_test_util.h"
#include "api/read_handlers.h"
#include "gtest/gtest.h"

namespace xscaler::api {
namespace {

using testing::FakeStorage;

constexpr int64_t kT = 1'700'000'000'000;

std::string Ok(std::string_view data) {
  return "{\"status\":\"success\",\"data\":" + std::string(data) + "}";
}
std::string Err(std::string_view type, std::string_view msg) {
  return "{\"status\":\"error\",\"errorType\":\"" + std::string(type) + "\",\"error\":\"" +
         std::string(msg) + "\"}";
}

// A storage whose selections fail with `status` (after `delay`), standing in for a broken or
// slow TSDB.
class FailingStorage : public storage::Storage {
 public:
  absl::Status status = absl::OkStatus();
  std::chrono::milliseconds delay{0};

  std::unique_ptr<storage::Appender> NewAppender() override { return nullptr; }
  std::map<std::string, storage::MetricMetadata> Metadata() const override { return {}; }
  std::unique_ptr<storage::Querier> NewQuerier(int64_t, int64_t) override {
    return std::make_unique<Q>(this);
  }

 private:
  struct One : storage::Series {
    labels::Labels l{{"__name__", "m"}};
    const labels::Labels& Labels() const override { return l; }
    std::unique_ptr<storage::SampleIterator> Iterator() const override {
      struct It : storage::SampleIterator {
        bool Next() override { return false; }
        bool Seek(int64_t) override { return false; }
        std::pair<int64_t, double> At() const override { return {0, 0}; }
      };
      return std::make_unique<It>();
    }
  };
  struct Set : storage::SeriesSet {
    explicit Set(FailingStorage* db) : db(db) {}
    FailingStorage* db;
    One one;
    int n = 0;
    bool Next() override {
      std::this_thread::sleep_for(db->delay);
      return db->status.ok() && n++ < 3;
    }
    const storage::Series& At() const override { return one; }
    absl::Status Err() const override { return db->status; }
  };
  struct Q : storage::Querier {
    explicit Q(FailingStorage* db) : db(db) {}
    FailingStorage* db;
    std::unique_ptr<storage::SeriesSet> Select(std::span<const labels::Matcher>) override {
      return std::make_unique<Set>(db);
    }
    absl::StatusOr<std::vector<std::string>> LabelNames(std::span<const labels::Matcher>) override {
      return std::vector<std::string>{};
    }
    absl::StatusOr<std::vector<std::string>> LabelValues(
        const std::string&, std::span<const labels::Matcher>) override {
      return std::vector<std::string>{};
    }
  };
};

class QueryApiTest : public ::testing::Test {
 protected:
  QueryApiTest() {
    // Counters growing 1/s (GET) and 2/s (POST), sampled every 15 s for 10 minutes up to kT.
    for (int64_t t = kT - 600'000; t <= kT; t += 15'000) {
      double secs = static_cast<double>(t - (kT - 600'000)) / 1000;
      acme_.Add({{"__name__", "http_requests_total"}, {"job", "svc"}, {"method", "GET"}}, t, secs);
      acme_.Add({{"__name__", "http_requests_total"}, {"job", "svc"}, {"method", "POST"}}, t,
                2 * secs);
    }
    acme_.Add({{"__name__", "job_queue_depth"}, {"job", "svc"}}, kT - 40'000, 3);
    acme_.Add({{"__name__", "job_queue_depth"}, {"job", "svc"}}, kT - 10'000, 4.5);
    other_.Add({{"__name__", "secret_metric"}, {"job", "x"}}, kT - 10'000, 1);
    ReadApiConfig cfg;
    cfg.storage = [this](std::string_view tenant) -> storage::Storage* {
      if (tenant == "acme") return &acme_;
      if (tenant == "other") return &other_;
      if (tenant == "broken") return &broken_;
      return nullptr;
    };
    cfg.parse_selector = &testing::ParseSelectorForTest;
    cfg.engine = &engine_;
    cfg.now_ms = [] { return kT; };
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
  http::Response Instant(std::string q, std::string tenant = "acme",
                         std::multimap<std::string, std::string> extra = {}) {
    extra.emplace("query", std::move(q));
    return Call(&ReadApi::Query, std::move(extra), std::move(tenant));
  }
  http::Response Range(std::string q, std::string start, std::string end, std::string step,
                       std::string tenant = "acme") {
    return Call(&ReadApi::QueryRange,
                {{"query", q}, {"start", start}, {"end", end}, {"step", step}}, tenant);
  }

  FakeStorage acme_, other_;
  FailingStorage broken_;
  promql::Engine engine_{promql::EngineOptions{}};
  std::unique_ptr<ReadApi> api_;
};

TEST_F(QueryApiTest, GrafanaHealthCheckIsAScalar) {
  auto res = Instant("1+1");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, Ok("{\"resultType\":\"scalar\",\"result\":[1700000000,\"2\"]}"));
  // Also for a tenant that has never written anything.
  EXPECT_EQ(Instant("1+1", "nobody").body,
            Ok("{\"resultType\":\"scalar\",\"result\":[1700000000,\"2\"]}"));
}

TEST_F(QueryApiTest, UnknownTenantStillEvaluates) {
  EXPECT_EQ(Instant("vector(1)", "nobody").body,
            Ok("{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1700000000,"
               "\"1\"]}]}"));
  EXPECT_EQ(Call(&ReadApi::Query, {{"query", "time()"}, {"time", "1700000000.25"}}, "nobody").body,
            Ok("{\"resultType\":\"scalar\",\"result\":[1700000000.250,\"1700000000.25\"]}"));
  EXPECT_EQ(Instant("http_requests_total", "nobody").body,
            Ok("{\"resultType\":\"vector\",\"result\":[]}"));
}

TEST_F(QueryApiTest, StringResult) {
  EXPECT_EQ(
      Call(&ReadApi::Query, {{"query", "\"hello \\\"x\\\"\""}, {"time", "1700000000.5"}}).body,
      Ok("{\"resultType\":\"string\",\"result\":[1700000000.500,\"hello \\\"x\\\"\"]}"));
}

TEST_F(QueryApiTest, InstantVectorAndDefaultTime) {
  EXPECT_EQ(Instant("job_queue_depth").body,
            Ok("{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":"
               "\"job_queue_depth\",\"job\":\"svc\"},\"value\":[1700000000,\"4.5\"]}]}"));
  EXPECT_EQ(Instant("round(sum by (job) (rate(http_requests_total[1m])))").body,
            Ok("{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"svc\"},\"value\":"
               "[1700000000,\"3\"]}]}"));
}

TEST_F(QueryApiTest, RangeVectorIsAMatrix) {
  EXPECT_EQ(Instant("job_queue_depth[1m]").body,
            Ok("{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"__name__\":"
               "\"job_queue_depth\",\"job\":\"svc\"},\"values\":[[1699999960,\"3\"],"
               "[1699999990,\"4.5\"]]}]}"));
}

TEST_F(QueryApiTest, TimeAndLookbackParameters) {
  EXPECT_EQ(
      Call(&ReadApi::Query, {{"query", "job_queue_depth"}, {"time", "2023-11-14T22:12:50Z"}}).body,
      Ok("{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":"
         "\"job_queue_depth\",\"job\":\"svc\"},\"value\":[1699999970,\"3\"]}]}"));
  // 6 minutes after the last sample: gone with the default 5 m lookback, back with 10 m.
  EXPECT_EQ(Instant("job_queue_depth", "acme", {{"time", "1700000350"}}).body,
            Ok("{\"resultType\":\"vector\",\"result\":[]}"));
  EXPECT_NE(Instant("job_queue_depth", "acme", {{"time", "1700000350"}, {"lookback_delta", "10m"}})
                .body.find("\"value\":[1700000350,\"4.5\"]"),
            std::string::npos);
  auto bad_lookback = Instant("job_queue_depth", "acme", {{"lookback_delta", "abc"}});
  EXPECT_EQ(bad_lookback.status, 400);
  EXPECT_EQ(bad_lookback.body,
            Err("bad_data",
                "error parsing lookback delta duration: cannot parse \\\"abc\\\" to a valid "
                "duration"));
  auto bad_timeout = Instant("1", "acme", {{"timeout", "soon"}});
  EXPECT_EQ(bad_timeout.status, 400);
  EXPECT_EQ(
      bad_timeout.body,
      Err("bad_data",
          "invalid parameter \\\"timeout\\\": cannot parse \\\"soon\\\" to a valid duration"));
  EXPECT_EQ(Instant("1", "acme", {{"timeout", "30s"}}).status, 200);
  auto bad_time = Instant("1", "acme", {{"time", "yesterday"}});
  EXPECT_EQ(bad_time.status, 400);
  EXPECT_EQ(bad_time.body, Err("bad_data",
                               "invalid parameter \\\"time\\\": cannot parse \\\"yesterday\\\" "
                               "to a valid timestamp"));
}

TEST_F(QueryApiTest, InfosAndWarningsReachTheEnvelope) {
  auto res = Instant("rate(job_queue_depth[1m])");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{"
            "\"metric\":{\"job\":\"svc\"},\"value\":[1700000000,\"0.05\"]}]},\"infos\":["
            "\"PromQL info: metric might not be a counter, name does not end in "
            "_total/_sum/_count/_bucket: \\\"job_queue_depth\\\"\"]}");
  auto warned = Instant("quantile(2, job_queue_depth)");
  EXPECT_EQ(warned.status, 200);
  EXPECT_NE(warned.body.find("]},\"warnings\":[\"PromQL warning: quantile value should be "
                             "between 0 and 1, got 2"),
            std::string::npos)
      << warned.body;
}

TEST_F(QueryApiTest, ParseErrorsAreBadData) {
  auto res = Instant("sum(up");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body.rfind("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
                           "\"invalid parameter \\\"query\\\": 1:7: parse error: ",
                           0),
            0u)
      << res.body;
  auto empty_matcher = Instant("{job=~\".*\"}", "nobody");
  EXPECT_EQ(empty_matcher.status, 400);
  EXPECT_NE(empty_matcher.body.find("at least one non-empty matcher"), std::string::npos);
  EXPECT_EQ(Call(&ReadApi::Query, {}).status, 400);
}

TEST_F(QueryApiTest, ErrorKindsMapToStatusCodes) {
  // execution: duplicate label sets after label_replace.
  auto exec = Instant("label_replace(http_requests_total, \"method\", \"x\", \"\", \"\")");
  EXPECT_EQ(exec.status, 422);
  EXPECT_EQ(exec.body, Err("execution", "vector cannot contain metrics with the same labelset"));

  broken_.status = absl::DataLossError("chunk 7 is corrupt");
  auto internal = Instant("m", "broken");
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(internal.body, Err("internal", "chunk 7 is corrupt"));

  broken_.status = absl::CancelledError("query was canceled");
  auto canceled = Instant("m", "broken");
  EXPECT_EQ(canceled.status, 499);
  EXPECT_EQ(canceled.body, Err("canceled", "query was canceled"));

  broken_.status = absl::UnknownError("disk read failed");
  EXPECT_EQ(Instant("m", "broken").status, 422);
}

TEST_F(QueryApiTest, TimeoutParameterBoundsEvaluation) {
  // Each series takes 5 ms to read; the 1 ms budget is spent before the second one.
  broken_.delay = std::chrono::milliseconds(5);
  auto res = Call(&ReadApi::Query, {{"query", "m"}, {"timeout", "0.001"}}, "broken");
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body, Err("timeout", "query timed out in expression evaluation"));
}

TEST_F(QueryApiTest, QueryRangeMatrixSortedByLabels) {
  auto res = Range("http_requests_total", "1699999940", "1700000000", "30s");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body,
            Ok("{\"resultType\":\"matrix\",\"result\":["
               "{\"metric\":{\"__name__\":\"http_requests_total\",\"job\":\"svc\",\"method\":"
               "\"GET\"},\"values\":[[1699999940,\"540\"],[1699999970,\"570\"],[1700000000,"
               "\"600\"]]},"
               "{\"metric\":{\"__name__\":\"http_requests_total\",\"job\":\"svc\",\"method\":"
               "\"POST\"},\"values\":[[1699999940,\"1080\"],[1699999970,\"1140\"],[1700000000,"
               "\"1200\"]]}]}"));
  // A scalar expression is one series without labels.
  EXPECT_EQ(Range("1+1", "1700000000", "1700000030", "15", "nobody").body,
            Ok("{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1700000000,"
               "\"2\"],[1700000015,\"2\"],[1700000030,\"2\"]]}]}"));
  EXPECT_EQ(Range("round(sum by (job) (rate(http_requests_total[1m])))", "2023-11-14T22:12:20Z",
                  "1700000000", "30s")
                .body,
            Ok("{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"job\":\"svc\"},\"values\":"
               "[[1699999940,\"3\"],[1699999970,\"3\"],[1700000000,\"3\"]]}]}"));
}

TEST_F(QueryApiTest, QueryRangeValidation) {
  auto zero = Range("up", "1", "2", "0");
  EXPECT_EQ(zero.status, 400);
  EXPECT_EQ(zero.body, Err("bad_data",
                           "invalid parameter \\\"step\\\": zero or negative query resolution "
                           "step widths are not accepted. Try a positive integer"));
  EXPECT_EQ(Range("up", "1", "2", "-5s").status, 400);
  EXPECT_EQ(Range("up", "1", "2", "-5").body, zero.body);
  auto many = Range("up", "0", "11001", "1");
  EXPECT_EQ(many.status, 400);
  EXPECT_EQ(many.body, Err("bad_data",
                           "exceeded maximum resolution of 11,000 points per timeseries. Try "
                           "decreasing the query resolution (?step=XX)"));
  auto backwards = Range("up", "10", "5", "1");
  EXPECT_EQ(backwards.status, 400);
  EXPECT_EQ(backwards.body,
            Err("bad_data",
                "invalid parameter \\\"end\\\": end timestamp must not be before start time"));
  auto no_start = Call(&ReadApi::QueryRange, {{"query", "up"}, {"end", "5"}, {"step", "1"}});
  EXPECT_EQ(no_start.body, Err("bad_data",
                               "invalid parameter \\\"start\\\": cannot parse \\\"\\\" to a "
                               "valid timestamp"));
  auto bad_step = Range("up", "1", "2", "often");
  EXPECT_EQ(bad_step.body, Err("bad_data",
                               "invalid parameter \\\"step\\\": cannot parse \\\"often\\\" to a "
                               "valid duration"));
  auto range_expr = Range("job_queue_depth[1m]", "1", "2", "1");
  EXPECT_EQ(range_expr.status, 400);
  EXPECT_EQ(range_expr.body,
            Err("bad_data",
                "invalid parameter \\\"query\\\": invalid expression type \\\"range vector\\\" "
                "for range query, must be Scalar or instant Vector"));
}

TEST_F(QueryApiTest, LimitTruncatesSeriesWithAWarning) {
  auto res = Instant("http_requests_total", "acme", {{"limit", "1"}, {"time", "1700000000"}});
  EXPECT_EQ(res.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{"
            "\"metric\":{\"__name__\":\"http_requests_total\",\"job\":\"svc\",\"method\":"
            "\"GET\"},\"value\":[1700000000,\"600\"]}]},\"warnings\":[\"results truncated due "
            "to limit\"]}");
  auto range = Call(&ReadApi::QueryRange, {{"query", "http_requests_total"},
                                           {"start", "1700000000"},
                                           {"end", "1700000000"},
                                           {"step", "1"},
                                           {"limit", "1"}});
  EXPECT_NE(range.body.find("\"method\":\"GET\""), std::string::npos) << range.body;
  EXPECT_EQ(range.body.find("\"method\":\"POST\""), std::string::npos) << range.body;
  EXPECT_NE(range.body.find("results truncated due to limit"), std::string::npos);
  // Within the limit, or not a series result: no warning.
  EXPECT_EQ(Instant("http_requests_total", "acme", {{"limit", "2"}}).body.find("truncated"),
            std::string::npos);
  EXPECT_EQ(Instant("1", "acme", {{"limit", "1"}}).body,
            Ok("{\"resultType\":\"scalar\",\"result\":[1700000000,\"1\"]}"));
  auto bad = Instant("1", "acme", {{"limit", "-1"}, {"time", "x"}});  // limit is checked first
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body,
            Err("bad_data", "invalid parameter \\\"limit\\\": limit must be non-negative"));
}

TEST_F(QueryApiTest, TenantsAreIsolated) {
  EXPECT_EQ(Instant("secret_metric").body, Ok("{\"resultType\":\"vector\",\"result\":[]}"));
  EXPECT_EQ(Instant("count({__name__=~\".+\"})", "other").body,
            Ok("{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1700000000,"
               "\"1\"]}]}"));
  EXPECT_EQ(Range("secret_metric", "1699999990", "1700000000", "10").body,
            Ok("{\"resultType\":\"matrix\",\"result\":[]}"));
  EXPECT_EQ(Range("{__name__=~\".+\"}", "1699999990", "1700000000", "10", "nobody").body,
            Ok("{\"resultType\":\"matrix\",\"result\":[]}"));
}

TEST_F(QueryApiTest, FormatQuery) {
  auto res =
      Call(&ReadApi::FormatQuery, {{"query", "sum(rate(foo{a=\"b\"}[5m]))by(job)"}}, "nobody");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, Ok("\"sum by (job) (rate(foo{a=\\\"b\\\"}[5m]))\""));
  auto bad = Call(&ReadApi::FormatQuery, {{"query", "foo +"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("invalid parameter \\\"query\\\": "), std::string::npos) << bad.body;
}

TEST_F(QueryApiTest, ParseQuery) {
  auto res = Call(&ReadApi::ParseQuery, {{"query", "1 + 2"}}, "nobody");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, Ok("{\"bool\":false,\"lhs\":{\"type\":\"numberLiteral\",\"val\":\"1\"},"
                         "\"matching\":null,\"op\":\"+\",\"rhs\":{\"type\":\"numberLiteral\","
                         "\"val\":\"2\"},\"type\":\"binaryExpr\"}"));
  EXPECT_EQ(Call(&ReadApi::ParseQuery, {{"query", "up{"}}).status, 400);
}

TEST_F(QueryApiTest, NoEngineIsAnInternalError) {
  ReadApiConfig cfg;
  cfg.storage = [](std::string_view) -> storage::Storage* { return nullptr; };
  ReadApi api(cfg);
  http::Request req;
  req.params.emplace("query", "1");
  http::Response res;
  api.Query(req, res);
  EXPECT_EQ(res.status, 500);
}

}  // namespace
}  // namespace xscaler::api
