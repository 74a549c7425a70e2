#include "http/middleware.h"

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "http/decompress.h"
#include "http/str.h"

namespace xscaler::http {
namespace {

constexpr std::string_view kExpected = "expected \"Authorization: Bearer <token>\"";

bool Unauthorized(const Request& req, Response& res, ErrorWriter errors, std::string_view msg) {
  errors(req, res, 401, msg);
  res.SetHeader("WWW-Authenticate", "Bearer");
  return false;
}

// Why a malformed Authorization value is wrong, as a hint appended to the 401 message.
std::string MalformedHint(std::string_view value) {
  if (value.empty()) return "the header is empty";
  if (StartsWithIgnoreCase(value, "bearer") && !(value).starts_with("Bearer")) {
    return Cat("the scheme is case-sensitive: write \"Bearer\" with a capital B, not \"",
               value.substr(0, 6), "\"");
  }
  if ((value).starts_with("Bearer")) {
    std::string_view rest = value.substr(6);
    if (rest.empty() || Trim(rest).empty()) return "the token is missing";
    if (rest[0] != ' ') return "put one space between \"Bearer\" and the token";
    return "put exactly one space between \"Bearer\" and the token, with nothing after it";
  }
  size_t space = value.find(' ');
  return Cat("got the \"", value.substr(0, std::min<size_t>(space, 20)),
             "\" scheme; only Bearer tokens are accepted");
}

bool IsTokenChar(char c) { return std::isgraph(static_cast<unsigned char>(c)) != 0; }

std::string Normalize(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

}  // namespace

std::optional<std::string_view> FindMisspelledTenantHeader(const Request& req) {
  for (const auto& [name, value] : req.headers) {
    if (EqualsIgnoreCase(name, kTenantHeader)) continue;
    std::string n = Normalize(name);
    if (n == "xscopeorgid" || n == "xorgid" || n == "scopeorgid" || n == "orgid" ||
        n == "xscopeorganizationid" || n == "xscopetenantid" || n == "xtenantid" ||
        n == "tenantid" || n == "xscopeorg" || n == "xscopeid" ||
        (n.find("orgid") != std::string::npos && n.size() <= 16)) {
      return std::string_view(name);
    }
  }
  return std::nullopt;
}

std::string ExplainMalformedHead(std::string_view raw) {
  std::vector<std::string_view> lines = Split(raw, '\n');
  for (std::string_view line : lines) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    bool valid = !name.empty();
    for (char c : name) {
      valid = valid && (std::isalnum(static_cast<unsigned char>(c)) ||
                        std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos);
    }
    if (valid) continue;
    std::string msg = Cat("invalid header name '", name.substr(0, 64),
                          "': header names cannot contain spaces or separators");
    if (EqualsIgnoreCase(Trim(name), kTenantHeader)) {
      msg += Cat(" — remove the space before the colon; did you mean ", kTenantHeader, "?");
    }
    return msg;
  }
  return "";
}

bool CheckAuth(Request& req, Response& res, const AuthConfig& auth, Permission need,
               ErrorWriter errors) {
  std::optional<std::string_view> authz = req.Header("Authorization");
  if (!authz.has_value()) {
    return Unauthorized(req, res, errors, Cat("missing Authorization header: ", kExpected));
  }
  std::string_view value = *authz;
  constexpr std::string_view kScheme = "Bearer ";
  bool well_formed = (value).starts_with(kScheme) && value.size() > kScheme.size();
  std::string_view token = well_formed ? value.substr(kScheme.size()) : std::string_view();
  for (char c : token) well_formed = well_formed && IsTokenChar(c);
  if (!well_formed) {
    return Unauthorized(
        req, res, errors,
        Cat("malformed Authorization header: ", kExpected, " (", MalformedHint(value), ")"));
  }
  std::optional<Grant> grant = auth.authenticate ? auth.authenticate(token) : std::nullopt;
  if (!grant.has_value()) {
    return Unauthorized(req, res, errors, "token is not valid (unknown or revoked)");
  }

  std::optional<std::string_view> org = req.Header(kTenantHeader);
  if (!org.has_value() || org->empty()) {
    std::string msg = Cat(org.has_value() ? "empty" : "missing", " ", kTenantHeader,
                          " header: set it to your tenant ID");
    if (auto similar = FindMisspelledTenantHeader(req)) {
      msg += Cat(" (found header '", *similar, "' — did you mean ", kTenantHeader, "?)");
    }
    errors(req, res, 400, msg);
    return false;
  }
  if (auth.validate_tenant) {
    if (absl::Status st = auth.validate_tenant(*org); !st.ok()) {
      errors(req, res, 400, Sv(st.message()));
      return false;
    }
  }
  if (grant->tenant != *org) {
    errors(req, res, 403,
           Cat("token \"", grant->token_id, "\" is not granted access to tenant \"", *org, "\" (",
               kTenantHeader, "); it belongs to tenant \"", grant->tenant, "\""));
    return false;
  }
  bool allowed = need == Permission::kWrite ? grant->write : grant->read;
  if (!allowed) {
    std::string_view what = need == Permission::kWrite ? "write" : "read";
    errors(req, res, 403,
           Cat("token \"", grant->token_id, "\" lacks ", what, " permission for tenant \"", *org,
               "\"; create a token with --", what));
    return false;
  }
  req.tenant = std::string(*org);
  req.grant = std::move(grant);
  return true;
}

bool CheckDecompress(Request& req, Response& res, size_t max_bytes, ErrorWriter errors) {
  std::optional<std::string_view> enc = req.Header("Content-Encoding");
  if (!enc.has_value() || enc->empty()) {
    if (req.body.size() > max_bytes) {
      errors(req, res, 413, Cat("request body is larger than the limit of ", max_bytes, " bytes"));
      return false;
    }
    return true;
  }
  absl::StatusOr<std::string> decoded = Decompress(*enc, std::move(req.body), max_bytes);
  if (!decoded.ok()) {
    int status = 400;
    if (decoded.status().code() == absl::StatusCode::kResourceExhausted) status = 413;
    if (decoded.status().code() == absl::StatusCode::kUnimplemented) status = 415;
    req.body.clear();
    errors(req, res, status, Sv(decoded.status().message()));
    return false;
  }
  req.body = *std::move(decoded);
  return true;
}

Handler WithAuth(Handler next, std::shared_ptr<const AuthConfig> auth, Permission need,
                 ErrorWriter errors) {
  return
      [next = std::move(next), auth = std::move(auth), need, errors](Request& req, Response& res) {
        if (CheckAuth(req, res, *auth, need, errors)) next(req, res);
      };
}

Handler WithDecompression(Handler next, size_t max_bytes, ErrorWriter errors) {
  return [next = std::move(next), max_bytes, errors](Request& req, Response& res) {
    if (CheckDecompress(req, res, max_bytes, errors)) next(req, res);
  };
}

}  // namespace xscaler::http
