// The registry of tenants: one database, one OTLP ingester and one ingestion log per tenant,
// each tenant's files under DATA_DIR/tenants/<tenant-id>/ (tenant-ID rules make the ID a safe
// directory name). Open() opens every tenant found on disk, replaying their WALs, before it
// returns: that is what /ready waits for. Tenants first seen later are created lazily.
//
// Limits: every tenant's Tsdb opens with RegistryOptions::tsdb, its retention taken from the
// tenant's limits (defaults + runtime overrides). ApplyRuntimeConfig changes them live. The
// global size cap (max_storage_bytes) spans all tenants: EnforceSizeCap deletes the blocks
// whose data ends earliest, whichever tenant they belong to, until the blocks fit; a
// maintenance thread runs it every size_cap_interval_ms when a cap is set.
//
// Thread-safety: all methods are safe to call concurrently. A Tenant* handed out stays valid
// for the registry's lifetime (tenants are never removed while it runs). Creating a tenant
// serializes with other creations only; lookups of existing tenants never wait on one.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ingest/otlp/ingester.h"
#include "ingest/remote_write/series_ref_cache.h"
#include "storage/db/tsdb.h"
#include "tenant/ingestion_log.h"
#include "tenant/runtime_config.h"

namespace xscaler::tenant {

struct RegistryOptions {
  // Every tenant's database options; retention_ms is replaced by the tenant's limits.
  storage::TsdbOptions tsdb;
  // Limits of tenants without overrides, and the overrides (ApplyRuntimeConfig replaces them).
  TenantLimits default_limits;
  RuntimeConfig runtime;
  // Cap on the bytes of blocks across all tenants; 0 = none.
  uint64_t max_storage_bytes = 0;
  // How often the maintenance thread enforces the cap; 0 = no thread (call EnforceSizeCap).
  int64_t size_cap_interval_ms = 60 * 1000;
  ingest::otlp::TranslationOptions translation;
  size_t ingestion_log_capacity = IngestionLog::kDefaultCapacity;
};

struct Tenant {
  explicit Tenant(size_t log_capacity) : log(log_capacity) {}
  std::string id;
  // Declared before `otlp`, which reads it, so it is destroyed after it.
  std::unique_ptr<storage::Tsdb> db;
  std::unique_ptr<ingest::otlp::Ingester> otlp;
  IngestionLog log;
  // Remote-write label bytes -> series ref in `db` (refs are never reused within a process,
  // so entries stay correct or go NotFound; the cache is per process, like the refs).
  ingest::remote_write::SeriesRefCache rw_refs;
};

class TenantRegistry {
 public:
  static absl::StatusOr<std::unique_ptr<TenantRegistry>> Open(std::string data_dir,
                                                              RegistryOptions opts);

  // The tenant `tenant_id`, opened or created on first use. InvalidArgument for an ID that
  // breaks the X-Scope-OrgID rules; an error from opening its database otherwise.
  absl::StatusOr<Tenant*> GetOrCreate(std::string_view tenant_id);

  // The tenant if it exists, else nullptr (queries on an unknown tenant see no data; they must
  // not create it).
  Tenant* Find(std::string_view tenant_id) const;

  // IDs of every open tenant, sorted.
  std::vector<std::string> List() const;

  const std::string& data_dir() const { return data_dir_; }

  // Replaces the per-tenant overrides and applies changed retentions to open tenants at once
  // (they take effect in each tenant's next compaction round); new tenants open with them.
  // Logs each change.
  void ApplyRuntimeConfig(const RuntimeConfig& cfg);
  // The limits tenant `tenant_id` runs with (or would, once created).
  TenantLimits LimitsFor(std::string_view tenant_id) const;

  struct SizeCapResult {
    uint64_t bytes_before = 0;  // blocks of all tenants
    uint64_t bytes_after = 0;
    size_t blocks_deleted = 0;
  };
  // While the blocks of all tenants take more than max_storage_bytes, deletes the block whose
  // max_time is smallest (then min_time, tenant, ulid). No-op without a cap. Logs deletions.
  SizeCapResult EnforceSizeCap();
  uint64_t max_storage_bytes() const { return opts_.max_storage_bytes; }

  // Stops the maintenance thread, then closes every tenant's database.
  ~TenantRegistry();

 private:
  TenantRegistry(std::string data_dir, RegistryOptions opts)
      : data_dir_(std::move(data_dir)), opts_(std::move(opts)), runtime_(opts_.runtime) {}
  void MaintenanceLoop();

  std::string TenantDir(std::string_view tenant_id) const;
  absl::StatusOr<std::unique_ptr<Tenant>> OpenTenant(std::string_view tenant_id) const;

  const std::string data_dir_;
  const RegistryOptions opts_;
  // Held across a tenant's (slow) open so two requests never open one tenant twice; mu_ is
  // taken only briefly, so Find never waits for a WAL replay.
  absl::Mutex create_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Tenant>> tenants_ ABSL_GUARDED_BY(mu_);

  mutable absl::Mutex limits_mu_;
  RuntimeConfig runtime_ ABSL_GUARDED_BY(limits_mu_);

  absl::Mutex cap_mu_;  // one EnforceSizeCap at a time

  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread maintenance_;
};

}  // namespace xscaler::tenant
