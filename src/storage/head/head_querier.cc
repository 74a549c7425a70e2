// The head's storage::Querier. Select snapshots the matching series under their stripe locks
// (sealed chunks by shared pointer, the open chunk by copy), so the returned SeriesSet and its
// iterators never touch head state again and can be read at leisure. A series with
// out-of-order data has its chunks merged (MergeOverlappingChunks) after the lock is released.

#include <algorithm>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/coding.h"

#include "storage/head/head.h"
#include "storage/head/ooo_merge.h"
#include "storage/index/matchers.h"
#include "storage/series/series_sets.h"

namespace xscaler::storage::head {
namespace {

// Appends a form of `enc` (encoded labels) whose plain byte order is the label order: each
// name and value followed by a 0 byte, with 0 and 1 bytes inside them escaped as 1,1 and 1,2
// (order-preserving, and 0 then sorts before any content byte, so a shorter name or value
// sorts first, as in Labels::operator<).
void AppendSortKey(std::string_view enc, std::string* out) {
  std::string_view part;
  while (!enc.empty() && base::GetLengthPrefixed(&enc, &part)) {
    for (char c : part) {
      if (static_cast<unsigned char>(c) <= 1) {
        out->push_back('\x01');
        out->push_back(static_cast<char>(c + 1));
      } else {
        out->push_back(c);
      }
    }
    out->push_back('\0');
  }
}

// Sorts series into label order. Comparing memcmp-able keys built once per series is several
// times cheaper than decoding length-prefixed pairs in every comparison of the sort.
void SortByLabels(std::vector<MemSeries*>& series) {
  std::string arena;
  std::vector<std::pair<uint32_t, uint32_t>> spans(series.size());  // offset, length
  for (size_t i = 0; i < series.size(); ++i) {
    const size_t at = arena.size();
    AppendSortKey(series[i]->encoded_labels(), &arena);
    spans[i] = {static_cast<uint32_t>(at), static_cast<uint32_t>(arena.size() - at)};
  }
  if (arena.size() > std::numeric_limits<uint32_t>::max()) {  // 4 GiB of labels: the slow way
    std::sort(series.begin(), series.end(), [](const MemSeries* a, const MemSeries* b) {
      return EncodedLabelsLess(a->encoded_labels(), b->encoded_labels());
    });
    return;
  }
  std::vector<uint32_t> order(series.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](uint32_t i) {
    return std::string_view(arena.data() + spans[i].first, spans[i].second);
  };
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return key(a) < key(b); });
  std::vector<MemSeries*> sorted(series.size());
  for (size_t i = 0; i < order.size(); ++i) sorted[i] = series[order[i]];
  series.swap(sorted);
}

class HeadQuerier final : public Querier {
 public:
  HeadQuerier(Head* head, int64_t mint, int64_t maxt) : head_(head), mint_(mint), maxt_(maxt) {}

  std::unique_ptr<SeriesSet> Select(std::span<const labels::Matcher> matchers) override {
    return DoSelect(matchers, /*labels_only=*/false);
  }

  // The series API's selection: the same series as Select, without copying any chunk (a
  // series is listed when it has a chunk overlapping the range, which is what Select keeps).
  std::unique_ptr<SeriesSet> SelectLabels(std::span<const labels::Matcher> matchers) override {
    return DoSelect(matchers, /*labels_only=*/true);
  }

 private:
  std::unique_ptr<SeriesSet> DoSelect(std::span<const labels::Matcher> matchers, bool labels_only) {
    if (auto rejected = series::RejectUnselective(matchers)) return rejected;
    auto refs = index::PostingsForMatchers(head_->postings(), matchers);
    if (!refs.ok()) return series::NewErrorSeriesSet(refs.status());
    Head::ReadGuard guard(head_);
    // Label order first (compared in their encoded form, without decoding; labels are
    // immutable, no lock needed), then each stripe is locked once for all of its series
    // instead of once per series.
    std::vector<MemSeries*> found;
    found.reserve(refs->size());
    for (uint64_t ref : *refs) {
      if (MemSeries* s = head_->GetByRef(ref); s != nullptr) found.push_back(s);
    }
    SortByLabels(found);
    std::vector<uint32_t> by_stripe(found.size());
    for (uint32_t i = 0; i < by_stripe.size(); ++i) by_stripe[i] = i;
    std::sort(by_stripe.begin(), by_stripe.end(), [&](uint32_t a, uint32_t b) {
      return std::less<const absl::Mutex*>()(&head_->StripeLock(found[a]),
                                             &head_->StripeLock(found[b]));
    });
    std::vector<std::vector<chunk::ChunkData>> chunks(found.size());
    std::vector<char> overlaps(found.size(), 0);
    std::vector<char> listed(labels_only ? found.size() : 0, 0);
    for (size_t i = 0; i < by_stripe.size();) {
      absl::Mutex* mu = &head_->StripeLock(found[by_stripe[i]]);
      absl::MutexLock lock(mu);
      for (; i < by_stripe.size() && &head_->StripeLock(found[by_stripe[i]]) == mu; ++i) {
        const uint32_t k = by_stripe[i];
        const MemSeries& s = *found[k];
        if (!InRangeLocked(s)) continue;
        if (labels_only) {
          listed[k] = s.HasChunkOverlapping(mint_, maxt_);
          continue;
        }
        bool ov = false;
        absl::Status st = s.Snapshot(mint_, maxt_, head_->chunk_store(), &chunks[k], &ov);
        if (!st.ok()) return SnapshotError(s, st);
        overlaps[k] = ov;
      }
    }
    std::vector<std::unique_ptr<Series>> out;
    out.reserve(found.size());
    for (size_t k = 0; k < found.size(); ++k) {
      if (labels_only) {
        if (listed[k]) {
          out.push_back(std::make_unique<series::ChunkListSeries>(
              found[k]->Labels(), std::vector<chunk::ChunkData>{}, mint_, maxt_));
        }
        continue;
      }
      if (overlaps[k]) {
        if (absl::Status st = MergeOverlappingChunks(&chunks[k]); !st.ok()) {
          return SnapshotError(*found[k], st);
        }
      }
      if (chunks[k].empty()) continue;
      out.push_back(std::make_unique<series::ChunkListSeries>(found[k]->Labels(),
                                                              std::move(chunks[k]), mint_, maxt_));
    }
    return series::NewVectorSeriesSet(std::move(out));
  }

 public:
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
  static std::unique_ptr<SeriesSet> SnapshotError(const MemSeries& s, const absl::Status& st) {
    return series::NewErrorSeriesSet(absl::Status(
        st.code(),
        absl::StrCat("reading head series ", s.Labels().ToString(), ": ", st.message())));
  }

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
