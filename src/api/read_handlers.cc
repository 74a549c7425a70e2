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

// Parses every match[] value; InvalidArgument naming the bad one.
absl::StatusOr<std::vector<std::vector<labels::Matcher>>> ParseMatchers(
    const http::Request& req, const ReadApiConfig& config) {
  std::vector<std::vector<labels::Matcher>> sets;
  for (const std::string& m : req.Params("match[]")) {
    absl::StatusOr<std::vector<labels::Matcher>> parsed = config.parse_selector(m);
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

// The parameters series, labels and label values share, validated in Prometheus' order.
struct Selection {
  std::vector<std::vector<labels::Matcher>> sets;  // one per match[]
  Range range;
  int64_t limit;  // 0 = all
};

absl::StatusOr<Selection> ParseSelection(const http::Request& req, const ReadApiConfig& config) {
  auto sets = ParseMatchers(req, config);
  if (!sets.ok()) return sets.status();
  auto range = ParseRange(req);
  if (!range.ok()) return range.status();
  auto limit = ParseLimitParam(req.Param("limit"));
  if (!limit.ok()) return limit.status();
  return Selection{*std::move(sets), *range, *limit};
}

// Writes the sorted union of list(querier, matchers) over the selection's match[] sets (over
// every series when there are none); an empty list for a tenant without storage.
template <typename List>
void WriteUnion(http::Response& res, storage::Storage* db, Selection& sel, List list) {
  std::set<std::string> all;
  if (db != nullptr) {
    std::unique_ptr<storage::Querier> q = db->NewQuerier(sel.range.start, sel.range.end);
    if (sel.sets.empty()) sel.sets.emplace_back();
    for (const auto& set : sel.sets) {
      auto r = list(*q, set);
      if (!r.ok()) return WriteApiError(res, r.status());
      all.insert(r->begin(), r->end());
    }
  }
  WriteStringList(res, std::vector<std::string>(all.begin(), all.end()), sel.limit);
}

}  // namespace

ReadApi::ReadApi(ReadApiConfig config) : config_(std::move(config)) {
  if (!config_.now_ms) config_.now_ms = &WallClockMs;
}

void ReadApi::Series(http::Request& req, http::Response& res) const {
  if (req.Params("match[]").empty()) {
    return WriteApiError(res, ErrorType::kBadData, "no match[] parameter provided");
  }
  auto sel = ParseSelection(req, config_);
  if (!sel.ok()) return WriteApiError(res, sel.status());

  JsonWriter w;
  w.BeginArray();
  std::vector<std::string> warnings;
  int64_t n = 0;
  // Writes one label set; false once the limit is reached (with the truncation warning).
  auto write = [&](const labels::Labels& lset) {
    if (sel->limit > 0 && n == sel->limit) {
      warnings.emplace_back(kTruncated);
      return false;
    }
    WriteLabels(w, lset);
    ++n;
    return true;
  };
  if (storage::Storage* db = config_.storage(req.tenant)) {
    std::unique_ptr<storage::Querier> q = db->NewQuerier(sel->range.start, sel->range.end);
    if (sel->sets.size() == 1) {
      // One selector's series arrive sorted and unique: written as they come.
      std::unique_ptr<storage::SeriesSet> ss = q->SelectLabels(sel->sets[0]);
      while (ss->Next()) {
        if (!write(ss->At().Labels())) break;
      }
      if (absl::Status st = ss->Err(); !st.ok()) return WriteApiError(res, st);
    } else {
      std::set<labels::Labels> found;
      for (const auto& set : sel->sets) {
        std::unique_ptr<storage::SeriesSet> ss = q->SelectLabels(set);
        while (ss->Next()) found.insert(ss->At().Labels());
        if (absl::Status st = ss->Err(); !st.ok()) return WriteApiError(res, st);
      }
      for (const labels::Labels& lset : found) {
        if (!write(lset)) break;
      }
    }
  }
  w.EndArray();
  WriteSuccess(res, w.str(), warnings);
}

void ReadApi::Labels(http::Request& req, http::Response& res) const {
  auto sel = ParseSelection(req, config_);
  if (!sel.ok()) return WriteApiError(res, sel.status());
  WriteUnion(res, config_.storage(req.tenant), *sel,
             [](storage::Querier& q, const std::vector<labels::Matcher>& set) {
               return q.LabelNames(set);
             });
}

void ReadApi::LabelValues(http::Request& req, http::Response& res) const {
  std::string name = req.path_params["name"];
  if (name.empty()) {
    return WriteApiError(res, ErrorType::kBadData, "invalid label name: \"\"");
  }
  auto sel = ParseSelection(req, config_);
  if (!sel.ok()) return WriteApiError(res, sel.status());
  WriteUnion(res, config_.storage(req.tenant), *sel,
             [&name](storage::Querier& q, const std::vector<labels::Matcher>& set) {
               return q.LabelValues(name, set);
             });
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
        w.StringField("type", md.type.empty() ? "unknown" : md.type);
        w.StringField("help", md.help);
        w.StringField("unit", md.unit);
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
  w.StringField("version", config_.build.version);
  w.StringField("revision", config_.build.revision);
  w.StringField("branch", config_.build.branch);
  w.StringField("buildUser", config_.build.build_user);
  w.StringField("buildDate", config_.build.build_date);
  w.StringField("goVersion", config_.build.go_version);
  w.EndObject();
  WriteSuccess(res, w.str());
}

}  // namespace xscaler::api
