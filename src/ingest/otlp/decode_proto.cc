// Binary protobuf decoding of ExportMetricsServiceRequest with the zero-copy reader. Field
// numbers: docs in /work/shared/spec/otlp-ingest.md §2 (opentelemetry-proto metrics.proto).
#include <array>
#include <bit>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "ingest/otlp/decode.h"
#include "ingest/otlp/naming.h"
#include "ingest/protowire/reader.h"

namespace xscaler::ingest::otlp {
namespace {

using protowire::Reader;
using protowire::WireType;

absl::Status Annotate(const absl::Status& st, std::string_view where) {
  return absl::InvalidArgumentError(Cat(where, ": ", st.message()));
}

absl::Status TooDeep() {
  return absl::InvalidArgumentError(
      Cat("attribute value nested deeper than ", kMaxAnyValueDepth, " levels"));
}

// Expected wire type per field number of each message we decode. A known field that arrives
// with another wire type is skipped like an unknown one, as libprotobuf and Go's protobuf do,
// instead of failing the request. kAny: anything (unknown fields, packed-or-not repeated).
constexpr uint8_t kAny = 0xFF, kV = 0, kF = 1, kL = 2;
using Schema = std::array<uint8_t, 16>;
constexpr Schema MakeSchema(std::initializer_list<std::pair<int, uint8_t>> fields) {
  Schema s{};
  for (auto& w : s) w = kAny;
  for (auto [f, w] : fields) s[f] = w;
  return s;
}
constexpr Schema kRequest = MakeSchema({{1, kL}});
constexpr Schema kResourceMetrics = MakeSchema({{1, kL}, {2, kL}});
constexpr Schema kResource = MakeSchema({{1, kL}});
constexpr Schema kScopeMetrics = MakeSchema({{1, kL}, {2, kL}});
constexpr Schema kScope = MakeSchema({{1, kL}, {2, kL}});
constexpr Schema kMetric =
    MakeSchema({{1, kL}, {2, kL}, {3, kL}, {5, kL}, {7, kL}, {9, kL}, {10, kL}, {11, kL}});
constexpr Schema kData = MakeSchema({{1, kL}, {2, kV}, {3, kV}});
constexpr Schema kNumberPoint = MakeSchema({{2, kF}, {3, kF}, {4, kF}, {6, kF}, {7, kL}, {8, kV}});
constexpr Schema kHistogramPoint =
    MakeSchema({{2, kF}, {3, kF}, {4, kF}, {5, kF}, {9, kL}, {10, kV}});  // 6, 7: packed or not
constexpr Schema kExpPoint = MakeSchema({{2, kF}, {3, kF}, {10, kV}});
constexpr Schema kSummaryPoint =
    MakeSchema({{2, kF}, {3, kF}, {4, kF}, {5, kF}, {6, kL}, {7, kL}, {8, kV}});
constexpr Schema kQuantile = MakeSchema({{1, kF}, {2, kF}});
constexpr Schema kKeyValue = MakeSchema({{1, kL}, {2, kL}});
constexpr Schema kAnyValue =
    MakeSchema({{1, kL}, {2, kV}, {3, kV}, {4, kF}, {5, kL}, {6, kL}, {7, kL}});
constexpr Schema kList = MakeSchema({{1, kL}});  // ArrayValue and KeyValueList

bool Next(Reader& r, const Schema& s) {
  while (r.Next()) {
    uint32_t f = r.field();
    if (f >= s.size() || s[f] == kAny || s[f] == static_cast<uint8_t>(r.wire_type())) return true;
  }
  return false;
}

Temporality ToTemporality(uint64_t v) {
  if (v == 1) return Temporality::kDelta;
  if (v == 2) return Temporality::kCumulative;
  return Temporality::kUnspecified;
}

// Calls fn(bytes, index) for each occurrence of the length-delimited field `field` of message
// `b`, in wire order; index counts the occurrences. fn's error is returned as is; a malformed
// message's error is prefixed with `where` unless it is empty.
template <typename Fn>
absl::Status ForEachLen(std::string_view b, const Schema& s, uint32_t field, Fn&& fn,
                        std::string_view where = {}) {
  Reader r(b);
  size_t i = 0;
  while (Next(r, s)) {
    if (r.field() != field) continue;
    std::string_view m = r.bytes();
    if (!r.ok()) break;
    if (auto st = fn(m, i); !st.ok()) return st;
    ++i;
  }
  if (!r.ok() && !where.empty()) return Annotate(r.status(), where);
  return r.status();
}

// The member of an AnyValue oneof that stood last on the wire (protobuf merging: the last one
// wins). kind is its field number (0: none); bytes holds string/array/kvlist/bytes members and
// scalar the bool, int or double bits. Views borrow the request body.
struct AnyValueMember {
  uint32_t kind = 0;
  std::string_view bytes;
  uint64_t scalar = 0;
};

absl::Status ReadAnyValue(std::string_view b, AnyValueMember& v) {
  Reader r(b);
  while (Next(r, kAnyValue)) {
    switch (r.field()) {
      case 1:
      case 5:
      case 6:
      case 7:
        v.bytes = r.bytes();
        v.kind = r.field();
        break;
      case 2:
      case 3:
        v.scalar = r.varint();
        v.kind = r.field();
        break;
      case 4:
        v.scalar = r.fixed64();
        v.kind = 4;
        break;
      default:
        break;
    }
  }
  return r.status();
}

// Where the fields that data point types share sit in each: timestamps are always 2 and 3.
struct PointLayout {
  const Schema& schema;
  uint32_t attributes;  // 0: not decoded
  uint32_t flags;
  bool count_and_sum;  // fixed64 count = 4, double sum = 5
};
constexpr PointLayout kNumberLayout{kNumberPoint, 7, 8, false};
constexpr PointLayout kHistogramLayout{kHistogramPoint, 9, 10, true};
constexpr PointLayout kExpLayout{kExpPoint, 0, 10, false};
constexpr PointLayout kSummaryLayout{kSummaryPoint, 7, 8, true};

class ProtoDecoder {
 public:
  explicit ProtoDecoder(Request& out) : out_(out) {}

