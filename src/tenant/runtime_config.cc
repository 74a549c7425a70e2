#include "tenant/runtime_config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tenant/tenant_id.h"
#include "tenant/units.h"

namespace xscaler::tenant {
namespace {

absl::Status Bad(std::string_view source, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("runtime config ", std::string(source), ": ", std::string(what)));
}

absl::StatusOr<TenantOverrides> ParseTenant(const YAML::Node& node, std::string_view source,
                                            const std::string& tenant) {
  TenantOverrides o;
  if (node.IsNull()) return o;
  if (!node.IsMap()) {
    return Bad(source, absl::StrCat("overrides of tenant \"", tenant,
                                    "\" must be a mapping (retention, ooo_window)"));
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (!kv.second.IsScalar()) {
      return Bad(source, absl::StrCat("tenant \"", tenant, "\": ", key, " must be a duration"));
    }
    const std::string value = kv.second.as<std::string>();
    std::optional<int64_t>* slot = nullptr;
    if (key == "retention") {
      slot = &o.retention_ms;
    } else if (key == "ooo_window") {
      slot = &o.ooo_window_ms;
    } else {
      return Bad(source, absl::StrCat("tenant \"", tenant, "\": unknown key \"", key,
                                      "\" (known: retention, ooo_window)"));
    }
    absl::StatusOr<int64_t> ms = ParseDurationMs(value);
    if (!ms.ok()) {
      return Bad(source,
                 absl::StrCat("tenant \"", tenant, "\": ", key, ": ", ms.status().message()));
    }
    *slot = *ms;
  }
  return o;
}

}  // namespace

TenantLimits RuntimeConfig::LimitsFor(std::string_view tenant, const TenantLimits& defaults) const {
  TenantLimits limits = defaults;
  auto it = overrides.find(tenant);
  if (it == overrides.end()) return limits;
  if (it->second.retention_ms) limits.retention_ms = *it->second.retention_ms;
  if (it->second.ooo_window_ms) limits.ooo_window_ms = *it->second.ooo_window_ms;
  return limits;
}

absl::StatusOr<RuntimeConfig> ParseRuntimeConfig(std::string_view yaml, std::string_view source) {
  RuntimeConfig cfg;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (root.IsNull()) return cfg;
    if (!root.IsMap()) return Bad(source, "expected a mapping with the key \"overrides\"");
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (key != "overrides") {
        return Bad(source, absl::StrCat("unknown key \"", key, "\" (known: overrides)"));
      }
      const YAML::Node& tenants = kv.second;
      if (tenants.IsNull()) continue;
      if (!tenants.IsMap()) return Bad(source, "overrides must map tenant IDs to their limits");
      for (const auto& t : tenants) {
        const std::string id = t.first.as<std::string>();
        if (absl::Status s = ValidateTenantId(id); !s.ok()) {
          return Bad(source, absl::StrCat("overrides: ", s.message()));
        }
        absl::StatusOr<TenantOverrides> o = ParseTenant(t.second, source, id);
        if (!o.ok()) return o.status();
        cfg.overrides[id] = *o;
      }
    }
  } catch (const YAML::Exception& e) {
    return Bad(source, e.what());
  }
  return cfg;
}

absl::StatusOr<RuntimeConfig> LoadRuntimeConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read runtime config ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseRuntimeConfig(text.str(), path);
}

absl::Status RuntimeConfigReloader::Reload(bool* changed) {
  if (changed != nullptr) *changed = false;
  // Serialized so two reloads never apply their configs out of order.
  absl::MutexLock reload(&reload_mu_);
  absl::StatusOr<RuntimeConfig> cfg = LoadRuntimeConfigFile(path_);
  if (!cfg.ok()) return cfg.status();
  {
    absl::MutexLock lock(&mu_);
    if (loaded_ && current_ == *cfg) return absl::OkStatus();
    loaded_ = true;
    current_ = *cfg;
  }
  // Outside mu_ so current() never waits on apply (which takes the registry's locks).
  apply_(*cfg);
  if (changed != nullptr) *changed = true;
  return absl::OkStatus();
}

RuntimeConfig RuntimeConfigReloader::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

}  // namespace xscaler::tenant
