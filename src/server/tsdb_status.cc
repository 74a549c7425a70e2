#include "server/tsdb_status.h"

#include <algorithm>
#include <set>
#include <string>

#include "base/env.h"
#include "storage/block/block.h"

namespace xscaler::server {
namespace {

void KeepTop(std::vector<api::NameCount>& v, size_t limit) {
  std::sort(v.begin(), v.end(), [](const api::NameCount& a, const api::NameCount& b) {
    return a.value != b.value ? a.value > b.value : a.name < b.name;
  });
  if (v.size() > limit) v.resize(limit);
}

}  // namespace

api::TsdbStatus BuildTsdbStatus(storage::Tsdb& db, size_t limit) {
  api::TsdbStatus out;
  const storage::TsdbStats st = db.Stats();
  out.num_series = st.num_series;
  out.chunk_count = st.num_chunks;
  out.head_samples = st.num_samples;
  if (st.num_samples > 0 && st.min_time <= st.max_time) {
    out.min_time = st.min_time;
    out.max_time = st.max_time;
  }

  // Cardinality from the head's inverted index: one postings lookup per label pair.
  const auto& postings = db.head().postings();
  for (const std::string& name : postings.LabelNames()) {
    if (name.empty()) continue;  // the all-series key
    const std::vector<std::string> values = postings.LabelValues(name);
    out.label_value_count_by_label_name.push_back({name, values.size()});
    uint64_t bytes = 0;
    for (const std::string& value : values) {
      const uint64_t n = postings.PostingsFor(name, value).size();
      out.num_label_pairs++;
      bytes += value.size() * n;
      if (name == "__name__") out.series_count_by_metric_name.push_back({value, n});
      out.series_count_by_label_value_pair.push_back({name + "=" + value, n});
    }
    out.memory_in_bytes_by_label_name.push_back({name, bytes});
  }
  KeepTop(out.series_count_by_metric_name, limit);
  KeepTop(out.label_value_count_by_label_name, limit);
  KeepTop(out.memory_in_bytes_by_label_name, limit);
  KeepTop(out.series_count_by_label_value_pair, limit);
  out.head_memory_bytes = db.head().MemoryBytes();

  out.retention_ms = db.retention_ms();
  for (const auto& b : db.Blocks()) {
    const auto& m = b->meta();
    out.blocks.push_back({m.ulid, m.min_time, m.max_time, m.num_series, m.num_samples, m.num_chunks,
                          m.level, b->SizeBytes()});
    out.blocks_bytes += b->SizeBytes();
  }
  out.wal_bytes = st.wal_bytes;
  out.persisted_until = st.persisted_until == storage::kMinTime ? 0 : st.persisted_until;
  out.head_cuts = st.head_cuts;
  out.compactions = st.compactions;
  out.blocks_deleted = st.blocks_deleted;
  out.checkpoints = st.checkpoints;
  out.compaction_failures = st.compaction_failures;
  out.last_compaction_unix_ms = st.last_compaction_unix_ms;
  out.last_compaction_seconds = st.last_compaction_seconds;
  out.last_compaction_error = st.last_compaction_error;

  // Quarantined blocks: this run's with their errors, then earlier runs' still on disk.
  std::set<std::string> seen;
  for (const storage::BadBlock& bad : db.bad_blocks()) {
    std::string name = bad.dir.substr(bad.dir.find_last_of('/') + 1);
    seen.insert(name);
    out.quarantined.push_back({"quarantine/" + name, std::string(bad.error.message())});
  }
  base::Env* env = db.options().env != nullptr ? db.options().env : base::Env::Default();
  const std::string qdir = base::JoinPath(db.dir(), "quarantine");
  if (auto children = env->GetChildren(qdir); children.ok()) {
    std::sort(children->begin(), children->end());
    for (const std::string& name : *children) {
      if (seen.count(name) != 0) continue;
      out.quarantined.push_back({"quarantine/" + name, "quarantined by an earlier run"});
    }
  }
  out.quarantined_blocks = out.quarantined.size();
  return out;
}

}  // namespace xscaler::server
