#include "ingest/otlp/naming.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

#include "base/format.h"

namespace xscaler::ingest::otlp {
namespace {

bool IsMetricChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
// A UTF-8 continuation byte: part of the same rune as the byte before it, so one invalid rune
// maps to one `_` as in Go's rune-wise string functions.
bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

struct UnitEntry {
  std::string_view otel;
  std::string_view prom;
};
constexpr UnitEntry kUnits[] = {
    {"d", "days"},
    {"h", "hours"},
    {"min", "minutes"},
    {"s", "seconds"},
    {"ms", "milliseconds"},
    {"us", "microseconds"},
    {"ns", "nanoseconds"},
    {"By", "bytes"},
    {"KiBy", "kibibytes"},
    {"MiBy", "mebibytes"},
    {"GiBy", "gibibytes"},
    {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},
    {"MBy", "megabytes"},
    {"GBy", "gigabytes"},
    {"TBy", "terabytes"},
    {"m", "meters"},
    {"V", "volts"},
    {"A", "amperes"},
    {"J", "joules"},
    {"W", "watts"},
    {"g", "grams"},
    {"Cel", "celsius"},
    {"Hz", "hertz"},
    {"1", ""},
    {"%", "percent"},
};
constexpr UnitEntry kPerUnits[] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' ||
                        s.front() == '\r' || s.front() == '\v' || s.front() == '\f'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r' || s.back() == '\v' || s.back() == '\f'))
    s.remove_suffix(1);
  return s;
}

template <size_t N>
std::string Lookup(const UnitEntry (&table)[N], std::string_view u) {
  for (const auto& e : table) {
    if (e.otel == u) return std::string(e.prom);
  }
  return std::string(u);
}

// (main, per) suffixes before cleanup; per is "per_<x>" or "".
std::pair<std::string, std::string> UnitSuffixes(std::string_view unit) {
  std::string main_suffix, per_suffix;
  size_t slash = unit.find('/');
  std::string_view main = Trim(unit.substr(0, slash));
  if (!main.empty() && main.find_first_of("{}") == std::string_view::npos) {
    main_suffix = Lookup(kUnits, main);
  }
  if (slash != std::string_view::npos && slash + 1 < unit.size()) {
    std::string_view per = Trim(unit.substr(slash + 1));
    if (!per.empty() && per.find_first_of("{}") == std::string_view::npos) {
      per_suffix = Lookup(kPerUnits, per);
    }
    if (!per_suffix.empty()) per_suffix = "per_" + per_suffix;
  }
  return {std::move(main_suffix), std::move(per_suffix)};
}

// Invalid characters → `_`, `__` runs collapsed, one leading `_` dropped.
std::string CleanUpUnit(std::string_view u) {
  std::string out;
  for (size_t i = 0; i < u.size(); ++i) {
    char c = u[i];
    if (IsContinuation(c) && i > 0 && static_cast<unsigned char>(u[i - 1]) >= 0x80) continue;
    char m = IsMetricChar(c) ? c : '_';
    if (m == '_' && !out.empty() && out.back() == '_') continue;
    out.push_back(m);
  }
  if (!out.empty() && out.front() == '_') out.erase(0, 1);
  return out;
}

std::vector<std::string_view> Tokens(std::string_view name) {
  std::vector<std::string_view> tokens;
  size_t start = std::string_view::npos;
  for (size_t i = 0; i <= name.size(); ++i) {
    bool valid = i < name.size() && IsMetricChar(name[i]);
    if (valid && start == std::string_view::npos) start = i;
    if (!valid && start != std::string_view::npos) {
      tokens.push_back(name.substr(start, i - start));
      start = std::string_view::npos;
    }
  }
  return tokens;
}

bool Contains(const std::vector<std::string_view>& v, std::string_view s) {
  for (auto t : v) {
    if (t == s) return true;
  }
  return false;
}

bool OnlyUnderscores(std::string_view s) {
  for (char c : s) {
    if (c != '_') return false;
  }
  return true;
}

void TrimTrailingUnderscore(std::string& s) {
  if (!s.empty() && s.back() == '_') s.pop_back();
}

}  // namespace

