#include "tenant/units.h"

#include <cctype>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace xscaler::tenant {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};
// Order matters twice: "ms" must be tried before "m", and terms must come largest first.
constexpr Unit kDurationUnits[] = {
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"ms", 1},
    {"m", 60LL * 1000},
    {"s", 1000},
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

absl::Status BadDuration(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid duration \"", std::string(text), "\": ", std::string(why),
                   " (write e.g. 15d, 36h, 1h30m, 500ms; 0 for none)"));
}

// Rank of a unit by size, for the "largest first" rule ("ms" ranks below "s").
int Rank(int64_t unit_ms) {
  switch (unit_ms) {
    case 1:
      return 0;
    case 1000:
      return 1;
    case 60LL * 1000:
      return 2;
    case 3600LL * 1000:
      return 3;
    case 24LL * 3600 * 1000:
      return 4;
    case 7LL * 24 * 3600 * 1000:
      return 5;
    default:
      return 6;
  }
}

}  // namespace

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return BadDuration(text, "empty");
  if (s == "0") return 0;
  int64_t total = 0;
  int last_rank = 7;
  size_t i = 0;
  while (i < s.size()) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      return BadDuration(text, s[i] == '-' ? "must not be negative" : "expected a number");
    }
    int64_t n = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return BadDuration(text, "too large");
      n = n * 10 + (s[i] - '0');
      ++i;
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kDurationUnits) {
      if (s.substr(i, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return BadDuration(text, i == s.size() ? "missing unit" : "unknown unit");
    }
    i += unit->name.size();
    int rank = Rank(unit->ms);
    if (rank >= last_rank) return BadDuration(text, "units must go from largest to smallest");
    last_rank = rank;
    if (n > (std::numeric_limits<int64_t>::max() - total) / unit->ms) {
      return BadDuration(text, "too large");
    }
    total += n * unit->ms;
  }
  return total;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms <= 0) return ms == 0 ? "0s" : absl::StrCat(ms, "ms");
  std::string out;
  int64_t rest = ms;
  // Years and weeks are left out: "30d" reads better than "4w2d".
  static constexpr Unit kFormatUnits[] = {
      {"d", 24LL * 3600 * 1000}, {"h", 3600LL * 1000}, {"m", 60LL * 1000}, {"s", 1000}, {"ms", 1}};
  for (const Unit& u : kFormatUnits) {
    if (rest >= u.ms) {
      absl::StrAppend(&out, rest / u.ms, std::string(u.name));
      rest %= u.ms;
    }
  }
  return out;
}

absl::StatusOr<uint64_t> ParseBytes(std::string_view text) {
  std::string_view s = Trim(text);
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid size \"", std::string(text), "\": ", std::string(why),
                     " (write e.g. 500GB, 1TiB, 1048576; 0 for none)"));
  };
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string_view number = s.substr(0, i);
  std::string unit(Trim(s.substr(i)));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (number.empty() || number.front() == '.' || number.back() == '.' ||
      number.find('.') != number.rfind('.')) {
    return bad(!s.empty() && s[0] == '-' ? "must not be negative" : "expected a number");
  }
  long double multiplier = 0;
  static constexpr struct {
    std::string_view name;
    long double factor;
  } kUnits[] = {
      {"", 1},
      {"b", 1},
      {"k", 1e3L},
      {"kb", 1e3L},
      {"m", 1e6L},
      {"mb", 1e6L},
      {"g", 1e9L},
      {"gb", 1e9L},
      {"t", 1e12L},
      {"tb", 1e12L},
      {"p", 1e15L},
      {"pb", 1e15L},
      {"kib", 1024.0L},
      {"mib", 1048576.0L},
      {"gib", 1073741824.0L},
      {"tib", 1099511627776.0L},
      {"pib", 1125899906842624.0L},
  };
  for (const auto& u : kUnits) {
    if (unit == u.name) multiplier = u.factor;
  }
  if (multiplier == 0) return bad("unknown unit \"" + unit + "\"");
  long double value = std::strtold(std::string(number).c_str(), nullptr) * multiplier;
  if (!std::isfinite(value) || value + 0.5L >= 18446744073709551616.0L) {
    return bad("too large");
  }
  if (number.find('.') != std::string_view::npos && value != std::floor(value) && multiplier == 1) {
    return bad("a byte count must be whole");
  }
  return static_cast<uint64_t>(value + 0.5L);
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr std::string_view kNames[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kNames)) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return absl::StrCat(bytes, " B");
  return absl::StrFormat("%.1f %s", v, kNames[u]);
}

}  // namespace xscaler::tenant
