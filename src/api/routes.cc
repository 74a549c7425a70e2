#include "api/routes.h"

#include "api/envelope.h"

namespace xscaler::api {
namespace {

using http::Handler;
using http::Permission;
using http::Request;
using http::Response;

constexpr std::string_view kStarting =
    "xScaler is starting (replaying write-ahead logs); retry shortly";

void Probe(Response& res, bool ok, std::string_view what) {
  res.Set(ok ? 200 : 503, "text/plain; charset=utf-8",
          ok ? std::string("xScaler is ") + std::string(what) + ".\n"
             : std::string("Service Unavailable\n"));
}

}  // namespace

void RegisterRoutes(http::Router& router, const ApiServices& services) {
  auto read = std::make_shared<ReadApi>(services.read);
  auto ingest = std::make_shared<IngestApi>(services.ingest);
  std::function<bool()> ready = services.ready ? services.ready : [] { return true; };
  const size_t limit = services.max_body_bytes;

  // Probes.
  auto ready_handler = [ready](Request&, Response& res) { Probe(res, ready(), "Ready"); };
  router.Handle("/ready", {"GET"}, ready_handler, nullptr);
  router.Handle("/-/ready", {"GET"}, ready_handler, nullptr);
  router.Handle(
      "/-/healthy", {"GET"}, [](Request&, Response& res) { Probe(res, true, "Healthy"); }, nullptr);

  // OTLP/HTTP.
  Handler otlp = http::WithDecompression(
      [ingest](Request& req, Response& res) { ingest->Otlp(req, res); }, limit, &WriteOtlpError);
  otlp = http::WithAuth(std::move(otlp), services.auth, Permission::kWrite, &WriteOtlpError);
  router.Handle(
      "/otlp/v1/metrics", {"POST"},
      [otlp = std::move(otlp)](Request& req, Response& res) {
        if (CheckOtlpContentType(req, res)) otlp(req, res);
      },
      &WriteOtlpError);

  // Prometheus remote write 1.0 (snappy is the protocol's own framing, not a Content-Encoding
  // we undo here).
  Handler rw =
      http::WithAuth([ingest](Request& req, Response& res) { ingest->RemoteWrite(req, res); },
                     services.auth, Permission::kWrite, &http::WriteTextError);
  router.Handle("/api/v1/push", {"POST"}, rw, &http::WriteTextError);
  router.Handle("/api/v1/write", {"POST"}, rw, &http::WriteTextError);

  // Read API.
  auto add_read = [&](std::string_view path, std::vector<std::string> methods,
                      void (ReadApi::*fn)(Request&, Response&) const) {
    // Until storage is open a missing tenant would look empty; say "not yet" instead.
    Handler h = http::WithAuth(
        [read, fn, ready](Request& req, Response& res) {
          if (!ready()) return WriteApiError(res, ErrorType::kUnavailable, kStarting);
          (read.get()->*fn)(req, res);
        },
        services.auth, Permission::kRead, &WritePromError);
    router.Handle(path, std::move(methods), std::move(h), &WritePromError,
                  {.prometheus_alias = true});
  };
  add_read("/api/v1/query", {"GET", "POST"}, &ReadApi::Query);
  add_read("/api/v1/query_range", {"GET", "POST"}, &ReadApi::QueryRange);
  add_read("/api/v1/format_query", {"GET", "POST"}, &ReadApi::FormatQuery);
  add_read("/api/v1/parse_query", {"GET", "POST"}, &ReadApi::ParseQuery);
  add_read("/api/v1/series", {"GET", "POST"}, &ReadApi::Series);
  add_read("/api/v1/labels", {"GET", "POST"}, &ReadApi::Labels);
  add_read("/api/v1/label/{name}/values", {"GET"}, &ReadApi::LabelValues);
  add_read("/api/v1/metadata", {"GET"}, &ReadApi::Metadata);
  add_read("/api/v1/query_exemplars", {"GET", "POST"}, &ReadApi::QueryExemplars);
  router.Handle(
      "/api/v1/ingestion/errors", {"GET"},
      http::WithAuth([ingest](Request& req, Response& res) { ingest->IngestionErrors(req, res); },
                     services.auth, Permission::kRead, &WritePromError),
      &WritePromError, {.prometheus_alias = true});
  auto tsdb = std::make_shared<TsdbApi>(services.tsdb);
  auto add_tsdb = [&](std::string_view path, std::string method, Permission perm,
                      void (TsdbApi::*fn)(Request&, Response&) const) {
    Handler h = http::WithAuth(
        [tsdb, fn, ready](Request& req, Response& res) {
          if (!ready()) return WriteApiError(res, ErrorType::kUnavailable, kStarting);
          (tsdb.get()->*fn)(req, res);
        },
        services.auth, perm, &WritePromError);
    router.Handle(path, {std::move(method)}, std::move(h), &WritePromError,
                  {.prometheus_alias = true});
  };
  add_tsdb("/api/v1/status/tsdb", "GET", Permission::kRead, &TsdbApi::Status);
  add_tsdb("/api/v1/admin/tsdb/flush", "POST", Permission::kWrite, &TsdbApi::Flush);
  router.Handle("/api/v1/status/buildinfo", {"GET"},
                [read](Request& req, Response& res) { read->StatusBuildInfo(req, res); },
                &WritePromError, {.prometheus_alias = true});
}

}  // namespace xscaler::api
