#include "storage/series/series_sets.h"

#include <cstdlib>

#include "storage/series/chunks_iterator.h"

namespace xscaler::storage::series {
namespace {

class VectorSeriesSet final : public SeriesSet {
 public:
  explicit VectorSeriesSet(std::vector<std::unique_ptr<Series>> series)
      : series_(std::move(series)) {}
  bool Next() override {
    // The previous series is no longer reachable (At() is valid until the next Next): free it
    // now, while it is still in cache, rather than all series at once when the set goes.
    if (next_ > 0) series_[cur_].reset();
    if (next_ >= series_.size()) return false;
    cur_ = next_++;
    return true;
  }
  const Series& At() const override { return *series_[cur_]; }

 private:
  std::vector<std::unique_ptr<Series>> series_;
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

}  // namespace

ChunkListSeries::ChunkListSeries(labels::Labels lset, std::vector<chunk::ChunkData> chunks,
                                 int64_t mint, int64_t maxt)
    : labels_(std::move(lset)), mint_(mint), maxt_(maxt) {
  // Label-only series (SelectLabels) have no chunks: they share one empty list.
  static const auto* const kEmpty = new std::shared_ptr<const std::vector<chunk::ChunkData>>(
      std::make_shared<const std::vector<chunk::ChunkData>>());
  chunks_ = chunks.empty()
                ? *kEmpty
                : std::make_shared<const std::vector<chunk::ChunkData>>(std::move(chunks));
}

std::unique_ptr<SampleIterator> ChunkListSeries::Iterator() const {
  return NewChunksIterator(chunks_, mint_, maxt_);
}

std::unique_ptr<SeriesSet> NewVectorSeriesSet(std::vector<std::unique_ptr<Series>> series) {
  return std::make_unique<VectorSeriesSet>(std::move(series));
}

std::unique_ptr<SeriesSet> RejectUnselective(std::span<const labels::Matcher> matchers) {
  for (const auto& m : matchers) {
    if (!m.MatchesEmpty()) return nullptr;
  }
  return NewErrorSeriesSet(absl::InvalidArgumentError(
      "vector selector must contain at least one matcher that does not match the empty string"));
}

std::unique_ptr<SeriesSet> NewErrorSeriesSet(absl::Status st) {
  return std::make_unique<ErrorSeriesSet>(std::move(st));
}

}  // namespace xscaler::storage::series
