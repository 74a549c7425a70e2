// protobuf-JSON decoding of ExportMetricsServiceRequest (OTLP "JSON Protobuf Encoding"):
// lowerCamelCase keys, 64-bit integers as strings or numbers, doubles as numbers or
// "NaN"/"Infinity"/"-Infinity", enums as integers (names accepted too), unknown keys ignored,
// null = absent. The document is parsed in place with rapidjson's iterative parser (no
// recursion, so deep nesting cannot overflow the stack).
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "ingest/otlp/decode.h"
#include "ingest/otlp/naming.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace xscaler::ingest::otlp {
namespace {

using JValue = rapidjson::Value;

// Where we are in the document, for error messages; lives on the stack of the walk.
struct Path {
  const Path* parent = nullptr;
  const char* key = nullptr;  // member name, or nullptr for an array element
  size_t index = 0;

  std::string ToString() const {
    if (parent == nullptr && key == nullptr) return "";
    std::string s = parent != nullptr ? parent->ToString() : std::string();
    if (key != nullptr) {
      if (!s.empty()) s += '.';
      s += key;
    } else {
      s += Cat("[", index, "]");
    }
    return s;
  }
  Path Key(const char* k) const { return Path{this, k, 0}; }
  Path Index(size_t i) const { return Path{this, nullptr, i}; }
};

absl::Status Bad(const Path& p, std::string_view what) {
  std::string where = p.ToString();
  return absl::InvalidArgumentError(Cat(where.empty() ? "top level" : where, ": ", what));
}

std::string_view Str(const JValue& v) { return {v.GetString(), v.GetStringLength()}; }
// OTLP requires lowerCamelCase keys, but generic proto3 JSON encoders may emit the original
// snake_case names (which proto3 JSON parsers must accept), so `camel` matches both.
bool KeyMatches(std::string_view key, std::string_view camel) {
  if (key.size() == camel.size()) return key == camel;
  size_t i = 0;
  for (char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      if (i + 1 >= key.size() || key[i] != '_' || key[i + 1] != c - 'A' + 'a') return false;
      i += 2;
    } else {
      if (i >= key.size() || key[i] != c) return false;
      ++i;
    }
  }
  return i == key.size();
}
bool KeyIs(const JValue::ConstMemberIterator& m, std::string_view k) {
  return KeyMatches(Str(m->name), k);
}

absl::Status GetString(const JValue& v, const Path& p, std::string_view& out) {
  if (v.IsNull()) return absl::OkStatus();
  if (!v.IsString()) return Bad(p, "expected a string");
  out = Str(v);
  return absl::OkStatus();
}

absl::Status GetU64(const JValue& v, const Path& p, uint64_t& out) {
  if (v.IsNull()) return absl::OkStatus();
  if (v.IsString()) {
    if (absl::SimpleAtoi(absl::string_view(v.GetString(), v.GetStringLength()), &out))
      return absl::OkStatus();
    return Bad(p, Cat("expected an unsigned 64-bit integer, got \"", Str(v), "\""));
  }
  if (v.IsUint64()) {
    out = v.GetUint64();
    return absl::OkStatus();
  }
  if (v.IsDouble()) {
    double d = v.GetDouble();
    if (d >= 0 && d < 18446744073709551616.0 && std::floor(d) == d) {
      out = static_cast<uint64_t>(d);
      return absl::OkStatus();
    }
  }
  return Bad(p, "expected an unsigned 64-bit integer (as a string or number)");
}

absl::Status GetI64(const JValue& v, const Path& p, int64_t& out) {
  if (v.IsNull()) return absl::OkStatus();
  if (v.IsString()) {
    if (absl::SimpleAtoi(absl::string_view(v.GetString(), v.GetStringLength()), &out))
      return absl::OkStatus();
    return Bad(p, Cat("expected a 64-bit integer, got \"", Str(v), "\""));
  }
  if (v.IsInt64()) {
    out = v.GetInt64();
    return absl::OkStatus();
  }
  if (v.IsDouble()) {
    double d = v.GetDouble();
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && std::floor(d) == d) {
      out = static_cast<int64_t>(d);
      return absl::OkStatus();
    }
  }
  return Bad(p, "expected a 64-bit integer (as a string or number)");
}

