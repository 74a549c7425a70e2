// The ingest endpoints' glue: OTLP/HTTP (`POST /otlp/v1/metrics`) and Prometheus remote write
// 1.0 (`POST /api/v1/push`, `/api/v1/write`). Decoding and translation live in ingest/; these
// handlers pick the tenant's database, commit, map outcomes to the protocols' status codes and
// remember rejections in the tenant's IngestionLog (GET /api/v1/ingestion/errors).
//
// Outcomes: OTLP → 200 ExportMetricsServiceResponse (partial_success when points were
// rejected), 400 google.rpc.Status for undecodable bodies, 503 + Retry-After when the commit
// (WAL write/fsync) fails — never 500 for something transient. Remote write → 204 when every
// sample was stored; 400 text naming the rejections when some were not (the accepted ones are
// stored, and a 400 stops senders from retrying them); 400 for undecodable bodies; 413 past the
// decoded-size limit; 503 + Retry-After on commit failure.
//
// The auth and decompression middleware run before these handlers (see routes.h).
// Thread-safety: immutable after construction; handlers run concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "absl/status/statusor.h"
#include "http/message.h"
#include "ingest/otlp/ingester.h"
#include "ingest/remote_write/series_ref_cache.h"
#include "storage/storage.h"
#include "tenant/ingestion_log.h"

namespace xscaler::api {

// One tenant's ingest side, as the registry hands it out.
struct IngestTarget {
  storage::Storage* db = nullptr;
  ingest::otlp::Ingester* otlp = nullptr;
  tenant::IngestionLog* log = nullptr;  // may be null (then nothing is remembered)
  // The tenant's remote-write series-ref cache for `db`; may be null (no caching).
  ingest::remote_write::SeriesRefCache* rw_refs = nullptr;
};

struct IngestApiConfig {
  // Opens or creates the tenant's database (TenantRegistry::GetOrCreate). Errors → 503.
  std::function<absl::StatusOr<IngestTarget>(std::string_view tenant)> get_or_create;
  // The tenant's log for reads, or nullptr when the tenant is unknown.
  std::function<tenant::IngestionLog*(std::string_view tenant)> find_log;
  // Decoded-size limit for snappy remote-write bodies (the HTTP layer limits the raw body and
  // decompresses OTLP bodies with the same limit).
  size_t max_decoded_bytes = 64u << 20;
  std::function<int64_t()> now_ms;  // wall clock by default
};

// The OTLP encoding for a Content-Type value (parameters such as "; charset=utf-8" allowed),
// or nullopt when it is neither application/x-protobuf nor application/json.
std::optional<ingest::otlp::Encoding> OtlpEncodingFor(std::optional<std::string_view> type);

// http::ErrorWriter for the OTLP route: google.rpc.Status in the request's encoding (JSON when
// the content type is JSON or unknown), with the gRPC code matching the HTTP status.
void WriteOtlpError(const http::Request& req, http::Response& res, int status,
                    std::string_view message);

// Middleware: 415 unless the Content-Type is one OTLP/HTTP defines.
bool CheckOtlpContentType(http::Request& req, http::Response& res);

class IngestApi {
 public:
  explicit IngestApi(IngestApiConfig config);

  void Otlp(http::Request& req, http::Response& res) const;
  void RemoteWrite(http::Request& req, http::Response& res) const;
  // GET /api/v1/ingestion/errors?limit=N: the tenant's recent rejections, newest first, and
  // its last push.
  void IngestionErrors(http::Request& req, http::Response& res) const;

 private:
  IngestApiConfig config_;
};

}  // namespace xscaler::api
