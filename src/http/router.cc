#include "http/router.h"

#include <map>

#include "http/str.h"

namespace xscaler::http {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) { return Split(path, '/'); }

bool IsCapture(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

bool Allows(const std::vector<std::string>& methods, std::string_view method) {
  for (const auto& m : methods) {
    if (m == method || (method == "HEAD" && m == "GET")) return true;
  }
  return false;
}

}  // namespace

void Router::Handle(std::string_view pattern, std::vector<std::string> methods, Handler handler,
                    ErrorWriter errors, RouteOptions options) {
  auto add = [&](std::string_view p) {
    Route route;
    for (std::string_view s : SplitPath(p)) route.segments.emplace_back(s);
    route.methods = methods;
    route.handler = handler;
    route.errors = errors ? errors : &WriteTextError;
    routes_.push_back(std::move(route));
  };
  add(pattern);
  if (options.prometheus_alias) add(std::string(kPrometheusPrefix) + std::string(pattern));
}

bool Router::Matches(const Route& route, const std::vector<std::string_view>& path_segments,
                     std::map<std::string, std::string>* captures) {
  if (route.segments.size() != path_segments.size()) return false;
  for (size_t i = 0; i < path_segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (IsCapture(want)) {
      if (path_segments[i].empty()) return false;
      continue;
    }
    if (want != path_segments[i]) return false;
  }
  if (captures != nullptr) {
    for (size_t i = 0; i < path_segments.size(); ++i) {
      const std::string& want = route.segments[i];
      if (IsCapture(want)) {
        (*captures)[want.substr(1, want.size() - 2)] = std::string(path_segments[i]);
      }
    }
  }
  return true;
}

void Router::Dispatch(Request& req, Response& res) const {
  std::vector<std::string_view> segments = SplitPath(req.path);
  const Route* path_match = nullptr;
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    if (!Matches(route, segments, nullptr)) continue;
    if (Allows(route.methods, req.method)) {
      Matches(route, segments, &req.path_params);
      route.handler(req, res);
      return;
    }
    if (path_match == nullptr) path_match = &route;
    for (const auto& m : route.methods) allowed.push_back(m);
  }
  if (path_match != nullptr) {
    path_match->errors(req, res, 405,
                       "method " + req.method + " is not allowed for " + req.path + "; use " +
                           Join(allowed, " or "));
    res.SetHeader("Allow", Join(allowed, ", "));
    return;
  }
  WriteTextError(req, res, 404, "404 page not found: no route for " + req.path);
}

ErrorWriter Router::ErrorWriterFor(std::string_view path) const {
  std::vector<std::string_view> segments = SplitPath(path);
  for (const Route& route : routes_) {
    if (Matches(route, segments, nullptr)) return route.errors;
  }
  return &WriteTextError;
}

}  // namespace xscaler::http
