#include "promql/testing/memory_storage.h"

#include <set>
#include <tuple>

namespace xscaler::promql::testing {
namespace {

using Points = std::vector<std::pair<int64_t, double>>;

class VecIterator : public storage::SampleIterator {
 public:
  explicit VecIterator(const Points* pts) : pts_(pts) {}
  bool Next() override { return ++i_ < static_cast<int64_t>(pts_->size()); }
  bool Seek(int64_t t) override {
    if (i_ < 0) i_ = 0;
    while (i_ < static_cast<int64_t>(pts_->size()) && (*pts_)[i_].first < t) ++i_;
    return i_ < static_cast<int64_t>(pts_->size());
  }
  std::pair<int64_t, double> At() const override { return (*pts_)[i_]; }

 private:
  const Points* pts_;
  int64_t i_ = -1;
};

class VecSeries : public storage::Series {
 public:
  VecSeries(labels::Labels l, Points p) : labels_(std::move(l)), pts_(std::move(p)) {}
  const labels::Labels& Labels() const override { return labels_; }
  std::unique_ptr<storage::SampleIterator> Iterator() const override {
    return std::make_unique<VecIterator>(&pts_);
  }

 private:
  labels::Labels labels_;
  Points pts_;
};

class VecSeriesSet : public storage::SeriesSet {
 public:
  explicit VecSeriesSet(std::vector<std::unique_ptr<VecSeries>> s) : s_(std::move(s)) {}
  bool Next() override { return ++i_ < s_.size(); }
  const storage::Series& At() const override { return *s_[i_]; }

 private:
  std::vector<std::unique_ptr<VecSeries>> s_;
  size_t i_ = static_cast<size_t>(-1);
};

bool MatchAll(const labels::Labels& l, std::span<const labels::Matcher> ms) {
  for (const auto& m : ms) {
    if (!m.Matches(l.Get(m.name()))) return false;
  }
  return true;
}

class MemoryQuerier : public storage::Querier {
 public:
  MemoryQuerier(std::shared_ptr<const MemoryStorage::Data> d, int64_t mint, int64_t maxt)
      : d_(std::move(d)), mint_(mint), maxt_(maxt) {}

  std::unique_ptr<storage::SeriesSet> Select(std::span<const labels::Matcher> ms) override {
    std::vector<std::unique_ptr<VecSeries>> out;
    for (const auto& [l, pts] : d_->series) {
      if (!MatchAll(l, ms)) continue;
      Points p;
      for (auto it = pts.lower_bound(mint_); it != pts.end() && it->first <= maxt_; ++it) {
        p.emplace_back(it->first, it->second);
      }
      if (!p.empty()) out.push_back(std::make_unique<VecSeries>(l, std::move(p)));
    }
    return std::make_unique<VecSeriesSet>(std::move(out));
  }
  absl::StatusOr<std::vector<std::string>> LabelNames(
      std::span<const labels::Matcher> ms) override {
    std::set<std::string> names;
    for (const auto& [l, pts] : d_->series) {
      if (!MatchAll(l, ms)) continue;
      for (const auto& lb : l) names.insert(lb.name);
    }
    return std::vector<std::string>(names.begin(), names.end());
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, std::span<const labels::Matcher> ms) override {
    std::set<std::string> vals;
    for (const auto& [l, pts] : d_->series) {
      if (!MatchAll(l, ms) || !l.Has(name)) continue;
      vals.insert(std::string(l.Get(name)));
    }
    return std::vector<std::string>(vals.begin(), vals.end());
  }

 private:
  std::shared_ptr<const MemoryStorage::Data> d_;
  int64_t mint_, maxt_;
};

}  // namespace

class MemoryAppender : public storage::Appender {
 public:
  explicit MemoryAppender(MemoryStorage* s) : s_(s) {}
  absl::StatusOr<storage::SeriesRef> Append(storage::SeriesRef, const labels::Labels& lset,
                                            int64_t t, double v) override {
    staged_.emplace_back(lset, t, v);
    return 1;
  }
  void UpdateMetadata(const std::string&, const storage::MetricMetadata&) override {}
  absl::Status Commit() override {
    for (const auto& [l, t, v] : staged_) s_->Add(l, t, v);
    staged_.clear();
    return absl::OkStatus();
  }
  void Rollback() override { staged_.clear(); }

 private:
  MemoryStorage* s_;
  std::vector<std::tuple<labels::Labels, int64_t, double>> staged_;
};

std::unique_ptr<storage::Appender> MemoryStorage::NewAppender() {
  return std::make_unique<MemoryAppender>(this);
}

std::unique_ptr<storage::Querier> MemoryStorage::NewQuerier(int64_t mint, int64_t maxt) {
  std::lock_guard<std::mutex> lock(mu_);
  return std::make_unique<MemoryQuerier>(data_, mint, maxt);
}

void MemoryStorage::Add(const labels::Labels& lset, int64_t t_ms, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  // Copy-on-write so that open queriers keep a consistent snapshot.
  if (data_.use_count() > 1) data_ = std::make_shared<Data>(*data_);
  data_->series[lset][t_ms] = v;
}

void MemoryStorage::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  data_ = std::make_shared<Data>();
}

}  // namespace xscaler::promql::testing