absl::Status GetDouble(const JValue& v, const Path& p, double& out) {
  if (v.IsNull()) return absl::OkStatus();
  if (v.IsNumber()) {
    out = v.GetDouble();
    return absl::OkStatus();
  }
  if (v.IsString()) {
    std::string_view s = Str(v);
    if (s == "NaN") {
      out = std::numeric_limits<double>::quiet_NaN();
    } else if (s == "Infinity") {
      out = std::numeric_limits<double>::infinity();
    } else if (s == "-Infinity") {
      out = -std::numeric_limits<double>::infinity();
    } else if (!absl::SimpleAtod(absl::string_view(s.data(), s.size()), &out)) {
      return Bad(p,
                 Cat("expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", got \"", s, "\""));
    }
    return absl::OkStatus();
  }
  return Bad(p, "expected a number");
}

absl::Status GetU32(const JValue& v, const Path& p, uint32_t& out) {
  uint64_t x = out;
  if (auto st = GetU64(v, p, x); !st.ok()) return st;
  if (x > std::numeric_limits<uint32_t>::max()) return Bad(p, "value does not fit in 32 bits");
  out = static_cast<uint32_t>(x);
  return absl::OkStatus();
}

absl::Status GetBool(const JValue& v, const Path& p, bool& out) {
  if (v.IsNull()) return absl::OkStatus();
  if (!v.IsBool()) return Bad(p, "expected true or false");
  out = v.GetBool();
  return absl::OkStatus();
}

absl::Status GetTemporality(const JValue& v, const Path& p, Temporality& out) {
  if (v.IsNull()) return absl::OkStatus();
  if (v.IsString()) {
    std::string_view s = Str(v);
    if (s == "AGGREGATION_TEMPORALITY_DELTA") {
      out = Temporality::kDelta;
    } else if (s == "AGGREGATION_TEMPORALITY_CUMULATIVE") {
      out = Temporality::kCumulative;
    } else if (s == "AGGREGATION_TEMPORALITY_UNSPECIFIED") {
      out = Temporality::kUnspecified;
    } else {
      return Bad(p, Cat("unknown aggregation temporality \"", s,
                        "\" (expected 1 for DELTA or 2 for CUMULATIVE)"));
    }
    return absl::OkStatus();
  }
  int64_t x = 0;
  if (auto st = GetI64(v, p, x); !st.ok()) return st;
  out = x == 1   ? Temporality::kDelta
        : x == 2 ? Temporality::kCumulative
                 : Temporality::kUnspecified;
  return absl::OkStatus();
}

absl::Status ExpectObject(const JValue& v, const Path& p) {
  return v.IsObject() ? absl::OkStatus() : Bad(p, "expected an object");
}

class JsonDecoder {
 public:
  explicit JsonDecoder(Request& out) : out_(out) {}

