// End to end through the real server, router, middleware, OTLP ingester and remote-write
// decoder, with an in-memory storage per tenant.
#include "api/routes.h"

#include <snappy.h>
#include <zlib.h>

#include <atomic>
#include <cstring>
#include <map>

#include "api/fake_storage_test_util.h"
#include "gtest/gtest.h"
#include "http/raw_client_test_util.h"
#include "http/server.h"
#include "http/str.h"
#include "tenant/tenant_id.h"

namespace xscaler::api {
namespace {

using http::Cat;
using http::testing::Client;

// --- tiny protobuf encoder for prometheus.WriteRequest ---
void Varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void Bytes(std::string& out, int field, std::string_view b) {
  Varint(out, (field << 3) | 2);
  Varint(out, b.size());
  out.append(b);
}
std::string WriteRequest(const std::vector<std::pair<std::string, std::string>>& labels,
                         const std::vector<std::pair<int64_t, double>>& samples) {
  std::string ts;
  for (const auto& [n, v] : labels) {
    std::string l;
    Bytes(l, 1, n);
    Bytes(l, 2, v);
    Bytes(ts, 1, l);
  }
  for (const auto& [t, v] : samples) {
    std::string s;
    Varint(s, (1 << 3) | 1);
    char buf[8];
    std::memcpy(buf, &v, 8);
    s.append(buf, 8);
    Varint(s, 2 << 3);
    Varint(s, static_cast<uint64_t>(t));
    Bytes(ts, 2, s);
  }
  std::string req;
  Bytes(req, 1, ts);
  std::string compressed;
  snappy::Compress(req.data(), req.size(), &compressed);
  return compressed;
}

std::string Gzip(std::string_view in) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = in.size();
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = out.size();
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

constexpr std::string_view kOtlpJson = R"({"resourceMetrics":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"svc"}}]},"scopeMetrics":[{"scope":{"name":
  "my-service","version":"1.0.0"},"metrics":[{"name":"job_queue_depth","unit":"1",
  "description":"Number of pending jobs in queue","sum":{"aggregationTemporality":2,
  "isMonotonic":false,"dataPoints":[{"asInt":"3","timeUnixNano":"1700000000000000000"}]}}]}]}]})";

struct TenantState {
  api::testing::FakeStorage db;
  std::unique_ptr<ingest::otlp::Ingester> otlp;
  tenant::IngestionLog log;
};

