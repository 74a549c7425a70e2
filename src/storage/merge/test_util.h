// Test doubles shared by the merge and compaction tests: chunks encoded from plain samples,
// in-memory chunk series sets and queriers, and iterators that fail on demand.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "labels/labels.h"
#include "labels/matcher.h"
#include "storage/chunk/chunk_data.h"
#include "storage/chunk/xor.h"
#include "storage/series/chunk_series.h"
#include "storage/series/series_sets.h"
#include "storage/storage.h"

namespace xscaler::storage::merge::testing {

using Samples = std::vector<std::pair<int64_t, double>>;

// One chunk holding `samples` (strictly ascending timestamps, non-empty).
inline chunk::ChunkData EncodeChunk(const Samples& samples) {
  chunk::XorEncoder enc;
  for (auto [t, v] : samples) enc.Append(t, v);
  int64_t min_t = enc.MinTime(), max_t = enc.MaxTime();
  auto bytes = std::make_shared<const std::string>(enc.Release());
  return chunk::ChunkData{min_t, max_t, *bytes, bytes};
}

// Samples split into chunks of at most `per_chunk`.
inline std::vector<chunk::ChunkData> EncodeChunks(const Samples& samples, size_t per_chunk) {
  std::vector<chunk::ChunkData> out;
  for (size_t i = 0; i < samples.size(); i += per_chunk) {
    size_t end = std::min(samples.size(), i + per_chunk);
    out.push_back(EncodeChunk(Samples(samples.begin() + i, samples.begin() + end)));
  }
  return out;
}

inline Samples DecodeChunks(std::span<const chunk::ChunkData> chunks, absl::Status* st = nullptr) {
  Samples out;
  for (const auto& c : chunks) {
    chunk::XorDecoder dec(c.bytes);
    while (dec.Next()) out.emplace_back(dec.t(), dec.v());
    if (st != nullptr && !dec.status().ok()) *st = dec.status();
  }
  return out;
}

// Hands out `series` in order (REQUIRES ascending labels), then reports `err`.
class VectorChunkSeriesSet final : public series::ChunkSeriesSet {
 public:
  using Entry = std::pair<labels::Labels, std::vector<chunk::ChunkData>>;
  explicit VectorChunkSeriesSet(std::vector<Entry> series, absl::Status err = absl::OkStatus())
      : series_(std::move(series)), err_(std::move(err)) {}
  bool Next() override {
    if (next_ >= series_.size()) {
      done_ = true;
      return false;
    }
    cur_ = next_++;
    return true;
  }
  const labels::Labels& Labels() const override { return series_[cur_].first; }
  std::span<const chunk::ChunkData> Chunks() const override { return series_[cur_].second; }
  absl::Status Err() const override { return done_ ? err_ : absl::OkStatus(); }

 private:
  std::vector<Entry> series_;
  absl::Status err_;
  size_t next_ = 0;
  size_t cur_ = 0;
  bool done_ = false;
};

// A sample iterator over `samples` that fails with `err` once `fail_after` samples were read
// (never when fail_after < 0).
class FailingIterator final : public SampleIterator {
 public:
  FailingIterator(Samples samples, int fail_after, absl::Status err)
      : samples_(std::move(samples)), fail_after_(fail_after), err_(std::move(err)) {}
  bool Next() override { return Move(pos_ < 0 ? 0 : pos_ + 1); }
  bool Seek(int64_t t) override {
    size_t p = pos_ < 0 ? 0 : static_cast<size_t>(pos_);
    while (p < samples_.size() && samples_[p].first < t) ++p;
    if (pos_ >= 0 && static_cast<size_t>(pos_) == p && p < samples_.size()) return true;
    return Move(static_cast<int>(p));
  }
  std::pair<int64_t, double> At() const override { return samples_[pos_]; }
  absl::Status Err() const override { return failed_ ? err_ : absl::OkStatus(); }

 private:
  bool Move(int p) {
    if (failed_ || (fail_after_ >= 0 && p >= fail_after_)) {
      failed_ = true;
      return false;
    }
    pos_ = p;
    return static_cast<size_t>(p) < samples_.size();
  }
  Samples samples_;
  int fail_after_;
  absl::Status err_;
  int pos_ = -1;
  bool failed_ = false;
};

class FailingSeries final : public Series {
 public:
  FailingSeries(labels::Labels lset, Samples samples, int fail_after, absl::Status err)
      : labels_(std::move(lset)),
        samples_(std::move(samples)),
        fail_after_(fail_after),
        err_(std::move(err)) {}
  const labels::Labels& Labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    return std::make_unique<FailingIterator>(samples_, fail_after_, err_);
  }

 private:
  labels::Labels labels_;
  Samples samples_;
  int fail_after_;
  absl::Status err_;
};

// An in-memory Querier: label set -> samples (in [mint, maxt] are selected), matched by the
// matchers; counts calls so tests can see whether a merge consulted it.
class MapQuerier final : public Querier {
 public:
  explicit MapQuerier(std::map<labels::Labels, Samples> data, int64_t mint = kMinTime,
                      int64_t maxt = kMaxTime)
      : data_(std::move(data)), mint_(mint), maxt_(maxt) {}

  std::unique_ptr<SeriesSet> Select(std::span<const labels::Matcher> matchers) override {
    ++selects;
    if (!select_error.ok()) return series::NewErrorSeriesSet(select_error);
    std::vector<std::unique_ptr<Series>> out;
    for (const auto& [lset, samples] : data_) {
      if (!Matches(lset, matchers)) continue;
      Samples in;
      for (auto s : samples) {
        if (s.first >= mint_ && s.first <= maxt_) in.push_back(s);
      }
      if (in.empty()) continue;
      out.push_back(
          std::make_unique<series::ChunkListSeries>(lset, EncodeChunks(in, 7), mint_, maxt_));
    }
    return series::NewVectorSeriesSet(std::move(out));
  }
  absl::StatusOr<std::vector<std::string>> LabelNames(
      std::span<const labels::Matcher> matchers) override {
    if (!label_error.ok()) return label_error;
    std::set<std::string> names;
    for (const auto& [lset, samples] : data_) {
      if (!Matches(lset, matchers)) continue;
      for (const auto& l : lset) names.insert(l.name);
    }
    return std::vector<std::string>(names.begin(), names.end());
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, std::span<const labels::Matcher> matchers) override {
    if (!label_error.ok()) return label_error;
    std::set<std::string> values;
    for (const auto& [lset, samples] : data_) {
      if (!Matches(lset, matchers) || !lset.Has(name)) continue;
      values.emplace(lset.Get(name));
    }
    return std::vector<std::string>(values.begin(), values.end());
  }

  int selects = 0;
  absl::Status select_error;
  absl::Status label_error;

 private:
  static bool Matches(const labels::Labels& lset, std::span<const labels::Matcher> matchers) {
    for (const auto& m : matchers) {
      if (!m.Matches(lset.Get(m.name()))) return false;
    }
    return true;
  }
  std::map<labels::Labels, Samples> data_;
  int64_t mint_;
  int64_t maxt_;
};

inline labels::Matcher Eq(std::string name, std::string value) {
  return *labels::Matcher::Create(labels::MatchType::kEqual, std::move(name), std::move(value));
}
inline labels::Matcher Re(std::string name, std::string value) {
  return *labels::Matcher::Create(labels::MatchType::kRegexMatch, std::move(name),
                                  std::move(value));
}

}  // namespace xscaler::storage::merge::testing
