#include "tenant/units.h"

#include <gtest/gtest.h>

namespace xscaler::tenant {
namespace {

TEST(ParseDurationTest, Units) {
  EXPECT_EQ(*ParseDurationMs("15d"), 15LL * 24 * 3600 * 1000);
  EXPECT_EQ(*ParseDurationMs("36h"), 36LL * 3600 * 1000);
  EXPECT_EQ(*ParseDurationMs("1h30m"), 90LL * 60 * 1000);
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("1m1s1ms"), 61001);
  EXPECT_EQ(*ParseDurationMs("2w"), 14LL * 24 * 3600 * 1000);
  EXPECT_EQ(*ParseDurationMs("1y"), 365LL * 24 * 3600 * 1000);
  EXPECT_EQ(*ParseDurationMs("0"), 0);
  EXPECT_EQ(*ParseDurationMs("0s"), 0);
  EXPECT_EQ(*ParseDurationMs(" 10m "), 600000);
}

TEST(ParseDurationTest, Errors) {
  for (const char* bad : {"", "15", "d", "-1h", "1.5h", "15x", "30m1h", "1h1h", "1ms1s",
                          "99999999999999999999d", "300000000y"}) {
    auto r = ParseDurationMs(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(std::string("\"") + bad), std::string::npos)
          << r.status().message();
    }
  }
  EXPECT_NE(ParseDurationMs("-1h").status().message().find("negative"), std::string::npos);
  EXPECT_NE(ParseDurationMs("15").status().message().find("missing unit"), std::string::npos);
}

TEST(FormatDurationTest, RoundTrips) {
  EXPECT_EQ(FormatDurationMs(0), "0s");
  EXPECT_EQ(FormatDurationMs(15LL * 24 * 3600 * 1000), "15d");
  EXPECT_EQ(FormatDurationMs(90LL * 60 * 1000), "1h30m");
  EXPECT_EQ(FormatDurationMs(1500), "1s500ms");
  for (int64_t ms : {1LL, 999LL, 61001LL, 86400000LL * 400 + 7}) {
    EXPECT_EQ(*ParseDurationMs(FormatDurationMs(ms)), ms) << ms;
  }
}

TEST(ParseBytesTest, Units) {
  EXPECT_EQ(*ParseBytes("0"), 0u);
  EXPECT_EQ(*ParseBytes("1024"), 1024u);
  EXPECT_EQ(*ParseBytes("1024B"), 1024u);
  EXPECT_EQ(*ParseBytes("500GB"), 500'000'000'000u);
  EXPECT_EQ(*ParseBytes("500gb"), 500'000'000'000u);
  EXPECT_EQ(*ParseBytes("500G"), 500'000'000'000u);
  EXPECT_EQ(*ParseBytes("1TiB"), 1ull << 40);
  EXPECT_EQ(*ParseBytes("1.5KiB"), 1536u);
  EXPECT_EQ(*ParseBytes("2 MiB"), 2u << 20);
  EXPECT_EQ(*ParseBytes("16PiB"), 16ull << 50);
}

TEST(ParseBytesTest, Errors) {
  for (const char* bad :
       {"", "GB", "-1GB", "1.2.3GB", "10XB", "1.5", ".5GB", "99999PiB", "20000000000000000000"}) {
    EXPECT_FALSE(ParseBytes(bad).ok()) << bad;
  }
  EXPECT_NE(ParseBytes("10XB").status().message().find("\"10XB\""), std::string::npos);
}

TEST(FormatBytesTest, Human) {
  EXPECT_EQ(FormatBytes(10), "10 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(1ull << 40), "1.0 TiB");
}

}  // namespace
}  // namespace xscaler::tenant
