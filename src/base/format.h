// Text forms that match what Go (and so Prometheus and the OpenTelemetry Collector) writes, so
// our API output, label values and error messages compare equal byte for byte: doubles, and the
// escapes of JSON strings. The double forms all use the shortest digits that read back as the
// same double; they differ only in when an exponent is used and how specials are spelled, and
// each caller needs its own (see below). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace xscaler::base {

// Go's strconv.FormatFloat(v, 'f', -1, 64), never an exponent, with Prometheus' spelling of
// the specials: "1", "0.005", 1e21 → "1000000000000000000000", 1e23 → "1" and 23 zeros, "+Inf", "-Inf", "NaN". Sample
// values in API responses, `le` / `quantile` labels, count_values.
void AppendFloatF(std::string& out, double v);
std::string FormatFloatF(double v);

// Prometheus' JSON sample values (util/jsonutil MarshalFloat): the 'f' form above, except an
// exponent (Go's 'e', at least two exponent digits) below 1e-6 and from 1e21 on in magnitude:
// "1.6e-08", "1e+21", "0.000001", "0".
void AppendPrometheusValue(std::string& out, double v);

// Go's strconv.FormatFloat(v, 'g', -1, 64) (fmt's %v): exponent form when the decimal exponent
// is < -4 or >= 6, with at least two exponent digits: "1e+06", "1.5e-05", "123.5", "-0", and
// "+Inf", "-Inf", "NaN". PromQL number literals and engine messages.
std::string FormatFloatG(double v);

// JavaScript's Number#toString and Go's encoding/json layout: exponent form only below 1e-6 or
// from 1e21 on, with as few exponent digits as needed: "1.5", "1e-7", "1e+21"; the specials
// (not JSON numbers) are "NaN", "Inf", "-Inf". OTLP attribute values of type double.
std::string FormatFloatJs(double v);

// Appends the JSON escape of byte c and returns true when c needs one: '"', '\\' and the
// control characters (\n, \r, \t by name, the others as \u00XX, as Go's encoding/json writes
// them); returns false, appending nothing, for a byte that goes out as it is (including every
// byte >= 0x80). The JSON string writers (API responses, OTLP attribute JSON, PromQL AST JSON)
// share it and differ only around it: whether < > & are escaped too, and how they check UTF-8.
inline bool AppendJsonEscape(std::string& out, unsigned char c) {
  if (c >= 0x20 && c != '"' && c != '\\') return false;
  switch (c) {
    case '"':
      out += "\\\"";
      return true;
    case '\\':
      out += "\\\\";
      return true;
    case '\n':
      out += "\\n";
      return true;
    case '\r':
      out += "\\r";
      return true;
    case '\t':
      out += "\\t";
      return true;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out.append(esc, sizeof(esc));
      return true;
    }
  }
}

}  // namespace xscaler::base
