#include "api/params.h"

#include "gtest/gtest.h"

namespace xscaler::api {
namespace {

TEST(ParseTime, FloatSeconds) {
  EXPECT_EQ(*ParseTime("1700000000"), 1700000000000);
  EXPECT_EQ(*ParseTime("1700000000.123"), 1700000000123);
  EXPECT_EQ(*ParseTime("1700000000.1239"), 1700000000124);
  EXPECT_EQ(*ParseTime("+1.5"), 1500);
  EXPECT_EQ(*ParseTime("-1.5"), -1500);
  EXPECT_EQ(*ParseTime("1e3"), 1000000);
  EXPECT_EQ(*ParseTime("0"), 0);
}

TEST(ParseTime, Rfc3339) {
  EXPECT_EQ(*ParseTime("2026-11-25T10:00:00Z"), 1795600800000);
  EXPECT_EQ(*ParseTime("2026-11-25T10:00:00.5Z"), 1795600800500);
  EXPECT_EQ(*ParseTime("2026-11-25T10:00:00.123456789Z"), 1795600800123);
  EXPECT_EQ(*ParseTime("2026-11-25T11:00:00+01:00"), 1795600800000);
  EXPECT_EQ(*ParseTime("2026-11-25T08:30:00-01:30"), 1795600800000);
  EXPECT_EQ(*ParseTime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseTime("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(*ParseTime("-292273086-05-16T16:47:06Z"), kApiMinTime);
  EXPECT_EQ(*ParseTime("292277025-12-04T15:30:07Z"), kApiMaxTime);
}

TEST(ParseTime, Errors) {
  for (const char* bad : {"x", "", "2026-11-25", "2026-11-25T10:00:00", "2026-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T10:00:00.Z",
                          "2026-11-25T10:00:00+0100", "Inf", "NaN", "1e400", "1.5s"}) {
    auto r = ParseTime(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_EQ(ParseTime("x").status().message(), "cannot parse \"x\" to a valid timestamp");
}

TEST(ParseTimeParam, DefaultAndErrorNamesParameter) {
  EXPECT_EQ(*ParseTimeParam("time", std::nullopt, 42), 42);
  EXPECT_EQ(*ParseTimeParam("time", "", 42), 42);
  auto r = ParseTimeParam("time", "x", 0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "invalid parameter \"time\": cannot parse \"x\" to a valid timestamp");
}

TEST(ParseDuration, SecondsAndPrometheusDurations) {
  EXPECT_EQ(*ParseDuration("30"), 30000);
  EXPECT_EQ(*ParseDuration("1.5"), 1500);
  EXPECT_EQ(*ParseDuration("5m"), 300000);
  EXPECT_EQ(*ParseDuration("1h30m"), 5400000);
  EXPECT_EQ(*ParseDuration("500ms"), 500);
  EXPECT_EQ(*ParseDuration("1m30s500ms"), 90500);
  EXPECT_EQ(*ParseDuration("1d"), 86400000);
  EXPECT_FALSE(ParseDuration("5x").ok());
  EXPECT_FALSE(ParseDuration("30s1m").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("m").ok());
}

TEST(ParseLimitParam, Values) {
  EXPECT_EQ(*ParseLimitParam(std::nullopt), 0);
  EXPECT_EQ(*ParseLimitParam("10"), 10);
  EXPECT_FALSE(ParseLimitParam("-1").ok());
  EXPECT_FALSE(ParseLimitParam("ten").ok());
}

}  // namespace
}  // namespace xscaler::api
