// A label set: the identity of one series, as (name, value) pairs sorted by name with unique
// names. `__name__` carries the metric name. Immutable once built; cheap to move; safe to read
// from many threads.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xscaler::labels {

inline constexpr std::string_view kMetricName = "__name__";

struct Label {
  std::string name;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
  friend auto operator<=>(const Label&, const Label&) = default;
};

class Labels {
 public:
  Labels() = default;
  // Sorts by name; on duplicate names the last one wins. Empty values are dropped, as in
  // Prometheus, where a label with an empty value is the same as no label.
  explicit Labels(std::vector<Label> labels);
  Labels(std::initializer_list<Label> labels) : Labels(std::vector<Label>(labels)) {}
  // For decoders that already hold labels in order: skips the sort. REQUIRES: names strictly
  // ascending and no empty values (checked in debug builds; violating it breaks lookups).
  static Labels FromSorted(std::vector<Label> labels);

  const std::vector<Label>& items() const { return labels_; }
  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  auto begin() const { return labels_.begin(); }
  auto end() const { return labels_.end(); }

  // The value of `name`, or "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  std::string_view MetricName() const { return Get(kMetricName); }

  // 64-bit hash of the whole set (xxhash-like quality, stable across runs and builds: it is
  // persisted in nothing, but used for striping and sharding).
  uint64_t Hash() const;

  // Prometheus' text form: name{a="1", b="2"} (values escaped); `{}` for the empty set.
  std::string ToString() const;

  friend bool operator==(const Labels&, const Labels&) = default;
  friend auto operator<=>(const Labels& a, const Labels& b) { return a.labels_ <=> b.labels_; }

 private:
  std::vector<Label> labels_;
};

// Builds label sets incrementally; Set overrides, Del removes, Build sorts once.
class LabelsBuilder {
 public:
  LabelsBuilder() = default;
  explicit LabelsBuilder(const Labels& base);
  LabelsBuilder& Set(std::string_view name, std::string_view value);
  LabelsBuilder& Del(std::string_view name);
  std::string_view Get(std::string_view name) const;
  Labels Build() const;

 private:
  std::vector<Label> labels_;
};

// Prometheus' rules for names: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

}  // namespace xscaler::labels
