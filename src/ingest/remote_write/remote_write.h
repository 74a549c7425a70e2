// Prometheus remote write 1.0 decoding: a snappy-compressed (block format) protobuf
// `prometheus.WriteRequest` turned into Appender calls. Nothing here commits; the caller owns
// the Appender and decides (Commit or Rollback) once the request has been ingested.
//
// Contract:
//   - Undecodable input (bad snappy, malformed protobuf) → InvalidArgument and nothing is
//     appended: the whole message is walked and validated before the first Append.
//   - A body whose declared uncompressed size exceeds the limit → ResourceExhausted, checked
//     before anything is allocated, so a tiny body claiming gigabytes costs nothing.
//   - Per-series problems (missing __name__, invalid or duplicate label names, native
//     histograms) and per-sample Append errors never fail the request: they go to `report`
//     with the series' __name__ as the metric. Unsorted labels are accepted and sorted.
//   - Metadata entries become Appender::UpdateMetadata calls.
// The body is walked once to validate it, and with a SeriesRefCache the same walk hashes each
// series' raw label bytes; the request's keys are then looked up together. A series seen before
// is not decoded at all: runs of such one-sample series go to Appender::AppendExistingBatch
// (the storage can overlap their lookups), others to AppendExisting. Without a hit the labels
// are decoded, checked and appended, and the ref is cached. Samples are staged in wire order.
//
// Thread-safety: stateless functions (the optional SeriesRefCache is thread-safe); concurrent
// calls with distinct Appenders are fine.
// Wire format: prometheus/prompb/remote.proto and types.proto (mirrored for tests in
// tests/proto/remote_write/remote_write.proto).
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "ingest/remote_write/series_ref_cache.h"
#include "ingest/report.h"
#include "storage/storage.h"

namespace xscaler::ingest::remote_write {

// Decodes a snappy block-format body and ingests it as IngestProto does.
absl::Status IngestSnappy(std::string_view body, size_t max_decoded_bytes, storage::Appender& app,
                          IngestReport& report, SeriesRefCache* cache = nullptr);

// Ingests an already decompressed WriteRequest. With a `cache` (the tenant's; its refs must
// come from the same Storage as `app`), a series whose label bytes were ingested before is
// appended by ref (Appender::AppendExisting), skipping label decoding and lookup; results and
// reports are exactly those without a cache.
absl::Status IngestProto(std::string_view decoded, storage::Appender& app, IngestReport& report,
                         SeriesRefCache* cache = nullptr);

// The Prometheus metric type name ("counter", "gauge", ...) for a MetricMetadata.type enum
// value; "unknown" for values this version does not know.
std::string_view MetricTypeName(uint64_t type);

}  // namespace xscaler::ingest::remote_write