  absl::Status Decode(std::string_view b) {
    return ForEachLen(b, kRequest, 1, [this](std::string_view rm, size_t i) {
      if (auto st = ResourceMetrics(rm); !st.ok()) {
        return Annotate(st, Cat("resource_metrics[", i, "]"));
      }
      return absl::OkStatus();
    });
  }

 private:
  absl::Status ResourceMetrics(std::string_view b) {
    Resource res;
    res.attrs.begin = static_cast<uint32_t>(out_.attrs.size());
    // Pass 1: the resource (it may come after its scopes on the wire, and may be repeated, which
    // protobuf merges), so its attributes are contiguous in out_.attrs.
    auto resource = [this](std::string_view rb, size_t) {
      return ForEachLen(
          rb, kResource, 1,
          [this](std::string_view kv, size_t) {
            if (auto st = KeyValue(kv); !st.ok()) return Annotate(st, "resource.attributes");
            return absl::OkStatus();
          },
          "resource");
    };
    if (auto st = ForEachLen(b, kResourceMetrics, 1, resource); !st.ok()) return st;
    res.attrs.end = static_cast<uint32_t>(out_.attrs.size());
    res.scopes.begin = static_cast<uint32_t>(out_.scopes.size());
    auto scope_metrics = [this](std::string_view sm, size_t i) {
      if (auto st = ScopeMetrics(sm); !st.ok()) return Annotate(st, Cat("scope_metrics[", i, "]"));
      return absl::OkStatus();
    };
    if (auto st = ForEachLen(b, kResourceMetrics, 2, scope_metrics); !st.ok()) return st;
    res.scopes.end = static_cast<uint32_t>(out_.scopes.size());
    out_.resources.push_back(res);
    return absl::OkStatus();
  }

