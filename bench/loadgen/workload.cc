#include "loadgen/workload.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string_view>
#include <utility>

#include <snappy.h>

namespace xscaler::bench {
namespace {

// ---------- deterministic randomness (splitmix64) ----------

uint64_t SplitMix(uint64_t& x) {
  x += 0x9e3779b97f4a7c15ULL;
  uint64_t z = x;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Hash3(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t x = a * 0x9e3779b97f4a7c15ULL ^ b * 0xc2b2ae3d27d4eb4fULL ^ c * 0x165667b19e3779f9ULL;
  return SplitMix(x);
}

double Uniform(uint64_t& x) { return static_cast<double>(SplitMix(x) >> 11) / 9007199254740992.0; }

double Normal(uint64_t& x) {
  double u1 = std::max(Uniform(x), 1e-300);
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * Uniform(x));
}

double LogUniform(uint64_t& x, double lo, double hi) {
  return std::exp(std::log(lo) + Uniform(x) * (std::log(hi) - std::log(lo)));
}

// Exact for small means, normal approximation above 30.
double Poisson(uint64_t& x, double mean) {
  if (mean <= 0) return 0;
  if (mean > 30) return std::max(0.0, std::round(mean + std::sqrt(mean) * Normal(x)));
  const double l = std::exp(-mean);
  double k = 0, p = Uniform(x);
  while (p > l) {
    ++k;
    p *= Uniform(x);
  }
  return k;
}

// ---------- the fleet ----------

struct Route {
  const char* path;
  bool post;  // also served with POST
};
struct Service {
  const char* job;
  const char* ns;
  std::vector<Route> routes;
};

const std::vector<Service>& Services() {
  static const std::vector<Service> kServices = {
      {"api-gateway", "edge", {{"/", false}, {"/api/v1/session", true}, {"/api/v1/proxy/{service}", true}, {"/healthz", false}}},
      {"checkout", "shop", {{"/api/v1/checkout", true}, {"/api/v1/orders", true}, {"/api/v1/orders/{id}", false}, {"/healthz", false}}},
      {"cart", "shop", {{"/api/v1/cart", true}, {"/api/v1/cart/{id}/items", true}, {"/api/v1/cart/{id}", false}, {"/healthz", false}}},
      {"payments", "shop", {{"/api/v1/payments", true}, {"/api/v1/payments/{id}", false}, {"/api/v1/refunds", true}, {"/healthz", false}}},
      {"users", "identity", {{"/api/v1/users/{id}", true}, {"/api/v1/login", true}, {"/api/v1/token/refresh", false}, {"/healthz", false}}},
      {"search", "catalog", {{"/api/v1/search", false}, {"/api/v1/suggest", false}, {"/api/v1/products/{id}", false}, {"/api/v1/reindex", true}}},
      {"inventory", "catalog", {{"/api/v1/stock/{sku}", true}, {"/api/v1/stock", false}, {"/api/v1/reservations", true}, {"/healthz", false}}},
      {"notifications", "messaging", {{"/api/v1/notify", true}, {"/api/v1/templates", false}, {"/api/v1/templates/{id}", true}, {"/healthz", false}}},
  };
  return kServices;
}

struct Cluster {
  const char* cluster;
  const char* region;
};
constexpr Cluster kClusters[] = {{"prod-eu-1", "eu-west-1"}, {"prod-us-1", "us-east-1"}};
constexpr const char* kStatuses[] = {"200", "404", "500"};
constexpr double kStatusShare[] = {1, 0.02, 0.004};
// Prometheus client default buckets; +Inf is the 12th.
constexpr double kBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
constexpr const char* kLe[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                               "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
constexpr int kBuckets = 12;
constexpr int kHistSeries = kBuckets + 2;  // buckets, _sum, _count

enum class Kind : uint8_t { kCounter, kGauge, kHistogram };

// ---------- protobuf writing ----------

void PutVarint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
}
void PutTag(std::string& s, int field, int wire_type) { PutVarint(s, (field << 3) | wire_type); }
void PutBytes(std::string& s, int field, std::string_view b) {
  PutTag(s, field, 2);
  PutVarint(s, b.size());
  s.append(b);
}
void PutFixed64Raw(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
void PutFixed64(std::string& s, int field, uint64_t v) {
  PutTag(s, field, 1);
  PutFixed64Raw(s, v);
}
void PutDouble(std::string& s, int field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  PutFixed64(s, field, bits);
}

// OTLP KeyValue{key, AnyValue{string_value}} as field `field` of the enclosing message.
void PutStringAttr(std::string& s, int field, std::string_view k, std::string_view v) {
  std::string any, kv;
  PutBytes(any, 1, v);
  PutBytes(kv, 1, k);
  PutBytes(kv, 2, any);
  PutBytes(s, field, kv);
}

using LabelPairs = std::vector<std::pair<std::string, std::string>>;

}  // namespace

struct Workload::Group {
  Kind kind;
  std::string family;  // metric name (histogram: without _bucket/_sum/_count)
  int32_t target;
  LabelPairs attrs;    // method/route/status
  double rate = 0;     // events per second (counters, histograms)
  double centre = 0;   // gauges: mean; histograms: median latency
  bool integer = true;
  int n = 1;           // series in this group
};

struct Workload::Target {
  int service = 0;
  int cluster = 0;
  int64_t offset_ms = 0;
  std::vector<int32_t> groups;
};

namespace {

// The labels one target carries at generation `gen` (a churned target gets a new pod and port).
struct TargetLabels {
  std::string job, instance, ns, pod, cluster, region;
};

TargetLabels MakeTargetLabels(uint64_t seed, int32_t t, const Workload::Target& tg, int gen) {
  const Service& svc = Services()[tg.service];
  TargetLabels l;
  l.job = svc.job;
  l.ns = svc.ns;
  l.cluster = kClusters[tg.cluster].cluster;
  l.region = kClusters[tg.cluster].region;
  l.instance = "10." + std::to_string(tg.cluster) + "." + std::to_string((t / 250) % 256) + "." +
               std::to_string(t % 250 + 1) + ":" + std::to_string(8080 + gen);
  char hex[16];
  std::snprintf(hex, sizeof(hex), "%05x", static_cast<unsigned>(Hash3(seed, t, 77) & 0xfffff));
  l.pod = std::string(svc.job) + "-" + hex + "-" + std::to_string(t / 16);
  if (gen > 0) l.pod += "-g" + std::to_string(gen);
  return l;
}

// Full Prometheus label set of series `i` of group `g`, sorted by name.
LabelPairs SeriesLabels(const Workload::Group& g, int i, const TargetLabels& tl) {
  LabelPairs ls;
  std::string name = g.family;
  if (g.kind == Kind::kHistogram) {
    if (i < kBuckets) {
      name += "_bucket";
      ls.emplace_back("le", kLe[i]);
    } else {
      name += i == kBuckets ? "_sum" : "_count";
    }
  }
  ls.emplace_back("__name__", name);
  ls.emplace_back("job", tl.job);
  ls.emplace_back("instance", tl.instance);
  ls.emplace_back("namespace", tl.ns);
  ls.emplace_back("pod", tl.pod);
  ls.emplace_back("cluster", tl.cluster);
  ls.emplace_back("region", tl.region);
  for (const auto& a : g.attrs) ls.push_back(a);
  std::sort(ls.begin(), ls.end());
  return ls;
}

// Per-series mutable values while encoding one shard.
struct GroupState {
  double v = 0;                 // counter/gauge value
  double cum[kBuckets] = {};    // cumulative bucket counts (last one = count)
  double sum = 0;
  int gen = -1;                 // generation the cached encodings belong to
  std::vector<std::string> rw_labels;  // per series: encoded TimeSeries.labels fields
  std::string otlp_attrs;              // encoded data point attributes
};

}  // namespace

const char* ProtocolName(Protocol p) { return p == Protocol::kOtlp ? "otlp" : "remote-write"; }

Workload::Workload(const WorkloadOptions& opts) : opts_(opts) {
  if (opts_.shards < 1) opts_.shards = 1;
  if (opts_.batch < 1) opts_.batch = 1;
  if (opts_.samples < 1) opts_.samples = 1;
  if (opts_.interval_ms < 1) opts_.interval_ms = 1;
  const uint64_t seed = opts_.seed;
  int64_t series = 0;
  for (int32_t t = 0; series < opts_.series; ++t) {
    Target tg;
    tg.service = t % static_cast<int>(Services().size());
    tg.cluster = (t / static_cast<int>(Services().size())) % 2;
    tg.offset_ms = static_cast<int64_t>(Hash3(seed, t, 1) % static_cast<uint64_t>(opts_.interval_ms));
    const Service& svc = Services()[tg.service];
    auto add = [&](Group g) {
      if (series >= opts_.series) return;
      g.target = t;
      series += g.n;
      tg.groups.push_back(static_cast<int32_t>(groups_.size()));
      groups_.push_back(std::move(g));
    };
    uint64_t r = Hash3(seed, t, 2);
    add({Kind::kCounter, "process_cpu_seconds_total", t, {}, LogUniform(r, 0.02, 1.5), 0, false, 1});
    add({Kind::kGauge, "process_resident_memory_bytes", t, {}, 0, LogUniform(r, 3e7, 2e9), true, 1});
    add({Kind::kGauge, "go_goroutines", t, {}, 0, LogUniform(r, 10, 3000), true, 1});
    // Counters first, then histograms, so that one OTLP Metric holds all points of a family.
    struct Combo {
      std::string method, route;
      double rate, median;
    };
    std::vector<Combo> combos;
    for (const Route& rt : svc.routes) {
      for (const char* m : {"GET", "POST"}) {
        if (std::string_view(m) == "POST" && !rt.post) continue;
        uint64_t rr = Hash3(seed, Hash3(t, combos.size(), 3), 4);
        combos.push_back({m, rt.path, LogUniform(rr, 0.2, 60), LogUniform(rr, 0.008, 0.4)});
      }
    }
    for (const Combo& c : combos) {
      for (int s = 0; s < 3; ++s) {
        add({Kind::kCounter, "http_requests_total", t,
             {{"method", c.method}, {"route", c.route}, {"status", kStatuses[s]}},
             c.rate * kStatusShare[s], 0, true, 1});
      }
    }
    for (const Combo& c : combos) {
      add({Kind::kHistogram, "http_request_duration_seconds", t,
           {{"method", c.method}, {"route", c.route}}, c.rate, c.median, true, kHistSeries});
    }
    targets_.push_back(std::move(tg));
  }
  if (opts_.base_ms == 0) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    int64_t base = now - opts_.samples * opts_.interval_ms - 60000;
    opts_.base_ms = base - base % opts_.interval_ms;
  }
  info_.series = series;
  info_.targets = static_cast<int64_t>(targets_.size());
  info_.samples_total = series * opts_.samples;
  int64_t min_off = opts_.interval_ms, max_off = 0;
  for (const Target& tg : targets_) {
    min_off = std::min(min_off, tg.offset_ms);
    max_off = std::max(max_off, tg.offset_ms);
  }
  info_.min_t = opts_.base_ms + min_off;
  info_.max_t = opts_.base_ms + (opts_.samples - 1) * opts_.interval_ms + max_off;
  info_.total_series = series;
  if (opts_.churn_every > 0) {
    for (size_t t = 0; t < targets_.size(); ++t) {
      int64_t n = 0;
      for (int32_t g : targets_[t].groups) n += groups_[g].n;
      for (int64_t e = 1; e * opts_.churn_every < opts_.samples; ++e) {
        uint64_t x = Hash3(seed, t, 1000 + e);
        if (Uniform(x) < opts_.churn_fraction) info_.total_series += n;
      }
    }
  }
}

Workload::~Workload() = default;

std::vector<std::vector<std::pair<std::string, std::string>>> Workload::LabelSets() const {
  std::vector<std::vector<std::pair<std::string, std::string>>> out;
  for (int32_t t = 0; t < static_cast<int32_t>(targets_.size()); ++t) {
    const TargetLabels tl = MakeTargetLabels(opts_.seed, t, targets_[t], 0);
    for (int32_t gid : targets_[t].groups) {
      for (int i = 0; i < groups_[gid].n; ++i) out.push_back(SeriesLabels(groups_[gid], i, tl));
    }
  }
  return out;
}

namespace {

// Accumulates one OTLP request: consecutive points of one target form one ResourceMetrics,
// consecutive points of one family inside it one Metric.
class OtlpBuilder {
 public:
  void Point(int32_t target, const TargetLabels& tl, const Workload::Group& g,
             const std::string& point) {
    if (target != target_ || tl.instance != instance_) {
      FlushResource();
      target_ = target;
      instance_ = tl.instance;
      PutStringAttr(resource_, 1, "service.name", tl.job);
      PutStringAttr(resource_, 1, "service.instance.id", tl.instance);
    }
    if (!has_family_ || family_ != g.family || kind_ != g.kind) {
      FlushMetric();
      has_family_ = true;
      family_ = g.family;
      kind_ = g.kind;
    }
    points_.append(point);
  }

