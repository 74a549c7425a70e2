// A small, fast JSON writer for the Prometheus API envelope. It appends to one std::string and
// tracks commas itself, so handlers write values in order without building a DOM. Formatting
// follows Prometheus exactly: sample values are strings formatted like Go's
// strconv.FormatFloat(v, 'f', -1, 64) ("1", "0.005", "+Inf", "NaN"), timestamps are unix seconds
// with millisecond precision written as in Prometheus' jsonutil.MarshalTimestamp
// (1700000000.123), and strings are escaped as Go's encoding/json does (invalid UTF-8 replaced
// by U+FFFD, U+2028/U+2029 escaped) except that < > & stay literal: Prometheus writes them as
// \u003c etc., which JSON clients decode identically, but error messages such as
// `expected "Authorization: Bearer <token>"` must stay readable in a raw curl output.
//
// Not thread-safe; one writer per response. The caller keeps Begin/End calls balanced.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/format.h"

namespace xscaler::api {

// A sample value as Prometheus writes it in JSON (base::AppendPrometheusValue).
inline std::string FormatSampleValue(double v) {
  std::string out;
  base::AppendPrometheusValue(out, v);
  return out;
}
inline void AppendSampleValue(std::string& out, double v) { base::AppendPrometheusValue(out, v); }
// Prometheus' MarshalTimestamp: ms → "1700000000.123" ("1700000000" for whole seconds).
void AppendTimestamp(std::string& out, int64_t t_ms);
// Appends `s` as a quoted, escaped JSON string.
void AppendJsonString(std::string& out, std::string_view s);

class JsonWriter {
 public:
  // Capacity for `n` bytes of output, so that large answers are not copied while growing.
  void Reserve(size_t n) { out_.reserve(n); }
  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  // An object key; the next call writes its value.
  void Key(std::string_view key);

  void String(std::string_view s);
  void Int(int64_t v);
  void Bool(bool v);
  void Null();
  // Key followed by its value, for the common object members.
  void IntField(std::string_view key, int64_t v) {
    Key(key);
    Int(v);
  }
  void StringField(std::string_view key, std::string_view v) {
    Key(key);
    String(v);
  }
  // A sample value, as a JSON string.
  void SampleValue(double v);
  // A timestamp, as a JSON number of seconds.
  void Timestamp(int64_t t_ms);
  // Pre-encoded JSON.
  void Raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue();
  void Open(char c);
  void Close(char c);

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

}  // namespace xscaler::api
