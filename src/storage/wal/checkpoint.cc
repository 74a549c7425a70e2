#include "storage/wal/checkpoint.h"

#include <map>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spdlog/spdlog.h"
#include "storage/wal/record.h"
#include "storage/wal/wal.h"

namespace xscaler::storage::wal {
namespace {

constexpr char kPrefix[] = "checkpoint.";
constexpr char kTmpSuffix[] = ".tmp";
// Records are buffered up to this many entries, and frames up to this many bytes.
constexpr size_t kMaxEntriesPerRecord = 10000;
constexpr size_t kMaxFrameBytes = 1 << 20;

// "checkpoint.00000042" -> 42; false for anything else (including the ".tmp" dirs).
bool ParseCheckpointName(std::string_view name, uint64_t* n) {
  if (!name.starts_with(kPrefix)) return false;
  name.remove_prefix(std::string_view(kPrefix).size());
  return ParseSegmentName(name, n);  // checkpoint.N carries the number of a segment
}

// Streams filtered records into a wal::Writer, keeping series records ahead of the samples
// that name them (series are flushed before every samples flush). In-order and out-of-order
// samples keep their log order: a switch of record type flushes the buffered samples first,
// since replay applies them in that order and the outcome may depend on it.
class CheckpointWriter {
 public:
  explicit CheckpointWriter(Writer* w) : w_(w) {}

  absl::Status AddSeries(const SeriesRecord& r) {
    series_.push_back(r);
    return series_.size() >= kMaxEntriesPerRecord ? FlushSeries() : absl::OkStatus();
  }
  absl::Status AddSample(const SampleRecord& r, RecordType type) {
    if (type != samples_type_ && !samples_.empty()) {
      if (auto s = FlushSamples(); !s.ok()) return s;
    }
    samples_type_ = type;
    samples_.push_back(r);
    return samples_.size() >= kMaxEntriesPerRecord ? FlushSamples() : absl::OkStatus();
  }
  absl::Status Finish(const std::map<std::string, MetadataRecord>& metadata) {
    if (auto s = FlushSamples(); !s.ok()) return s;  // flushes series too
    std::vector<MetadataRecord> md;
    for (const auto& [_, m] : metadata) {
      md.push_back(m);
      if (md.size() >= kMaxEntriesPerRecord) {
        EncodeMetadata(md, &Next());
        md.clear();
      }
    }
    if (!md.empty()) EncodeMetadata(md, &Next());
    return FlushFrame(true);
  }

 private:
  std::string& Next() { return records_.emplace_back(); }
  absl::Status FlushSeries() {
    if (series_.empty()) return absl::OkStatus();
    EncodeSeries(series_, &Next());
    series_.clear();
    return FlushFrame(false);
  }
  absl::Status FlushSamples() {
    if (auto s = FlushSeries(); !s.ok()) return s;
    if (samples_.empty()) return absl::OkStatus();
    EncodeSamples(samples_, &Next(), samples_type_);
    samples_.clear();
    return FlushFrame(false);
  }
  absl::Status FlushFrame(bool force) {
    if (records_.empty()) return absl::OkStatus();
    size_t bytes = 0;
    for (const auto& r : records_) bytes += r.size();
    if (!force && bytes < kMaxFrameBytes) return absl::OkStatus();
    absl::Status s = w_->Write(std::span<const std::string>(records_));
    records_.clear();
    return s;
  }

