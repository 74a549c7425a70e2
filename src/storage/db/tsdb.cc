#include "storage/db/tsdb.h"

#include <chrono>

#include "spdlog/spdlog.h"

namespace xscaler::storage {

Tsdb::Tsdb(std::string dir, TsdbOptions opts)
    : dir_(std::move(dir)), opts_(opts), head_(std::make_unique<head::Head>(opts.head)) {}

Tsdb::~Tsdb() {
  if (auto st = Close(); !st.ok()) spdlog::error("closing tsdb {}: {}", dir_, st.ToString());
}

absl::StatusOr<std::unique_ptr<Tsdb>> Tsdb::Open(std::string dir, TsdbOptions opts) {
  if (opts.env == nullptr) opts.env = base::Env::Default();
  base::Env* env = opts.env;
  if (auto st = env->CreateDir(dir); !st.ok()) return st;
  std::unique_ptr<Tsdb> db(new Tsdb(dir, opts));
  const std::string wal_dir = base::JoinPath(dir, "wal");

  const auto start = std::chrono::steady_clock::now();
  auto reader = wal::Reader::Open(env, wal_dir);
  if (!reader.ok()) return reader.status();
  std::string rec;
  uint64_t last_segment = 0;
  while ((*reader)->Next(&rec)) {
    db->head_->ReplayRecord(rec);
    if ((*reader)->segment() != last_segment) {
      last_segment = (*reader)->segment();
      spdlog::info("tsdb {}: replaying wal segment {} of {}", dir, last_segment,
                   (*reader)->segments().empty() ? 0 : (*reader)->segments().back());
    }
  }
  if (!(*reader)->status().ok()) {
    spdlog::warn("tsdb {}: wal is corrupt after the last good record ({}); truncating there "
                 "and continuing with what was read",
                 dir, (*reader)->status().ToString());
    if (auto st = (*reader)->Repair(); !st.ok()) return st;
  }
  reader->reset();
  db->head_->FinishReplay();
  const auto& rs = db->head_->replay_stats();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info(
      "tsdb {}: replayed {} records / {} series / {} samples in {:.3f} s ({} unknown refs, {} "
      "dropped, {} bad records)",
      dir, rs.records, rs.series, rs.samples, secs, rs.unknown_refs, rs.dropped_samples,
      rs.bad_records);

  auto writer = wal::Writer::Open(env, wal_dir, opts.wal);
  if (!writer.ok()) return writer.status();
  db->wal_ = std::move(*writer);
  db->head_->SetWal(db->wal_.get());
  return db;
}

absl::Status Tsdb::Close() {
  absl::MutexLock lock(&close_mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  if (wal_ == nullptr) return absl::OkStatus();
  return wal_->Close();
}

}  // namespace xscaler::storage