  std::string Finish() {
    FlushResource();
    std::string out;
    out.swap(req_);
    return out;
  }

 private:
  void FlushMetric() {
    if (!has_family_) return;
    std::string data = std::move(points_);
    points_.clear();
    std::string metric;
    PutBytes(metric, 1, family_);
    if (kind_ == Kind::kGauge) {
      PutBytes(metric, 5, data);
    } else if (kind_ == Kind::kCounter) {
      PutTag(data, 2, 0);
      PutVarint(data, 2);  // AGGREGATION_TEMPORALITY_CUMULATIVE
      PutTag(data, 3, 0);
      PutVarint(data, 1);  // is_monotonic
      PutBytes(metric, 7, data);
    } else {
      PutTag(data, 2, 0);
      PutVarint(data, 2);
      PutBytes(metric, 9, data);
    }
    PutBytes(scope_, 2, metric);
    has_family_ = false;
  }
  void FlushResource() {
    FlushMetric();
    if (target_ < 0) return;
    std::string rm;
    PutBytes(rm, 1, resource_);
    PutBytes(rm, 2, scope_);
    PutBytes(req_, 1, rm);
    resource_.clear();
    scope_.clear();
    target_ = -1;
    instance_.clear();
  }

  std::string req_, resource_, scope_, points_;
  int32_t target_ = -1;
  std::string instance_;
  bool has_family_ = false;
  std::string family_;
  Kind kind_ = Kind::kGauge;
};

}  // namespace

std::vector<EncodedRequest> Workload::Encode(Protocol protocol, int shard) const {
  const uint64_t seed = opts_.seed;
  const double interval_s = static_cast<double>(opts_.interval_ms) / 1000.0;
  std::vector<int32_t> my_targets;
  for (int32_t t = 0; t < static_cast<int32_t>(targets_.size()); ++t) {
    if (t % opts_.shards == shard) my_targets.push_back(t);
  }
  std::vector<GroupState> state(groups_.size());  // indexed by group id; only ours are used
  std::vector<int> gen(targets_.size(), 0);
  std::vector<TargetLabels> tlabels(targets_.size());
  for (int32_t t : my_targets) tlabels[t] = MakeTargetLabels(seed, t, targets_[t], 0);

  std::vector<EncodedRequest> out;
  std::string rw;  // uncompressed WriteRequest being built
  OtlpBuilder otlp;
  int64_t pending = 0;
  auto finish = [&]() {
    if (pending == 0) return;
    EncodedRequest r;
    r.samples = pending;
    if (protocol == Protocol::kRemoteWrite) {
      snappy::Compress(rw.data(), rw.size(), &r.body);
      rw.clear();
    } else {
      r.body = otlp.Finish();
    }
    out.push_back(std::move(r));
    pending = 0;
  };

  std::string ts, sample, point;
  for (int64_t step = 0; step < opts_.samples; ++step) {
    for (int32_t t : my_targets) {
      const Target& tg = targets_[t];
      if (opts_.churn_every > 0 && step > 0 && step % opts_.churn_every == 0) {
        uint64_t x = Hash3(seed, t, 1000 + step / opts_.churn_every);
        if (Uniform(x) < opts_.churn_fraction) {
          ++gen[t];
          tlabels[t] = MakeTargetLabels(seed, t, tg, gen[t]);
        }
      }
      const TargetLabels& tl = tlabels[t];
      const int64_t ts_ms = opts_.base_ms + step * opts_.interval_ms + tg.offset_ms;
      for (int32_t gid : tg.groups) {
        const Group& g = groups_[gid];
        GroupState& st = state[gid];
        if (st.gen != gen[t]) {
          // A new process (or the first step): counters restart, label encodings change.
          st.v = g.kind == Kind::kGauge ? g.centre : 0;
          std::fill(std::begin(st.cum), std::end(st.cum), 0.0);
          st.sum = 0;
          st.gen = gen[t];
          st.rw_labels.clear();
          st.otlp_attrs.clear();
          if (protocol == Protocol::kRemoteWrite) {
            for (int i = 0; i < g.n; ++i) {
              std::string enc;
              for (const auto& [k, v] : SeriesLabels(g, i, tl)) {
                std::string lab;
                PutBytes(lab, 1, k);
                PutBytes(lab, 2, v);
                PutBytes(enc, 1, lab);
              }
              st.rw_labels.push_back(std::move(enc));
            }
          } else {
            const int field = g.kind == Kind::kHistogram ? 9 : 7;
            LabelPairs attrs = {{"namespace", tl.ns}, {"pod", tl.pod}, {"cluster", tl.cluster},
                                {"region", tl.region}};
            for (const auto& a : g.attrs) attrs.push_back(a);
            for (const auto& [k, v] : attrs) PutStringAttr(st.otlp_attrs, field, k, v);
          }
        }
        // Advance the values by one scrape interval.
        uint64_t r = Hash3(seed, static_cast<uint64_t>(gid), static_cast<uint64_t>(step));
        switch (g.kind) {
          case Kind::kCounter:
            st.v += g.integer ? Poisson(r, g.rate * interval_s)
                              : g.rate * interval_s * (0.5 + Uniform(r));
            break;
          case Kind::kGauge: {
            double v = st.v + 0.2 * (g.centre - st.v) + 0.05 * g.centre * Normal(r);
            st.v = std::max(0.0, g.integer ? std::round(v) : v);
            break;
          }
          case Kind::kHistogram: {
            const double n = Poisson(r, g.rate * interval_s);
            const double median = g.centre * std::exp(0.3 * std::sin(step / 40.0 + gid));
            const double sigma = 0.8;
            for (int i = 0; i < kBuckets - 1; ++i) {
              const double z = (std::log(kBounds[i]) - std::log(median)) / sigma;
              st.cum[i] += std::round(n * 0.5 * std::erfc(-z / std::sqrt(2.0)));
            }
            st.cum[kBuckets - 1] += n;
            st.sum += n * median * std::exp(sigma * sigma / 2) * (0.9 + 0.2 * Uniform(r));
            break;
          }
        }
        if (pending > 0 && pending + g.n > opts_.batch) finish();
        pending += g.n;
        if (protocol == Protocol::kRemoteWrite) {
          for (int i = 0; i < g.n; ++i) {
            double v = st.v;
            if (g.kind == Kind::kHistogram) {
              v = i < kBuckets ? st.cum[i] : i == kBuckets ? st.sum : st.cum[kBuckets - 1];
            }
            sample.clear();
            PutDouble(sample, 1, v);
            PutTag(sample, 2, 0);
            PutVarint(sample, static_cast<uint64_t>(ts_ms));
            ts = st.rw_labels[i];
            PutBytes(ts, 2, sample);
            PutBytes(rw, 1, ts);
          }
        } else {
          point = st.otlp_attrs;
          const uint64_t t_ns = static_cast<uint64_t>(ts_ms) * 1000000ULL;
          if (opts_.otlp_start_time) {
            PutFixed64(point, 2, static_cast<uint64_t>(opts_.base_ms - 3600000) * 1000000ULL);
          }
          PutFixed64(point, 3, t_ns);
          if (g.kind == Kind::kHistogram) {
            PutFixed64(point, 4, static_cast<uint64_t>(st.cum[kBuckets - 1]));
            PutDouble(point, 5, st.sum);
            std::string packed;
            double prev = 0;
            for (int i = 0; i < kBuckets; ++i) {
              PutFixed64Raw(packed, static_cast<uint64_t>(st.cum[i] - prev));
              prev = st.cum[i];
            }
            PutBytes(point, 6, packed);
            packed.clear();
            for (double b : kBounds) {
              uint64_t bits;
              std::memcpy(&bits, &b, 8);
              PutFixed64Raw(packed, bits);
            }
            PutBytes(point, 7, packed);
          } else if (g.integer) {
            PutFixed64(point, 6, static_cast<uint64_t>(static_cast<int64_t>(st.v)));  // as_int
          } else {
            PutDouble(point, 4, st.v);  // as_double
          }
          std::string wrapped;
          PutBytes(wrapped, 1, point);  // Gauge/Sum/Histogram.data_points
          otlp.Point(t, tl, g, wrapped);
        }
      }
    }
  }
  finish();
  return out;
}

}  // namespace xscaler::bench
