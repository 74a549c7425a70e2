// Per-tenant limits and the runtime config file that overrides them without a restart, in
// Mimir's layout:
//
//   overrides:
//     tenant-a:
//       retention: 30d      # 0 = keep forever
//       ooo_window: 10m
//
// A tenant without an entry (or a key left out) gets the server-wide default from the main
// config. The server re-reads the file periodically and on SIGHUP (RuntimeConfigReloader); a
// file that does not parse is reported and the previous values stay in force.
//
// Thread-safety: the value types are plain; RuntimeConfigReloader is safe for concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace xscaler::tenant {

// The limits one tenant's storage runs with.
struct TenantLimits {
  int64_t retention_ms = 15LL * 24 * 3600 * 1000;  // 0 = keep forever
  int64_t ooo_window_ms = 0;                       // 0 = out-of-order samples rejected

  friend bool operator==(const TenantLimits&, const TenantLimits&) = default;
};

// One tenant's entry; unset fields fall back to the defaults.
struct TenantOverrides {
  std::optional<int64_t> retention_ms;
  std::optional<int64_t> ooo_window_ms;

  friend bool operator==(const TenantOverrides&, const TenantOverrides&) = default;
};

struct RuntimeConfig {
  std::map<std::string, TenantOverrides, std::less<>> overrides;

  // `defaults` with the tenant's overrides applied.
  TenantLimits LimitsFor(std::string_view tenant, const TenantLimits& defaults) const;

  friend bool operator==(const RuntimeConfig&, const RuntimeConfig&) = default;
};

// Parses runtime config YAML. `source` names the file in errors. Errors (InvalidArgument) name
// the offending key or value: an unknown key at any level, a tenant ID that breaks the
// X-Scope-OrgID rules, a malformed duration. An empty document is a config without overrides.
absl::StatusOr<RuntimeConfig> ParseRuntimeConfig(std::string_view yaml, std::string_view source);
absl::StatusOr<RuntimeConfig> LoadRuntimeConfigFile(const std::string& path);

// Reads `path` on demand and hands each new valid config to `apply`.
class RuntimeConfigReloader {
 public:
  RuntimeConfigReloader(std::string path, std::function<void(const RuntimeConfig&)> apply)
      : path_(std::move(path)), apply_(std::move(apply)) {}

  // Reads the file; when it parses and differs from the last applied config, calls `apply`
  // and sets *changed. On error nothing is applied (the previous config stays in force) and
  // the error names the file and the problem.
  absl::Status Reload(bool* changed = nullptr);

  RuntimeConfig current() const;
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  const std::function<void(const RuntimeConfig&)> apply_;
  absl::Mutex reload_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  RuntimeConfig current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xscaler::tenant
