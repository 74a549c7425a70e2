// Head::Truncate: drops chunks older than the new minimum time and garbage-collects series left
// without samples. The safety argument (pending counts for appenders, a grace period on
// read_gate_ for readers) is in head.h.

#include <algorithm>
#include <tuple>
#include <vector>

#include "spdlog/spdlog.h"
#include "storage/head/head.h"

namespace xscaler::storage::head {

Head::OpenReader::OpenReader(Head* h, int64_t mint) : head_(h) {
  absl::MutexLock lock(&h->readers_mu_);
  id_ = h->next_reader_id_++;
  h->open_readers_.emplace(id_, mint);
}

Head::OpenReader::~OpenReader() {
  absl::MutexLock lock(&head_->readers_mu_);
  head_->open_readers_.erase(id_);
}

// Condition for WaitForReadersBelow: no reader registered before the wait began (id below the
// wait's first free id) reads from below the truncation point. Called with readers_mu_ held.
bool Head::NoReaderBelow(std::tuple<Head*, uint64_t, int64_t>* arg)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const auto& [head, before, mint] = *arg;
  for (const auto& [id, reader_mint] : head->open_readers_) {
    if (id >= before) break;
    if (reader_mint < mint) return false;
  }
  return true;
}

void Head::WaitForReadersBelow(int64_t mint) {
  absl::MutexLock lock(&readers_mu_);
  std::tuple<Head*, uint64_t, int64_t> arg(this, next_reader_id_, mint);
  readers_mu_.Await(absl::Condition(&Head::NoReaderBelow, &arg));
}

TruncateStats Head::Truncate(int64_t mint) {
  absl::MutexLock truncating(&truncate_mu_);
  // First: from here on no new sample < mint can be applied (Append rejects it, ApplySample
  // drops it), so what the scan below removes cannot come back.
  SetMinValidTime(mint);
  TruncateStats ts;
  // Appends during the scan lower min_time_ again (to values >= mint); the scan's own minimum
  // is folded in at the end.
  min_time_.store(kMaxTime, std::memory_order_relaxed);
  int64_t new_min = kMaxTime;
  std::vector<MemSeries*> candidates;
  // Only Truncate frees series and it is serialised by truncate_mu_, so the pointers the walk
  // hands out stay valid for the rest of this function.
  ForEachSeriesLocked([&](MemSeries* s) {
    if (s->TruncateBefore(mint, &ts.chunks_removed, &ts.samples_removed)) {
      new_min = std::min(new_min, s->min_t());
    } else if (s->pending.load(std::memory_order_acquire) == 0) {
      candidates.push_back(s);
    }
  });

  std::vector<std::unique_ptr<MemSeries>> dead;
  std::vector<MemSeries*> dead_indexed;
  for (MemSeries* s : candidates) {
    HashStripe& hs = hash_stripes_[s->hash() & mask_];
    absl::MutexLock hlock(&hs.mu);
    // An appender may have found it (and appended) since the scan.
    if (!s->empty() || s->pending.load(std::memory_order_acquire) != 0) continue;
    RefStripe& rs = ref_stripes_[s->ref() & mask_];
    absl::MutexLock rlock(&rs.mu);
    // With both locks held nobody can take a new pending count (AcquireByRef holds the ref
    // stripe lock, AcquireOrCreate the hash stripe lock).
    if (s->pending.load(std::memory_order_acquire) != 0) continue;
    auto it = rs.by_ref.find(s->ref());
    if (it == rs.by_ref.end() || it->second.get() != s) continue;
    dead.push_back(std::move(it->second));
    rs.by_ref.erase(it);
    auto hit = hs.by_hash.find(s->hash());
    if (hit != hs.by_hash.end()) {
      MemSeries** link = &hit->second;
      while (*link != nullptr && *link != s) link = &(*link)->hash_next;
      if (*link == s) *link = s->hash_next;
      if (hit->second == nullptr) hs.by_hash.erase(hit);
    }
    if (s->indexed) dead_indexed.push_back(s);
  }
  // In slices: decoded label sets cost ~600 B per series, so decoding every dead series at once
  // (all of them, when a flush empties the head) was the largest allocation of a cut.
  constexpr size_t kDeleteSlice = 4096;
  std::vector<std::pair<uint64_t, labels::Labels>> gone;
  for (size_t from = 0; from < dead_indexed.size(); from += kDeleteSlice) {
    gone.clear();
    const size_t to = std::min(dead_indexed.size(), from + kDeleteSlice);
    for (size_t i = from; i < to; ++i) gone.emplace_back(dead_indexed[i]->ref(), dead_indexed[i]->Labels());
    postings_.DeleteBatch(gone);
  }
  num_series_.fetch_sub(dead_indexed.size(), std::memory_order_relaxed);
  num_chunks_.fetch_sub(ts.chunks_removed, std::memory_order_relaxed);
  num_samples_.fetch_sub(ts.samples_removed, std::memory_order_relaxed);
  ts.series_removed = dead.size();

  if (!dead.empty()) {
    // Grace period: a reader that looked one of these up before it was unlinked holds
    // read_gate_ shared until it is done with the pointer.
    absl::MutexLock gate(&read_gate_);
  }
  dead.clear();

  // Every ref below mint is gone from the series now; files holding only such chunks can go.
  // (A series' chunk ending at or after mint keeps its file; readers hold what they read.)
  if (store_ != nullptr) {
    if (absl::Status st = store_->Truncate(mint); !st.ok()) {
      spdlog::warn("head chunks {}: truncating before {}: {}; retried at the next truncation",
                   store_->mapper().dir(), mint, st.ToString());
    }
  }

  if (ts.series_removed > 0) {
    absl::MutexLock lock(&alias_mu_);
    absl::erase_if(aliases_, [&](const auto& a) { return GetByRef(a.second) == nullptr; });
  }

  int64_t cur = min_time_.load(std::memory_order_relaxed);
  while (new_min < cur &&
         !min_time_.compare_exchange_weak(cur, new_min, std::memory_order_relaxed)) {
  }
  spdlog::debug("head truncated before {}: {} chunks, {} samples, {} series removed", mint,
                ts.chunks_removed, ts.samples_removed, ts.series_removed);
  return ts;
}

}  // namespace xscaler::storage::head