class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto auth = std::make_shared<http::AuthConfig>();
    auth->authenticate = [](std::string_view token) -> std::optional<http::Grant> {
      if (token == "w-acme") return http::Grant{"tok_w", "acme", true, true};
      if (token == "r-acme") return http::Grant{"tok_r", "acme", true, false};
      if (token == "w-beta") return http::Grant{"tok_b", "beta", true, true};
      return std::nullopt;
    };
    auth->validate_tenant = &tenant::ValidateTenantId;
    ApiServices s;
    s.auth = auth;
    s.read.storage = [this](std::string_view t) -> storage::Storage* {
      auto it = tenants_.find(std::string(t));
      return it == tenants_.end() ? nullptr : &it->second->db;
    };
    s.read.parse_selector = &api::testing::ParseSelectorForTest;
    s.read.engine = &engine_;
    s.read.now_ms = [] { return int64_t{1'700'000'000'000}; };
    s.ingest.get_or_create = [this](std::string_view t) -> absl::StatusOr<IngestTarget> {
      std::lock_guard<std::mutex> lock(mu_);
      auto& state = tenants_[std::string(t)];
      if (!state) {
        state = std::make_unique<TenantState>();
        state->otlp = std::make_unique<ingest::otlp::Ingester>(&state->db,
                                                               ingest::otlp::TranslationOptions{});
      }
      return IngestTarget{&state->db, state->otlp.get(), &state->log};
    };
    s.ingest.find_log = [this](std::string_view t) -> tenant::IngestionLog* {
      auto it = tenants_.find(std::string(t));
      return it == tenants_.end() ? nullptr : &it->second->log;
    };
    s.tsdb.status = [this](std::string_view t, size_t limit) -> absl::StatusOr<TsdbStatus> {
      if (tenants_.find(std::string(t)) == tenants_.end()) return absl::NotFoundError("none");
      TsdbStatus st;
      st.num_series = 1;
      st.series_count_by_metric_name = {{"job_queue_depth", 1}};
      st.blocks = {{.ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV", .min_time = 0, .max_time = 7200000}};
      st.quarantined = {{.dir = "quarantine/X", .error = "chunks crc mismatch"}};
      last_status_limit_ = limit;
      return st;
    };
    s.tsdb.flush = [this](std::string_view t) -> absl::StatusOr<size_t> {
      if (t == "full") return absl::ResourceExhaustedError("write x: No space left on device");
      if (tenants_.find(std::string(t)) == tenants_.end()) return absl::NotFoundError("none");
      ++flushes_;
      return 3;
    };
    s.ready = [this] { return ready_.load(); };
    RegisterRoutes(router_, s);
    http::ServerOptions opts;
    opts.host = "127.0.0.1";
    opts.port = 0;
    opts.access_log = false;
    server_ = std::make_unique<http::Server>(opts, router_);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override { server_->Stop(); }

  Client::Reply Send(std::string_view method, std::string_view path, std::string_view body,
                     std::string_view headers) {
    Client c(server_->port());
    auto r =
        c.RoundTrip(Cat(method, " ", path, " HTTP/1.1\r\nHost: x\r\nContent-Length: ", body.size(),
                        "\r\n", headers, "\r\n", body));
    EXPECT_TRUE(r.has_value());
    return r.value_or(Client::Reply{});
  }
  Client::Reply Get(std::string_view path, std::string_view token = "w-acme",
                    std::string_view tenant = "acme") {
    return Send("GET", path, "",
                Cat("Authorization: Bearer ", token, "\r\nX-Scope-OrgID: ", tenant, "\r\n"));
  }
  Client::Reply PushOtlp(std::string_view body, std::string_view extra = "",
                         std::string_view token = "w-acme", std::string_view tenant = "acme") {
    return Send("POST", "/otlp/v1/metrics", body,
                Cat("Authorization: Bearer ", token, "\r\nX-Scope-OrgID: ", tenant,
                    "\r\nContent-Type: application/json\r\n", extra));
  }
  Client::Reply PushRw(std::string_view body, std::string_view tenant = "acme",
                       std::string_view token = "w-acme") {
    return Send("POST", "/api/v1/push", body,
                Cat("Authorization: Bearer ", token, "\r\nX-Scope-OrgID: ", tenant,
                    "\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
                    "X-Prometheus-Remote-Write-Version: 0.1.0\r\nUser-Agent: test-agent\r\n"));
  }

  std::mutex mu_;
  std::map<std::string, std::unique_ptr<TenantState>> tenants_;
  std::atomic<bool> ready_{true};
  size_t last_status_limit_ = 0;
  int flushes_ = 0;
  promql::Engine engine_{promql::EngineOptions{}};
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

bool Has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

TEST_F(RoutesTest, OtlpJsonPushThenQueryBack) {
  auto push = PushOtlp(kOtlpJson);
  EXPECT_EQ(push.status, 200) << push.body;
  EXPECT_EQ(push.Header("content-type"), "application/json");
  EXPECT_EQ(push.body, "{}");
  auto q = Get("/prometheus/api/v1/query?query=job_queue_depth&time=1700000000");
  EXPECT_EQ(q.status, 200);
  EXPECT_TRUE(Has(q.body, "\"value\":[1700000000,\"3\"]")) << q.body;
  EXPECT_TRUE(Has(q.body, "\"job\":\"svc\"")) << q.body;
  auto md = Get("/api/v1/metadata?metric=job_queue_depth");
  EXPECT_TRUE(Has(md.body, "\"type\":\"gauge\"")) << md.body;
}

TEST_F(RoutesTest, OtlpGzipAndCharsetParameter) {
  auto push = PushOtlp(Gzip(kOtlpJson), "Content-Encoding: gzip\r\n");
  EXPECT_EQ(push.status, 200) << push.body;
  auto push2 = Send("POST", "/otlp/v1/metrics", kOtlpJson,
                    "authorization: Bearer w-acme\r\nx-scope-orgid: acme\r\n"
                    "content-type: application/json; charset=utf-8\r\n");
  EXPECT_EQ(push2.status, 200) << push2.body;
}

TEST_F(RoutesTest, OtlpErrorsUseStatusInRequestEncoding) {
  auto type = Send("POST", "/otlp/v1/metrics", "x",
                   "Authorization: Bearer w-acme\r\nX-Scope-OrgID: acme\r\n"
                   "Content-Type: text/plain\r\n");
  EXPECT_EQ(type.status, 415);
  EXPECT_EQ(type.Header("content-type"), "application/json");
  EXPECT_TRUE(Has(type.body, "application/x-protobuf or application/json"));

  auto garbage = Send("POST", "/otlp/v1/metrics", "\xff\xff\xff",
                      "Authorization: Bearer w-acme\r\nX-Scope-OrgID: acme\r\n"
                      "Content-Type: application/x-protobuf\r\n");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(garbage.Header("content-type"), "application/x-protobuf");

  auto noauth = Send("POST", "/otlp/v1/metrics", kOtlpJson,
                     "X-Scope-OrgID: acme\r\nContent-Type: application/json\r\n");
  EXPECT_EQ(noauth.status, 401);
  EXPECT_EQ(noauth.Header("www-authenticate"), "bearer");
  EXPECT_TRUE(Has(noauth.body, "Authorization: Bearer <token>")) << noauth.body;

  auto encoding = PushOtlp(kOtlpJson, "Content-Encoding: br\r\n");
  EXPECT_EQ(encoding.status, 415);

  // The rejected request is remembered for the tenant.
  auto log = Get("/api/v1/ingestion/errors");
  EXPECT_EQ(log.status, 200);
  EXPECT_TRUE(Has(log.body, "\"status\":400")) << log.body;
  EXPECT_TRUE(Has(log.body, "cannot decode OTLP metrics request")) << log.body;
}

TEST_F(RoutesTest, PermissionsAndTenancy) {
  EXPECT_EQ(PushOtlp(kOtlpJson, "", "r-acme").status, 403);
  EXPECT_EQ(PushOtlp(kOtlpJson, "", "w-beta", "acme").status, 403);
  auto missing = Send("POST", "/otlp/v1/metrics", kOtlpJson,
                      "Authorization: Bearer w-acme\r\nX-Scope-Org-ID: acme\r\n"
                      "Content-Type: application/json\r\n");
  EXPECT_EQ(missing.status, 400);
  EXPECT_TRUE(Has(missing.body, "did you mean X-Scope-OrgID?")) << missing.body;
  auto invalid = PushOtlp(kOtlpJson, "", "w-acme", "a/b");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_TRUE(Has(invalid.body, "X-Scope-OrgID")) << invalid.body;

  ASSERT_EQ(PushOtlp(kOtlpJson).status, 200);
  // The read-only token reads; the other tenant sees nothing.
  auto acme = Get("/api/v1/query?query=job_queue_depth&time=1700000000", "r-acme");
  EXPECT_TRUE(Has(acme.body, "\"3\"")) << acme.body;
  auto beta = Get("/api/v1/query?query=job_queue_depth&time=1700000000", "w-beta", "beta");
  EXPECT_EQ(beta.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}");
  auto lower = Send("GET", "/prometheus/api/v1/labels", "",
                    "Authorization: bearer r-acme\r\nX-Scope-OrgID: acme\r\n");
  EXPECT_EQ(lower.status, 401);
  EXPECT_TRUE(Has(lower.body, "expected \\\"Authorization: Bearer <token>\\\"")) << lower.body;
  EXPECT_TRUE(Has(lower.body, "\"errorType\":\"unauthorized\"")) << lower.body;
  auto cross = Get("/api/v1/query?query=job_queue_depth", "w-beta", "acme");
  EXPECT_EQ(cross.status, 403);
  EXPECT_TRUE(Has(cross.body, "\"errorType\":\"forbidden\"")) << cross.body;
}

TEST_F(RoutesTest, RemoteWriteStoresAndReportsRejections) {
  auto ok = PushRw(WriteRequest({{"__name__", "rw_metric"}, {"job", "prom"}},
                                {{1'699'999'990'000, 1}, {1'700'000'000'000, 2}}));
  EXPECT_EQ(ok.status, 204) << ok.body;
  EXPECT_EQ(ok.Header("content-length"), "");
  auto q = Get("/api/v1/query?query=rw_metric&time=1700000000");
  EXPECT_TRUE(Has(q.body, "\"value\":[1700000000,\"2\"]")) << q.body;

  // An out-of-order sample is rejected with 400 (no retry) while new ones are stored.
  auto partial = PushRw(WriteRequest({{"__name__", "rw_metric"}, {"job", "prom"}},
                                     {{1'699'999'000'000, 5}, {1'700'000'010'000, 3}}));
  EXPECT_EQ(partial.status, 400);
  EXPECT_TRUE(Has(partial.body, "rw_metric")) << partial.body;
  EXPECT_TRUE(Has(partial.body, "1 samples were stored")) << partial.body;
  EXPECT_EQ(tenants_["acme"]->db.NumSamples(), 3u);

  auto log = Get("/api/v1/ingestion/errors");
  EXPECT_TRUE(Has(log.body, "\"protocol\":\"remote_write\"")) << log.body;
  EXPECT_TRUE(Has(log.body, "\"metric\":\"rw_metric\"")) << log.body;
  EXPECT_TRUE(Has(log.body, "test-agent")) << log.body;
  EXPECT_TRUE(Has(log.body, "\"accepted\":1,\"rejected\":1")) << log.body;

  auto bad = PushRw("not snappy");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(PushRw(WriteRequest({{"__name__", "x"}}, {{1, 1}}), "acme", "r-acme").status, 403);
}

TEST_F(RoutesTest, CommitFailureIs503WithRetryAfter) {
  ASSERT_EQ(PushOtlp(kOtlpJson).status, 200);
  tenants_["acme"]->db.fail_commit = true;
  auto otlp = PushOtlp(kOtlpJson);
  EXPECT_EQ(otlp.status, 503);
  EXPECT_EQ(otlp.Header("retry-after"), "5");
  auto rw = PushRw(WriteRequest({{"__name__", "x"}}, {{1'700'000'000'000, 1}}));
  EXPECT_EQ(rw.status, 503);
  EXPECT_EQ(rw.Header("retry-after"), "5");
}

TEST_F(RoutesTest, DiskFullSaysSoAndRecovers) {
  ASSERT_EQ(PushOtlp(kOtlpJson).status, 200);
  tenants_["acme"]->db.fail_commit = true;
  tenants_["acme"]->db.commit_error =
      absl::ResourceExhaustedError("write /data/wal/00000001: No space left on device");
  auto rw = PushRw(WriteRequest({{"__name__", "x"}}, {{1'700'000'000'000, 1}}));
  EXPECT_EQ(rw.status, 503);
  EXPECT_EQ(rw.Header("retry-after"), "5");
  EXPECT_TRUE(Has(rw.body, "disk is full")) << rw.body;
  EXPECT_TRUE(Has(rw.body, "No space left on device")) << rw.body;
  auto otlp = PushOtlp(kOtlpJson);
  EXPECT_EQ(otlp.status, 503);
  EXPECT_TRUE(Has(otlp.body, "disk is full")) << otlp.body;
  auto errors = Get("/api/v1/ingestion/errors");
  EXPECT_TRUE(Has(errors.body, "disk is full")) << errors.body;

  // Other failures do not claim the disk is full.
  tenants_["acme"]->db.commit_error = absl::UnavailableError("fsync failed");
  rw = PushRw(WriteRequest({{"__name__", "x"}}, {{1'700'000'000'001, 1}}));
  EXPECT_EQ(rw.status, 503);
  EXPECT_FALSE(Has(rw.body, "disk is full")) << rw.body;

  // Space returns: the same request succeeds without anything else happening.
  tenants_["acme"]->db.fail_commit = false;
  EXPECT_EQ(PushRw(WriteRequest({{"__name__", "x"}}, {{1'700'000'000'002, 1}})).status, 204);
}

TEST_F(RoutesTest, TsdbStatusHasPrometheusShapeAndNeedsRead) {
  auto empty = Get("/api/v1/status/tsdb", "r-acme");
  EXPECT_EQ(empty.status, 200) << empty.body;
  EXPECT_TRUE(Has(empty.body, "\"headStats\":{\"numSeries\":0,")) << empty.body;
  ASSERT_EQ(PushOtlp(kOtlpJson).status, 200);
  auto st = Get("/prometheus/api/v1/status/tsdb?limit=3", "r-acme");
  EXPECT_EQ(st.status, 200) << st.body;
  EXPECT_EQ(last_status_limit_, 3u);
  EXPECT_TRUE(Has(st.body, "\"status\":\"success\",\"data\":{\"headStats\":{\"numSeries\":1,"))
      << st.body;
  EXPECT_TRUE(
      Has(st.body, "\"seriesCountByMetricName\":[{\"name\":\"job_queue_depth\",\"value\":1}]"))
      << st.body;
  EXPECT_TRUE(Has(st.body, "\"labelValueCountByLabelName\":[]")) << st.body;
  EXPECT_TRUE(
      Has(st.body, "\"ulid\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\",\"minTime\":0,\"maxTime\":7200000"))
      << st.body;
  EXPECT_TRUE(Has(st.body, "chunks crc mismatch")) << st.body;
  Get("/api/v1/status/tsdb", "r-acme");
  EXPECT_EQ(last_status_limit_, 10u);  // Prometheus' default
  EXPECT_EQ(Get("/api/v1/status/tsdb?limit=-1", "r-acme").status, 400);
  EXPECT_EQ(Get("/api/v1/status/tsdb", "nope").status, 401);
}

TEST_F(RoutesTest, FlushNeedsWritePermission) {
  auto ro = Send("POST", "/api/v1/admin/tsdb/flush", "",
                 "Authorization: Bearer r-acme\r\nX-Scope-OrgID: acme\r\n");
  EXPECT_EQ(ro.status, 403) << ro.body;
  EXPECT_EQ(flushes_, 0);
  auto unknown = Send("POST", "/api/v1/admin/tsdb/flush", "",
                      "Authorization: Bearer w-beta\r\nX-Scope-OrgID: beta\r\n");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  ASSERT_EQ(PushOtlp(kOtlpJson).status, 200);
  auto ok = Send("POST", "/api/v1/admin/tsdb/flush", "",
                 "Authorization: Bearer w-acme\r\nX-Scope-OrgID: acme\r\n");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body, "{\"status\":\"success\",\"data\":{\"numBlocks\":3}}");
  EXPECT_EQ(flushes_, 1);
  EXPECT_EQ(Get("/api/v1/admin/tsdb/flush").status, 405);
}

TEST_F(RoutesTest, GrafanaStyleFormPostAndProbes) {
  ASSERT_EQ(PushOtlp(kOtlpJson).status, 200);
  auto q = Send("POST", "/prometheus/api/v1/query", "query=job_queue_depth&time=1700000000",
                "Authorization: Bearer r-acme\r\nX-Scope-OrgID: acme\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n");
  EXPECT_TRUE(Has(q.body, "\"3\"")) << q.body;
  auto values = Get("/prometheus/api/v1/label/__name__/values", "r-acme");
  EXPECT_EQ(values.body, "{\"status\":\"success\",\"data\":[\"job_queue_depth\"]}");
  auto series = Get("/api/v1/series?match[]=job_queue_depth", "r-acme");
  EXPECT_TRUE(Has(series.body, "\"__name__\":\"job_queue_depth\"")) << series.body;

  ready_ = false;
  EXPECT_EQ(Send("GET", "/ready", "", "").status, 503);
  EXPECT_EQ(Send("GET", "/-/ready", "", "").status, 503);
  auto starting = Get("/api/v1/labels", "r-acme");
  EXPECT_EQ(starting.status, 503);
  EXPECT_TRUE(Has(starting.body, "\"errorType\":\"unavailable\"")) << starting.body;
  ready_ = true;
  EXPECT_EQ(Send("GET", "/ready", "", "").status, 200);
  EXPECT_EQ(Send("GET", "/-/healthy", "", "").status, 200);
  auto build = Send("GET", "/prometheus/api/v1/status/buildinfo", "", "");
  EXPECT_EQ(build.status, 200);
  EXPECT_FALSE(Has(build.body, "features"));
  auto exemplars = Get("/api/v1/query_exemplars?query=test&start=1&end=2", "r-acme");
  EXPECT_EQ(exemplars.body, "{\"status\":\"success\",\"data\":[]}");
  auto unknown = Get("/api/v1/ingestion/errors", "w-beta", "beta");
  EXPECT_TRUE(Has(unknown.body, "\"lastPush\":null")) << unknown.body;
  EXPECT_TRUE(Has(unknown.body, "no push has reached tenant")) << unknown.body;
}

TEST_F(RoutesTest, PromqlEndpointsAtBothPrefixes) {
  ASSERT_EQ(PushOtlp(kOtlpJson).status, 200);
  // Grafana's health check, form-POSTed, also for a tenant without data.
  for (std::string_view prefix : {"/api/v1", "/prometheus/api/v1"}) {
    auto health = Send("POST", Cat(prefix, "/query"), "query=1%2B1&time=1700000000",
                       "Authorization: Bearer w-beta\r\nX-Scope-OrgID: beta\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body,
              "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":"
              "[1700000000,\"2\"]}}");
    auto range = Get(Cat(prefix,
                         "/query_range?query=sum%20by%20(job)%20(job_queue_depth)"
                         "&start=1700000000&end=1700000060&step=30"),
                     "r-acme");
    EXPECT_EQ(range.status, 200);
    EXPECT_EQ(range.body,
              "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{"
              "\"metric\":{\"job\":\"svc\"},\"values\":[[1700000000,\"3\"],[1700000030,\"3\"],"
              "[1700000060,\"3\"]]}]}}");
    auto fmt = Get(Cat(prefix, "/format_query?query=sum(up)by(job)"), "r-acme");
    EXPECT_EQ(fmt.body, "{\"status\":\"success\",\"data\":\"sum by (job) (up)\"}");
    auto parsed = Get(Cat(prefix, "/parse_query?query=42"), "r-acme");
    EXPECT_EQ(parsed.body,
              "{\"status\":\"success\",\"data\":{\"type\":\"numberLiteral\",\"val\":\"42\"}}");
  }
  // The other tenant's data stays invisible to range queries too.
  auto beta =
      Get("/api/v1/query_range?query=job_queue_depth&start=1700000000&end=1700000060"
          "&step=30",
          "w-beta", "beta");
  EXPECT_EQ(beta.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}");
  auto step = Get("/api/v1/query_range?query=up&start=1&end=2&step=0", "r-acme");
  EXPECT_EQ(step.status, 400);
  EXPECT_TRUE(Has(step.body, "\"errorType\":\"bad_data\"")) << step.body;
  auto exec = Get("/api/v1/query?query=count_values(%22%22,job_queue_depth)", "r-acme");
  EXPECT_EQ(exec.status, 422);
  EXPECT_EQ(exec.body,
            "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"invalid label "
            "name \\\"\\\"\"}");
  // Read routes stay behind auth.
  EXPECT_EQ(Send("GET", "/api/v1/format_query?query=up", "", "X-Scope-OrgID: acme\r\n").status,
            401);
  EXPECT_EQ(
      Send("GET", "/prometheus/api/v1/query_range?query=up", "", "X-Scope-OrgID: acme\r\n").status,
      401);
}

}  // namespace
}  // namespace xscaler::api
