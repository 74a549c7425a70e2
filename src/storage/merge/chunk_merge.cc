// Compaction-time merging of chunk series sets (merge.h): label sets are merged with a heap as
// for queries; a series' chunks are resolved into a non-overlapping, time-ordered list, reusing
// every chunk that overlaps nothing and re-encoding only overlapping runs.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/chunk/xor.h"
#include "storage/merge/label_heap.h"
#include "storage/merge/merge.h"

namespace xscaler::storage::merge {
namespace {

// A chunk with its priority for timestamp ties: lower wins (earlier set, then earlier chunk).
struct RankedChunk {
  const chunk::ChunkData* data;
  size_t rank;
};

struct ChunkSetLabels {
  const labels::Labels& operator()(const series::ChunkSeriesSet& s) const { return s.Labels(); }
};

struct RankedSample {
  int64_t t;
  size_t rank;
  double v;
};

class MergeChunkSeriesSet final : public series::ChunkSeriesSet {
 public:
  explicit MergeChunkSeriesSet(std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets)
      : sets_(std::move(sets)), heap_(&sets_) {}

  bool Next() override {
    while (true) {
      if (done_) return false;
      if (!heap_.NextGroup(&cur_, &err_)) {
        done_ = true;
        return false;
      }
      if (!BuildChunks()) {
        done_ = true;
        return false;
      }
      // A series without chunks (e.g. all samples deleted) is dropped, as Prometheus does.
      if (!chunks_.empty()) return true;
    }
  }

  const labels::Labels& Labels() const override { return sets_[cur_[0]]->Labels(); }
  std::span<const chunk::ChunkData> Chunks() const override { return chunks_; }
  absl::Status Err() const override { return err_; }

 private:
  // Fills chunks_ for the label set held by the sets in cur_ (ascending set index).
  bool BuildChunks() {
    chunks_.clear();
    ranked_.clear();
    for (size_t i : cur_) {
      for (const chunk::ChunkData& c : sets_[i]->Chunks()) {
        ranked_.push_back(RankedChunk{&c, ranked_.size()});
      }
    }
    // Stable: chunks with equal min_t stay in rank order.
    std::stable_sort(
        ranked_.begin(), ranked_.end(),
        [](const RankedChunk& a, const RankedChunk& b) { return a.data->min_t < b.data->min_t; });
    size_t i = 0;
    while (i < ranked_.size()) {
      size_t j = i + 1;
      int64_t run_max = ranked_[i].data->max_t;
      while (j < ranked_.size() && ranked_[j].data->min_t <= run_max) {
        run_max = std::max(run_max, ranked_[j].data->max_t);
        ++j;
      }
      if (j == i + 1) {
        chunks_.push_back(*ranked_[i].data);
      } else if (!MergeRun(std::span<const RankedChunk>(ranked_).subspan(i, j - i))) {
        return false;
      }
      i = j;
    }
    return true;
  }

  // Decodes the overlapping chunks of `run`, keeps one sample per timestamp (lowest rank) and
  // re-encodes them into chunks_.
  bool MergeRun(std::span<const RankedChunk> run) {
    samples_.clear();
    for (const RankedChunk& rc : run) {
      chunk::XorDecoder dec(rc.data->bytes);
      while (dec.Next()) samples_.push_back(RankedSample{dec.t(), rc.rank, dec.v()});
      if (!dec.status().ok()) {
        err_ = absl::DataLossError(absl::StrCat("merging chunks of series ", Labels().ToString(),
                                                " (chunk [", rc.data->min_t, ", ", rc.data->max_t,
                                                "]): ", dec.status().message()));
        return false;
      }
    }
    std::sort(samples_.begin(), samples_.end(), [](const RankedSample& a, const RankedSample& b) {
      return a.t != b.t ? a.t < b.t : a.rank < b.rank;
    });
    chunk::XorEncoder enc;
    auto flush = [&] {
      if (enc.NumSamples() == 0) return;
      int64_t min_t = enc.MinTime(), max_t = enc.MaxTime();
      auto bytes = std::make_shared<const std::string>(enc.Release());
      chunks_.push_back(chunk::ChunkData{min_t, max_t, *bytes, bytes});
    };
    for (size_t k = 0; k < samples_.size(); ++k) {
      if (k > 0 && samples_[k].t == samples_[k - 1].t) continue;
      if (enc.NumSamples() >= static_cast<uint32_t>(kMaxSamplesPerChunk)) flush();
      enc.Append(samples_[k].t, samples_[k].v);
    }
    flush();
    return true;
  }

  std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets_;
  internal::LabelHeap<series::ChunkSeriesSet, ChunkSetLabels> heap_;
  std::vector<size_t> cur_;
  std::vector<chunk::ChunkData> chunks_;
  std::vector<RankedChunk> ranked_;    // scratch
  std::vector<RankedSample> samples_;  // scratch
  bool done_ = false;
  absl::Status err_;
};

}  // namespace

std::unique_ptr<series::ChunkSeriesSet> MergeChunkSeriesSets(
    std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets) {
  return std::make_unique<MergeChunkSeriesSet>(std::move(sets));
}

}  // namespace xscaler::storage::merge
