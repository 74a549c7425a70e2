#include "storage/series/chunks_iterator.h"

#include <algorithm>
#include <optional>

#include "storage/chunk/xor.h"

namespace xscaler::storage::series {
namespace {

// Decodes sample by sample: XorDecoder::Next's fast path is inline here. (Decoding batches into
// a buffer was measured slower: the per-sample work is the decoder's serial bit walk.)
class ChunksIterator final : public SampleIterator {
 public:
  ChunksIterator(std::vector<chunk::ChunkData> chunks, int64_t mint, int64_t maxt)
      : own_(std::move(chunks)),
        chunks_(own_.data()),
        num_chunks_(own_.size()),
        mint_(mint),
        maxt_(maxt) {}
  ChunksIterator(std::shared_ptr<const std::vector<chunk::ChunkData>> chunks, int64_t mint,
                 int64_t maxt)
      : shared_(std::move(chunks)),
        chunks_(shared_->data()),
        num_chunks_(shared_->size()),
        mint_(mint),
        maxt_(maxt) {}

  bool Next() override {
    if (done_) return false;
    while (true) {
      if (!dec_) {
        if (idx_ >= num_chunks_) return Finish();
        dec_.emplace(chunks_[idx_].bytes);
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
      while (idx_ < num_chunks_ && chunks_[idx_].max_t < t) ++idx_;
    }
    while (true) {
      if (!dec_) {
        if (idx_ >= num_chunks_) return Finish();
        dec_.emplace(chunks_[idx_].bytes);
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

  // The chunks: shared with the series and other iterators, or owned.
  const std::shared_ptr<const std::vector<chunk::ChunkData>> shared_;
  const std::vector<chunk::ChunkData> own_;
  const chunk::ChunkData* const chunks_;
  const size_t num_chunks_;
  const int64_t mint_;
  const int64_t maxt_;
  size_t idx_ = 0;
  std::optional<chunk::XorDecoder> dec_;
  std::pair<int64_t, double> cur_{0, 0};
  bool has_cur_ = false;
  bool done_ = false;
  absl::Status err_;
};

}  // namespace

std::unique_ptr<SampleIterator> NewChunksIterator(std::vector<chunk::ChunkData> chunks,
                                                  int64_t mint, int64_t maxt) {
  return std::make_unique<ChunksIterator>(std::move(chunks), mint, maxt);
}

std::unique_ptr<SampleIterator> NewChunksIterator(
    std::shared_ptr<const std::vector<chunk::ChunkData>> chunks, int64_t mint, int64_t maxt) {
  return std::make_unique<ChunksIterator>(std::move(chunks), mint, maxt);
}

}  // namespace xscaler::storage::series
