// Test and benchmark only: the per-sample chunks iterator that ChunksIterator replaced
// (session 9), kept as the reference that chunks_iterator_test.cc compares against and
// chunks_iterator_bench.cc measures against. `Decoder` is chunk::XorDecoder or
// chunk::reference::XorDecoder.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "storage/chunk/chunk_data.h"
#include "storage/storage.h"

namespace xscaler::storage::series {

template <typename Decoder>
class ReferenceIterator final : public SampleIterator {
 public:
  ReferenceIterator(std::vector<chunk::ChunkData> chunks, int64_t mint, int64_t maxt)
      : chunks_(std::move(chunks)), mint_(mint), maxt_(maxt) {}

  bool Next() override {
    if (done_) return false;
    while (true) {
      if (!dec_) {
        if (idx_ >= chunks_.size()) return Finish();
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
      while (idx_ < chunks_.size() && chunks_[idx_].max_t < t) ++idx_;
    }
    while (true) {
      if (!dec_) {
        if (idx_ >= chunks_.size()) return Finish();
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

  const std::vector<chunk::ChunkData> chunks_;
  const int64_t mint_;
  const int64_t maxt_;
  size_t idx_ = 0;
  std::optional<Decoder> dec_;
  std::pair<int64_t, double> cur_{0, 0};
  bool has_cur_ = false;
  bool done_ = false;
  absl::Status err_;
};

}  // namespace xscaler::storage::series
