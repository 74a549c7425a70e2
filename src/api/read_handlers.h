// Handlers of the Prometheus read API (query, query_range, format_query, parse_query, series,
// labels, label values, metadata, exemplars, buildinfo), tenant-scoped: the auth middleware
// has set req.tenant, and a tenant that has never written anything reads as empty (never as
// another tenant's data); PromQL still evaluates for it against an empty storage, so `1+1`
// works before the first push. Responses use Prometheus' envelope (envelope.h) and parameter
// rules (params.h).
//
// Thread-safety: a ReadApi is immutable after construction; handlers run concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "http/message.h"
#include "labels/matcher.h"
#include "promql/engine.h"
#include "storage/storage.h"

namespace xscaler::api {

struct BuildInfo {
  std::string version = "0.1.0";
  std::string revision = "unknown";
  std::string branch = "main";
  std::string build_user = "unknown";
  std::string build_date = "unknown";
  std::string go_version = "none (C++20)";  // Prometheus' field name; we are not written in Go
};

struct ReadApiConfig {
  // The tenant's storage, or nullptr when the tenant has no data yet.
  std::function<storage::Storage*(std::string_view tenant)> storage;
  // Parses one series selector (`up{job="x"}`), e.g. promql::ParseMetricSelector; errors are
  // InvalidArgument with the parser's message.
  std::function<absl::StatusOr<std::vector<labels::Matcher>>(std::string_view)> parse_selector;
  // Evaluates query and query_range (lookback, default timeout and limits are its options).
  // Not owned; must outlive the ReadApi. Without one those endpoints answer `internal`.
  promql::Engine* engine = nullptr;
  // The evaluation time when `time` is absent (ms); wall clock by default.
  std::function<int64_t()> now_ms;
  BuildInfo build;
};

class ReadApi {
 public:
  explicit ReadApi(ReadApiConfig config);

  void Query(http::Request& req, http::Response& res) const;
  void QueryRange(http::Request& req, http::Response& res) const;
  // Neither reads storage.
  void FormatQuery(http::Request& req, http::Response& res) const;
  void ParseQuery(http::Request& req, http::Response& res) const;
  void Series(http::Request& req, http::Response& res) const;
  void Labels(http::Request& req, http::Response& res) const;
  void LabelValues(http::Request& req, http::Response& res) const;  // path param "name"
  void Metadata(http::Request& req, http::Response& res) const;
  void QueryExemplars(http::Request& req, http::Response& res) const;
  void StatusBuildInfo(http::Request& req, http::Response& res) const;

 private:
  // The tenant's storage, or an empty one for a tenant without data.
  storage::Storage& StorageFor(std::string_view tenant) const;
  // Parses `query`, evaluates it and writes the response with at most `limit` series (0 =
  // all); the other parameters are already validated.
  void Evaluate(const http::Request& req, http::Response& res, int64_t limit, bool range,
                int64_t start_ms, int64_t end_ms, int64_t step_ms) const;

  ReadApiConfig config_;
};

}  // namespace xscaler::api