  absl::Status ScopeMetrics(std::string_view b) {
    Scope scope;
    auto read_scope = [&scope](std::string_view sb, size_t) {
      Reader sr(sb);
      while (Next(sr, kScope)) {
        switch (sr.field()) {
          case 1:
            scope.name = sr.bytes();
            break;
          case 2:
            scope.version = sr.bytes();
            break;
          default:
            break;
        }
      }
      if (!sr.ok()) return Annotate(sr.status(), "scope");
      return absl::OkStatus();
    };
    if (auto st = ForEachLen(b, kScopeMetrics, 1, read_scope); !st.ok()) return st;
    // Scopes are pushed after their metrics are decoded, so reserve our index first.
    size_t index = out_.scopes.size();
    out_.scopes.push_back(scope);
    out_.scopes[index].metrics.begin = static_cast<uint32_t>(out_.metrics.size());
    auto metric = [this](std::string_view mb, size_t i) {
      if (auto st = Metric(mb); !st.ok()) return Annotate(st, Cat("metrics[", i, "]"));
      return absl::OkStatus();
    };
    if (auto st = ForEachLen(b, kScopeMetrics, 2, metric); !st.ok()) return st;
    out_.scopes[index].metrics.end = static_cast<uint32_t>(out_.metrics.size());
    return absl::OkStatus();
  }

  absl::Status Metric(std::string_view b) {
    otlp::Metric m;
    m.points.begin = static_cast<uint32_t>(out_.points.size());
    Reader r(b);
    while (Next(r, kMetric)) {
      MetricKind kind = MetricKind::kNone;
      switch (r.field()) {
        case 1:
          m.name = r.bytes();
          continue;
        case 2:
          m.description = r.bytes();
          continue;
        case 3:
          m.unit = r.bytes();
          continue;
        case 5:
          kind = MetricKind::kGauge;
          break;
        case 7:
          kind = MetricKind::kSum;
          break;
        case 9:
          kind = MetricKind::kHistogram;
          break;
        case 10:
          kind = MetricKind::kExponentialHistogram;
          break;
        case 11:
          kind = MetricKind::kSummary;
          break;
        default:
          continue;
      }
      std::string_view data = r.bytes();
      if (!r.ok()) break;
      if (m.kind != kind) {
        // A different member of the `data` oneof replaces the previous one.
        out_.points.resize(m.points.begin);
        m.temporality = Temporality::kUnspecified;
        m.monotonic = false;
        m.kind = kind;
      }
      if (auto st = Data(data, m); !st.ok()) {
        static constexpr std::string_view kNames[] = {
            "", "gauge", "sum", "histogram", "exponential_histogram", "summary"};
        return Annotate(st, kNames[static_cast<int>(kind)]);
      }
    }
    if (!r.ok()) return r.status();
    m.points.end = static_cast<uint32_t>(out_.points.size());
    out_.metrics.push_back(m);
    return absl::OkStatus();
  }

  absl::Status Data(std::string_view b, otlp::Metric& m) {
    Reader r(b);
    size_t i = 0;
    while (Next(r, kData)) {
      switch (r.field()) {
        case 1: {
          std::string_view pb = r.bytes();
          if (!r.ok()) break;
          absl::Status st;
          switch (m.kind) {
            case MetricKind::kGauge:
            case MetricKind::kSum:
              st = NumberPoint(pb);
              break;
            case MetricKind::kHistogram:
              st = HistogramPoint(pb);
              break;
            case MetricKind::kExponentialHistogram:
              st = ExpHistogramPoint(pb);
              break;
            case MetricKind::kSummary:
              st = SummaryPoint(pb);
              break;
            case MetricKind::kNone:
              break;
          }
          if (!st.ok()) return Annotate(st, Cat("data_points[", i, "]"));
          ++i;
          break;
        }
        case 2:
          if (m.kind != MetricKind::kGauge && m.kind != MetricKind::kSummary) {
            m.temporality = ToTemporality(r.varint());
          }
          break;
        case 3:
          if (m.kind == MetricKind::kSum) m.monotonic = r.boolean();
          break;
        default:
          break;
      }
    }
    return r.status();
  }

