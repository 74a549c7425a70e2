// The plain request/response pair every handler sees. Nothing outside server.cc includes
// Boost.Beast: the server copies the wire message into a Request, runs the route, and writes
// the Response back. A Request is owned by one handler invocation at a time (not shared between
// threads); a Response likewise.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xscaler::http {

// What the authentication middleware established about the caller. Mirrors tenant::Grant so
// http does not depend on the token store's internals.
struct Grant {
  std::string token_id;
  std::string tenant;
  bool read = false;
  bool write = false;
};

struct Request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // the raw request target, e.g. "/api/v1/query?query=up"
  std::string path;    // percent-decoded path without the query string
  // Header (name, value) pairs in arrival order; names as sent. Use Header() to look up.
  std::vector<std::pair<std::string, std::string>> headers;
  // Decoded query-string parameters plus, for application/x-www-form-urlencoded POST bodies,
  // the form parameters (query first). Repeated keys such as match[] keep every value.
  std::multimap<std::string, std::string> params;
  // Captured `{name}` segments of the matched route pattern (percent-decoded).
  std::map<std::string, std::string> path_params;
  std::string body;            // after the decompression middleware: the decoded body
  std::string remote_address;  // "ip:port" of the peer

  // Set by the auth/tenant middleware.
  std::string tenant;
  std::optional<Grant> grant;

  // The first header named `name` (ASCII case-insensitive), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
  // The first value of parameter `name`, or nullopt.
  std::optional<std::string_view> Param(std::string_view name) const;
  // Every value of parameter `name`, in order.
  std::vector<std::string> Params(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type;
  // Extra headers (Content-Type and Content-Length are set by the server).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void SetHeader(std::string name, std::string value);
  // Convenience: status, content type and body in one call.
  void Set(int status_code, std::string type, std::string payload) {
    status = status_code;
    content_type = std::move(type);
    body = std::move(payload);
  }
};

// Writes an error in a route family's format (OTLP google.rpc.Status, Prometheus JSON, text).
// Middleware and the router use the route's writer so every error a client sees has the shape
// its protocol expects.
using ErrorWriter = void (*)(const Request& req, Response& res, int status,
                             std::string_view message);

// text/plain errors (remote write, probes, unknown paths).
void WriteTextError(const Request& req, Response& res, int status, std::string_view message);

// ASCII case-insensitive equality, for header names and tokens.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace xscaler::http
