#include "labels/labels.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace xscaler::labels {
namespace {

void SortDedup(std::vector<Label>& v) {
  // stable_sort keeps insertion order among equal names, so "last one wins" below is exact.
  std::stable_sort(v.begin(), v.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  std::vector<Label> out;
  out.reserve(v.size());
  for (auto& l : v) {
    if (!out.empty() && out.back().name == l.name) {
      out.back().value = std::move(l.value);
    } else {
      out.push_back(std::move(l));
    }
  }
  std::erase_if(out, [](const Label& l) { return l.value.empty(); });
  v = std::move(out);
}

// 64-bit FNV-1a mixed with a final avalanche (splitmix64 finalizer): fast, stable, and good
// enough for striping; collisions are always resolved by comparing the full label sets.
uint64_t Mix(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

void AppendEscaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

}  // namespace

Labels::Labels(std::vector<Label> labels) : labels_(std::move(labels)) { SortDedup(labels_); }

std::string_view Labels::Get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != labels_.end() && it->name == name) return it->value;
  return {};
}

bool Labels::Has(std::string_view name) const { return !Get(name).empty(); }

Labels Labels::FromSorted(std::vector<Label> labels) {
  Labels out;
#ifndef NDEBUG
  for (size_t i = 0; i < labels.size(); ++i) {
    assert(!labels[i].value.empty());
    assert(i == 0 || labels[i - 1].name < labels[i].name);
  }
#endif
  out.labels_ = std::move(labels);
  return out;
}

namespace {
// Word-at-a-time multiply-mix over the bytes; the length is folded in so that ("a","bc") and
// ("ab","c") differ. Fast on the ingest path, where every sample's label set is hashed.
inline uint64_t HashBytes(std::string_view s, uint64_t h) {
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ULL;
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail ^ (static_cast<uint64_t>(s.size()) << 56)) * kMul;
  return h ^ (h >> 32);
}
}  // namespace

uint64_t Labels::Hash() const {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const auto& l : labels_) {
    h = HashBytes(l.name, h);
    h = HashBytes(l.value, h);
  }
  return Mix(h);
}

std::string Labels::ToString() const {
  std::string out;
  std::string_view name = MetricName();
  out += name;
  bool first = true;
  out += '{';
  for (const auto& l : labels_) {
    if (l.name == kMetricName) continue;
    if (!first) out += ", ";
    first = false;
    out += l.name;
    out += "=\"";
    AppendEscaped(out, l.value);
    out += '"';
  }
  out += '}';
  if (!name.empty() && first) out.resize(out.size() - 2);  // `up`, not `up{}`
  return out;
}

LabelsBuilder::LabelsBuilder(const Labels& base) : labels_(base.items()) {}

LabelsBuilder& LabelsBuilder::Set(std::string_view name, std::string_view value) {
  for (auto& l : labels_) {
    if (l.name == name) {
      l.value = value;
      return *this;
    }
  }
  labels_.push_back({std::string(name), std::string(value)});
  return *this;
}

LabelsBuilder& LabelsBuilder::Del(std::string_view name) {
  std::erase_if(labels_, [&](const Label& l) { return l.name == name; });
  return *this;
}

std::string_view LabelsBuilder::Get(std::string_view name) const {
  for (const auto& l : labels_) {
    if (l.name == name) return l.value;
  }
  return {};
}

Labels LabelsBuilder::Build() const { return Labels(labels_); }

namespace {
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (IsAlpha(c) || c == ':' || (i > 0 && IsDigit(c))) continue;
    return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (IsAlpha(c) || (i > 0 && IsDigit(c))) continue;
    return false;
  }
  return true;
}

}  // namespace xscaler::labels