  // Decodes one data point into p and appends it to out_.points: the fields point types share
  // (timestamps, attributes, flags, count and sum) here, the others through extra(reader), which
  // returns OK for the fields it skips. Ranges that extra grows are closed by close() before the
  // append.
  template <typename Extra, typename Close>
  absl::Status DataPoint(std::string_view b, const PointLayout& layout, Point& p, Extra&& extra,
                         Close&& close) {
    if (layout.attributes != 0) p.attrs.begin = static_cast<uint32_t>(out_.attrs.size());
    Reader r(b);
    while (Next(r, layout.schema)) {
      uint32_t f = r.field();
      if (f == 2) {
        p.start_ns = r.fixed64();
      } else if (f == 3) {
        p.time_ns = r.fixed64();
      } else if (f == layout.flags) {
        p.flags = static_cast<uint32_t>(r.varint());
      } else if (f == layout.attributes) {
        if (auto st = AttrField(r); !st.ok()) return st;
      } else if (layout.count_and_sum && f == 4) {
        p.count = r.fixed64();
      } else if (layout.count_and_sum && f == 5) {
        p.sum = r.dbl();
        p.has_sum = true;  // optional in HistogramDataPoint; always set in SummaryDataPoint
      } else if (auto st = extra(r); !st.ok()) {
        return st;
      }
    }
    if (!r.ok()) return r.status();
    if (layout.attributes != 0) p.attrs.end = static_cast<uint32_t>(out_.attrs.size());
    close();
    out_.points.push_back(p);
    return absl::OkStatus();
  }

  absl::Status NumberPoint(std::string_view b) {
    Point p;
    auto extra = [&p](Reader& r) {
      if (r.field() == 4) {
        p.value = r.dbl();
        p.has_value = true;
      } else if (r.field() == 6) {
        p.value = static_cast<double>(r.sfixed64());
        p.has_value = true;
      }
      return absl::OkStatus();
    };
    return DataPoint(b, kNumberLayout, p, extra, [] {});
  }

  absl::Status HistogramPoint(std::string_view b) {
    Point p;
    p.buckets.begin = static_cast<uint32_t>(out_.bucket_counts.size());
    p.bounds.begin = static_cast<uint32_t>(out_.bounds.size());
    auto extra = [this](Reader& r) {
      switch (r.field()) {
        case 6:
          if (r.wire_type() != WireType::kI64 && r.wire_type() != WireType::kLen) break;
          protowire::ForEachFixed64(r, [this](uint64_t v) { out_.bucket_counts.push_back(v); });
          break;
        case 7:
          if (r.wire_type() != WireType::kI64 && r.wire_type() != WireType::kLen) break;
          protowire::ForEachFixed64(
              r, [this](uint64_t v) { out_.bounds.push_back(std::bit_cast<double>(v)); });
          break;
        default:
          break;
      }
      return absl::OkStatus();
    };
    return DataPoint(b, kHistogramLayout, p, extra, [this, &p] {
      p.buckets.end = static_cast<uint32_t>(out_.bucket_counts.size());
      p.bounds.end = static_cast<uint32_t>(out_.bounds.size());
    });
  }

  // Exponential histograms are not translated yet; only what is needed to count and report
  // the points is kept.
  absl::Status ExpHistogramPoint(std::string_view b) {
    Point p;
    return DataPoint(
        b, kExpLayout, p, [](Reader&) { return absl::OkStatus(); }, [] {});
  }

  absl::Status SummaryPoint(std::string_view b) {
    Point p;
    p.has_sum = true;  // not optional in SummaryDataPoint
    p.quantiles.begin = static_cast<uint32_t>(out_.quantiles.size());
    auto extra = [this](Reader& r) {
      switch (r.field()) {
        case 6: {
          std::string_view qb = r.bytes();
          if (!r.ok()) break;
          double q = 0, v = 0;
          Reader qr(qb);
          while (Next(qr, kQuantile)) {
            if (qr.field() == 1) q = qr.dbl();
            if (qr.field() == 2) v = qr.dbl();
          }
          if (!qr.ok()) return Annotate(qr.status(), "quantile_values");
          out_.quantiles.emplace_back(q, v);
          break;
        }
        default:
          break;
      }
      return absl::OkStatus();
    };
    return DataPoint(b, kSummaryLayout, p, extra, [this, &p] {
      p.quantiles.end = static_cast<uint32_t>(out_.quantiles.size());
    });
  }

  absl::Status AttrField(Reader& r) {
    std::string_view kv = r.bytes();
    if (!r.ok()) return r.status();
    if (auto st = KeyValue(kv); !st.ok()) return Annotate(st, "attributes");
    return absl::OkStatus();
  }

