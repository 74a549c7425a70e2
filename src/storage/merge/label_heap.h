// LabelHeap: the k-way merge by label set shared by the query-time and compaction-time merges.
// It holds the indexes of the sets positioned on a series not yet handed out, ordered as a
// min-heap on (labels, set index), so sets with equal labels pop in source order.
// Not thread-safe; borrows the sets vector, which must outlive it and not be resized.
#pragma once

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "labels/labels.h"

namespace xscaler::storage::merge::internal {

// LabelsOf: a default-constructible functor, `const labels::Labels& (const Set&)`, giving the
// labels of the series a set is positioned on.
template <typename Set, typename LabelsOf>
class LabelHeap {
 public:
  explicit LabelHeap(const std::vector<std::unique_ptr<Set>>* sets) : sets_(sets) {
    heap_.reserve(sets_->size());
  }
  LabelHeap(const LabelHeap&) = delete;
  LabelHeap& operator=(const LabelHeap&) = delete;

  // Moves on to the next label set: steps the sets in *cur (every set, the first time), then
  // replaces *cur with the sets on the smallest label set, in ascending set index. False when
  // every set is done or one failed; the first failure is kept in *err.
  bool NextGroup(std::vector<size_t>* cur, absl::Status* err) {
    if (!started_) {
      started_ = true;
      for (size_t i = 0; i < sets_->size(); ++i) Advance(i, err);
    } else {
      for (size_t i : *cur) Advance(i, err);
    }
    if (!err->ok() || heap_.empty()) return false;
    cur->clear();
    cur->push_back(Pop());
    const labels::Labels& lset = LabelsOf()(*(*sets_)[cur->front()]);
    while (!heap_.empty() && LabelsOf()(*(*sets_)[heap_.front()]) == lset) cur->push_back(Pop());
    return true;
  }

 private:
  void Advance(size_t i, absl::Status* err) {
    Set& set = *(*sets_)[i];
    if (set.Next()) {
      heap_.push_back(i);
      std::push_heap(heap_.begin(), heap_.end(), Cmp());
      return;
    }
    absl::Status st = set.Err();
    if (!st.ok() && err->ok()) *err = std::move(st);
  }

  auto Cmp() const {
    return [this](size_t a, size_t b) {
      auto c = LabelsOf()(*(*sets_)[a]) <=> LabelsOf()(*(*sets_)[b]);
      if (c != 0) return c > 0;
      return a > b;
    };
  }

  size_t Pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Cmp());
    size_t i = heap_.back();
    heap_.pop_back();
    return i;
  }

  const std::vector<std::unique_ptr<Set>>* sets_;
  std::vector<size_t> heap_;  // sets positioned on a series not yet handed out
  bool started_ = false;
};

}  // namespace xscaler::storage::merge::internal
