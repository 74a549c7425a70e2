// Helpers shared by the head and tsdb tests: matcher construction, the head as a Storage and
// reading whole series sets back into plain maps.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "labels/matcher.h"
#include "storage/head/head.h"
#include "storage/storage.h"

namespace xscaler::storage::testing {

using Samples = std::vector<std::pair<int64_t, double>>;

inline labels::Matcher Eq(std::string name, std::string value) {
  return *labels::Matcher::Create(labels::MatchType::kEqual, std::move(name), std::move(value));
}
inline labels::Matcher Re(std::string name, std::string value) {
  return *labels::Matcher::Create(labels::MatchType::kRegexMatch, std::move(name),
                                  std::move(value));
}
inline labels::Matcher Ne(std::string name, std::string value) {
  return *labels::Matcher::Create(labels::MatchType::kNotEqual, std::move(name),
                                  std::move(value));
}
inline labels::Matcher Nre(std::string name, std::string value) {
  return *labels::Matcher::Create(labels::MatchType::kRegexNoMatch, std::move(name),
                                  std::move(value));
}

// The head as a Storage, without a WAL.
class HeadStorage final : public Storage {
 public:
  explicit HeadStorage(head::HeadOptions opts = {}) : head(opts) {}
  std::unique_ptr<Appender> NewAppender() override { return head.NewAppender(); }
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    return head.NewQuerier(mint, maxt);
  }
  std::map<std::string, MetricMetadata> Metadata() const override { return head.Metadata(); }
  head::Head head;
};

// Series text form -> samples, in the order the set returned them (checked to be sorted).
inline std::vector<std::pair<std::string, Samples>> ReadAll(Storage& db,
                                                            std::vector<labels::Matcher> ms,
                                                            int64_t mint = kMinTime,
                                                            int64_t maxt = kMaxTime) {
  auto q = db.NewQuerier(mint, maxt);
  auto set = q->Select(ms);
  std::vector<std::pair<std::string, Samples>> out;
  labels::Labels prev;
  bool first = true;
  while (set->Next()) {
    const Series& s = set->At();
    if (!first) {
      EXPECT_TRUE(prev < s.Labels()) << "series not sorted: " << s.Labels().ToString();
    }
    first = false;
    prev = s.Labels();
    Samples samples;
    auto it = s.Iterator();
    while (it->Next()) samples.push_back(it->At());
    EXPECT_TRUE(it->Err().ok()) << it->Err();
    out.emplace_back(s.Labels().ToString(), std::move(samples));
  }
  EXPECT_TRUE(set->Err().ok()) << set->Err();
  return out;
}

inline std::map<std::string, Samples> ReadMap(Storage& db, std::vector<labels::Matcher> ms,
                                              int64_t mint = kMinTime, int64_t maxt = kMaxTime) {
  auto v = ReadAll(db, std::move(ms), mint, maxt);
  return {v.begin(), v.end()};
}

}  // namespace xscaler::storage::testing
