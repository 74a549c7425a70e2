#include "storage/index/mem_postings.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"

namespace xscaler::storage::index {
namespace {

// Debian's Abseil has its own string_view type; heterogeneous lookup needs that one.
absl::string_view Key(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The union of `lists` (each ascending). One list is copied as it is; several are
// concatenated and sorted, which for the head's lists (disjoint values of one name) is a
// k-way merge's work without its per-element heap operations.
Postings Union(std::span<const RefList* const> lists) {
  Postings out;
  if (lists.empty()) return out;
  if (lists.size() == 1) return lists[0]->ToPostings();
  size_t n = 0;
  for (const RefList* l : lists) n += l->size();
  out.reserve(n);
  for (const RefList* l : lists) l->AppendTo(&out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> SortedKeys(const auto& map) {
  std::vector<std::string> out;
  out.reserve(map.size());
  for (const auto& [k, _] : map) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

void MemPostings::Add(uint64_t ref, const labels::Labels& lset) {
  absl::MutexLock lock(&mu_);
  for (const auto& l : lset) by_name_[l.name][l.value].Insert(ref);
  all_.Insert(ref);
}

void MemPostings::Delete(uint64_t ref, const labels::Labels& lset) {
  absl::MutexLock lock(&mu_);
  for (const auto& l : lset) {
    auto n = by_name_.find(l.name);
    if (n == by_name_.end()) continue;
    auto v = n->second.find(l.value);
    if (v == n->second.end()) continue;
    v->second.Erase(ref);
    if (v->second.empty()) n->second.erase(v);
    if (n->second.empty()) by_name_.erase(n);
  }
  all_.Erase(ref);
}

void MemPostings::DeleteBatch(std::span<const std::pair<uint64_t, labels::Labels>> series) {
  if (series.empty()) return;
  Postings dead;
  dead.reserve(series.size());
  for (const auto& [ref, _] : series) dead.push_back(ref);
  std::sort(dead.begin(), dead.end());
  dead.erase(std::unique(dead.begin(), dead.end()), dead.end());
  // Each touched list is filtered once, however many dead series name it.
  absl::flat_hash_map<std::string_view, absl::flat_hash_set<std::string_view>> touched;
  for (const auto& [_, lset] : series) {
    for (const auto& l : lset) touched[l.name].insert(l.value);
  }
  absl::MutexLock lock(&mu_);
  for (const auto& [name, values] : touched) {
    auto n = by_name_.find(Key(name));
    if (n == by_name_.end()) continue;
    for (std::string_view value : values) {
      auto v = n->second.find(Key(value));
      if (v == n->second.end()) continue;
      v->second.EraseAll(dead);
      if (v->second.empty()) n->second.erase(v);
    }
    if (n->second.empty()) by_name_.erase(n);
  }
  all_.EraseAll(dead);
}

size_t MemPostings::NumLabelPairs() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [_, values] : by_name_) n += values.size();
  return n;
}

size_t MemPostings::NumSeries() const {
  absl::ReaderMutexLock lock(&mu_);
  return all_.size();
}

Postings MemPostings::PostingsFor(std::string_view name, std::string_view value) const {
  absl::ReaderMutexLock lock(&mu_);
  if (name.empty() && value.empty()) return all_.ToPostings();
  auto n = by_name_.find(Key(name));
  if (n == by_name_.end()) return {};
  auto v = n->second.find(Key(value));
  if (v == n->second.end()) return {};
  return v->second.ToPostings();
}

Postings MemPostings::AllPostings() const {
  absl::ReaderMutexLock lock(&mu_);
  return all_.ToPostings();
}

Postings MemPostings::PostingsForValues(std::string_view name,
                                        absl::FunctionRef<bool(std::string_view)> pred) const {
  std::vector<const RefList*> lists;
  absl::ReaderMutexLock lock(&mu_);
  auto n = by_name_.find(Key(name));
  if (n == by_name_.end()) return {};
  for (const auto& [value, list] : n->second) {
    if (pred(value)) lists.push_back(&list);
  }
  return Union(lists);
}

Postings MemPostings::PostingsForValueList(std::string_view name,
                                           std::span<const std::string> values) const {
  std::vector<const RefList*> lists;
  absl::ReaderMutexLock lock(&mu_);
  auto n = by_name_.find(Key(name));
  if (n == by_name_.end()) return {};
  for (const auto& value : values) {
    auto v = n->second.find(Key(value));
    if (v != n->second.end()) lists.push_back(&v->second);
  }
  return Union(lists);
}

std::vector<std::string> MemPostings::LabelNames() const {
  absl::ReaderMutexLock lock(&mu_);
  return SortedKeys(by_name_);
}

std::vector<std::string> MemPostings::LabelValues(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto n = by_name_.find(Key(name));
  if (n == by_name_.end()) return {};
  return SortedKeys(n->second);
}

std::vector<std::string> MemPostings::LabelNamesFor(std::span<const uint64_t> p) const {
  std::vector<std::string> out;
  if (p.empty()) return out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, values] : by_name_) {
    for (const auto& [_, list] : values) {
      if (list.Intersects(p)) {
        out.push_back(name);
        break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> MemPostings::LabelValuesFor(std::string_view name,
                                                     std::span<const uint64_t> p) const {
  std::vector<std::string> out;
  if (p.empty()) return out;
  absl::ReaderMutexLock lock(&mu_);
  auto n = by_name_.find(Key(name));
  if (n == by_name_.end()) return out;
  for (const auto& [value, list] : n->second) {
    if (list.Intersects(p)) out.push_back(value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace xscaler::storage::index
