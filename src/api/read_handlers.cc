#include "api/read_handlers.h"

#include <chrono>
#include <set>
#include <utility>

#include "api/envelope.h"
#include "api/json_writer.h"
#include "api/params.h"
#include "http/str.h"

namespace xscaler::api {
namespace {

using http::Cat;
using http::Sv;

constexpr std::string_view kTruncated = "results truncated due to limit";

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void WriteLabels(JsonWriter& w, const labels::Labels& lset) {
  w.BeginObject();
  for (const auto& l : lset) {
    w.Key(l.name);
    w.String(l.value);
  }
  w.EndObject();
}

struct Range {
  int64_t start;
  int64_t end;
};

absl::StatusOr<Range> ParseRange(const http::Request& req) {
  absl::StatusOr<int64_t> start = ParseTimeParam("start", req.Param("start"), kApiMinTime);
  if (!start.ok()) return start.status();
  absl::StatusOr<int64_t> end = ParseTimeParam("end", req.Param("end"), kApiMaxTime);
  if (!end.ok()) return end.status();
  if (*end < *start) {
    return absl::InvalidArgumentError(
        "invalid parameter \"end\": end timestamp must not be before start time");
  }
  return Range{*start, *end};
}

// Writes a sorted string list, truncated at `limit` (0 = all) with Prometheus' warning.
void WriteStringList(http::Response& res, const std::vector<std::string>& items, int64_t limit) {
  JsonWriter w;
  w.BeginArray();
  size_t n = items.size();
  std::vector<std::string> warnings;
  if (limit > 0 && n > static_cast<size_t>(limit)) {
    n = static_cast<size_t>(limit);
    warnings.emplace_back(kTruncated);
  }
  for (size_t i = 0; i < n; ++i) w.String(items[i]);
  w.EndArray();
  WriteSuccess(res, w.str(), warnings);
}

}  // namespace

ReadApi::ReadApi(ReadApiConfig config) : config_(std::move(config)) {
  if (!config_.now_ms) config_.now_ms = &WallClockMs;
}

absl::StatusOr<std::vector<std::vector<labels::Matcher>>> ReadApi::ParseMatchers(
    const http::Request& req) const {
  std::vector<std::vector<labels::Matcher>> sets;
  for (const std::string& m : req.Params("match[]")) {
    absl::StatusOr<std::vector<labels::Matcher>> parsed = config_.parse_selector(m);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          Cat("invalid parameter \"match[]\": ", Sv(parsed.status().message())));
    }
    bool has_non_empty = false;
    for (const auto& matcher : *parsed) has_non_empty = has_non_empty || !matcher.MatchesEmpty();
    if (!has_non_empty) {
      return absl::InvalidArgumentError(Cat(
          "invalid parameter \"match[]\": match[] must contain at least one non-empty matcher: ",
          m));
    }
    sets.push_back(*std::move(parsed));
  }
  return sets;
}

void ReadApi::Series(http::Request& req, http::Response& res) const {
  if (req.Params("match[]").empty()) {
    return WriteApiError(res, ErrorType::kBadData, "no match[] parameter provided");
  }
  auto sets = ParseMatchers(req);
  if (!sets.ok()) return WriteApiError(res, sets.status());
  auto range = ParseRange(req);
  if (!range.ok()) return WriteApiError(res, range.status());
  auto limit = ParseLimitParam(req.Param("limit"));
  if (!limit.ok()) return WriteApiError(res, limit.status());

  std::set<labels::Labels> found;
  if (storage::Storage* db = config_.storage(req.tenant)) {
    std::unique_ptr<storage::Querier> q = db->NewQuerier(range->start, range->end);
    for (const auto& set : *sets) {
      std::unique_ptr<storage::SeriesSet> ss = q->Select(set);
      while (ss->Next()) found.insert(ss->At().Labels());
      if (absl::Status st = ss->Err(); !st.ok()) return WriteApiError(res, st);
    }
  }
  JsonWriter w;
  w.BeginArray();
  std::vector<std::string> warnings;
  int64_t n = 0;
  for (const labels::Labels& lset : found) {
    if (*limit > 0 && n == *limit) {
      warnings.emplace_back(kTruncated);
      break;
    }
    WriteLabels(w, lset);
    ++n;
  }
  w.EndArray();
  WriteSuccess(res, w.str(), warnings);
}

