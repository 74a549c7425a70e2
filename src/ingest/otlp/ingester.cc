#include "ingest/otlp/ingester.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "ingest/otlp/decode.h"
#include "ingest/otlp/model.h"
#include "ingest/otlp/naming.h"
#include "labels/matcher.h"

namespace xscaler::ingest::otlp {
namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;
// How far back a delta series' last stored value is looked up when it has no in-memory state.
constexpr int64_t kDeltaSeedLookbackMs = 24 * 3600 * 1000;
constexpr uint32_t kNoRecordedValue = 1;

int64_t ToMillis(uint64_t ns) { return static_cast<int64_t>(ns / kNanosPerMilli); }

constexpr std::string_view kExpHistogramReason =
    "exponential histograms are not supported yet (native histograms are planned); convert with "
    "the SDK's explicit-bucket aggregation";

// How a derived series is written.
enum class Mode {
  kPlain,       // gauges, summaries: as is
  kCumulative,  // counter-like: zero sample at the start time when first seen
  kDelta,       // accumulated into a running total
};

// Key of a series in the Ingester's state: absl's hash is several times faster than
// Labels::Hash (byte-wise FNV) and only has to be stable within this process.
uint64_t SeriesKey(const labels::Labels& lset) {
  size_t h = 0x9e3779b97f4a7c15ULL;
  absl::Hash<absl::string_view> hash;
  for (const auto& l : lset) {
    h = (h ^ hash(absl::string_view(l.name.data(), l.name.size()))) * 0xff51afd7ed558ccdULL;
    h = (h ^ hash(absl::string_view(l.value.data(), l.value.size()))) * 0xc4ceb9fe1a85ec53ULL;
  }
  return h ^ (h >> 33);
}

std::string AppendErrorReason(const absl::Status& st) {
  std::string_view prefix;
  switch (st.code()) {
    case absl::StatusCode::kOutOfRange:
      prefix = "out of order or too old sample";
      break;
    case absl::StatusCode::kAlreadyExists:
      prefix = "duplicate sample for a timestamp with a different value";
      break;
    case absl::StatusCode::kInvalidArgument:
      prefix = "invalid series";
      break;
    case absl::StatusCode::kResourceExhausted:
      prefix = "limit reached";
      break;
    default:
      prefix = "storage error";
      break;
  }
  if (st.message().empty()) return std::string(prefix);
  return Cat(prefix, ": ", st.message());
}

}  // namespace

// Translates one decoded request; lives for one Ingest call.
class Translator {
 public:
  Translator(Ingester& ing, const Request& req, storage::Appender& app, IngestReport& report)
      : ing_(ing), opts_(ing.opts_), req_(req), app_(app), report_(report) {}

  void Run() {
    for (const auto& res : req_.resources) DoResource(res);
  }

 private:
  // The label name for an attribute key ("" if it has none); cached per request.
  const std::string& LabelName(std::string_view key) {
    auto it = label_names_.find(key);
    if (it != label_names_.end()) return it->second;
    return label_names_.emplace(key, BuildLabelName(key)).first->second;
  }

