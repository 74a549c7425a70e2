#include "base/format.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <system_error>

namespace xscaler::base {
namespace {

// The longest shortest-round-trip fixed form: 309 integer digits for the largest double, or
// "0." and 323 zeros before the digits of the smallest subnormal.
constexpr size_t kFixedBuf = 400;

// Shortest round-trip digits of a finite v in scientific form, split at the 'e': the mantissa
// with its sign ("-1.5") and the decimal exponent. Borrows buf.
struct Scientific {
  std::string_view mantissa;
  int exponent;
};
Scientific ToScientific(double v, char (&buf)[32]) {
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
  size_t e = s.find('e');
  // to_chars writes a sign and at least two digits after the 'e'.
  int exp = 0;
  std::from_chars(s.data() + e + 2, s.data() + s.size(), exp);
  return {s.substr(0, e), s[e + 1] == '-' ? -exp : exp};
}

// Appends "e+06" / "e-7": the exponent with its sign, zero-padded to min_digits.
void AppendExponent(std::string& out, int exp, size_t min_digits) {
  out += 'e';
  out += exp < 0 ? '-' : '+';
  std::string digits = std::to_string(std::abs(exp));
  if (digits.size() < min_digits) out.append(min_digits - digits.size(), '0');
  out += digits;
}

// Lays shortest digits out without an exponent, as Go's 'f' and 'g' formats do: the digits
// are the shortest round-trip ones, padded with zeros (so 1e23 prints as 1 and 23 zeros, not
// the exact binary value's digits).
void AppendPositional(std::string& out, Scientific sci) {
  std::string_view mant = sci.mantissa;
  if (mant.front() == '-') {
    out += '-';
    mant.remove_prefix(1);
  }
  char digits[24];
  size_t n = 0;
  for (char c : mant) {
    if (c != '.') digits[n++] = c;
  }
  const std::string_view d(digits, n);
  const int exp = sci.exponent;
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += d;
  } else if (n <= static_cast<size_t>(exp) + 1) {
    out += d;
    out.append(static_cast<size_t>(exp) + 1 - n, '0');
  } else {
    out += d.substr(0, static_cast<size_t>(exp) + 1);
    out += '.';
    out += d.substr(static_cast<size_t>(exp) + 1);
  }
}

}  // namespace

void AppendFloatF(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (v == 0) {
    out += std::signbit(v) ? "-0" : "0";
    return;
  }
  char buf[32];
  AppendPositional(out, ToScientific(v, buf));
}

void AppendPrometheusValue(std::string& out, double v) {
  const double abs = std::fabs(v);
  if (abs != 0 && std::isfinite(abs) && (abs < 1e-6 || abs >= 1e21)) {
    char buf[32];
    Scientific sci = ToScientific(v, buf);
    out += sci.mantissa;
    AppendExponent(out, sci.exponent, 2);
    return;
  }
  AppendFloatF(out, v);
}

std::string FormatFloatF(double v) {
  std::string out;
  AppendFloatF(out, v);
  return out;
}

std::string FormatFloatG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[32];
  Scientific sci = ToScientific(v, buf);
  std::string out;
  std::string_view mant = sci.mantissa;
  if (mant.front() == '-') {
    out += '-';
    mant.remove_prefix(1);
  }
  int exp = sci.exponent;
  if (exp < -4 || exp >= 6) {
    out += mant;
    AppendExponent(out, exp, 2);
    return out;
  }
  AppendPositional(out, Scientific{mant, exp});
  return out;
}

std::string FormatFloatJs(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  double a = std::fabs(v);
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    char buf[32];
    Scientific sci = ToScientific(v, buf);
    std::string out(sci.mantissa);
    AppendExponent(out, sci.exponent, 1);
    return out;
  }
  return FormatFloatF(v);  // finite here, so the 'f' form's special spellings never apply
}

}  // namespace xscaler::base
