#include "ingest/otlp/ingester.h"

#include <algorithm>
#include <bit>
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
      : ing_(ing),
        opts_(ing.opts_),
        req_(req),
        app_(app),
        report_(report),
        cache_(ing.cache_.get()) {}

  void Run() {
    if (cache_ != nullptr) Prescan();
    for (const auto& res : req_.resources) DoResource(res);
    FlushBatch();
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
        attrs_warned_ = true;
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

  // Tags that keep the two kinds of cache keys apart.
  static constexpr uint64_t kPointSeriesTag = 1;
  static constexpr uint64_t kTargetInfoTag = 2;

  // Sets job_ and instance_ from the resource's identifying attributes; true when it has
  // others (target_info material).
  bool ResourceIdentity(const otlp::Resource& res) {
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
    return has_other;
  }

  // Sets common_ (and with the cache, scope_hasher_) for a scope of the current resource.
  void ScopeLabels(const Scope& scope) {
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
    if (cache_ != nullptr) {
      scope_hasher_ = SeriesKeyHasher();
      scope_hasher_.AddU64(kPointSeriesTag);
      scope_hasher_.AddU64(common_.size());
      for (const auto& l : common_) {
        scope_hasher_.Add(l.name);
        scope_hasher_.Add(l.value);
      }
    }
  }

  void DoResource(const otlp::Resource& res) {
    const bool has_other = ResourceIdentity(res);
    times_.clear();
    for (uint32_t s = res.scopes.begin; s < res.scopes.end; ++s) {
      ScopeLabels(req_.scopes[s]);
      for (uint32_t m = req_.scopes[s].metrics.begin; m < req_.scopes[s].metrics.end; ++m) {
        DoMetric(m);
      }
    }

    if (opts_.emit_target_info && has_other && (!job_.empty() || !instance_.empty()) &&
        !times_.empty()) {
      FlushBatch();  // target_info's samples and warnings come after the metrics'
      TargetInfo(res);
    }
  }

  // With the cache: computes the cache key of every output series of every point whose samples
  // are plain appends, over the whole request, and looks them all up in one FindBatch (so the
  // lookups' memory accesses overlap). Reports nothing: DoMetric does, in order.
  void Prescan() {
    plans_.assign(req_.metrics.size(), MetricPlan{});
    metric_scope_.assign(req_.metrics.size(), 0);
    scope_resource_.assign(req_.scopes.size(), 0);
    bpoints_.assign(req_.points.size(), BatchPoint{});
    bkeys_.clear();
    bsamples_.clear();
    for (uint32_t ri = 0; ri < req_.resources.size(); ++ri) {
      const otlp::Resource& res = req_.resources[ri];
      ResourceIdentity(res);
      for (uint32_t s = res.scopes.begin; s < res.scopes.end; ++s) {
        scope_resource_[s] = ri;
        ScopeLabels(req_.scopes[s]);
        for (uint32_t mi = req_.scopes[s].metrics.begin; mi < req_.scopes[s].metrics.end; ++mi) {
          metric_scope_[mi] = s;
          const otlp::Metric& m = req_.metrics[mi];
          MetricPlan& plan = plans_[mi];
          plan = PlanMetric(m);
          if (plan.skip != MetricPlan::Skip::kNone || m.points.empty()) continue;
          metric_hasher_ = scope_hasher_;
          metric_hasher_.Add(plan.name);
          for (uint32_t i = m.points.begin; i < m.points.end; ++i) {
            const Point& p = req_.points[i];
            BatchPoint& bp = bpoints_[i];
            bp.first = static_cast<uint32_t>(bkeys_.size());
            if (CheckPoint(m, p)) continue;
            const int64_t t = ToMillis(p.time_ns);
            if (!PlainAppend(plan.mode, (p.flags & kNoRecordedValue) != 0, StartOf(p, t))) continue;
            HashPoint(p);
            ForEachSample(m, plan.mode, p, [&](Sub sub, double extra, double v, Mode) {
              bkeys_.push_back(SubKey(sub, extra));
              bsamples_.push_back({sub, extra, v});
              return true;
            });
            bp.count = static_cast<uint32_t>(bkeys_.size()) - bp.first;
            bp.batchable = true;
          }
        }
      }
    }
    bfound_.resize(bkeys_.size());
    cache_->FindBatch(bkeys_, bfound_);
  }

  void TargetInfo(const otlp::Resource& res) {
    // The cache key: job and instance (derived from the identifying attributes) and every
    // resource attribute, in order.
    SeriesCacheKey key;
    CachedSeries hit;
    bool by_ref = false;
    if (cache_ != nullptr) {
      SeriesKeyHasher h;
      h.AddU64(kTargetInfoTag);
      h.Add(job_);
      h.Add(instance_);
      h.AddU64(res.attrs.size());
      for (uint32_t i = res.attrs.begin; i < res.attrs.end; ++i) {
        h.Add(req_.attrs[i].key);
        h.Add(req_.attrs[i].value);
      }
      key = h.Finish();
      by_ref = cache_->Find(key, &hit);
    }
    std::optional<labels::Labels> lset;
    bool cacheable = false;
    auto build = [&]() {
      std::vector<labels::Label> ls;
      attrs_warned_ = false;
      auto bad = AttrLabels(res.attrs, "target_info", ls,
                            [](std::string_view key) { return IsIdentifying(key); });
      if (bad) {
        report_.Warn(Cat("target_info not written: resource attribute \"", *bad,
                         "\" cannot be turned into a Prometheus label name or its value is not "
                         "valid UTF-8"));
        return false;
      }
      cacheable = !attrs_warned_;
      ls.push_back({"job", job_});
      ls.push_back({"instance", instance_});
      ls.push_back({std::string(labels::kMetricName), "target_info"});
      lset.emplace(std::move(ls));
      return true;
    };
    // A hit proves these attributes built a label set without a warning before.
    if (!by_ref && !build()) return;
    app_.UpdateMetadata("target_info", {"gauge", "", "Target metadata"});
    std::sort(times_.begin(), times_.end());
    times_.erase(std::unique(times_.begin(), times_.end()), times_.end());
    storage::SeriesRef ref = by_ref ? hit.ref : 0;
    bool appended_by_labels = false;
    for (int64_t t : times_) {
      absl::StatusOr<storage::SeriesRef> r;
      if (by_ref) {
        r = app_.AppendExisting(ref, t, 1);
        if (r.status().code() == absl::StatusCode::kNotFound) {  // the series is gone
          cache_->Erase(key);
          by_ref = false;
          ref = 0;
          if (!lset && !build()) return;
        }
      }
      if (!by_ref) {
        r = app_.Append(ref, *lset, t, 1);
        if (r.ok()) appended_by_labels = true;
      }
      if (r.ok()) {
        ref = *r;
        report_.AddAccepted(1);
      } else {
        // Derived, not sent by the client: a warning, not a rejected data point.
        std::string reason_key = Cat("target_info:", static_cast<int>(r.status().code()));
        auto [it, inserted] = append_reasons_.try_emplace(reason_key);
        if (inserted) {
          it->second = Cat("target_info of job \"", job_, "\" instance \"", instance_,
                           "\" not stored: ", AppendErrorReason(r.status()));
          report_.Warn(it->second);
        }
      }
    }
    if (cache_ != nullptr && appended_by_labels && cacheable) cache_->Insert(key, {ref, 0});
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

  // What DoMetric does with a metric, decided without reporting anything.
  struct MetricPlan {
    enum class Skip {
      kNone,           // translate its points
      kEmptyName,
      kNoData,         // no gauge/sum/histogram/summary
      kExpHistogram,
      kNoTemporality,
      kDeltaRefused,
      kBadName,        // no Prometheus name can be made
    };
    Skip skip = Skip::kNone;
    std::string name;  // the output metric name
    std::string_view type;
    Mode mode = Mode::kPlain;
  };

  // The names of a histogram's or summary's sub-series, from name_.
  void SubNames(const otlp::Metric& m) {
    if (m.kind == MetricKind::kHistogram || m.kind == MetricKind::kSummary) {
      bucket_name_ = Cat(name_, "_bucket");
      count_name_ = Cat(name_, "_count");
      sum_name_ = Cat(name_, "_sum");
    }
  }

  MetricPlan PlanMetric(const otlp::Metric& m) const {
    MetricPlan plan;
    if (m.name.empty()) {
      plan.skip = MetricPlan::Skip::kEmptyName;
      return plan;
    }
    NameType name_type = NameType::kOther;
    switch (m.kind) {
      case MetricKind::kNone:
        plan.skip = MetricPlan::Skip::kNoData;
        return plan;
      case MetricKind::kExponentialHistogram:
        plan.skip = MetricPlan::Skip::kExpHistogram;
        return plan;
      case MetricKind::kGauge:
        name_type = NameType::kGauge;
        plan.type = "gauge";
        break;
      case MetricKind::kSum:
        name_type = m.monotonic ? NameType::kCounter : NameType::kOther;
        plan.type = m.monotonic ? "counter" : "gauge";
        break;
      case MetricKind::kHistogram:
        plan.type = "histogram";
        break;
      case MetricKind::kSummary:
        plan.type = "summary";
        break;
    }
    const bool temporal = m.kind == MetricKind::kSum || m.kind == MetricKind::kHistogram;
    if (temporal && m.temporality == Temporality::kUnspecified) {
      plan.skip = MetricPlan::Skip::kNoTemporality;
      return plan;
    }
    const bool delta = temporal && m.temporality == Temporality::kDelta;
    if (delta && !opts_.delta_to_cumulative) {
      plan.skip = MetricPlan::Skip::kDeltaRefused;
      return plan;
    }
    plan.name = BuildMetricName(m.name, m.unit, name_type, opts_.add_suffixes);
    if (plan.name.empty()) {
      plan.skip = MetricPlan::Skip::kBadName;
      return plan;
    }
    if (delta) {
      plan.mode = Mode::kDelta;
    } else if ((m.kind == MetricKind::kSum && m.monotonic) || m.kind == MetricKind::kHistogram) {
      plan.mode = Mode::kCumulative;
    }
    return plan;
  }

  void DoMetric(uint32_t mi) {
    const otlp::Metric& m = req_.metrics[mi];
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
    MetricPlan computed;
    const MetricPlan& plan = cache_ != nullptr ? plans_[mi] : (computed = PlanMetric(m));
    if (plan.skip != MetricPlan::Skip::kNone) FlushBatch();  // its report follows the run's
    switch (plan.skip) {
      case MetricPlan::Skip::kNone:
        break;
      case MetricPlan::Skip::kEmptyName:
        reject_all("metric has an empty name; every OTLP metric needs a name");
        return;
      case MetricPlan::Skip::kNoData:
        report_.Warn(Cat("metric \"", m.name,
                         "\" has no data (none of gauge, sum, histogram, summary); "
                         "skipped"));
        return;
      case MetricPlan::Skip::kExpHistogram:
        reject_all(kExpHistogramReason);
        return;
      case MetricPlan::Skip::kNoTemporality:
        reject_all(
            "aggregation temporality is missing or unspecified; it must be 1 (DELTA) or 2 "
            "(CUMULATIVE)");
        return;
      case MetricPlan::Skip::kDeltaRefused:
        reject_all(
            "DELTA temporality is not accepted for this tenant; configure the exporter for "
            "CUMULATIVE temporality");
        return;
      case MetricPlan::Skip::kBadName:
        reject_all(Cat("metric name \"", m.name,
                       "\" cannot be turned into a Prometheus metric name (it needs a "
                       "letter, digit or colon)"));
        return;
    }
    name_ = plan.name;
    if (n == 0) return;  // nothing to store, nothing lost
    app_.UpdateMetadata(name_,
                        {std::string(plan.type), UnitMetadata(m.unit), std::string(m.description)});
    SubNames(m);
    const Mode mode = plan.mode;
    if (cache_ != nullptr) {
      // The output name stands for the OTLP name, unit, type and monotonicity; the suffix of a
      // sub-series follows from the sub-series tag added per series.
      metric_hasher_ = scope_hasher_;
      metric_hasher_.Add(name_);
      return DoPointsBatched(mi, mode);
    }
    for (uint32_t i = m.points.begin; i < m.points.end; ++i) {
      const Point& p = req_.points[i];
      point_error_ = absl::OkStatus();
      std::optional<std::string> reason = DoPoint(m, mode, p);
      if (reason) {
        report_.Reject(m.name, *reason, 1);
      } else if (!point_error_.ok()) {
        RejectAppend(m.name, point_error_);
      }
    }
  }

  // Which output series of a point a sample goes to.
  enum class Sub : uint8_t {
    kValue,      // name
    kBucket,     // name_bucket{le=bound}
    kBucketInf,  // name_bucket{le="+Inf"}
    kCount,      // name_count
    kSum,        // name_sum
    kQuantile,   // name{quantile=q}
  };

  // The checks of a point that need no labels; a rejection reason, or nullopt.
  std::optional<std::string> CheckPoint(const otlp::Metric& m, const otlp::Point& p) const {
    if (p.invalid != nullptr) return std::string(p.invalid);
    if (p.time_ns == 0) return "data point has no timestamp (time_unix_nano is 0)";
    const bool stale = (p.flags & kNoRecordedValue) != 0;
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
    return std::nullopt;
  }

  static int64_t StartOf(const otlp::Point& p, int64_t t) {
    return p.start_ns > 0 && ToMillis(p.start_ns) < t ? ToMillis(p.start_ns) : storage::kMinTime;
  }

  // Calls fn(sub, extra, value, mode) for each output sample of a checked point, in the order
  // they are written, until fn returns false. Returns false when stopped.
  template <typename Fn>
  bool ForEachSample(const otlp::Metric& m, Mode mode, const otlp::Point& p, Fn&& fn) const {
    const bool stale = (p.flags & kNoRecordedValue) != 0;
    const double stale_nan = storage::StaleNaN();
    auto val = [&](double v) { return stale ? stale_nan : v; };
    switch (m.kind) {
      case MetricKind::kGauge:
      case MetricKind::kSum:
        return fn(Sub::kValue, 0.0, val(p.value), mode);
      case MetricKind::kHistogram: {
        uint64_t cumulative = 0;
        for (uint32_t i = 0; i < p.bounds.size(); ++i) {
          cumulative += req_.bucket_counts[p.buckets.begin + i];
          double bound = req_.bounds[p.bounds.begin + i];
          if (std::isinf(bound) && bound > 0) continue;  // the +Inf bucket is written below
          if (!fn(Sub::kBucket, bound, val(static_cast<double>(cumulative)), mode)) return false;
        }
        if (!fn(Sub::kBucketInf, 0.0, val(static_cast<double>(p.count)), mode)) return false;
        if (!fn(Sub::kCount, 0.0, val(static_cast<double>(p.count)), mode)) return false;
        if (p.has_sum && !fn(Sub::kSum, 0.0, val(p.sum), mode)) return false;
        return true;
      }
      case MetricKind::kSummary:
        for (uint32_t i = p.quantiles.begin; i < p.quantiles.end; ++i) {
          const auto& [q, v] = req_.quantiles[i];
          if (!fn(Sub::kQuantile, q, val(v), Mode::kPlain)) return false;
        }
        if (!fn(Sub::kCount, 0.0, val(static_cast<double>(p.count)), Mode::kPlain)) return false;
        return fn(Sub::kSum, 0.0, val(p.sum), Mode::kPlain);
      default:
        return true;
    }
  }

  // True when a sample in `mode` is one plain append (no delta or start-time state).
  bool PlainAppend(Mode mode, bool stale, int64_t start) const {
    return stale || mode == Mode::kPlain ||
           (mode == Mode::kCumulative && (!opts_.inject_start_zero || start == storage::kMinTime));
  }

  // Starts the cache key of point `p`: the metric's prefix and the point's attributes.
  void HashPoint(const otlp::Point& p) {
    point_hasher_ = metric_hasher_;
    point_hasher_.AddU64(p.attrs.size());
    for (uint32_t i = p.attrs.begin; i < p.attrs.end; ++i) {
      point_hasher_.Add(req_.attrs[i].key);
      point_hasher_.Add(req_.attrs[i].value);
    }
  }

  SeriesCacheKey SubKey(Sub sub, double extra) const {
    SeriesKeyHasher h = point_hasher_;
    h.AddU64(static_cast<uint64_t>(sub));
    if (sub == Sub::kBucket || sub == Sub::kQuantile) h.AddU64(std::bit_cast<uint64_t>(extra));
    return h.Finish();
  }

  // Translates one point; returns a rejection reason, or nullopt (append failures are left in
  // point_error_).
  std::optional<std::string> DoPoint(const otlp::Metric& m, Mode mode, const otlp::Point& p) {
    if (auto reason = CheckPoint(m, p)) return reason;
    const bool stale = (p.flags & kNoRecordedValue) != 0;
    const int64_t t = ToMillis(p.time_ns);
    const int64_t start = StartOf(p, t);
    point_ = &p;
    point_metric_ = m.name;
    base_built_ = false;
    if (cache_ == nullptr) {
      if (!EnsureBase()) return std::move(base_error_);
    } else {
      // The labels are built on the first cache miss. A miss on the first series of the point
      // comes before anything of the point is appended, so a rejection for its attributes
      // leaves the point untouched as on the uncached path; a hit proves the attributes were
      // accepted before (entries are made only then), so later builds cannot fail.
      HashPoint(p);
    }
    const bool ok = ForEachSample(m, mode, p, [&](Sub sub, double extra, double v, Mode md) {
      return Emit(sub, extra, t, start, v, stale, md);
    });
    if (!ok) return std::move(base_error_);
    return std::nullopt;
  }

  // The points of one metric with the cache on, after Prescan looked up their series. Points
  // whose series were all found join the run of samples that FlushBatch sends to the storage as
  // one AppendExistingBatch (which overlaps the storage's lookups too); a run spans metrics,
  // scopes and resources, and is flushed before anything else is appended or reported (another
  // point, a metric's rejection, target_info, the end of the request), so samples are staged,
  // and accepted or rejected in the report, in the order of the uncached path. The one
  // exception: a sample whose cached ref went stale is re-appended by labels after the rest of
  // its run (only the order across series changes).
  void DoPointsBatched(uint32_t mi, Mode mode) {
    const otlp::Metric& m = req_.metrics[mi];
    for (uint32_t i = m.points.begin; i < m.points.end; ++i) {
      const BatchPoint& bp = bpoints_[i];
      bool all_found = bp.batchable;
      for (uint32_t k = bp.first; all_found && k < bp.first + bp.count; ++k) {
        all_found = bfound_[k].ref != 0;
      }
      if (all_found) {
        const int64_t t = ToMillis(req_.points[i].time_ns);
        for (uint32_t k = bp.first; k < bp.first + bp.count; ++k) {
          batch_.push_back({bfound_[k].ref, t, bsamples_[k].v});
        }
        batched_.push_back({i, mi});
        continue;
      }
      FlushBatch();
      point_error_ = absl::OkStatus();
      std::optional<std::string> reason = DoPoint(m, mode, req_.points[i]);
      if (reason) {
        report_.Reject(m.name, *reason, 1);
      } else if (!point_error_.ok()) {
        RejectAppend(m.name, point_error_);
      }
    }
  }

  // The label context (job, instance, scope labels, metric names) of the metric `mi`, for
  // FlushBatch's fallback to labels; the caller's context is saved first.
  struct LabelContext {
    std::string job, instance, name, bucket, count, sum;
    std::vector<labels::Label> common;
    SeriesKeyHasher scope_hasher, metric_hasher;
  };
  LabelContext SaveContext() {
    return {job_, instance_, name_, bucket_name_, count_name_, sum_name_, common_, scope_hasher_,
            metric_hasher_};
  }
  void RestoreContext(LabelContext&& c) {
    job_ = std::move(c.job);
    instance_ = std::move(c.instance);
    name_ = std::move(c.name);
    bucket_name_ = std::move(c.bucket);
    count_name_ = std::move(c.count);
    sum_name_ = std::move(c.sum);
    common_ = std::move(c.common);
    scope_hasher_ = c.scope_hasher;
    metric_hasher_ = c.metric_hasher;
  }
  void UseContext(uint32_t mi) {
    const uint32_t si = metric_scope_[mi];
    ResourceIdentity(req_.resources[scope_resource_[si]]);
    ScopeLabels(req_.scopes[si]);
    name_ = plans_[mi].name;
    SubNames(req_.metrics[mi]);
  }

  void FlushBatch() {
    if (batch_.empty()) return;
    statuses_.assign(batch_.size(), absl::OkStatus());
    app_.AppendExistingBatch(batch_, statuses_);
    std::optional<LabelContext> saved;
    uint32_t context_metric = UINT32_MAX;
    size_t s = 0;
    for (const BatchedPoint& b : batched_) {
      const BatchPoint& bp = bpoints_[b.point];
      const otlp::Metric& m = req_.metrics[b.metric];
      point_error_ = absl::OkStatus();
      bool point_context = false;
      for (uint32_t k = bp.first; k < bp.first + bp.count; ++k, ++s) {
        const absl::Status& st = statuses_[s];
        if (st.ok()) {
          report_.AddAccepted(1);
          continue;
        }
        if (st.code() != absl::StatusCode::kNotFound) {
          point_error_.Update(st);
          continue;
        }
        // The series is gone: forget the entry and append by labels.
        cache_->Erase(bkeys_[k]);
        if (context_metric != b.metric) {
          if (!saved) saved.emplace(SaveContext());
          UseContext(b.metric);
          context_metric = b.metric;
        }
        if (!point_context) {
          point_ = &req_.points[b.point];
          point_metric_ = m.name;
          base_built_ = false;
          point_context = true;
        }
        Out o;
        o.sub = bsamples_[k].sub;
        o.extra = bsamples_[k].extra;
        o.key = bkeys_[k];
        o.state_key = bfound_[k].state_key;
        o.has_state_key = true;
        if (!EnsureBase()) {  // cannot happen: the attributes were accepted before
          point_error_.Update(absl::InvalidArgumentError(base_error_));
          continue;
        }
        Append(o, batch_[s].t_ms, batch_[s].v);
        CacheIfAppended(o);
      }
      if (!point_error_.ok()) RejectAppend(m.name, point_error_);
    }
    if (saved) RestoreContext(std::move(*saved));
    batch_.clear();
    batched_.clear();
  }

  // Builds base_ (the current point's labels without __name__) unless built already. False,
  // with the rejection reason in base_error_, when an attribute cannot become a label.
  bool EnsureBase() {
    if (base_built_) return true;
    base_.clear();
    attrs_warned_ = false;
    if (auto bad =
            AttrLabels(point_->attrs, point_metric_, base_, [](std::string_view) { return false; })) {
      if (LabelName(*bad).empty()) {
        base_error_ = Cat("attribute \"", *bad, "\" cannot be turned into a Prometheus label name");
      } else {
        base_error_ = Cat("value of attribute \"", *bad, "\" is not valid UTF-8");
      }
      return false;
    }
    base_.insert(base_.end(), common_.begin(), common_.end());
    base_cacheable_ = !attrs_warned_;
    base_built_ = true;
    return true;
  }


  // One output series of the current point, resolved by cached ref or by labels built on
  // demand.
  struct Out {
    Sub sub = Sub::kValue;
    double extra = 0;  // the bound or quantile of kBucket / kQuantile
    SeriesCacheKey key;
    bool by_ref = false;   // `ref` came from the cache and has not failed yet
    bool appended = false;  // an Append by labels succeeded: `ref` is worth caching
    storage::SeriesRef ref = 0;
    bool has_state_key = false;
    uint64_t state_key = 0;
    std::optional<labels::Labels> lset;
  };

  // The label set of `o`. REQUIRES: EnsureBase() succeeded.
  const labels::Labels& Lset(Out& o) {
    if (o.lset) return *o.lset;
    std::vector<labels::Label> ls;
    ls.reserve(base_.size() + 2);
    ls = base_;
    const std::string* name = &name_;
    switch (o.sub) {
      case Sub::kValue:
        break;
      case Sub::kBucket:
        ls.push_back({"le", FormatLabelFloat(o.extra)});
        name = &bucket_name_;
        break;
      case Sub::kBucketInf:
        ls.push_back({"le", "+Inf"});
        name = &bucket_name_;
        break;
      case Sub::kCount:
        name = &count_name_;
        break;
      case Sub::kSum:
        name = &sum_name_;
        break;
      case Sub::kQuantile:
        ls.push_back({"quantile", FormatLabelFloat(o.extra)});
        break;
    }
    ls.push_back({std::string(labels::kMetricName), *name});
    return o.lset.emplace(std::move(ls));
  }

  uint64_t StateKey(Out& o) {
    if (!o.has_state_key) {
      o.state_key = SeriesKey(Lset(o));
      o.has_state_key = true;
    }
    return o.state_key;
  }

  // Stages one sample of `o`: by ref while the cached ref holds, else by labels (a NotFound
  // ref erases its entry first).
  absl::StatusOr<storage::SeriesRef> AppendTo(Out& o, int64_t t, double v) {
    if (o.by_ref) {
      auto r = app_.AppendExisting(o.ref, t, v);
      if (r.status().code() != absl::StatusCode::kNotFound) return r;
      cache_->Erase(o.key);
      o.by_ref = false;
      o.ref = 0;
      if (!EnsureBase()) return absl::InvalidArgumentError(base_error_);
    }
    auto r = app_.Append(o.ref, Lset(o), t, v);
    if (r.ok()) {
      o.ref = *r;
      o.appended = true;
    }
    return r;
  }

  // Writes one derived sample. False when the point's attributes cannot become labels (the
  // reason is in base_error_; nothing of this series was appended).
  bool Emit(Sub sub, double extra, int64_t t, int64_t start, double v, bool stale, Mode mode) {
    Out o;
    o.sub = sub;
    o.extra = extra;
    if (cache_ != nullptr) {
      o.key = SubKey(sub, extra);
      CachedSeries hit;
      if (cache_->Find(o.key, &hit)) {
        o.by_ref = true;
        o.ref = hit.ref;
        o.state_key = hit.state_key;
        o.has_state_key = true;
      }
    }
    if (!o.by_ref && !EnsureBase()) return false;
    EmitSamples(o, t, start, v, stale, mode);
    CacheIfAppended(o);
    return true;
  }

  // Caches the ref of `o` when an Append by labels gave it and building the labels raised no
  // warning.
  void CacheIfAppended(Out& o) {
    if (cache_ != nullptr && o.appended && base_cacheable_ && o.ref != 0) {
      cache_->Insert(o.key, {o.ref, StateKey(o)});
    }
  }

  void EmitSamples(Out& o, int64_t t, int64_t start, double v, bool stale, Mode mode) {
    // A cumulative point without a start time neither reads nor changes the start-time state
    // (an entry at kMinTime acts like none), so it skips the state's lock.
    if (stale || mode == Mode::kPlain ||
        (mode == Mode::kCumulative && (!opts_.inject_start_zero || start == storage::kMinTime))) {
      Append(o, t, v);
      return;
    }
    const uint64_t hash = StateKey(o);
    Ingester::Stripe& stripe = ing_.StripeFor(hash);
    absl::MutexLock lock(&stripe.mu);
    auto it = stripe.series.find(hash);
    const bool known = it != stripe.series.end();
    if (mode == Mode::kCumulative) {
      if (!known) it = stripe.series.emplace(hash, Ingester::SeriesState{}).first;
      if (start != storage::kMinTime && start > it->second.start) (void)AppendTo(o, start, 0);
      if (Append(o, t, v) && start != storage::kMinTime) it->second.start = start;
      return;
    }
    // Delta.
    Ingester::SeriesState state;
    bool first_seen = false;
    if (known) {
      state = it->second;
    } else {
      std::optional<std::pair<int64_t, double>> seed;
      if (ing_.db_ != nullptr) {
        // A cached series has valid attributes, so the build cannot fail.
        if (!EnsureBase()) {
          point_error_.Update(absl::InvalidArgumentError(base_error_));
          return;
        }
        seed = Seed(Lset(o), t);
      }
      if (seed) {
        state.total = seed->second;
        state.last_t = seed->first;
      } else {
        first_seen = true;
      }
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
      (void)AppendTo(o, start, 0);
    }
    if (Append(o, t, total)) {
      stripe.series[hash] = Ingester::SeriesState{total, t, storage::kMinTime};
    }
  }

  bool Append(Out& o, int64_t t, double v) {
    auto r = AppendTo(o, t, v);
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
  SeriesCache* const cache_;  // nullptr: every series takes the slow path

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
  // The current metric's output name, and the point being translated (EnsureBase).
  std::string name_;
  const otlp::Point* point_ = nullptr;
  std::string_view point_metric_;
  bool base_built_ = false;      // base_ holds point_'s labels
  bool base_cacheable_ = false;  // ... and building them raised no warning
  bool attrs_warned_ = false;    // set by AttrLabels when it warns
  std::string base_error_;       // why point_'s attributes cannot become labels
  // Cache key prefixes: scope labels; + metric name; + point attributes.
  SeriesKeyHasher scope_hasher_, metric_hasher_, point_hasher_;
  // Prescan's results. Per point (indexed like req_.points), its range of keys in
  // bkeys_/bsamples_/bfound_; per metric, its plan.
  struct BatchPoint {
    uint32_t first = 0;
    uint32_t count = 0;
    bool batchable = false;  // checked, plain appends only, keys computed
  };
  std::vector<MetricPlan> plans_;
  struct BatchSample {
    Sub sub;
    double extra;
    double v;
  };
  std::vector<BatchPoint> bpoints_;
  std::vector<SeriesCacheKey> bkeys_;
  std::vector<BatchSample> bsamples_;
  std::vector<CachedSeries> bfound_;
  // The run waiting for FlushBatch: its samples and their points.
  std::vector<storage::RefSample> batch_;
  struct BatchedPoint {
    uint32_t point;   // index in req_.points
    uint32_t metric;  // index in req_.metrics
  };
  std::vector<BatchedPoint> batched_;
  std::vector<uint32_t> metric_scope_;    // per metric, its scope's index
  std::vector<uint32_t> scope_resource_;  // per scope, its resource's index
  std::vector<absl::Status> statuses_;
};

Ingester::Ingester(storage::Storage* db, TranslationOptions opts)
    : db_(db),
      opts_(opts),
      stripes_(std::make_unique<Stripe[]>(kStripes)),
      cache_(opts.series_cache_entries > 0
                 ? std::make_unique<SeriesCache>(opts.series_cache_entries)
                 : nullptr) {}

Ingester::~Ingester() = default;

size_t Ingester::TrackedSeries() const {
  size_t n = 0;
  for (size_t i = 0; i < kStripes; ++i) {
    absl::MutexLock lock(&stripes_[i].mu);
    n += stripes_[i].series.size();
  }
  return n;
}

size_t Ingester::CachedSeries() const { return cache_ == nullptr ? 0 : cache_->size(); }

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