  // Appends the labels for `attrs` to `out`. Returns the offending key when one cannot be
  // turned into a label name. `skip` filters keys (for target_info).
  template <typename Skip>
  std::optional<std::string_view> AttrLabels(Span32 attrs, std::string_view metric,
                                             std::vector<labels::Label>& out, Skip&& skip) {
    entries_.clear();
    for (uint32_t i = attrs.begin; i < attrs.end; ++i) {
      const Attr& a = req_.attrs[i];
      if (skip(a.key)) continue;
      const std::string& name = LabelName(a.key);
      if (name.empty() || !IsValidUtf8(a.value)) return a.key;
      entries_.push_back({&name, a.key, a.value});
    }
    bool collide = false;
    if (entries_.size() <= 8) {
      for (size_t i = 0; i < entries_.size() && !collide; ++i) {
        for (size_t j = i + 1; j < entries_.size(); ++j) {
          if (*entries_[i].name == *entries_[j].name) {
            collide = true;
            break;
          }
        }
      }
    } else {  // many attributes: sort instead of comparing every pair
      names_.clear();
      for (const auto& e : entries_) names_.push_back(*e.name);
      std::sort(names_.begin(), names_.end());
      collide = std::adjacent_find(names_.begin(), names_.end()) != names_.end();
    }
    if (!collide) {
      for (const auto& e : entries_) out.push_back({*e.name, std::string(e.value)});
      return std::nullopt;
    }
    std::stable_sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      if (*a.name != *b.name) return *a.name < *b.name;
      return a.key < b.key;
    });
    for (size_t i = 0; i < entries_.size();) {
      size_t j = i;
      std::string value;
      std::string keys;
      size_t distinct = 0;
      while (j < entries_.size() && *entries_[j].name == *entries_[i].name) {
        // Equal keys: the last one wins (stable sort keeps input order).
        size_t k = j;
        while (k + 1 < entries_.size() && entries_[k + 1].key == entries_[j].key) ++k;
        if (distinct++ > 0) {
          value += ';';
          keys += ", ";
        }
        value.append(entries_[k].value);
        keys += Cat("\"", entries_[k].key, "\"");
        j = k + 1;
      }
      if (distinct > 1) {
        report_.Warn(Cat("metric \"", metric, "\": attributes ", keys, " map to the same label \"",
                         *entries_[i].name, "\"; their values were joined with \";\""));
      }
      out.push_back({*entries_[i].name, std::move(value)});
      i = j;
    }
    return std::nullopt;
  }

  static bool IsIdentifying(std::string_view key) {
    return key == "service.name" || key == "service.namespace" || key == "service.instance.id";
  }

  void DoResource(const otlp::Resource& res) {
    std::string_view service_name, service_namespace, instance;
    bool has_service_name = false;
    bool has_other = false;
    for (uint32_t i = res.attrs.begin; i < res.attrs.end; ++i) {
      const Attr& a = req_.attrs[i];
      if (a.key == "service.name") {
        service_name = a.value;
        has_service_name = true;
      } else if (a.key == "service.namespace") {
        service_namespace = a.value;
      } else if (a.key == "service.instance.id") {
        instance = a.value;
      } else {
        has_other = true;
      }
    }
    job_.clear();
    if (has_service_name) {
      job_ = ToValidUtf8(service_namespace.empty() ? std::string(service_name)
                                                   : Cat(service_namespace, "/", service_name));
    }
    instance_ = ToValidUtf8(instance);
    times_.clear();

    for (uint32_t s = res.scopes.begin; s < res.scopes.end; ++s) {
      const Scope& scope = req_.scopes[s];
      common_.clear();
      if (opts_.promote_scope_labels) {
        if (!scope.name.empty()) common_.push_back({"otel_scope_name", ToValidUtf8(scope.name)});
        if (!scope.version.empty()) {
          common_.push_back({"otel_scope_version", ToValidUtf8(scope.version)});
        }
      }
      // Only set values override point attributes of the same name.
      if (!job_.empty()) common_.push_back({"job", job_});
      if (!instance_.empty()) common_.push_back({"instance", instance_});
      for (uint32_t m = scope.metrics.begin; m < scope.metrics.end; ++m) {
        DoMetric(req_.metrics[m]);
      }
    }

    if (opts_.emit_target_info && has_other && (!job_.empty() || !instance_.empty()) &&
        !times_.empty()) {
      TargetInfo(res);
    }
  }

  void TargetInfo(const otlp::Resource& res) {
    std::vector<labels::Label> ls;
    auto bad = AttrLabels(res.attrs, "target_info", ls,
                          [](std::string_view key) { return IsIdentifying(key); });
    if (bad) {
      report_.Warn(Cat("target_info not written: resource attribute \"", *bad,
                       "\" cannot be turned into a Prometheus label name or its value is not "
                       "valid UTF-8"));
      return;
    }
    ls.push_back({"job", job_});
    ls.push_back({"instance", instance_});
    ls.push_back({std::string(labels::kMetricName), "target_info"});
    labels::Labels lset(std::move(ls));
    app_.UpdateMetadata("target_info", {"gauge", "", "Target metadata"});
    std::sort(times_.begin(), times_.end());
    times_.erase(std::unique(times_.begin(), times_.end()), times_.end());
    storage::SeriesRef ref = 0;
    for (int64_t t : times_) {
      auto r = app_.Append(ref, lset, t, 1);
      if (r.ok()) {
        ref = *r;
        report_.AddAccepted(1);
      } else {
        // Derived, not sent by the client: a warning, not a rejected data point.
        std::string key = Cat("target_info:", static_cast<int>(r.status().code()));
        auto [it, inserted] = append_reasons_.try_emplace(key);
        if (inserted) {
          it->second = Cat("target_info of job \"", job_, "\" instance \"", instance_,
                           "\" not stored: ", AppendErrorReason(r.status()));
          report_.Warn(it->second);
        }
      }
    }
  }

  // Reports a failed append; one reason per (metric, error code) and request, taken from the
  // first failure, so thousands of similar failures stay one line.
  void RejectAppend(std::string_view metric, const absl::Status& st) {
    std::string key = Cat(static_cast<int>(st.code()), ":", metric);
    auto it = append_reasons_.find(key);
    if (it == append_reasons_.end()) {
      it = append_reasons_.emplace(std::move(key), AppendErrorReason(st)).first;
    }
    report_.Reject(metric, it->second, 1);
  }

  void DoMetric(const otlp::Metric& m) {
    const uint32_t n = m.points.size();
    for (uint32_t i = m.points.begin; i < m.points.end; ++i) {
      if (req_.points[i].time_ns != 0) times_.push_back(ToMillis(req_.points[i].time_ns));
    }
    auto reject_all = [&](std::string_view reason) {
      if (n > 0) {
        report_.Reject(m.name, reason, n);
      } else {
        report_.Warn(Cat("metric \"", m.name, "\": ", reason));
      }
    };
    if (m.name.empty()) {
      reject_all("metric has an empty name; every OTLP metric needs a name");
      return;
    }
    NameType name_type = NameType::kOther;
    std::string_view type;
    switch (m.kind) {
      case MetricKind::kNone:
        report_.Warn(Cat("metric \"", m.name,
                         "\" has no data (none of gauge, sum, histogram, summary); "
                         "skipped"));
        return;
      case MetricKind::kExponentialHistogram:
        reject_all(kExpHistogramReason);
        return;
      case MetricKind::kGauge:
        name_type = NameType::kGauge;
        type = "gauge";
        break;
      case MetricKind::kSum:
        name_type = m.monotonic ? NameType::kCounter : NameType::kOther;
        type = m.monotonic ? "counter" : "gauge";
        break;
      case MetricKind::kHistogram:
        type = "histogram";
        break;
      case MetricKind::kSummary:
        type = "summary";
        break;
    }
    const bool temporal = m.kind == MetricKind::kSum || m.kind == MetricKind::kHistogram;
    if (temporal && m.temporality == Temporality::kUnspecified) {
      reject_all(
          "aggregation temporality is missing or unspecified; it must be 1 (DELTA) or 2 "
          "(CUMULATIVE)");
      return;
    }
    const bool delta = temporal && m.temporality == Temporality::kDelta;
    if (delta && !opts_.delta_to_cumulative) {
      reject_all(
          "DELTA temporality is not accepted for this tenant; configure the exporter for "
          "CUMULATIVE temporality");
      return;
    }
    std::string name = BuildMetricName(m.name, m.unit, name_type, opts_.add_suffixes);
    if (name.empty()) {
      reject_all(Cat("metric name \"", m.name,
                     "\" cannot be turned into a Prometheus metric name (it needs a "
                     "letter, digit or colon)"));
      return;
    }
    if (n == 0) return;  // nothing to store, nothing lost
    app_.UpdateMetadata(name,
                        {std::string(type), UnitMetadata(m.unit), std::string(m.description)});
    if (m.kind == MetricKind::kHistogram || m.kind == MetricKind::kSummary) {
      bucket_name_ = Cat(name, "_bucket");
      count_name_ = Cat(name, "_count");
      sum_name_ = Cat(name, "_sum");
    }

    Mode mode = Mode::kPlain;
    if (delta) {
      mode = Mode::kDelta;
    } else if ((m.kind == MetricKind::kSum && m.monotonic) || m.kind == MetricKind::kHistogram) {
      mode = Mode::kCumulative;
    }
    for (uint32_t i = m.points.begin; i < m.points.end; ++i) {
      const Point& p = req_.points[i];
      point_error_ = absl::OkStatus();
      std::optional<std::string> reason = DoPoint(m, name, mode, p);
      if (reason) {
        report_.Reject(m.name, *reason, 1);
      } else if (!point_error_.ok()) {
        RejectAppend(m.name, point_error_);
      }
    }
  }

  // Translates one point; returns a rejection reason, or nullopt (append failures are left in
  // point_error_).
  std::optional<std::string> DoPoint(const otlp::Metric& m, const std::string& name, Mode mode,
                                     const otlp::Point& p) {
    if (p.invalid != nullptr) return std::string(p.invalid);
    if (p.time_ns == 0) return "data point has no timestamp (time_unix_nano is 0)";
    const bool stale = (p.flags & kNoRecordedValue) != 0;
    const int64_t t = ToMillis(p.time_ns);
    const int64_t start =
        p.start_ns > 0 && ToMillis(p.start_ns) < t ? ToMillis(p.start_ns) : storage::kMinTime;
    if ((m.kind == MetricKind::kGauge || m.kind == MetricKind::kSum) && !p.has_value && !stale) {
      return "number data point has no value (neither asDouble nor asInt is set)";
    }
    if (m.kind == MetricKind::kHistogram) {
      const uint32_t nb = p.buckets.size(), nbounds = p.bounds.size();
      if (!(nb == 0 && nbounds == 0) && nb != nbounds + 1) {
        return Cat("histogram data point has ", nb, " bucket counts for ", nbounds,
                   " explicit bounds; there must be one more bucket count than bounds");
      }
      for (uint32_t i = p.bounds.begin; i < p.bounds.end; ++i) {
        if (std::isnan(req_.bounds[i])) return "histogram explicit bound is NaN";
        if (i > p.bounds.begin && !(req_.bounds[i] > req_.bounds[i - 1])) {
          return "histogram explicit bounds are not strictly increasing";
        }
      }
    }
    base_.clear();
    if (auto bad = AttrLabels(p.attrs, m.name, base_, [](std::string_view) { return false; })) {
      if (LabelName(*bad).empty()) {
        return Cat("attribute \"", *bad, "\" cannot be turned into a Prometheus label name");
      }
      return Cat("value of attribute \"", *bad, "\" is not valid UTF-8");
    }
    base_.insert(base_.end(), common_.begin(), common_.end());

    const double stale_nan = storage::StaleNaN();
    switch (m.kind) {
      case MetricKind::kGauge:
      case MetricKind::kSum:
        Emit(name, {}, {}, t, start, stale ? stale_nan : p.value, stale, mode);
        break;
      case MetricKind::kHistogram: {
        const std::string& bucket = bucket_name_;
        uint64_t cumulative = 0;
        for (uint32_t i = 0; i < p.bounds.size(); ++i) {
          cumulative += req_.bucket_counts[p.buckets.begin + i];
          double bound = req_.bounds[p.bounds.begin + i];
          if (std::isinf(bound) && bound > 0) continue;  // the +Inf bucket is written below
          Emit(bucket, "le", FormatLabelFloat(bound), t, start,
               stale ? stale_nan : static_cast<double>(cumulative), stale, mode);
        }
        Emit(bucket, "le", "+Inf", t, start, stale ? stale_nan : static_cast<double>(p.count),
             stale, mode);
        Emit(count_name_, {}, {}, t, start, stale ? stale_nan : static_cast<double>(p.count), stale,
             mode);
        if (p.has_sum) Emit(sum_name_, {}, {}, t, start, stale ? stale_nan : p.sum, stale, mode);
        break;
      }
      case MetricKind::kSummary:
        for (uint32_t i = p.quantiles.begin; i < p.quantiles.end; ++i) {
          const auto& [q, v] = req_.quantiles[i];
          Emit(name, "quantile", FormatLabelFloat(q), t, start, stale ? stale_nan : v, stale,
               Mode::kPlain);
        }
        Emit(count_name_, {}, {}, t, start, stale ? stale_nan : static_cast<double>(p.count), stale,
             Mode::kPlain);
        Emit(sum_name_, {}, {}, t, start, stale ? stale_nan : p.sum, stale, Mode::kPlain);
        break;
      default:
        break;
    }
    return std::nullopt;
  }

  // Writes one derived sample: base_ labels + __name__ (+ one extra label).
  void Emit(const std::string& name, std::string_view extra_name, std::string extra_value,
            int64_t t, int64_t start, double v, bool stale, Mode mode) {
    std::vector<labels::Label> ls;
    ls.reserve(base_.size() + 2);
    ls = base_;
    if (!extra_name.empty()) ls.push_back({std::string(extra_name), std::move(extra_value)});
    ls.push_back({std::string(labels::kMetricName), name});
    labels::Labels lset(std::move(ls));

    if (stale || mode == Mode::kPlain || (mode == Mode::kCumulative && !opts_.inject_start_zero)) {
      Append(lset, t, v);
      return;
    }
    const uint64_t hash = SeriesKey(lset);
    Ingester::Stripe& stripe = ing_.StripeFor(hash);
    absl::MutexLock lock(&stripe.mu);
    auto it = stripe.series.find(hash);
    const bool known = it != stripe.series.end();
    if (mode == Mode::kCumulative) {
      if (!known) it = stripe.series.emplace(hash, Ingester::SeriesState{}).first;
      if (start != storage::kMinTime && start > it->second.start) {
        (void)app_.Append(0, lset, start, 0);
      }
      if (Append(lset, t, v) && start != storage::kMinTime) it->second.start = start;
      return;
    }
    // Delta.
    Ingester::SeriesState state;
    bool first_seen = false;
    if (known) {
      state = it->second;
    } else if (auto seed = Seed(lset, t)) {
      state.total = seed->second;
      state.last_t = seed->first;
    } else {
      first_seen = true;
    }
    double total;
    if (t < state.last_t) {
      point_error_.Update(absl::OutOfRangeError(
          Cat("delta point at ", t, " ms is older than the previous point of this series at ",
              state.last_t, " ms; delta points must arrive in time order")));
      return;
    } else if (t == state.last_t) {
      total = state.total;  // a re-sent point: write the same total again
    } else {
      total = state.total + v;
    }
    if (first_seen && opts_.inject_start_zero && start != storage::kMinTime) {
      (void)app_.Append(0, lset, start, 0);
    }
    if (Append(lset, t, total)) {
      stripe.series[hash] = Ingester::SeriesState{total, t, storage::kMinTime};
    }
  }

  bool Append(const labels::Labels& lset, int64_t t, double v) {
    auto r = app_.Append(0, lset, t, v);
    if (r.ok()) {
      report_.AddAccepted(1);
      return true;
    }
    point_error_.Update(r.status());
    return false;
  }

  // The newest non-NaN sample of exactly `lset` in storage within the lookback, if any.
  std::optional<std::pair<int64_t, double>> Seed(const labels::Labels& lset, int64_t t) {
    if (ing_.db_ == nullptr) return std::nullopt;
    std::vector<labels::Matcher> matchers;
    for (const auto& l : lset) {
      auto mt = labels::Matcher::Create(labels::MatchType::kEqual, l.name, l.value);
      if (!mt.ok()) return std::nullopt;
      matchers.push_back(*std::move(mt));
    }
    auto q = ing_.db_->NewQuerier(t - kDeltaSeedLookbackMs, storage::kMaxTime);
    if (q == nullptr) return std::nullopt;
    auto set = q->Select(matchers);
    std::optional<std::pair<int64_t, double>> last;
    while (set != nullptr && set->Next()) {
      const storage::Series& s = set->At();
      if (s.Labels() != lset) continue;
      auto it = s.Iterator();
      while (it->Next()) {
        auto [ts, v] = it->At();
        if (!std::isnan(v)) last = std::make_pair(ts, v);
      }
    }
    return last;
  }

  Ingester& ing_;
  const TranslationOptions& opts_;
  const Request& req_;
  storage::Appender& app_;
  IngestReport& report_;

  // Node map: entries_ points at the names, which must not move when the map grows.
  absl::node_hash_map<std::string_view, std::string> label_names_;
  absl::flat_hash_map<std::string, std::string> append_reasons_;
  struct AttrEntry {
    const std::string* name;
    std::string_view key;
    std::string_view value;
  };
  std::vector<AttrEntry> entries_;
  std::vector<std::string_view> names_;
  // Derived series names of the current metric, built once per metric rather than per point.
  std::string bucket_name_, count_name_, sum_name_;
  std::vector<labels::Label> common_;  // scope + job/instance labels of the current scope
  std::vector<labels::Label> base_;    // labels of the current point, without __name__
  std::vector<int64_t> times_;         // point times of the current resource (target_info)
  std::string job_, instance_;
  absl::Status point_error_;
};

Ingester::Ingester(storage::Storage* db, TranslationOptions opts)
    : db_(db), opts_(opts), stripes_(std::make_unique<Stripe[]>(kStripes)) {}

Ingester::~Ingester() = default;

size_t Ingester::TrackedSeries() const {
  size_t n = 0;
  for (size_t i = 0; i < kStripes; ++i) {
    absl::MutexLock lock(&stripes_[i].mu);
    n += stripes_[i].series.size();
  }
  return n;
}

absl::Status Ingester::Ingest(std::string& body, Encoding enc, storage::Appender& app,
                              IngestReport& report) {
  // Reused per thread so the model's arrays keep their capacity between requests.
  thread_local Request req;
  absl::Status st = enc == Encoding::kProtobuf ? DecodeProto(body, req) : DecodeJson(body, req);
  if (st.ok()) Translate(req, app, report);
  req.Clear();
  if (req.points.capacity() > (1u << 20)) req = Request();  // don't pin a huge request's memory
  return st;
}

void Ingester::Translate(const Request& req, storage::Appender& app, IngestReport& report) {
  Translator(*this, req, app, report).Run();
}

}  // namespace xscaler::ingest::otlp