void ReadApi::Labels(http::Request& req, http::Response& res) const {
  auto sets = ParseMatchers(req);
  if (!sets.ok()) return WriteApiError(res, sets.status());
  auto range = ParseRange(req);
  if (!range.ok()) return WriteApiError(res, range.status());
  auto limit = ParseLimitParam(req.Param("limit"));
  if (!limit.ok()) return WriteApiError(res, limit.status());

  std::set<std::string> names;
  if (storage::Storage* db = config_.storage(req.tenant)) {
    std::unique_ptr<storage::Querier> q = db->NewQuerier(range->start, range->end);
    if (sets->empty()) sets->emplace_back();
    for (const auto& set : *sets) {
      auto r = q->LabelNames(set);
      if (!r.ok()) return WriteApiError(res, r.status());
      names.insert(r->begin(), r->end());
    }
  }
  WriteStringList(res, std::vector<std::string>(names.begin(), names.end()), *limit);
}

void ReadApi::LabelValues(http::Request& req, http::Response& res) const {
  std::string name = req.path_params["name"];
  if (name.empty()) {
    return WriteApiError(res, ErrorType::kBadData, "invalid label name: \"\"");
  }
  auto sets = ParseMatchers(req);
  if (!sets.ok()) return WriteApiError(res, sets.status());
  auto range = ParseRange(req);
  if (!range.ok()) return WriteApiError(res, range.status());
  auto limit = ParseLimitParam(req.Param("limit"));
  if (!limit.ok()) return WriteApiError(res, limit.status());

  std::set<std::string> values;
  if (storage::Storage* db = config_.storage(req.tenant)) {
    std::unique_ptr<storage::Querier> q = db->NewQuerier(range->start, range->end);
    if (sets->empty()) sets->emplace_back();
    for (const auto& set : *sets) {
      auto r = q->LabelValues(name, set);
      if (!r.ok()) return WriteApiError(res, r.status());
      values.insert(r->begin(), r->end());
    }
  }
  WriteStringList(res, std::vector<std::string>(values.begin(), values.end()), *limit);
}

void ReadApi::Metadata(http::Request& req, http::Response& res) const {
  // Prometheus: limit absent = all, limit=0 = none; limit_per_metric likewise.
  auto parse = [&](std::string_view key, int64_t& out) -> absl::Status {
    std::optional<std::string_view> v = req.Param(key);
    out = -1;
    if (!v.has_value() || v->empty()) return absl::OkStatus();
    auto n = ParseLimitParam(v);
    if (!n.ok()) {
      return absl::InvalidArgumentError(
          Cat("invalid parameter \"", key, "\": cannot parse \"", *v, "\" to a valid integer"));
    }
    out = *n;
    return absl::OkStatus();
  };
  int64_t limit, per_metric;
  if (absl::Status st = parse("limit", limit); !st.ok()) return WriteApiError(res, st);
  if (absl::Status st = parse("limit_per_metric", per_metric); !st.ok()) {
    return WriteApiError(res, st);
  }
  std::optional<std::string_view> metric = req.Param("metric");

  JsonWriter w;
  w.BeginObject();
  if (storage::Storage* db = config_.storage(req.tenant)) {
    int64_t n = 0;
    for (const auto& [name, md] : db->Metadata()) {
      if (metric.has_value() && !metric->empty() && name != *metric) continue;
      if (limit >= 0 && n >= limit) break;
      w.Key(name);
      w.BeginArray();
      if (per_metric != 0) {
        w.BeginObject();
        w.Key("type");
        w.String(md.type.empty() ? "unknown" : md.type);
        w.Key("help");
        w.String(md.help);
        w.Key("unit");
        w.String(md.unit);
        w.EndObject();
      }
      w.EndArray();
      ++n;
    }
  }
  w.EndObject();
  WriteSuccess(res, w.str());
}

void ReadApi::QueryExemplars(http::Request& req, http::Response& res) const {
  // Validate like Prometheus so Grafana's probe (query=test, start, end) gets a success.
  auto range = ParseRange(req);
  if (!range.ok()) return WriteApiError(res, range.status());
  WriteSuccess(res, "[]");
}

void ReadApi::StatusBuildInfo(http::Request&, http::Response& res) const {
  // No "features" key: Grafana would then treat us as Mimir with a ruler API.
  JsonWriter w;
  w.BeginObject();
  w.Key("version");
  w.String(config_.build.version);
  w.Key("revision");
  w.String(config_.build.revision);
  w.Key("branch");
  w.String(config_.build.branch);
  w.Key("buildUser");
  w.String(config_.build.build_user);
  w.Key("buildDate");
  w.String(config_.build.build_date);
  w.Key("goVersion");
  w.String(config_.build.go_version);
  w.EndObject();
  WriteSuccess(res, w.str());
}

}  // namespace xscaler::api
