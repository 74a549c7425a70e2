// Per-route middleware as plain functions. Each Check* function either lets the request
// through (returns true, possibly rewriting it) or writes the error response in the route's
// format (returns false). The With* wrappers compose a check in front of a Handler, so a route
// reads as WithAuth(WithDecompression(handler)). Order matters: authenticate before inflating,
// so unauthenticated clients cannot make us decompress.
//
// Thread-safety: the functions are stateless; AuthConfig's callbacks must be thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "http/message.h"
#include "http/router.h"

namespace xscaler::http {

inline constexpr std::string_view kTenantHeader = "X-Scope-OrgID";

// How tokens and tenant IDs are checked; the server wires these to tenant::TokenStore and
// tenant::ValidateTenantId.
struct AuthConfig {
  // The grant for a presented token, or nullopt when unknown or revoked.
  std::function<std::optional<Grant>(std::string_view token)> authenticate;
  // OK or InvalidArgument whose message names the header and the rule broken.
  std::function<absl::Status(std::string_view tenant_id)> validate_tenant;
};

enum class Permission { kRead, kWrite };

// `Authorization: Bearer <token>` and `X-Scope-OrgID`, in that order: 401 (with
// `WWW-Authenticate: Bearer`) for a missing/malformed header or an unknown/revoked token; 400
// for a missing, empty, misspelled or invalid tenant header; 403 when the token is not granted
// the tenant or lacks `need`. On success sets req.tenant and req.grant.
bool CheckAuth(Request& req, Response& res, const AuthConfig& auth, Permission need,
               ErrorWriter errors);

// Replaces req.body by its decoding per Content-Encoding: 413 past `max_bytes`, 415 for an
// unknown encoding, 400 for a corrupt stream.
bool CheckDecompress(Request& req, Response& res, size_t max_bytes, ErrorWriter errors);

Handler WithAuth(Handler next, std::shared_ptr<const AuthConfig> auth, Permission need,
                 ErrorWriter errors);
Handler WithDecompression(Handler next, size_t max_bytes, ErrorWriter errors);

// For header lines the HTTP parser rejected (what is left of the head from the failing field on,
// up to the blank line): a sentence naming the first invalid header name
// (e.g. "X-Scope-OrgID " with a space before the colon, which Python's http.client sends when
// the dict key has a trailing space), with the X-Scope-OrgID hint when it is that header; ""
// when no header name is at fault.
std::string ExplainMalformedHead(std::string_view header_lines);

// A header name that looks like a misspelt X-Scope-OrgID ("X-Scope-Org-ID", "X-Org-ID",
// "X-Scope-Orgid " ...), or nullopt. Exposed for tests.
std::optional<std::string_view> FindMisspelledTenantHeader(const Request& req);

}  // namespace xscaler::http
