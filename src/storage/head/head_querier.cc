// The head's storage::Querier. Select lists the matching series and sorts them into label
// order up front; their chunks are snapshotted lazily, a small batch at a
// time in Next (sealed chunks by shared pointer or as views into the chunk files' mappings, the
// open chunk by copy), so a query holds the chunks of a few series at once rather than of all
// of them. Each batch looks its series up again by ref under a short Head::ReadGuard, so
// garbage collection never waits for a whole query; a series with out-of-order data has its
// chunks merged (MergeOverlappingChunks) after the locks are released.
//
// Consistency: a set returns each series as it is when its batch is read, not as of Select:
// samples appended meanwhile are included, a series garbage-collected meanwhile is skipped and
// one truncated meanwhile returns what is left. (A Tsdb copies its block list right after the
// head's Select; a block cut and the head truncated after that, while the set is still being
// read, would be missing from the answer: see tsdb.cc.)

#include <algorithm>
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

// Whether `s` has samples in [mint, maxt]. REQUIRES: its stripe lock.
bool InRange(const MemSeries& s, int64_t mint, int64_t maxt) {
  return !s.empty() && s.max_t() >= mint && s.min_t() <= maxt;
}

absl::Status SeriesError(const labels::Labels& lset, const absl::Status& st) {
  return absl::Status(st.code(),
                      absl::StrCat("reading head series ", lset.ToString(), ": ", st.message()));
}

// The lazy set behind Select / SelectLabels.
// Thread-safety: one thread at a time; must not outlive the head.
class HeadSeriesSet final : public SeriesSet {
 public:
  HeadSeriesSet(Head* head, int64_t mint, int64_t maxt, bool labels_only,
                std::vector<uint64_t> list, std::unique_ptr<Head::OpenReader> reader)
      : head_(head), mint_(mint), maxt_(maxt), labels_only_(labels_only), list_(std::move(list)),
        reader_(std::move(reader)) {}

  bool Next() override {
    if (!err_.ok()) return false;
    if (++pos_ < batch_.size()) return true;
    if (FillBatch()) return true;  // pos_ = 0
    batch_.clear();
    return false;
  }
  const Series& At() const override { return *batch_[pos_]; }
  absl::Status Err() const override { return err_; }

 private:
  // Series snapshotted per ReadGuard (and Head lookup round): amortizes the guard while keeping
  // what a set holds at once small.
  static constexpr size_t kBatch = 16;

  // Snapshots the next series of list_ into batch_ (skipping those without chunks in range)
  // until it holds at least one or the list ends. False on error (err_ set) or at the end.
  bool FillBatch() {
    batch_.clear();
    pos_ = 0;
    while (batch_.empty() && next_ < list_.size()) {
      const size_t end = std::min(list_.size(), next_ + kBatch);
      std::vector<chunk::ChunkData> chunks;
      {
        Head::ReadGuard guard(head_);
        for (; next_ < end; ++next_) {
          MemSeries* s = head_->GetByRef(list_[next_]);
          if (s == nullptr) continue;  // garbage-collected since Select
          bool overlaps = false;
          bool listed = false;
          absl::Status st;
          {
            absl::MutexLock lock(&head_->StripeLock(s));
            if (!InRange(*s, mint_, maxt_)) continue;  // truncated since Select
            if (labels_only_) {
              listed = s->HasChunkOverlapping(mint_, maxt_);
            } else {
              chunks.clear();
              st = s->Snapshot(mint_, maxt_, head_->chunk_store(), &chunks, &overlaps);
              listed = !chunks.empty();
            }
          }
          if (st.ok() && overlaps) st = MergeOverlappingChunks(&chunks);
          if (!st.ok()) {
            err_ = SeriesError(s->Labels(), st);
            return false;
          }
          if (!listed) continue;
          batch_.push_back(std::make_unique<series::ChunkListSeries>(
              s->Labels(), labels_only_ ? std::vector<chunk::ChunkData>{} : std::move(chunks),
              mint_, maxt_));
        }
      }
    }
    return !batch_.empty();
  }

  Head* const head_;
  const int64_t mint_;
  const int64_t maxt_;
  const bool labels_only_;
  const std::vector<uint64_t> list_;  // refs in label order
  // Keeps a block cut from truncating [mint_, ...) out of the head while this set reads it
  // (see Head::OpenReader).
  const std::unique_ptr<Head::OpenReader> reader_;
  size_t next_ = 0;                   // first entry of list_ not snapshotted yet
  std::vector<std::unique_ptr<series::ChunkListSeries>> batch_;
  size_t pos_ = static_cast<size_t>(-1);  // in batch_
  absl::Status err_;
};

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
    // Registered before anything is read, so a cut that publishes its block after this point
    // waits for the set (the Tsdb reads its block list after selecting from the head).
    auto reader = std::make_unique<Head::OpenReader>(head_, mint_);
    auto refs = index::PostingsForMatchers(head_->postings(), matchers);
    if (!refs.ok()) return series::NewErrorSeriesSet(refs.status());
    // Label order (compared in their encoded form, without decoding; labels are immutable,
    // the guard keeps the series alive meanwhile). Whether a series has samples in range is
    // checked when Next reads it, under its stripe lock.
    std::vector<uint64_t> list;
    {
      Head::ReadGuard guard(head_);
      std::vector<MemSeries*> found;
      found.reserve(refs->size());
      for (uint64_t ref : *refs) {
        if (MemSeries* s = head_->GetByRef(ref); s != nullptr) found.push_back(s);
      }
      SortByLabels(found);
      list.reserve(found.size());
      for (const MemSeries* s : found) list.push_back(s->ref());
    }
    return std::make_unique<HeadSeriesSet>(head_, mint_, maxt_, labels_only, std::move(list),
                                           std::move(reader));
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
        if (!InRange(*s, mint_, maxt_)) continue;
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