  absl::Status KeyValue(std::string_view b) {
    Attr a;
    std::string_view value;
    bool has_value = false;
    Reader r(b);
    while (Next(r, kKeyValue)) {
      if (r.field() == 1) a.key = r.bytes();
      if (r.field() == 2) {
        value = r.bytes();
        has_value = true;
      }
    }
    if (!r.ok()) return r.status();
    if (has_value) {
      if (auto st = AnyValueText(value, a.value); !st.ok()) return st;
    }
    out_.attrs.push_back(a);
    return absl::OkStatus();
  }

  absl::Status AnyValueText(std::string_view b, std::string_view& out) {
    AnyValueMember v;
    if (auto st = ReadAnyValue(b, v); !st.ok()) return st;
    switch (v.kind) {
      case 0:
        out = {};
        break;
      case 1:
        out = v.bytes;
        break;
      case 2:
        out = v.scalar != 0 ? "true" : "false";
        break;
      case 3:
        out = out_.Keep(std::to_string(static_cast<int64_t>(v.scalar)));
        break;
      case 4:
        out = out_.Keep(FormatAttrDouble(std::bit_cast<double>(v.scalar)));
        break;
      case 7:
        out = out_.Keep(absl::Base64Escape(absl::string_view(v.bytes.data(), v.bytes.size())));
        break;
      default: {  // array or kvlist → JSON text
        std::string json;
        if (auto st = AppendAnyValueJson(v, 0, json); !st.ok()) return st;
        out = out_.Keep(std::move(json));
      }
    }
    return absl::OkStatus();
  }

  absl::Status AppendAnyValueJson(std::string_view b, int depth, std::string& json) {
    if (depth > kMaxAnyValueDepth) return TooDeep();
    AnyValueMember v;
    if (auto st = ReadAnyValue(b, v); !st.ok()) return st;
    return AppendAnyValueJson(v, depth, json);
  }

  absl::Status AppendAnyValueJson(const AnyValueMember& v, int depth, std::string& json) {
    switch (v.kind) {
      case 0:
        json += "null";
        break;
      case 1:
        AppendJsonString(json, v.bytes);
        break;
      case 2:
        json += v.scalar != 0 ? "true" : "false";
        break;
      case 3:
        json += std::to_string(static_cast<int64_t>(v.scalar));
        break;
      case 4: {
        double d = std::bit_cast<double>(v.scalar);
        std::string s = FormatAttrDouble(d);
        if (d != d || d - d != 0) {
          AppendJsonString(json, s);  // NaN / Inf are not JSON numbers
        } else {
          json += s;
        }
        break;
      }
      case 7:
        AppendJsonString(json,
                         absl::Base64Escape(absl::string_view(v.bytes.data(), v.bytes.size())));
        break;
      case 5: {
        json += '[';
        auto element = [&](std::string_view vb, size_t i) {
          if (i != 0) json += ',';
          return AppendAnyValueJson(vb, depth + 1, json);
        };
        if (auto st = ForEachLen(v.bytes, kList, 1, element); !st.ok()) return st;
        json += ']';
        break;
      }
      case 6: {
        std::vector<std::pair<std::string_view, std::string>> entries;
        auto entry = [&](std::string_view kvb, size_t) {
          Reader e(kvb);
          std::string_view key;
          std::string val = "null";
          while (Next(e, kKeyValue)) {
            if (e.field() == 1) key = e.bytes();
            if (e.field() == 2) {
              std::string_view vb = e.bytes();
              if (!e.ok()) break;
              val.clear();
              if (auto st = AppendAnyValueJson(vb, depth + 1, val); !st.ok()) return st;
            }
          }
          if (!e.ok()) return e.status();
          entries.emplace_back(key, std::move(val));
          return absl::OkStatus();
        };
        if (auto st = ForEachLen(v.bytes, kList, 1, entry); !st.ok()) return st;
        AppendJsonObject(entries, json);
        break;
      }
    }
    return absl::OkStatus();
  }

  otlp::Request& out_;
};

}  // namespace

absl::Status DecodeProto(std::string_view body, Request& out) {
  out.Clear();
  ProtoDecoder d(out);
  absl::Status st = d.Decode(body);
  if (!st.ok()) {
    out.Clear();
    return absl::InvalidArgumentError(
        Cat("cannot decode the OTLP protobuf body (ExportMetricsServiceRequest): ", st.message()));
  }
  return absl::OkStatus();
}

}  // namespace xscaler::ingest::otlp
