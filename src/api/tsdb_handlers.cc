#include "api/tsdb_handlers.h"

#include <cstdio>

#include "api/envelope.h"
#include "api/json_writer.h"
#include "api/params.h"
#include "http/str.h"

namespace xscaler::api {
namespace {

constexpr size_t kDefaultLimit = 10;

int64_t I(uint64_t v) { return static_cast<int64_t>(v); }

void WriteCounts(JsonWriter& w, std::string_view key, const std::vector<NameCount>& counts) {
  w.Key(key);
  w.BeginArray();
  for (const NameCount& c : counts) {
    w.BeginObject();
    w.StringField("name", c.name);
    w.IntField("value", I(c.value));
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

std::string TsdbStatusJson(const TsdbStatus& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("headStats");
  w.BeginObject();
  w.IntField("numSeries", I(s.num_series));
  w.IntField("numLabelPairs", I(s.num_label_pairs));
  w.IntField("chunkCount", I(s.chunk_count));
  w.IntField("minTime", s.min_time);
  w.IntField("maxTime", s.max_time);
  w.EndObject();
  WriteCounts(w, "seriesCountByMetricName", s.series_count_by_metric_name);
  WriteCounts(w, "labelValueCountByLabelName", s.label_value_count_by_label_name);
  WriteCounts(w, "memoryInBytesByLabelName", s.memory_in_bytes_by_label_name);
  WriteCounts(w, "seriesCountByLabelValuePair", s.series_count_by_label_value_pair);

  w.Key("storage");
  w.BeginObject();
  w.IntField("retentionMs", s.retention_ms);
  w.IntField("oooWindowMs", s.ooo_window_ms);
  w.IntField("maxStorageBytes", I(s.max_storage_bytes));
  w.IntField("headSamples", I(s.head_samples));
  w.IntField("headMemoryBytes", I(s.head_memory_bytes));
  w.IntField("walBytes", I(s.wal_bytes));
  w.IntField("blocksBytes", I(s.blocks_bytes));
  w.IntField("persistedUntil", s.persisted_until);
  w.Key("blocks");
  w.BeginArray();
  for (const TsdbBlockStatus& b : s.blocks) {
    w.BeginObject();
    w.StringField("ulid", b.ulid);
    w.IntField("minTime", b.min_time);
    w.IntField("maxTime", b.max_time);
    w.IntField("numSeries", I(b.num_series));
    w.IntField("numSamples", I(b.num_samples));
    w.IntField("numChunks", I(b.num_chunks));
    w.IntField("level", b.level);
    w.IntField("sizeBytes", I(b.size_bytes));
    w.EndObject();
  }
  w.EndArray();
  w.IntField("quarantinedBlocks", I(s.quarantined_blocks));
  w.Key("quarantine");
  w.BeginArray();
  for (const TsdbStatus::Quarantined& q : s.quarantined) {
    w.BeginObject();
    w.StringField("dir", q.dir);
    w.StringField("error", q.error);
    w.EndObject();
  }
  w.EndArray();
  w.Key("compaction");
  w.BeginObject();
  w.IntField("headCuts", I(s.head_cuts));
  w.IntField("compactions", I(s.compactions));
  w.IntField("blocksDeleted", I(s.blocks_deleted));
  w.IntField("checkpoints", I(s.checkpoints));
  w.IntField("failures", I(s.compaction_failures));
  w.IntField("lastRunUnixMs", s.last_compaction_unix_ms);
  w.Key("lastRunSeconds");
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", s.last_compaction_seconds);
  w.Raw(secs);
  w.StringField("lastError", s.last_compaction_error);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return w.Take();
}

void TsdbApi::Status(http::Request& req, http::Response& res) const {
  absl::StatusOr<int64_t> limit = ParseLimitParam(req.Param("limit"));
  if (!limit.ok()) return WriteApiError(res, limit.status());
  if (!config_.status) return WriteApiError(res, ErrorType::kInternal, "TSDB status is not wired");
  size_t n = *limit > 0 ? static_cast<size_t>(*limit) : kDefaultLimit;
  absl::StatusOr<TsdbStatus> status = config_.status(req.tenant, n);
  if (absl::IsNotFound(status.status())) return WriteSuccess(res, TsdbStatusJson(TsdbStatus{}));
  if (!status.ok()) return WriteApiError(res, status.status());
  WriteSuccess(res, TsdbStatusJson(*status));
}

void TsdbApi::Flush(http::Request& req, http::Response& res) const {
  if (!config_.flush) return WriteApiError(res, ErrorType::kInternal, "TSDB flush is not wired");
  absl::StatusOr<size_t> blocks = config_.flush(req.tenant);
  if (absl::IsNotFound(blocks.status())) {
    return WriteApiError(res, ErrorType::kNotFound,
                         http::Cat("tenant \"", req.tenant, "\" has no data to flush"));
  }
  if (!blocks.ok()) {
    return WriteApiError(
        res, absl::Status(blocks.status().code(),
                          http::Cat("flush failed: ", http::Sv(blocks.status().message()))));
  }
  JsonWriter w;
  w.BeginObject();
  w.IntField("numBlocks", static_cast<int64_t>(*blocks));
  w.EndObject();
  WriteSuccess(res, w.str());
}

}  // namespace xscaler::api
