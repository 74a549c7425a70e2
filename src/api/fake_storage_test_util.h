// Test doubles: an in-memory storage::Storage (no WAL, no limits) and a tiny series-selector
// parser (`name`, `name{a="b", c=~"d.*"}`, `{a!="b"}`), standing in for the TSDB and
// promql::ParseMetricSelector in handler tests. Not thread-safe; tests only.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "labels/labels.h"
#include "labels/matcher.h"
#include "storage/storage.h"

namespace xscaler::api::testing {

class FakeStorage : public storage::Storage {
 public:
  void Add(const labels::Labels& lset, int64_t t, double v) { data_[lset].emplace_back(t, v); }
  void SetMetadata(std::string name, storage::MetricMetadata md) { md_[name] = std::move(md); }

  // Appends are checked against committed data (older than the newest → OutOfRange) and become
  // visible on Commit, which fails with `commit_error` while `fail_commit` is set.
  std::unique_ptr<storage::Appender> NewAppender() override {
    return std::make_unique<Appender>(this);
  }
  bool fail_commit = false;
  absl::Status commit_error = absl::UnavailableError("disk full");
  size_t NumSamples() const {
    size_t n = 0;
    for (const auto& [l, s] : data_) n += s.size();
    return n;
  }
  std::map<std::string, storage::MetricMetadata> Metadata() const override { return md_; }

  std::unique_ptr<storage::Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    return std::make_unique<Querier>(this, mint, maxt);
  }

 private:
  using Samples = std::vector<std::pair<int64_t, double>>;

  class Appender : public storage::Appender {
   public:
    explicit Appender(FakeStorage* db) : db_(db) {}
    absl::StatusOr<storage::SeriesRef> Append(storage::SeriesRef, const labels::Labels& lset,
                                              int64_t t, double v) override {
      if (lset.MetricName().empty()) return absl::InvalidArgumentError("empty metric name");
      auto it = db_->data_.find(lset);
      if (it != db_->data_.end() && !it->second.empty() && t <= it->second.back().first) {
        return absl::OutOfRangeError("out of order sample");
      }
      staged_.push_back({lset, t, v});
      return 1;
    }
    void UpdateMetadata(const std::string& family, const storage::MetricMetadata& md) override {
      md_[family] = md;
    }
    absl::Status Commit() override {
      if (db_->fail_commit) return db_->commit_error;
      for (auto& s : staged_) db_->data_[s.lset].emplace_back(s.t, s.v);
      for (auto& [k, v] : md_) db_->md_[k] = v;
      staged_.clear();
      return absl::OkStatus();
    }
    void Rollback() override { staged_.clear(); }

   private:
    struct Staged {
      labels::Labels lset;
      int64_t t;
      double v;
    };
    FakeStorage* db_;
    std::vector<Staged> staged_;
    std::map<std::string, storage::MetricMetadata> md_;
  };

  class Iterator : public storage::SampleIterator {
   public:
    explicit Iterator(Samples s) : s_(std::move(s)) {}
    bool Next() override { return ++i_ < s_.size(); }
    bool Seek(int64_t t) override {
      if (i_ == static_cast<size_t>(-1)) i_ = 0;
      while (i_ < s_.size() && s_[i_].first < t) ++i_;
      return i_ < s_.size();
    }
    std::pair<int64_t, double> At() const override { return s_[i_]; }

   private:
    Samples s_;
    size_t i_ = static_cast<size_t>(-1);
  };

  class Series : public storage::Series {
   public:
    Series(labels::Labels l, Samples s) : l_(std::move(l)), s_(std::move(s)) {}
    const labels::Labels& Labels() const override { return l_; }
    std::unique_ptr<storage::SampleIterator> Iterator() const override {
      return std::make_unique<FakeStorage::Iterator>(s_);
    }

   private:
    labels::Labels l_;
    Samples s_;
  };

  class SeriesSet : public storage::SeriesSet {
   public:
    explicit SeriesSet(std::vector<Series> s) : s_(std::move(s)) {}
    bool Next() override { return ++i_ < s_.size(); }
    const storage::Series& At() const override { return s_[i_]; }

