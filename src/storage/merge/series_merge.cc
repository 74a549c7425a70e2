// Query-time merging: a k-way merge of series sets by label set and, for a label set found in
// several sets, a merge of the sample iterators by time (merge.h).

#include <algorithm>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "storage/merge/label_heap.h"
#include "storage/merge/merge.h"
#include "storage/series/series_sets.h"

namespace xscaler::storage::merge {
namespace {

// Merges children's samples by time; for equal timestamps the lowest-index child wins and the
// others are skipped. While one child is strictly ahead of all others (the usual case: blocks
// do not overlap in time), Next only steps that child and compares against a cached bound, so
// it costs O(1) per sample instead of O(children).
class MergeSampleIterator final : public SampleIterator {
 public:
  explicit MergeSampleIterator(std::vector<std::unique_ptr<SampleIterator>> its) {
    children_.reserve(its.size());
    for (auto& it : its) children_.push_back(Child{std::move(it)});
  }

  bool Next() override {
    if (done_) return false;
    if (!started_) {
      started_ = true;
      for (auto& c : children_) {
        if (!Step(c, [&] { return c.it->Next(); })) return Fail();
      }
      return Select();
    }
    if (!has_bound_ || bound_ > cur_t_) {
      // The winner is the only child at cur_t_: step it alone.
      Child& w = children_[win_];
      if (!Step(w, [&] { return w.it->Next(); })) return Fail();
      if (w.valid && (!has_bound_ || w.t < bound_)) {
        cur_t_ = w.t;
        cur_v_ = w.v;
        return true;
      }
      return Select();
    }
    // Several children sit at cur_t_ (duplicates): step them all past it.
    for (auto& c : children_) {
      if (c.valid && c.t == cur_t_ && !Step(c, [&] { return c.it->Next(); })) return Fail();
    }
    return Select();
  }

  bool Seek(int64_t t) override {
    if (done_) return false;
    if (started_ && cur_t_ >= t) return true;
    bool first = !started_;
    started_ = true;
    for (auto& c : children_) {
      if (!first && (!c.valid || c.t >= t)) continue;
      if (!Step(c, [&] { return c.it->Seek(t); })) return Fail();
    }
    return Select();
  }

  std::pair<int64_t, double> At() const override { return {cur_t_, cur_v_}; }
  absl::Status Err() const override { return err_; }

 private:
  struct Child {
    std::unique_ptr<SampleIterator> it;
    int64_t t = 0;
    double v = 0;
    bool valid = false;
  };

  // Moves `c` with `move` (Next or Seek); false only on a child error (recorded in err_).
  template <typename Move>
  bool Step(Child& c, Move move) {
    c.valid = move();
    if (c.valid) {
      std::tie(c.t, c.v) = c.it->At();
      return true;
    }
    absl::Status st = c.it->Err();
    if (!st.ok()) {
      err_ = std::move(st);
      return false;
    }
    return true;
  }

  bool Fail() {
    done_ = true;
    return false;
  }

  // Picks the smallest timestamp (first child on ties) and caches the smallest timestamp of
  // the other children as bound_.
  bool Select() {
    int win = -1;
    for (size_t i = 0; i < children_.size(); ++i) {
      const Child& c = children_[i];
      if (c.valid && (win < 0 || c.t < children_[win].t)) win = static_cast<int>(i);
    }
    if (win < 0) return Fail();
    win_ = static_cast<size_t>(win);
    cur_t_ = children_[win_].t;
    cur_v_ = children_[win_].v;
    has_bound_ = false;
    for (size_t i = 0; i < children_.size(); ++i) {
      const Child& c = children_[i];
      if (i == win_ || !c.valid) continue;
      if (!has_bound_ || c.t < bound_) bound_ = c.t;
      has_bound_ = true;
    }
    return true;
  }

  std::vector<Child> children_;
  size_t win_ = 0;
  int64_t cur_t_ = 0;
  double cur_v_ = 0;
  bool has_bound_ = false;
  int64_t bound_ = 0;
  bool started_ = false;
  bool done_ = false;
  absl::Status err_;
};

// A label set present in several sets: borrows each set's current Series.
class MergedSeries final : public Series {
 public:
  void Reset(std::vector<const Series*> parts) { parts_ = std::move(parts); }
  const labels::Labels& Labels() const override { return parts_.front()->Labels(); }
  std::unique_ptr<SampleIterator> Iterator() const override {
    std::vector<std::unique_ptr<SampleIterator>> its;
    its.reserve(parts_.size());
    for (const Series* s : parts_) its.push_back(s->Iterator());
    return std::make_unique<MergeSampleIterator>(std::move(its));
  }

