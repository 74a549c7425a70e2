// Head::ChunkSeries: the head's series over a block-aligned range [mint, maxt) as encoded
// chunks, for cutting blocks. The series list (labels + ref) is taken up front and sorted;
// each series' chunks are snapshotted under its stripe lock when Next reaches it; out-of-order
// chunks are merged with the in-order ones into non-overlapping chunks before clipping.

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/chunk/xor.h"
#include "absl/strings/str_cat.h"
#include "storage/head/head.h"
#include "storage/head/ooo_merge.h"

namespace xscaler::storage::head {
namespace {

class HeadChunkSeriesSet final : public series::ChunkSeriesSet {
 public:
  HeadChunkSeriesSet(Head* head, int64_t mint, int64_t maxt)
      : head_(head), mint_(mint), maxt_(maxt) {
    if (maxt_ <= mint_) return;
    index::Postings refs = head_->postings().AllPostings();
    // Sorted by their encoded labels, which the read guard keeps alive while this runs: a
    // million series cost 16 MB here instead of a million decoded label sets.
    Head::ReadGuard guard(head_);
    std::vector<const MemSeries*> series;
    for (uint64_t ref : refs) {
      MemSeries* s = head_->GetByRef(ref);
      if (s == nullptr) continue;
      {
        absl::MutexLock lock(&head_->StripeLock(s));
        if (s->empty() || s->max_t() < mint_ || s->min_t() >= maxt_) continue;
      }
      series.push_back(s);
    }
    std::sort(series.begin(), series.end(), [](const MemSeries* a, const MemSeries* b) {
      return EncodedLabelsLess(a->encoded_labels(), b->encoded_labels());
    });
    list_.reserve(series.size());
    for (const MemSeries* s : series) list_.push_back(s->ref());
  }

  bool Next() override {
    if (!err_.ok()) return false;
    while (++pos_ < list_.size()) {
      chunks_.clear();
      bool overlaps = false;
      absl::Status st;
      {
        Head::ReadGuard guard(head_);
        MemSeries* s = head_->GetByRef(list_[pos_]);
        if (s == nullptr) continue;
        labels_ = s->Labels();
        absl::MutexLock lock(&head_->StripeLock(s));
        st = s->Snapshot(mint_, maxt_ - 1, head_->chunk_store(), &chunks_, &overlaps);
      }
      if (st.ok() && overlaps) st = MergeOverlappingChunks(&chunks_);
      if (!st.ok()) {
        err_ = absl::Status(st.code(), absl::StrCat("reading head series ",
                                                    labels_.ToString(), ": ",
                                                    st.message()));
        chunks_.clear();
        return false;
      }
      Clip();
      if (!chunks_.empty()) return true;
    }
    chunks_.clear();
    return false;
  }

  const labels::Labels& Labels() const override { return labels_; }
  std::span<const chunk::ChunkData> Chunks() const override { return chunks_; }
  absl::Status Err() const override { return err_; }

 private:
  // Re-encodes the chunks straddling mint or maxt to the samples inside [mint, maxt).
  void Clip() {
    std::vector<chunk::ChunkData> out;
    out.reserve(chunks_.size());
    for (auto& c : chunks_) {
      if (c.min_t >= mint_ && c.max_t < maxt_) {
        out.push_back(std::move(c));
        continue;
      }
      chunk::XorDecoder dec(c.bytes);
      chunk::XorEncoder enc;
      while (dec.Next()) {
        if (dec.t() < mint_) continue;
        if (dec.t() >= maxt_) break;
        enc.Append(dec.t(), dec.v());
      }
      if (!dec.status().ok() && err_.ok()) err_ = dec.status();  // a head chunk never is
      if (enc.NumSamples() == 0) continue;
      const int64_t lo = enc.MinTime(), hi = enc.MaxTime();
      out.push_back(chunk::ChunkData::Owning(lo, hi, enc.Release()));
    }
    chunks_ = std::move(out);
  }

  Head* const head_;
  const int64_t mint_;
  const int64_t maxt_;
  std::vector<uint64_t> list_;  // refs in label order
  labels::Labels labels_;        // of the current series
  size_t pos_ = static_cast<size_t>(-1);
  std::vector<chunk::ChunkData> chunks_;
  absl::Status err_;
};

}  // namespace

std::unique_ptr<series::ChunkSeriesSet> Head::ChunkSeries(int64_t mint, int64_t maxt) {
  return std::make_unique<HeadChunkSeriesSet>(this, mint, maxt);
}

}  // namespace xscaler::storage::head