   private:
    std::vector<Series> s_;
    size_t i_ = static_cast<size_t>(-1);
  };

  class Querier : public storage::Querier {
   public:
    Querier(FakeStorage* db, int64_t mint, int64_t maxt) : db_(db), mint_(mint), maxt_(maxt) {}
    std::unique_ptr<storage::SeriesSet> Select(std::span<const labels::Matcher> matchers) override {
      std::vector<Series> out;
      for (const auto& [lset, samples] : Matching(matchers)) out.emplace_back(lset, samples);
      return std::make_unique<SeriesSet>(std::move(out));
    }
    absl::StatusOr<std::vector<std::string>> LabelNames(
        std::span<const labels::Matcher> matchers) override {
      std::vector<std::string> out;
      for (const auto& [lset, samples] : Matching(matchers)) {
        for (const auto& l : lset) out.push_back(l.name);
      }
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    }
    absl::StatusOr<std::vector<std::string>> LabelValues(
        const std::string& name, std::span<const labels::Matcher> matchers) override {
      std::vector<std::string> out;
      for (const auto& [lset, samples] : Matching(matchers)) {
        if (lset.Has(name)) out.emplace_back(lset.Get(name));
      }
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    }

   private:
    std::vector<std::pair<labels::Labels, Samples>> Matching(
        std::span<const labels::Matcher> matchers) {
      std::vector<std::pair<labels::Labels, Samples>> out;
      for (const auto& [lset, samples] : db_->data_) {
        bool ok = std::all_of(matchers.begin(), matchers.end(), [&](const labels::Matcher& m) {
          return m.Matches(lset.Get(m.name()));
        });
        if (!ok) continue;
        Samples in_range;
        for (const auto& s : samples) {
          if (s.first >= mint_ && s.first <= maxt_) in_range.push_back(s);
        }
        if (!in_range.empty()) out.emplace_back(lset, std::move(in_range));
      }
      return out;
    }
    FakeStorage* db_;
    int64_t mint_, maxt_;
  };

  std::map<labels::Labels, Samples> data_;
  std::map<std::string, storage::MetricMetadata> md_;
};

// Parses `name`, `name{...}` or `{...}` with =, !=, =~, !~ and double-quoted values (no
// escapes). Enough for handler tests; the real parser is promql's.
inline absl::StatusOr<std::vector<labels::Matcher>> ParseSelectorForTest(std::string_view s) {
  std::vector<labels::Matcher> out;
  auto bad = [&] { return absl::InvalidArgumentError("1:1: parse error: bad selector"); };
  size_t brace = s.find('{');
  std::string_view name = s.substr(0, brace);
  if (!name.empty()) {
    if (!labels::IsValidMetricName(name)) return bad();
    out.push_back(
        *labels::Matcher::Create(labels::MatchType::kEqual, "__name__", std::string(name)));
  }
  if (brace == std::string_view::npos) {
    if (out.empty()) return bad();
    return out;
  }
  if (s.back() != '}') return bad();
  std::string_view body = s.substr(brace + 1, s.size() - brace - 2);
  while (!body.empty()) {
    while (!body.empty() && (body[0] == ' ' || body[0] == ',')) body.remove_prefix(1);
    if (body.empty()) break;
    size_t op = body.find_first_of("=!");
    if (op == std::string_view::npos) return bad();
    std::string lname(body.substr(0, op));
    labels::MatchType type;
    size_t oplen = 2;
    if (body.substr(op, 2) == "=~")
      type = labels::MatchType::kRegexMatch;
    else if (body.substr(op, 2) == "!~")
      type = labels::MatchType::kRegexNoMatch;
    else if (body.substr(op, 2) == "!=")
      type = labels::MatchType::kNotEqual;
    else {
      type = labels::MatchType::kEqual;
      oplen = 1;
    }
    body.remove_prefix(op + oplen);
    if (body.empty() || body[0] != '"') return bad();
    size_t end = body.find('"', 1);
    if (end == std::string_view::npos) return bad();
    auto m = labels::Matcher::Create(type, lname, std::string(body.substr(1, end - 1)));
    if (!m.ok()) return m.status();
    out.push_back(*std::move(m));
    body.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace xscaler::api::testing
