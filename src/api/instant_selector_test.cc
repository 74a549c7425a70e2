#include "api/instant_selector.h"

#include "api/fake_storage_test_util.h"
#include "gtest/gtest.h"

namespace xscaler::api {
namespace {

using testing::FakeStorage;
using testing::ParseSelectorForTest;

constexpr int64_t kT = 1'700'000'000'000;

TEST(EvalInstantSelector, NewestSampleInLookbackWindow) {
  FakeStorage db;
  labels::Labels a{{"__name__", "up"}, {"job", "a"}};
  labels::Labels b{{"__name__", "up"}, {"job", "b"}};
  labels::Labels old{{"__name__", "up"}, {"job", "old"}};
  db.Add(a, kT - 60'000, 1);
  db.Add(a, kT - 30'000, 2);
  db.Add(a, kT + 10'000, 99);    // after t: ignored
  db.Add(b, kT, 7);              // exactly at t: included
  db.Add(old, kT - 300'000, 5);  // exactly t-5m: outside the left-open window
  auto r = EvalInstantSelector(db, *ParseSelectorForTest("up"), kT);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].metric, a);
  EXPECT_EQ((*r)[0].value, 2);
  EXPECT_EQ((*r)[0].t_ms, kT - 30'000);
  EXPECT_EQ((*r)[1].metric, b);
  EXPECT_EQ((*r)[1].value, 7);
}

TEST(EvalInstantSelector, StaleMarkerHidesSeries) {
  FakeStorage db;
  labels::Labels a{{"__name__", "up"}, {"job", "a"}};
  db.Add(a, kT - 60'000, 1);
  db.Add(a, kT - 30'000, storage::StaleNaN());
  auto r = EvalInstantSelector(db, *ParseSelectorForTest("up"), kT);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  // Before the marker the series is visible.
  auto earlier = EvalInstantSelector(db, *ParseSelectorForTest("up"), kT - 40'000);
  ASSERT_TRUE(earlier.ok());
  EXPECT_EQ(earlier->size(), 1u);
}

TEST(EvalInstantSelector, AllFourMatcherTypes) {
  FakeStorage db;
  for (std::string job : {"api", "web", "db"}) {
    db.Add(labels::Labels{{"__name__", "x"}, {"job", job}}, kT, 1);
  }
  auto count = [&](std::string_view sel) {
    auto r = EvalInstantSelector(db, *ParseSelectorForTest(sel), kT);
    return r.ok() ? static_cast<int>(r->size()) : -1;
  };
  EXPECT_EQ(count("x{job=\"api\"}"), 1);
  EXPECT_EQ(count("x{job!=\"api\"}"), 2);
  EXPECT_EQ(count("x{job=~\"a.*|w.*\"}"), 2);
  EXPECT_EQ(count("x{job!~\"a.*\"}"), 2);
  EXPECT_EQ(count("{job=~\".+\"}"), 3);
}

TEST(EvalInstantSelector, RejectsOnlyEmptyMatchers) {
  FakeStorage db;
  auto r = EvalInstantSelector(db, *ParseSelectorForTest("{job=~\".*\"}"), kT);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("at least one non-empty matcher"), std::string::npos);
}

}  // namespace
}  // namespace xscaler::api
