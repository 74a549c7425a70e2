// The head's storage::Querier. Select snapshots the matching series under their stripe locks
// (sealed chunks by shared pointer, the open chunk by copy), so the returned SeriesSet and its
// iterators never touch head state again and can be read at leisure. A series with
// out-of-order data has its chunks merged (MergeOverlappingChunks) after the lock is released.

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"

#include "storage/head/head.h"
#include "storage/head/ooo_merge.h"
#include "storage/index/matchers.h"
#include "storage/series/series_sets.h"

namespace xscaler::storage::head {
namespace {

class HeadQuerier final : public Querier {
 public:
  HeadQuerier(Head* head, int64_t mint, int64_t maxt) : head_(head), mint_(mint), maxt_(maxt) {}

  std::unique_ptr<SeriesSet> Select(std::span<const labels::Matcher> matchers) override {
    bool selective = false;
    for (const auto& m : matchers) selective |= !m.MatchesEmpty();
    if (!selective) {
      return series::NewErrorSeriesSet(absl::InvalidArgumentError(
          "vector selector must contain at least one matcher that does not match the empty "
          "string"));
    }
    auto refs = index::PostingsForMatchers(head_->postings(), matchers);
    if (!refs.ok()) return series::NewErrorSeriesSet(refs.status());
    std::vector<std::unique_ptr<Series>> out;
    Head::ReadGuard guard(head_);
    for (uint64_t ref : *refs) {
      MemSeries* s = head_->GetByRef(ref);
      if (s == nullptr) continue;
      std::vector<chunk::ChunkData> chunks;
      bool overlaps = false;
      absl::Status st;
      {
        absl::MutexLock lock(&head_->StripeLock(s));
        if (!InRangeLocked(*s)) continue;
        st = s->Snapshot(mint_, maxt_, head_->chunk_store(), &chunks, &overlaps);
      }
      if (st.ok() && overlaps) st = MergeOverlappingChunks(&chunks);
      if (!st.ok()) {
        return series::NewErrorSeriesSet(absl::Status(
            st.code(), absl::StrCat("reading head series ", s->Labels().ToString(), ": ",
                                    st.message())));
      }
      if (chunks.empty()) continue;
      out.push_back(
          std::make_unique<series::ChunkListSeries>(s->Labels(), std::move(chunks), mint_, maxt_));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a->Labels() < b->Labels(); });
    return series::NewVectorSeriesSet(std::move(out));
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
    return !s.empty() && s.max_t() >= mint_ && s.min_t() <= maxt_;
  }

  // Calls fn with the labels of every matching series that has samples in range.
  template <typename Fn>
  absl::Status ForEachSeries(std::span<const labels::Matcher> matchers, Fn fn) {
    auto refs = index::PostingsForMatchers(head_->postings(), matchers);
    if (!refs.ok()) return refs.status();
    Head::ReadGuard guard(head_);
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
