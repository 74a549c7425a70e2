#include "tenant/registry.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <tuple>

#include "spdlog/spdlog.h"
#include "tenant/tenant_id.h"
#include "tenant/units.h"

namespace xscaler::tenant {

namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<TenantRegistry>> TenantRegistry::Open(std::string data_dir,
                                                                     RegistryOptions opts) {
  // One limiter for every tenant: background block work stays on a bounded share of the cores
  // however many tenants there are.
  if (opts.tsdb.compaction_limiter == nullptr) {
    opts.tsdb.compaction_limiter = std::make_shared<storage::CompactionLimiter>();
  }
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
  if (reg->opts_.max_storage_bytes > 0 && reg->opts_.size_cap_interval_ms > 0) {
    TenantRegistry* raw = reg.get();
    reg->maintenance_ = std::thread([raw] { raw->MaintenanceLoop(); });
  }
  return reg;
}

TenantRegistry::~TenantRegistry() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  if (maintenance_.joinable()) maintenance_.join();
}

void TenantRegistry::MaintenanceLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&stop_mu_);
      stop_mu_.AwaitWithTimeout(absl::Condition(&stop_),
                                absl::Milliseconds(opts_.size_cap_interval_ms));
      if (stop_) return;
    }
    EnforceSizeCap();
  }
}

std::string TenantRegistry::TenantDir(std::string_view tenant_id) const {
  return (fs::path(data_dir_) / "tenants" / std::string(tenant_id)).string();
}

absl::StatusOr<std::unique_ptr<Tenant>> TenantRegistry::OpenTenant(
    std::string_view tenant_id) const {
  auto t = std::make_unique<Tenant>(opts_.ingestion_log_capacity);
  t->id = std::string(tenant_id);
  storage::TsdbOptions tsdb = opts_.tsdb;
  const TenantLimits limits = LimitsFor(tenant_id);
  tsdb.retention_ms = limits.retention_ms;
  tsdb.ooo_window_ms = limits.ooo_window_ms;
  absl::StatusOr<std::unique_ptr<storage::Tsdb>> db =
      storage::Tsdb::Open(TenantDir(tenant_id), tsdb);
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
  {
    absl::MutexLock lock(&mu_);
    tenants_.emplace(raw->id, *std::move(t));
  }
  // An ApplyRuntimeConfig during the open did not see this tenant yet.
  raw->db->SetRetention(LimitsFor(raw->id).retention_ms);
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

TenantLimits TenantRegistry::LimitsFor(std::string_view tenant_id) const {
  absl::MutexLock lock(&limits_mu_);
  return runtime_.LimitsFor(tenant_id, opts_.default_limits);
}

void TenantRegistry::ApplyRuntimeConfig(const RuntimeConfig& cfg) {
  RuntimeConfig before;
  {
    absl::MutexLock lock(&limits_mu_);
    before = std::move(runtime_);
    runtime_ = cfg;
  }
  auto forever = [](int64_t ms) { return ms == 0 ? std::string("forever") : FormatDurationMs(ms); };
  for (const std::string& id : List()) {
    Tenant* t = Find(id);
    if (t == nullptr) continue;
    const TenantLimits limits = LimitsFor(id);
    const int64_t retention = t->db->retention_ms();
    if (retention != limits.retention_ms) {
      t->db->SetRetention(limits.retention_ms);
      spdlog::info("tenant \"{}\": retention {} -> {}", id, forever(retention),
                   forever(limits.retention_ms));
    }
    const int64_t ooo = before.LimitsFor(id, opts_.default_limits).ooo_window_ms;
    if (ooo != limits.ooo_window_ms) {
      t->db->SetOooWindow(limits.ooo_window_ms);
      spdlog::info("tenant \"{}\": ooo_window {} -> {}", id, FormatDurationMs(ooo),
                   FormatDurationMs(limits.ooo_window_ms));
    }
  }
}

TenantRegistry::SizeCapResult TenantRegistry::EnforceSizeCap() {
  SizeCapResult result;
  const uint64_t cap = opts_.max_storage_bytes;
  if (cap == 0) return result;
  absl::MutexLock serialize(&cap_mu_);
  struct Item {
    int64_t max_time, min_time;
    const std::string* tenant;
    std::string ulid;
    uint64_t bytes;
    storage::Tsdb* db;
  };
  std::vector<Item> items;
  for (const std::string& id : List()) {
    Tenant* t = Find(id);
    if (t == nullptr) continue;
    for (const std::shared_ptr<storage::block::Block>& b : t->db->Blocks()) {
      items.push_back(Item{b->meta().max_time, b->meta().min_time, &t->id, b->meta().ulid,
                           b->SizeBytes(), t->db.get()});
      result.bytes_before += b->SizeBytes();
    }
  }
  result.bytes_after = result.bytes_before;
  if (result.bytes_before <= cap) return result;
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(a.max_time, a.min_time, *a.tenant, a.ulid) <
           std::tie(b.max_time, b.min_time, *b.tenant, b.ulid);
  });
  for (const Item& it : items) {
    if (result.bytes_after <= cap) break;
    absl::Status st = it.db->DeleteBlock(it.ulid);
    if (!st.ok() && !absl::IsNotFound(st)) {
      spdlog::warn("size cap: cannot delete block {} of tenant \"{}\": {}", it.ulid, *it.tenant,
                   std::string(st.message()));
      continue;
    }
    // NotFound: compaction or retention removed it meanwhile; what replaced it (if anything)
    // is counted in the next round.
    result.bytes_after -= it.bytes;
    if (st.ok()) {
      ++result.blocks_deleted;
      spdlog::info(
          "size cap: deleted block {} of tenant \"{}\" ({}, data up to {} ms); blocks "
          "of all tenants now take {} of max_storage_bytes {}",
          it.ulid, *it.tenant, FormatBytes(it.bytes), it.max_time, FormatBytes(result.bytes_after),
          FormatBytes(cap));
    }
  }
  return result;
}

}  // namespace xscaler::tenant
