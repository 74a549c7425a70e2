// The storage admin endpoints of one tenant:
//   GET  /api/v1/status/tsdb?limit=N   Prometheus' shape (headStats, seriesCountByMetricName,
//        labelValueCountByLabelName, memoryInBytesByLabelName, seriesCountByLabelValuePair,
//        top N each, default 10) plus "storage": retention, blocks on disk, WAL, compaction
//        counters and quarantined blocks. Read permission.
//   POST /api/v1/admin/tsdb/flush      cuts everything the head holds into blocks now; write
//        permission (it changes what the tenant accepts: older samples become too old).
// The handlers know nothing of the storage engine: the server supplies callbacks that fill a
// TsdbStatus or run the flush (server/tsdb_status.h), so this layer stays storage-agnostic.
//
// Thread-safety: immutable after construction; handlers run concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "http/message.h"

namespace xscaler::api {

struct NameCount {
  std::string name;
  uint64_t value = 0;
};

struct TsdbBlockStatus {
  std::string ulid;
  int64_t min_time = 0;  // inclusive, ms
  int64_t max_time = 0;  // exclusive, ms
  uint64_t num_series = 0, num_samples = 0, num_chunks = 0;
  int level = 1;
  uint64_t size_bytes = 0;
};

struct TsdbStatus {
  // headStats (minTime/maxTime are 0 while the head is empty).
  uint64_t num_series = 0;
  uint64_t num_label_pairs = 0;
  uint64_t chunk_count = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;
  std::vector<NameCount> series_count_by_metric_name;
  std::vector<NameCount> label_value_count_by_label_name;
  std::vector<NameCount> memory_in_bytes_by_label_name;
  std::vector<NameCount> series_count_by_label_value_pair;

  // Ours ("storage").
  int64_t retention_ms = 0;   // 0 = forever
  int64_t ooo_window_ms = 0;  // the tenant's configured out-of-order window
  uint64_t head_samples = 0;
  uint64_t head_memory_bytes = 0;
  std::vector<TsdbBlockStatus> blocks;  // by min_time
  uint64_t blocks_bytes = 0;
  uint64_t wal_bytes = 0;
  int64_t persisted_until = 0;  // everything before it is in blocks; 0 if nothing was cut
  struct Quarantined {
    std::string dir;
    std::string error;
  };
  uint64_t quarantined_blocks = 0;
  std::vector<Quarantined> quarantined;  // what is in dir/quarantine now
  uint64_t head_cuts = 0, compactions = 0, blocks_deleted = 0, checkpoints = 0;
  uint64_t compaction_failures = 0;
  int64_t last_compaction_unix_ms = 0;
  double last_compaction_seconds = 0;
  std::string last_compaction_error;
  // Across all tenants.
  uint64_t max_storage_bytes = 0;  // 0 = no cap
};

struct TsdbApiConfig {
  // The tenant's status with at most `limit` entries per top list; NotFound when the tenant
  // has no data (the handler then answers with an empty status, like Prometheus' empty head).
  std::function<absl::StatusOr<TsdbStatus>(std::string_view tenant, size_t limit)> status;
  // Flushes the tenant's head into blocks; returns the number of blocks afterwards.
  std::function<absl::StatusOr<size_t>(std::string_view tenant)> flush;
};

// Writes `status` as the `data` of /api/v1/status/tsdb.
std::string TsdbStatusJson(const TsdbStatus& status);

class TsdbApi {
 public:
  explicit TsdbApi(TsdbApiConfig config) : config_(std::move(config)) {}

  void Status(http::Request& req, http::Response& res) const;
  void Flush(http::Request& req, http::Response& res) const;

 private:
  TsdbApiConfig config_;
};

}  // namespace xscaler::api
