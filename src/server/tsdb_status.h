// Fills the storage-agnostic api::TsdbStatus (/api/v1/status/tsdb) from one tenant's Tsdb:
// head cardinality (top-N lists computed from the head's postings, as Prometheus does), block
// list, WAL size, compaction counters and quarantined blocks.
//
// Thread-safety: safe to call concurrently with ingestion and queries (it reads through the
// Tsdb's thread-safe accessors); cost grows with the number of label pairs in the head.
#pragma once

#include <cstddef>

#include "api/tsdb_handlers.h"
#include "storage/db/tsdb.h"

namespace xscaler::server {

// `limit` caps each top list (seriesCountByMetricName, ...).
api::TsdbStatus BuildTsdbStatus(storage::Tsdb& db, size_t limit);

}  // namespace xscaler::server