  Writer* const w_;
  std::vector<SeriesRecord> series_;
  std::vector<SampleRecord> samples_;
  RecordType samples_type_ = RecordType::kSamples;  // of everything in samples_
  std::vector<std::string> records_;  // encoded, not yet written
};

// Reads every record of `r` through the filters into `out`.
absl::Status Fold(Reader& r, absl::FunctionRef<bool(uint64_t)> keep, int64_t mint,
                  CheckpointWriter& out, std::map<std::string, MetadataRecord>& metadata,
                  CheckpointStats& stats, const std::string& what) {
  std::string_view rec;
  std::vector<SeriesRecord> series;
  std::vector<SampleRecord> samples;
  std::vector<MetadataRecord> md;
  while (r.Next(&rec)) {
    auto type = PeekType(rec);
    absl::Status s = type.status();
    if (s.ok()) {
      switch (*type) {
        case RecordType::kSeries:
          s = DecodeSeries(rec, &series);
          for (size_t i = 0; s.ok() && i < series.size(); ++i) {
            if (keep(series[i].ref)) {
              ++stats.series_kept;
              s = out.AddSeries(series[i]);
            } else {
              ++stats.series_dropped;
            }
          }
          break;
        case RecordType::kSamples:
        case RecordType::kOooSamples:
          s = DecodeSamples(rec, &samples);
          for (size_t i = 0; s.ok() && i < samples.size(); ++i) {
            if (samples[i].t >= mint && keep(samples[i].ref)) {
              ++stats.samples_kept;
              s = out.AddSample(samples[i], *type);
            } else {
              ++stats.samples_dropped;
            }
          }
          break;
        case RecordType::kMetadata:
          s = DecodeMetadata(rec, &md);
          if (s.ok()) {
            for (auto& m : md) metadata[m.family] = std::move(m);
          }
          break;
      }
    }
    if (!s.ok()) {
      // Replay would skip an undecodable record; a checkpoint must not silently do so.
      return absl::Status(s.code(), absl::StrCat("checkpointing ", what, " segment ",
                                                 r.segment(), ": ", s.message()));
    }
  }
  if (!r.status().ok()) {
    return absl::Status(r.status().code(),
                        absl::StrCat("checkpointing ", what, ": ", r.status().message(),
                                     "; nothing was deleted"));
  }
  return absl::OkStatus();
}

absl::Status WriteCheckpoint(base::Env* env, const std::string& wal_dir, const std::string& tmp,
                             const absl::StatusOr<CheckpointInfo>& prev, uint64_t last_segment,
                             absl::FunctionRef<bool(uint64_t)> keep, int64_t mint,
                             CheckpointStats& stats) {
  WriterOptions wo;
  wo.sync = false;  // every segment is synced when rolled and on Close
  auto w = Writer::Open(env, tmp, wo);
  if (!w.ok()) return w.status();
  CheckpointWriter out(w->get());
  std::map<std::string, MetadataRecord> metadata;
  if (prev.ok()) {
    auto r = Reader::Open(env, prev->dir);
    if (!r.ok()) return r.status();
    if (auto s = Fold(**r, keep, mint, out, metadata, stats, prev->dir); !s.ok()) return s;
  }
  const uint64_t first = prev.ok() ? prev->segment + 1 : 0;
  auto r = Reader::Open(env, wal_dir, first, last_segment);
  if (!r.ok()) return r.status();
  stats.segments_read = (*r)->segments().size();
  if (auto s = Fold(**r, keep, mint, out, metadata, stats, wal_dir); !s.ok()) return s;
  stats.metadata_kept = metadata.size();
  if (auto s = out.Finish(metadata); !s.ok()) return s;
  if (auto s = (*w)->Close(); !s.ok()) return s;
  return env->SyncDir(tmp);
}

}  // namespace

std::string CheckpointPath(const std::string& wal_dir, uint64_t segment) {
  return base::JoinPath(wal_dir, absl::StrFormat("%s%08d", kPrefix, segment));
}

absl::StatusOr<CheckpointInfo> LatestCheckpoint(base::Env* env, const std::string& wal_dir) {
  if (!env->IsDirectory(wal_dir)) {
    return absl::NotFoundError(absl::StrCat("no checkpoint in ", wal_dir));
  }
  auto children = env->GetChildren(wal_dir);
  if (!children.ok()) return children.status();
  bool found = false;
  uint64_t best = 0;
  for (const std::string& name : *children) {
    uint64_t n;
    if (ParseCheckpointName(name, &n) && (!found || n > best)) {
      best = n;
      found = true;
    }
  }
  if (!found) return absl::NotFoundError(absl::StrCat("no checkpoint in ", wal_dir));
  return CheckpointInfo{best, CheckpointPath(wal_dir, best)};
}

absl::Status Checkpoint(base::Env* env, const std::string& wal_dir, uint64_t last_segment,
                        absl::FunctionRef<bool(uint64_t)> keep, int64_t mint,
                        CheckpointStats* stats) {
  CheckpointStats local;
  if (stats == nullptr) stats = &local;
  *stats = {};
  auto prev = LatestCheckpoint(env, wal_dir);
  if (!prev.ok() && !absl::IsNotFound(prev.status())) return prev.status();
  if (prev.ok() && last_segment <= prev->segment) return absl::OkStatus();

  const std::string final_dir = CheckpointPath(wal_dir, last_segment);
  const std::string tmp = absl::StrCat(final_dir, kTmpSuffix);
  if (auto s = env->RemoveDirRecursive(tmp); !s.ok()) return s;
  absl::Status s = WriteCheckpoint(env, wal_dir, tmp, prev, last_segment, keep, mint, *stats);
  if (s.ok()) s = env->RenameFile(tmp, final_dir);
  if (s.ok()) s = env->SyncDir(wal_dir);
  if (!s.ok()) {
    (void)env->RemoveDirRecursive(tmp);  // best effort: replay ignores it anyway
    return s;
  }

  // The new checkpoint is durable: what it covers is now redundant. Failures from here on
  // leave extra files that replay skips and the next checkpoint removes.
  if (auto st = RemoveSegmentsBefore(env, wal_dir, last_segment + 1); !st.ok()) return st;
  auto children = env->GetChildren(wal_dir);
  if (!children.ok()) return children.status();
  for (const std::string& name : *children) {
    uint64_t n;
    const bool old = ParseCheckpointName(name, &n) && n < last_segment;
    const bool leftover = std::string_view(name).starts_with(kPrefix) &&
                          std::string_view(name).ends_with(kTmpSuffix);
    if (old || leftover) {
      if (auto st = env->RemoveDirRecursive(base::JoinPath(wal_dir, name)); !st.ok()) return st;
    }
  }
  spdlog::info("wal checkpoint {}: {} segments folded; kept {} series, {} samples, {} metadata; "
               "dropped {} series, {} samples",
               final_dir, stats->segments_read, stats->series_kept, stats->samples_kept,
               stats->metadata_kept, stats->series_dropped, stats->samples_dropped);
  return absl::OkStatus();
}

}  // namespace xscaler::storage::wal
