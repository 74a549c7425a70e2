// Tenant ID rules, as Mimir defines them (docs/sources/mimir/configure/about-tenant-ids.md):
// 1 to 150 bytes of letters, digits and ! - _ . * ' ( ); not "." or ".."; not "__mimir_cluster".
// The same IDs name per-tenant directories under DATA_DIR/tenants/, which these rules make safe
// (no '/', no "." or "..").
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace xscaler::tenant {

inline constexpr std::string_view kTenantHeader = "X-Scope-OrgID";
inline constexpr size_t kMaxTenantIdLength = 150;

// OK, or InvalidArgument naming the header and the rule violated, e.g.
// `X-Scope-OrgID "a/b" contains '/', which is not allowed: tenant IDs may use letters, digits
// and ! - _ . * ' ( )`.
absl::Status ValidateTenantId(std::string_view id);

bool IsValidTenantId(std::string_view id);

}  // namespace xscaler::tenant
