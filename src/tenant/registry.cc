#include "tenant/registry.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "tenant/tenant_id.h"

namespace xscaler::tenant {

namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<TenantRegistry>> TenantRegistry::Open(std::string data_dir,
                                                                     RegistryOptions opts) {
  std::unique_ptr<TenantRegistry> reg(new TenantRegistry(std::move(data_dir), std::move(opts)));
  const fs::path root = fs::path(reg->data_dir_) / "tenants";
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    return absl::InternalError("cannot create tenants directory " + root.string() + ": " +
                               ec.message());
  }
  std::vector<std::string> ids;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    std::string name = it->path().filename().string();
    // Anything else (an editor's backup, lost+found, ...) is not a tenant.
    if (IsValidTenantId(name)) ids.push_back(std::move(name));
  }
  if (ec) {
    return absl::InternalError("cannot list tenants directory " + root.string() + ": " +
                               ec.message());
  }
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    absl::StatusOr<std::unique_ptr<Tenant>> t = reg->OpenTenant(id);
    if (!t.ok()) return t.status();
    absl::MutexLock lock(&reg->mu_);
    reg->tenants_.emplace(id, *std::move(t));
  }
  return reg;
}

std::string TenantRegistry::TenantDir(std::string_view tenant_id) const {
  return (fs::path(data_dir_) / "tenants" / std::string(tenant_id)).string();
}

absl::StatusOr<std::unique_ptr<Tenant>> TenantRegistry::OpenTenant(
    std::string_view tenant_id) const {
  auto t = std::make_unique<Tenant>(opts_.ingestion_log_capacity);
  t->id = std::string(tenant_id);
  absl::StatusOr<std::unique_ptr<storage::Tsdb>> db =
      storage::Tsdb::Open(TenantDir(tenant_id), opts_.tsdb);
  if (!db.ok()) {
    return absl::Status(db.status().code(), "cannot open the database of tenant \"" + t->id +
                                                "\": " + std::string(db.status().message()));
  }
  t->db = *std::move(db);
  t->otlp = std::make_unique<ingest::otlp::Ingester>(t->db.get(), opts_.translation);
  return t;
}

absl::StatusOr<Tenant*> TenantRegistry::GetOrCreate(std::string_view tenant_id) {
  if (Tenant* t = Find(tenant_id)) return t;
  if (absl::Status s = ValidateTenantId(tenant_id); !s.ok()) return s;
  absl::MutexLock create(&create_mu_);
  if (Tenant* t = Find(tenant_id)) return t;  // created while we waited
  absl::StatusOr<std::unique_ptr<Tenant>> t = OpenTenant(tenant_id);
  if (!t.ok()) return t.status();
  Tenant* raw = t->get();
  absl::MutexLock lock(&mu_);
  tenants_.emplace(raw->id, *std::move(t));
  return raw;
}

Tenant* TenantRegistry::Find(std::string_view tenant_id) const {
  absl::MutexLock lock(&mu_);
  auto it = tenants_.find(absl::string_view(tenant_id.data(), tenant_id.size()));
  return it == tenants_.end() ? nullptr : it->second.get();
}

std::vector<std::string> TenantRegistry::List() const {
  std::vector<std::string> ids;
  {
    absl::MutexLock lock(&mu_);
    ids.reserve(tenants_.size());
    for (const auto& [id, t] : tenants_) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace xscaler::tenant
