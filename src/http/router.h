// Maps (method, path) to a handler. Paths are exact ("/api/v1/query") or patterns whose
// `{name}` segments capture one path segment ("/api/v1/label/{name}/values"). Routes added with
// `prometheus_alias` are also served under "/prometheus" (Mimir's and Grafana's habit), so a
// data source URL of http://host/prometheus works. A known path with a wrong method → 405 with
// `Allow`; an unknown path → 404 (text). Build the router before the server starts; afterwards
// it is read-only and safe to use from many threads.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace xscaler::http {

using Handler = std::function<void(Request&, Response&)>;

inline constexpr std::string_view kPrometheusPrefix = "/prometheus";

struct RouteOptions {
  // Also register "/prometheus" + path.
  bool prometheus_alias = false;
};

class Router {
 public:
  // `methods` such as {"GET", "POST"}; a route allowing GET also answers HEAD (body dropped by
  // the server). `errors` formats this route's errors (405 here, and whatever the middleware
  // wrapped into `handler` reports).
  void Handle(std::string_view pattern, std::vector<std::string> methods, Handler handler,
              ErrorWriter errors, RouteOptions options = {});

  // Runs the matching route, or writes 404/405. Fills req.path_params.
  void Dispatch(Request& req, Response& res) const;

  // The error writer of the route serving `path` (any method), else WriteTextError. Used by the
  // server for errors raised before a route runs (413 on the raw body, 503 when overloaded).
  ErrorWriter ErrorWriterFor(std::string_view path) const;

 private:
  struct Route {
    std::vector<std::string> segments;  // pattern split at '/'; "{x}" captures
    std::vector<std::string> methods;
    Handler handler;
    ErrorWriter errors;
  };
  // True when `path` matches `route`; fills `captures` when non-null.
  static bool Matches(const Route& route, const std::vector<std::string_view>& path_segments,
                      std::map<std::string, std::string>* captures);

  std::vector<Route> routes_;
};

}  // namespace xscaler::http
