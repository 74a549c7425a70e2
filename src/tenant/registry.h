// The registry of tenants: one database, one OTLP ingester and one ingestion log per tenant,
// each tenant's files under DATA_DIR/tenants/<tenant-id>/ (tenant-ID rules make the ID a safe
// directory name). Open() opens every tenant found on disk, replaying their WALs, before it
// returns: that is what /ready waits for. Tenants first seen later are created lazily.
//
// Thread-safety: all methods are safe to call concurrently. A Tenant* handed out stays valid
// for the registry's lifetime (tenants are never removed while it runs). Creating a tenant
// serializes with other creations only; lookups of existing tenants never wait on one.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ingest/otlp/ingester.h"
#include "storage/db/tsdb.h"
#include "tenant/ingestion_log.h"

namespace xscaler::tenant {

struct RegistryOptions {
  storage::TsdbOptions tsdb;
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

 private:
  TenantRegistry(std::string data_dir, RegistryOptions opts)
      : data_dir_(std::move(data_dir)), opts_(std::move(opts)) {}

  std::string TenantDir(std::string_view tenant_id) const;
  absl::StatusOr<std::unique_ptr<Tenant>> OpenTenant(std::string_view tenant_id) const;

  const std::string data_dir_;
  const RegistryOptions opts_;
  // Held across a tenant's (slow) open so two requests never open one tenant twice; mu_ is
  // taken only briefly, so Find never waits for a WAL replay.
  absl::Mutex create_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Tenant>> tenants_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xscaler::tenant
