// The head's storage::Querier. Select snapshots the matching series under their stripe locks
// (sealed chunks by shared pointer, the open chunk by copy), so the returned SeriesSet and its
// iterators never touch head state again and can be read at leisure.

#include <algorithm>
#include <optional>
#include <set>

#include "storage/head/head.h"
#include "storage/index/matchers.h"

namespace xscaler::storage::head {
namespace {

class ChunksIterator final : public SampleIterator {
 public:
  ChunksIterator(std::vector<ChunkRef> chunks, int64_t mint, int64_t maxt)
      : chunks_(std::move(chunks)), mint_(mint), maxt_(maxt) {}

  bool Next() override {
    if (done_) return false;
    while (true) {
      if (!dec_) {
        if (idx_ >= chunks_.size()) return Finish();
        dec_.emplace(*chunks_[idx_].bytes);
      }
      if (dec_->Next()) {
        if (dec_->t() < mint_) continue;
        return Found();
      }
      if (!dec_->status().ok()) {
        err_ = dec_->status();
        return Finish();
      }
      dec_.reset();
      ++idx_;
    }
  }

  bool Seek(int64_t t) override {
    if (done_) return false;
    if (has_cur_ && cur_.first >= t) return true;
    t = std::max(t, mint_);
    if (dec_ && chunks_[idx_].max_t < t) {
      dec_.reset();
      ++idx_;
    }
    if (!dec_) {
      while (idx_ < chunks_.size() && chunks_[idx_].max_t < t) ++idx_;
    }
    while (true) {
      if (!dec_) {
        if (idx_ >= chunks_.size()) return Finish();
        dec_.emplace(*chunks_[idx_].bytes);
      }
      if (dec_->Seek(t)) return Found();
      if (!dec_->status().ok()) {
        err_ = dec_->status();
        return Finish();
      }
      dec_.reset();
      ++idx_;
    }
  }

  std::pair<int64_t, double> At() const override { return cur_; }
  absl::Status Err() const override { return err_; }

 private:
  bool Found() {
    if (dec_->t() > maxt_) return Finish();
    cur_ = {dec_->t(), dec_->v()};
    has_cur_ = true;
    return true;
  }
  bool Finish() {
    done_ = true;
    has_cur_ = false;
    dec_.reset();
    return false;
  }

  const std::vector<ChunkRef> chunks_;
  const int64_t mint_;
  const int64_t maxt_;
  size_t idx_ = 0;
  std::optional<chunk::XorDecoder> dec_;
  std::pair<int64_t, double> cur_{0, 0};
  bool has_cur_ = false;
  bool done_ = false;
  absl::Status err_;
};

class SnapshotSeries final : public Series {
 public:
  SnapshotSeries(labels::Labels lset, std::vector<ChunkRef> chunks, int64_t mint, int64_t maxt)
      : labels_(std::move(lset)), chunks_(std::move(chunks)), mint_(mint), maxt_(maxt) {}
  const labels::Labels& Labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    return std::make_unique<ChunksIterator>(chunks_, mint_, maxt_);
  }

 private:
  labels::Labels labels_;
  std::vector<ChunkRef> chunks_;
  int64_t mint_;
  int64_t maxt_;
};

class VectorSeriesSet final : public SeriesSet {
 public:
  explicit VectorSeriesSet(std::vector<std::unique_ptr<SnapshotSeries>> series)
      : series_(std::move(series)) {}
  bool Next() override {
    if (next_ >= series_.size()) return false;
    cur_ = next_++;
    return true;
  }
  const Series& At() const override { return *series_[cur_]; }

 private:
  std::vector<std::unique_ptr<SnapshotSeries>> series_;
  size_t next_ = 0;
  size_t cur_ = 0;
};

class ErrorSeriesSet final : public SeriesSet {
 public:
  explicit ErrorSeriesSet(absl::Status st) : st_(std::move(st)) {}
  bool Next() override { return false; }
  const Series& At() const override { std::abort(); }
  absl::Status Err() const override { return st_; }

 private:
  absl::Status st_;
};

class HeadQuerier final : public Querier {
 public:
  HeadQuerier(Head* head, int64_t mint, int64_t maxt) : head_(head), mint_(mint), maxt_(maxt) {}

  std::unique_ptr<SeriesSet> Select(std::span<const labels::Matcher> matchers) override {
    bool selective = false;
    for (const auto& m : matchers) selective |= !m.MatchesEmpty();
    if (!selective) {
      return std::make_unique<ErrorSeriesSet>(absl::InvalidArgumentError(
          "vector selector must contain at least one matcher that does not match the empty "
          "string"));
    }
    auto refs = index::PostingsForMatchers(head_->postings(), matchers);
    if (!refs.ok()) return std::make_unique<ErrorSeriesSet>(refs.status());
    std::vector<std::unique_ptr<SnapshotSeries>> out;
    for (uint64_t ref : *refs) {
      MemSeries* s = head_->GetByRef(ref);
      if (s == nullptr) continue;
      std::vector<ChunkRef> chunks;
      {
        absl::MutexLock lock(&head_->StripeLock(s));
        if (!InRangeLocked(*s)) continue;
        s->Snapshot(mint_, maxt_, &chunks);
      }
      if (chunks.empty()) continue;
      out.push_back(std::make_unique<SnapshotSeries>(s->Labels(), std::move(chunks), mint_, maxt_));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a->Labels() < b->Labels(); });
    return std::make_unique<VectorSeriesSet>(std::move(out));
  }

  absl::StatusOr<std::vector<std::string>> LabelNames(
      std::span<const labels::Matcher> matchers) override {
    if (matchers.empty()) return head_->postings().LabelNames();
    std::set<std::string> names;
    auto st = ForEachSeries(matchers, [&](const labels::Labels& l) {
      for (const auto& x : l) names.insert(x.name);
    });
    if (!st.ok()) return st;
    return std::vector<std::string>(names.begin(), names.end());
  }

  absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, std::span<const labels::Matcher> matchers) override {
    if (matchers.empty()) return head_->postings().LabelValues(name);
    std::set<std::string> values;
    auto st = ForEachSeries(matchers, [&](const labels::Labels& l) {
      std::string_view v = l.Get(name);
      if (!v.empty()) values.emplace(v);
    });
    if (!st.ok()) return st;
    return std::vector<std::string>(values.begin(), values.end());
  }

 private:
  bool InRangeLocked(const MemSeries& s) const {
    return s.has_samples() && s.last_t() >= mint_ && s.min_t() <= maxt_;
  }

  // Calls fn with the labels of every matching series that has samples in range.
  template <typename Fn>
  absl::Status ForEachSeries(std::span<const labels::Matcher> matchers, Fn fn) {
    auto refs = index::PostingsForMatchers(head_->postings(), matchers);
    if (!refs.ok()) return refs.status();
    for (uint64_t ref : *refs) {
      MemSeries* s = head_->GetByRef(ref);
      if (s == nullptr) continue;
      {
        absl::MutexLock lock(&head_->StripeLock(s));
        if (!InRangeLocked(*s)) continue;
      }
      fn(s->Labels());
    }
    return absl::OkStatus();
  }

  Head* const head_;
  const int64_t mint_;
  const int64_t maxt_;
};

}  // namespace

std::unique_ptr<Querier> Head::NewQuerier(int64_t mint, int64_t maxt) {
  return std::make_unique<HeadQuerier>(this, mint, maxt);
}

}  // namespace xscaler::storage::head