 private:
  std::vector<const Series*> parts_;
};

struct SeriesSetLabels {
  const labels::Labels& operator()(const SeriesSet& s) const { return s.At().Labels(); }
};

class MergeSeriesSet final : public SeriesSet {
 public:
  explicit MergeSeriesSet(std::vector<std::unique_ptr<SeriesSet>> sets)
      : sets_(std::move(sets)), heap_(&sets_) {}

  bool Next() override {
    if (done_) return false;
    if (!heap_.NextGroup(&cur_, &err_)) {
      done_ = true;
      return false;
    }
    if (cur_.size() > 1) {
      std::vector<const Series*> parts;
      parts.reserve(cur_.size());
      for (size_t i : cur_) parts.push_back(&sets_[i]->At());
      merged_.Reset(std::move(parts));
    }
    return true;
  }

  const Series& At() const override {
    if (cur_.size() == 1) return sets_[cur_[0]]->At();
    return merged_;
  }

  absl::Status Err() const override { return err_; }

 private:
  std::vector<std::unique_ptr<SeriesSet>> sets_;
  // Equal label sets pop in source order, so the merged series' parts are oldest first.
  internal::LabelHeap<SeriesSet, SeriesSetLabels> heap_;
  std::vector<size_t> cur_;  // sets whose current series make up At()
  MergedSeries merged_;
  bool done_ = false;
  absl::Status err_;
};


class MergeQuerier final : public Querier {
 public:
  explicit MergeQuerier(std::vector<std::unique_ptr<Querier>> queriers)
      : queriers_(std::move(queriers)) {}

  std::unique_ptr<SeriesSet> Select(std::span<const labels::Matcher> matchers) override {
    // Checked once here so that every child is spared the work and the caller sees one error.
    if (auto rejected = series::RejectUnselective(matchers)) return rejected;
    std::vector<std::unique_ptr<SeriesSet>> sets;
    sets.reserve(queriers_.size());
    for (auto& q : queriers_) sets.push_back(q->Select(matchers));
    return MergeSeriesSets(std::move(sets));
  }

  absl::StatusOr<std::vector<std::string>> LabelNames(
      std::span<const labels::Matcher> matchers) override {
    std::vector<std::vector<std::string>> lists;
    for (auto& q : queriers_) {
      auto names = q->LabelNames(matchers);
      if (!names.ok()) return names.status();
      lists.push_back(*std::move(names));
    }
    return SortedUnion(std::move(lists));
  }

  absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, std::span<const labels::Matcher> matchers) override {
    std::vector<std::vector<std::string>> lists;
    for (auto& q : queriers_) {
      auto values = q->LabelValues(name, matchers);
      if (!values.ok()) return values.status();
      lists.push_back(*std::move(values));
    }
    return SortedUnion(std::move(lists));
  }

 private:
  std::vector<std::unique_ptr<Querier>> queriers_;
};

}  // namespace

std::vector<std::string> SortedUnion(std::vector<std::vector<std::string>> lists) {
  if (lists.size() == 1) return std::move(lists[0]);
  std::vector<std::string> out;
  for (auto& l : lists) {
    std::vector<std::string> merged;
    merged.reserve(out.size() + l.size());
    std::set_union(std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()),
                   std::make_move_iterator(l.begin()), std::make_move_iterator(l.end()),
                   std::back_inserter(merged));
    out = std::move(merged);
  }
  return out;
}

std::unique_ptr<Querier> NewMergeQuerier(std::vector<std::unique_ptr<Querier>> queriers) {
  if (queriers.size() == 1) return std::move(queriers[0]);
  return std::make_unique<MergeQuerier>(std::move(queriers));
}

std::unique_ptr<SeriesSet> MergeSeriesSets(std::vector<std::unique_ptr<SeriesSet>> sets) {
  if (sets.size() == 1) return std::move(sets[0]);
  return std::make_unique<MergeSeriesSet>(std::move(sets));
}

}  // namespace xscaler::storage::merge
