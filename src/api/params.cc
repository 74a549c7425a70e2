#include "api/params.h"

#include <charconv>
#include <cmath>
#include <string>

#include "http/str.h"

namespace xscaler::api {
namespace {

using http::Cat;

bool ParseGoFloat(std::string_view s, double& out) {
  if (s.empty()) return false;
  std::string_view body = s;
  bool negative = false;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  std::string lower = http::Lower(body);
  if (lower == "inf" || lower == "infinity") {
    out = negative ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  if (lower == "nan") {
    out = NAN;
    return true;
  }
  if (body.empty() || body[0] == '+' || body[0] == '-') return false;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), out);
  if (ec != std::errc() || end != body.data() + body.size()) return false;
  if (negative) out = -out;
  return true;
}

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// RFC 3339 as Go's time.RFC3339Nano layout parses it: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM).
bool ParseRfc3339(std::string_view s, int64_t& ms) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s[7] != '-' || !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, hour) || s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' ||
      !Digits(s, 17, 2, second)) {
    return false;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 ||
      day > kDays[month - 1] + (month == 2 && IsLeap(year) ? 1 : 0) || hour > 23 || minute > 59 ||
      second > 59) {
    return false;
  }
  size_t pos = 19;
  int64_t frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac_ms += (s[pos] - '0') * scale;  // digits past ms are truncated, as FromTime does
      scale /= 10;
      ++pos;
    }
    if (pos == start) return false;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return false;
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  int64_t secs =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  ms = secs * 1000 + frac_ms;
  return true;
}

}  // namespace

absl::StatusOr<int64_t> ParseTime(std::string_view s) {
  double f;
  if (ParseGoFloat(s, f)) {
    // Prometheus: seconds plus the fraction rounded to ms.
    if (std::isfinite(f) && std::fabs(f) < 9.2e15) {
      double whole;
      double frac = std::modf(f, &whole);
      return static_cast<int64_t>(whole) * 1000 + static_cast<int64_t>(std::round(frac * 1000));
    }
  } else {
    int64_t ms;
    if (ParseRfc3339(s, ms)) return ms;
    if (s == "-292273086-05-16T16:47:06Z") return kApiMinTime;
    if (s == "292277025-12-04T15:30:07Z") return kApiMaxTime;
  }
  return absl::InvalidArgumentError(Cat("cannot parse \"", s, "\" to a valid timestamp"));
}

absl::StatusOr<int64_t> ParseTimeParam(std::string_view name, std::optional<std::string_view> v,
                                       int64_t default_ms) {
  if (!v.has_value() || v->empty()) return default_ms;
  absl::StatusOr<int64_t> t = ParseTime(*v);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        Cat("invalid parameter \"", name, "\": ", http::Sv(t.status().message())));
  }
  return t;
}

absl::StatusOr<int64_t> ParseDuration(std::string_view s) {
  auto bad = [&] {
    return absl::InvalidArgumentError(Cat("cannot parse \"", s, "\" to a valid duration"));
  };
  double f;
  if (ParseGoFloat(s, f)) {
    if (!std::isfinite(f) || std::fabs(f) > 9.2e15) return bad();
    return static_cast<int64_t>(std::round(f * 1000));
  }
  // Prometheus durations: one or more <int><unit>, units y w d h m s ms, largest first.
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {{"y", 365LL * 86400000},
                                                                    {"w", 7LL * 86400000},
                                                                    {"d", 86400000},
                                                                    {"h", 3600000},
                                                                    {"ms", 1},
                                                                    {"m", 60000},
                                                                    {"s", 1000}};
  if (s.empty()) return bad();
  int64_t total = 0;
  size_t pos = 0;
  int last_unit = -1;
  while (pos < s.size()) {
    size_t start = pos;
    int64_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n > 1'000'000'000'000LL) return bad();
      n = n * 10 + (s[pos++] - '0');
    }
    if (pos == start) return bad();
    int unit = -1;
    for (int u = 0; u < 7; ++u) {
      if (s.substr(pos).starts_with(kUnits[u].first) &&
          (kUnits[u].first != "m" || !s.substr(pos).starts_with("ms"))) {
        unit = u;
        break;
      }
    }
    if (unit < 0) return bad();
    // Order: y w d h m s ms (indexes 0 1 2 3 5 6 4).
    static constexpr int kRank[] = {0, 1, 2, 3, 6, 4, 5};
    if (kRank[unit] <= last_unit) return bad();
    last_unit = kRank[unit];
    pos += kUnits[unit].first.size();
    total += n * kUnits[unit].second;
  }
  return total;
}

absl::StatusOr<int64_t> ParseLimitParam(std::optional<std::string_view> v) {
  if (!v.has_value() || v->empty()) return 0;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) {
    return absl::InvalidArgumentError(
        Cat("invalid parameter \"limit\": cannot parse \"", *v, "\" to a valid integer"));
  }
  if (n < 0)
    return absl::InvalidArgumentError("invalid parameter \"limit\": limit must be non-negative");
  return n;
}

}  // namespace xscaler::api
