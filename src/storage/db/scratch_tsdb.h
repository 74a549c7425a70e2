// A Tsdb in a new temporary directory, closed and removed with this object: for benchmarks that
// need a real database for a while. The WAL is not fsynced by default (a benchmark of the
// ingest path measures CPU, not the disk).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/db/tsdb.h"

namespace xscaler::storage {

class ScratchTsdb {
 public:
  static TsdbOptions NoSyncOptions() {
    TsdbOptions opts;
    opts.wal.sync = false;
    return opts;
  }

  // `name` becomes part of the directory's name (e.g. "bench-rw").
  static absl::StatusOr<std::unique_ptr<ScratchTsdb>> Open(std::string_view name,
                                                           TsdbOptions opts = NoSyncOptions()) {
    std::string dir =
        (std::filesystem::temp_directory_path() / ("xs-" + std::string(name) + "-XXXXXX")).string();
    if (mkdtemp(dir.data()) == nullptr) {
      return absl::InternalError("cannot create a temporary directory " + dir);
    }
    auto db = Tsdb::Open(dir, opts);
    if (!db.ok()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      return db.status();
    }
    return std::unique_ptr<ScratchTsdb>(new ScratchTsdb(std::move(dir), *std::move(db)));
  }

  ~ScratchTsdb() {
    (void)db_->Close();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchTsdb(const ScratchTsdb&) = delete;
  ScratchTsdb& operator=(const ScratchTsdb&) = delete;

  Tsdb& db() { return *db_; }
  const std::string& dir() const { return dir_; }

 private:
  ScratchTsdb(std::string dir, std::unique_ptr<Tsdb> db) : dir_(std::move(dir)), db_(std::move(db)) {}

  std::string dir_;
  std::unique_ptr<Tsdb> db_;
};

}  // namespace xscaler::storage
