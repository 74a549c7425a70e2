// Tsdb: one tenant's database — the in-memory head behind a write-ahead log in `dir/wal`.
// Implements storage::Storage. Open replays the WAL into the head (logging progress), repairs
// a corrupt or torn tail by truncating at the last good frame, then opens a WAL writer; it
// returns only when the database is ready to serve. On-disk blocks, compaction and retention
// come later (issue 3) and will slot in behind the same Storage interface, with the querier
// merging head and blocks.
//
// Thread-safety: safe for concurrent use (see storage.h). Appenders and queriers must not
// outlive the Tsdb; Commits after Close fail.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/env.h"
#include "storage/head/head.h"
#include "storage/storage.h"
#include "storage/wal/wal.h"

namespace xscaler::storage {

using HeadStats = head::HeadStats;

struct TsdbOptions {
  base::Env* env = nullptr;  // null: base::Env::Default()
  head::HeadOptions head;
  wal::WriterOptions wal;
};

class Tsdb final : public Storage {
 public:
  // Creates `dir` if needed, replays `dir/wal` and opens it for writing.
  static absl::StatusOr<std::unique_ptr<Tsdb>> Open(std::string dir, TsdbOptions opts = {});
  ~Tsdb() override;  // Close(), errors logged

  // Syncs and closes the WAL. Idempotent.
  absl::Status Close();

  std::unique_ptr<Appender> NewAppender() override { return head_->NewAppender(); }
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    return head_->NewQuerier(mint, maxt);
  }
  std::map<std::string, MetricMetadata> Metadata() const override { return head_->Metadata(); }

  HeadStats Stats() const { return head_->Stats(); }
  const head::ReplayStats& replay_stats() const { return head_->replay_stats(); }
  head::Head& head() { return *head_; }
  const std::string& dir() const { return dir_; }

 private:
  Tsdb(std::string dir, TsdbOptions opts);

  const std::string dir_;
  const TsdbOptions opts_;
  std::unique_ptr<head::Head> head_;
  std::unique_ptr<wal::Writer> wal_;
  absl::Mutex close_mu_;
  bool closed_ ABSL_GUARDED_BY(close_mu_) = false;
};

}  // namespace xscaler::storage
