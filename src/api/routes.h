// The route table: which path runs which handler behind which middleware, in one place.
//   probes      GET /ready, /-/ready, /-/healthy                       no auth, text
//   OTLP        POST /otlp/v1/metrics      content type → auth(write) → decompress → handler;
//                                          errors as google.rpc.Status
//   remote write POST /api/v1/push, /api/v1/write   auth(write) → handler; errors as text
//   read API    /api/v1/{query,query_range,format_query,parse_query,series,labels,
//               label/{name}/values,metadata,query_exemplars,ingestion/errors}
//               auth(read) → (form) → handler; Prometheus JSON errors; also under /prometheus
//   buildinfo   GET /api/v1/status/buildinfo (and /prometheus/...), no auth
//   storage     GET /api/v1/status/tsdb auth(read); POST /api/v1/admin/tsdb/flush auth(write);
//               both also under /prometheus (tsdb_handlers.h)
// Call once while building the router, before the server starts.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "api/ingest_handlers.h"
#include "api/read_handlers.h"
#include "api/tsdb_handlers.h"
#include "http/middleware.h"
#include "http/router.h"

namespace xscaler::api {

struct ApiServices {
  std::shared_ptr<const http::AuthConfig> auth;
  ReadApiConfig read;
  IngestApiConfig ingest;
  TsdbApiConfig tsdb;
  // True once storage is open and WALs are replayed; /ready answers 503 until then.
  std::function<bool()> ready;
  // Decoded (after Content-Encoding) body limit for ingest routes.
  size_t max_body_bytes = 64u << 20;
};

void RegisterRoutes(http::Router& router, const ApiServices& services);

}  // namespace xscaler::api