  absl::Status Root(const JValue& v) {
    Path root;
    if (!v.IsObject()) return Bad(root, "expected an ExportMetricsServiceRequest object");
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      if (!KeyIs(m, "resourceMetrics")) continue;
      Path p = root.Key("resourceMetrics");
      if (auto st =
              Array(m->value, p,
                    [this](const JValue& e, const Path& ep) { return ResourceMetrics(e, ep); });
          !st.ok())
        return st;
    }
    return absl::OkStatus();
  }

 private:
  template <typename Fn>
  absl::Status Array(const JValue& v, const Path& p, Fn&& fn) {
    if (v.IsNull()) return absl::OkStatus();
    if (!v.IsArray()) return Bad(p, "expected an array");
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if (auto st = fn(v[i], p.Index(i)); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  absl::Status ResourceMetrics(const JValue& v, const Path& p) {
    if (auto st = ExpectObject(v, p); !st.ok()) return st;
    Resource res;
    res.attrs.begin = static_cast<uint32_t>(out_.attrs.size());
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      if (!KeyIs(m, "resource") || m->value.IsNull()) continue;
      Path rp = p.Key("resource");
      if (auto st = ExpectObject(m->value, rp); !st.ok()) return st;
      for (auto rm = m->value.MemberBegin(); rm != m->value.MemberEnd(); ++rm) {
        if (!KeyIs(rm, "attributes")) continue;
        if (auto st = Attributes(rm->value, rp.Key("attributes")); !st.ok()) return st;
      }
    }
    res.attrs.end = static_cast<uint32_t>(out_.attrs.size());
    res.scopes.begin = static_cast<uint32_t>(out_.scopes.size());
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      if (!KeyIs(m, "scopeMetrics")) continue;
      if (auto st = Array(m->value, p.Key("scopeMetrics"),
                          [this](const JValue& e, const Path& ep) { return ScopeMetrics(e, ep); });
          !st.ok())
        return st;
    }
    res.scopes.end = static_cast<uint32_t>(out_.scopes.size());
    out_.resources.push_back(res);
    return absl::OkStatus();
  }

  absl::Status ScopeMetrics(const JValue& v, const Path& p) {
    if (auto st = ExpectObject(v, p); !st.ok()) return st;
    Scope scope;
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      if (!KeyIs(m, "scope") || m->value.IsNull()) continue;
      Path sp = p.Key("scope");
      if (auto st = ExpectObject(m->value, sp); !st.ok()) return st;
      for (auto sm = m->value.MemberBegin(); sm != m->value.MemberEnd(); ++sm) {
        absl::Status st;
        if (KeyIs(sm, "name")) st = GetString(sm->value, sp.Key("name"), scope.name);
        if (KeyIs(sm, "version")) st = GetString(sm->value, sp.Key("version"), scope.version);
        if (!st.ok()) return st;
      }
    }
    size_t index = out_.scopes.size();
    out_.scopes.push_back(scope);
    out_.scopes[index].metrics.begin = static_cast<uint32_t>(out_.metrics.size());
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      if (!KeyIs(m, "metrics")) continue;
      if (auto st = Array(m->value, p.Key("metrics"),
                          [this](const JValue& e, const Path& ep) { return Metric(e, ep); });
          !st.ok())
        return st;
    }
    out_.scopes[index].metrics.end = static_cast<uint32_t>(out_.metrics.size());
    return absl::OkStatus();
  }

  absl::Status Metric(const JValue& v, const Path& p) {
    if (auto st = ExpectObject(v, p); !st.ok()) return st;
    otlp::Metric metric;
    metric.points.begin = static_cast<uint32_t>(out_.points.size());
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      std::string_view key = Str(m->name);
      absl::Status st;
      MetricKind kind = MetricKind::kNone;
      const char* kname = nullptr;
      if (KeyMatches(key, "name")) {
        st = GetString(m->value, p.Key("name"), metric.name);
      } else if (KeyMatches(key, "description")) {
        st = GetString(m->value, p.Key("description"), metric.description);
      } else if (KeyMatches(key, "unit")) {
        st = GetString(m->value, p.Key("unit"), metric.unit);
      } else if (KeyMatches(key, "gauge")) {
        kind = MetricKind::kGauge, kname = "gauge";
      } else if (KeyMatches(key, "sum")) {
        kind = MetricKind::kSum, kname = "sum";
      } else if (KeyMatches(key, "histogram")) {
        kind = MetricKind::kHistogram, kname = "histogram";
      } else if (KeyMatches(key, "exponentialHistogram")) {
        kind = MetricKind::kExponentialHistogram, kname = "exponentialHistogram";
      } else if (KeyMatches(key, "summary")) {
        kind = MetricKind::kSummary, kname = "summary";
      }
      if (!st.ok()) return st;
      if (kind == MetricKind::kNone || m->value.IsNull()) continue;
      if (metric.kind != MetricKind::kNone) {
        return Bad(p, "more than one of gauge, sum, histogram, exponentialHistogram, summary");
      }
      metric.kind = kind;
      if (auto st2 = Data(m->value, p.Key(kname), metric); !st2.ok()) return st2;
    }
    metric.points.end = static_cast<uint32_t>(out_.points.size());
    out_.metrics.push_back(metric);
    return absl::OkStatus();
  }

  absl::Status Data(const JValue& v, const Path& p, otlp::Metric& metric) {
    if (auto st = ExpectObject(v, p); !st.ok()) return st;
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      std::string_view key = Str(m->name);
      absl::Status st;
      if (KeyMatches(key, "dataPoints")) {
        st = Array(m->value, p.Key("dataPoints"), [this, &metric](const JValue& e, const Path& ep) {
          return DataPoint(e, ep, metric.kind);
        });
      } else if (KeyMatches(key, "aggregationTemporality") && metric.kind != MetricKind::kGauge &&
                 metric.kind != MetricKind::kSummary) {
        st = GetTemporality(m->value, p.Key("aggregationTemporality"), metric.temporality);
      } else if (KeyMatches(key, "isMonotonic") && metric.kind == MetricKind::kSum) {
        st = GetBool(m->value, p.Key("isMonotonic"), metric.monotonic);
      }
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  }

  absl::Status DataPoint(const JValue& v, const Path& p, MetricKind kind) {
    if (auto st = ExpectObject(v, p); !st.ok()) return st;
    Point pt;
    if (kind == MetricKind::kSummary) pt.has_sum = true;
    pt.attrs.begin = static_cast<uint32_t>(out_.attrs.size());
    pt.buckets.begin = static_cast<uint32_t>(out_.bucket_counts.size());
    pt.bounds.begin = static_cast<uint32_t>(out_.bounds.size());
    pt.quantiles.begin = static_cast<uint32_t>(out_.quantiles.size());
    const bool exp = kind == MetricKind::kExponentialHistogram;
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      std::string_view key = Str(m->name);
      const JValue& val = m->value;
      absl::Status st;
      if (KeyMatches(key, "attributes")) {
        if (!exp) st = Attributes(val, p.Key("attributes"));
      } else if (KeyMatches(key, "startTimeUnixNano")) {
        st = GetU64(val, p.Key("startTimeUnixNano"), pt.start_ns);
      } else if (KeyMatches(key, "timeUnixNano")) {
        st = GetU64(val, p.Key("timeUnixNano"), pt.time_ns);
      } else if (KeyMatches(key, "flags")) {
        st = GetU32(val, p.Key("flags"), pt.flags);
      } else if (exp) {
        continue;
      } else if (KeyMatches(key, "asDouble") && !val.IsNull()) {
        st = GetDouble(val, p.Key("asDouble"), pt.value);
        pt.has_value = true;
      } else if (KeyMatches(key, "asInt") && !val.IsNull()) {
        int64_t x = 0;
        st = GetI64(val, p.Key("asInt"), x);
        pt.value = static_cast<double>(x);
        pt.has_value = true;
      } else if (KeyMatches(key, "count")) {
        st = GetU64(val, p.Key("count"), pt.count);
      } else if (KeyMatches(key, "sum") && !val.IsNull()) {
        st = GetDouble(val, p.Key("sum"), pt.sum);
        pt.has_sum = true;
      } else if (KeyMatches(key, "bucketCounts")) {
        st = Array(val, p.Key("bucketCounts"), [this, &pt](const JValue& e, const Path& ep) {
          uint64_t c = 0;
          if (!GetU64(e, ep, c).ok()) {
            // A count that is not a non-negative integer (e.g. "NaN", -1, 1.5) spoils only
            // this point.
            if (pt.invalid == nullptr)
              pt.invalid = "a histogram bucket count is not a non-negative integer";
          }
          out_.bucket_counts.push_back(c);
          return absl::OkStatus();
        });
      } else if (KeyMatches(key, "explicitBounds")) {
        st = Array(val, p.Key("explicitBounds"), [this](const JValue& e, const Path& ep) {
          double d = 0;
          if (auto st2 = GetDouble(e, ep, d); !st2.ok()) return st2;
          out_.bounds.push_back(d);
          return absl::OkStatus();
        });
      } else if (KeyMatches(key, "quantileValues")) {
        st = Array(val, p.Key("quantileValues"), [this](const JValue& e, const Path& ep) {
          if (auto st2 = ExpectObject(e, ep); !st2.ok()) return st2;
          double q = 0, qv = 0;
          for (auto qm = e.MemberBegin(); qm != e.MemberEnd(); ++qm) {
            absl::Status st3;
            if (KeyIs(qm, "quantile")) st3 = GetDouble(qm->value, ep.Key("quantile"), q);
            if (KeyIs(qm, "value")) st3 = GetDouble(qm->value, ep.Key("value"), qv);
            if (!st3.ok()) return st3;
          }
          out_.quantiles.emplace_back(q, qv);
          return absl::OkStatus();
        });
      }
      if (!st.ok()) return st;
    }
    pt.attrs.end = static_cast<uint32_t>(out_.attrs.size());
    pt.buckets.end = static_cast<uint32_t>(out_.bucket_counts.size());
    pt.bounds.end = static_cast<uint32_t>(out_.bounds.size());
    pt.quantiles.end = static_cast<uint32_t>(out_.quantiles.size());
    out_.points.push_back(pt);
    return absl::OkStatus();
  }

  absl::Status Attributes(const JValue& v, const Path& p) {
    return Array(v, p, [this](const JValue& e, const Path& ep) {
      if (auto st = ExpectObject(e, ep); !st.ok()) return st;
      Attr a;
      for (auto m = e.MemberBegin(); m != e.MemberEnd(); ++m) {
        absl::Status st;
        if (KeyIs(m, "key")) st = GetString(m->value, ep.Key("key"), a.key);
        if (KeyIs(m, "value") && !m->value.IsNull())
          st = AnyValueText(m->value, ep.Key("value"), a.value);
        if (!st.ok()) return st;
      }
      out_.attrs.push_back(a);
      return absl::OkStatus();
    });
  }

  // Finds the AnyValue member that is set; the last one wins if several are.
  static absl::Status AnyValueMember(const JValue& v, const Path& p,
                                     JValue::ConstMemberIterator& which) {
    if (auto st = ExpectObject(v, p); !st.ok()) return st;
    which = v.MemberEnd();
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      std::string_view k = Str(m->name);
      if ((KeyMatches(k, "stringValue") || KeyMatches(k, "boolValue") || KeyMatches(k, "intValue") || KeyMatches(k, "doubleValue") ||
           KeyMatches(k, "arrayValue") || KeyMatches(k, "kvlistValue") || KeyMatches(k, "bytesValue")) &&
          !m->value.IsNull()) {
        which = m;
      }
    }
    return absl::OkStatus();
  }

  absl::Status AnyValueText(const JValue& v, const Path& p, std::string_view& out) {
    JValue::ConstMemberIterator m;
    if (auto st = AnyValueMember(v, p, m); !st.ok()) return st;
    if (m == v.MemberEnd()) {
      out = {};
      return absl::OkStatus();
    }
    std::string_view k = Str(m->name);
    Path kp = p.Key(m->name.GetString());
    if (KeyMatches(k, "stringValue") || KeyMatches(k, "bytesValue")) {  // bytes are base64 in JSON already
      return GetString(m->value, kp, out);
    }
    if (KeyMatches(k, "boolValue")) {
      bool b = false;
      if (auto st = GetBool(m->value, kp, b); !st.ok()) return st;
      out = b ? "true" : "false";
      return absl::OkStatus();
    }
    if (KeyMatches(k, "intValue")) {
      int64_t x = 0;
      if (auto st = GetI64(m->value, kp, x); !st.ok()) return st;
      out = out_.Keep(std::to_string(x));
      return absl::OkStatus();
    }
    if (KeyMatches(k, "doubleValue")) {
      double d = 0;
      if (auto st = GetDouble(m->value, kp, d); !st.ok()) return st;
      out = out_.Keep(FormatAttrDouble(d));
      return absl::OkStatus();
    }
    std::string json;
    if (auto st = AnyValueJson(v, p, 0, json); !st.ok()) return st;
    out = out_.Keep(std::move(json));
    return absl::OkStatus();
  }

  absl::Status AnyValueJson(const JValue& v, const Path& p, int depth, std::string& json) {
    if (depth > kMaxAnyValueDepth) {
      return Bad(p, Cat("attribute value nested deeper than ", kMaxAnyValueDepth, " levels"));
    }
    JValue::ConstMemberIterator m;
    if (auto st = AnyValueMember(v, p, m); !st.ok()) return st;
    if (m == v.MemberEnd()) {
      json += "null";
      return absl::OkStatus();
    }
    std::string_view k = Str(m->name);
    Path kp = p.Key(m->name.GetString());
    if (KeyMatches(k, "stringValue") || KeyMatches(k, "bytesValue")) {
      std::string_view s;
      if (auto st = GetString(m->value, kp, s); !st.ok()) return st;
      AppendJsonString(json, s);
    } else if (KeyMatches(k, "boolValue")) {
      bool b = false;
      if (auto st = GetBool(m->value, kp, b); !st.ok()) return st;
      json += b ? "true" : "false";
    } else if (KeyMatches(k, "intValue")) {
      int64_t x = 0;
      if (auto st = GetI64(m->value, kp, x); !st.ok()) return st;
      json += std::to_string(x);
    } else if (KeyMatches(k, "doubleValue")) {
      double d = 0;
      if (auto st = GetDouble(m->value, kp, d); !st.ok()) return st;
      std::string s = FormatAttrDouble(d);
      if (std::isfinite(d)) {
        json += s;
      } else {
        AppendJsonString(json, s);
      }
    } else if (KeyMatches(k, "arrayValue")) {
      if (auto st = ExpectObject(m->value, kp); !st.ok()) return st;
      json += '[';
      bool first = true;
      for (auto am = m->value.MemberBegin(); am != m->value.MemberEnd(); ++am) {
        if (!KeyIs(am, "values")) continue;
        auto st = Array(am->value, kp.Key("values"), [&](const JValue& e, const Path& ep) {
          if (!first) json += ',';
          first = false;
          return AnyValueJson(e, ep, depth + 1, json);
        });
        if (!st.ok()) return st;
      }
      json += ']';
    } else {  // kvlistValue
      if (auto st = ExpectObject(m->value, kp); !st.ok()) return st;
      std::vector<std::pair<std::string_view, std::string>> entries;
      for (auto km = m->value.MemberBegin(); km != m->value.MemberEnd(); ++km) {
        if (!KeyIs(km, "values")) continue;
        auto st = Array(km->value, kp.Key("values"), [&](const JValue& e, const Path& ep) {
          if (auto st2 = ExpectObject(e, ep); !st2.ok()) return st2;
          std::string_view key;
          std::string val = "null";
          for (auto em = e.MemberBegin(); em != e.MemberEnd(); ++em) {
            if (KeyIs(em, "key")) {
              if (auto st3 = GetString(em->value, ep.Key("key"), key); !st3.ok()) return st3;
            }
            if (KeyIs(em, "value") && !em->value.IsNull()) {
              val.clear();
              if (auto st3 = AnyValueJson(em->value, ep.Key("value"), depth + 1, val); !st3.ok())
                return st3;
            }
          }
          entries.emplace_back(key, std::move(val));
          return absl::OkStatus();
        });
        if (!st.ok()) return st;
      }
      AppendJsonObject(entries, json);
    }
    return absl::OkStatus();
  }

  Request& out_;
};

}  // namespace

absl::Status DecodeJson(std::string& body, Request& out) {
  out.Clear();
  if (size_t nul = body.find('\0'); nul != std::string::npos) {
    return absl::InvalidArgumentError(
        Cat("cannot decode the OTLP JSON body: it contains a NUL byte at offset ", nul));
  }
  rapidjson::Document doc;
  doc.ParseInsitu<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(body.data());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(
        Cat("cannot decode the OTLP JSON body: ", rapidjson::GetParseError_En(doc.GetParseError()),
            " (at byte ", doc.GetErrorOffset(), ")"));
  }
  JsonDecoder d(out);
  if (absl::Status st = d.Root(doc); !st.ok()) {
    out.Clear();
    return absl::InvalidArgumentError(
        Cat("cannot decode the OTLP JSON body (ExportMetricsServiceRequest) at ", st.message()));
  }
  return absl::OkStatus();
}

}  // namespace xscaler::ingest::otlp