std::string BuildMetricName(std::string_view name, std::string_view unit, NameType type,
                            bool add_suffixes) {
  std::string out;
  if (add_suffixes) {
    std::vector<std::string_view> tokens = Tokens(name);
    auto [main_raw, per_raw] = UnitSuffixes(unit);
    std::string main_suffix = CleanUpUnit(main_raw);
    std::string per_suffix = CleanUpUnit(per_raw);
    if (Contains(tokens, main_suffix)) main_suffix.clear();
    if (per_suffix == "per_") {
      per_suffix.clear();
    } else {
      TrimTrailingUnderscore(per_suffix);
      if (Contains(tokens, per_suffix)) per_suffix.clear();
    }
    if (!per_suffix.empty()) TrimTrailingUnderscore(main_suffix);
    if (!main_suffix.empty()) tokens.push_back(main_suffix);
    if (!per_suffix.empty()) tokens.push_back(per_suffix);
    auto move_to_end = [&tokens](std::string_view word) {
      std::vector<std::string_view> kept;
      for (auto t : tokens) {
        if (t != word) kept.push_back(t);
      }
      kept.push_back(word);
      tokens = std::move(kept);
    };
    if (type == NameType::kCounter) move_to_end("total");
    if (unit == "1" && type == NameType::kGauge) move_to_end("ratio");
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out.push_back('_');
      out.append(tokens[i]);
    }
  } else {
    // Split on anything outside [a-zA-Z0-9:_] and rejoin with `_` (no collapsing of `__`).
    size_t start = std::string_view::npos;
    for (size_t i = 0; i <= name.size(); ++i) {
      bool valid = i < name.size() && (IsMetricChar(name[i]) || name[i] == '_');
      if (valid && start == std::string_view::npos) start = i;
      if (!valid && start != std::string_view::npos) {
        if (!out.empty()) out.push_back('_');
        out.append(name.substr(start, i - start));
        start = std::string_view::npos;
      }
    }
  }
  if (!out.empty() && IsDigit(out.front())) out.insert(out.begin(), '_');
  if (out.empty() || (out != name && OnlyUnderscores(out))) return "";
  return out;
}

std::string UnitMetadata(std::string_view unit) {
  auto [main_raw, per_raw] = UnitSuffixes(unit);
  std::string main_suffix = CleanUpUnit(main_raw);
  std::string per_suffix = CleanUpUnit(per_raw);
  TrimTrailingUnderscore(per_suffix);
  if (per_suffix == "per") per_suffix.clear();
  if (per_suffix.empty()) return main_suffix;
  TrimTrailingUnderscore(main_suffix);
  return main_suffix.empty() ? per_suffix : main_suffix + "_" + per_suffix;
}

std::string BuildLabelName(std::string_view key) {
  if (key.empty()) return "";
  std::string out;
  out.reserve(key.size() + 4);
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (IsContinuation(c) && i > 0 && static_cast<unsigned char>(key[i - 1]) >= 0x80) continue;
    bool valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_';
    out.push_back(valid ? c : '_');
  }
  if (IsDigit(out.front())) {
    out.insert(0, "key_");
  } else if (out.front() == '_' && !(out.size() > 1 && out[1] == '_')) {
    out.insert(0, "key");
  }
  if (out != key && OnlyUnderscores(out)) return "";
  return out;
}

std::string FormatLabelFloat(double v) { return base::FormatFloatF(v); }

std::string FormatAttrDouble(double v) { return base::FormatFloatJs(v); }

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  // Bytes >= 0x80 are copied: callers pass what the protobuf or JSON decoder accepted.
  for (char c : s) {
    if (!base::AppendJsonEscape(out, static_cast<unsigned char>(c))) out.push_back(c);
  }
  out.push_back('"');
}

void AppendJsonObject(std::vector<std::pair<std::string_view, std::string>>& entries,
                      std::string& json) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  json += '{';
  bool first = true;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && entries[i + 1].first == entries[i].first) continue;
    if (!first) json += ',';
    first = false;
    AppendJsonString(json, entries[i].first);
    json += ':';
    json += entries[i].second;
  }
  json += '}';
}

}  // namespace xscaler::ingest::otlp
