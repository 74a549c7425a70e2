#include "base/civil_date.h"

#include "gtest/gtest.h"

namespace xscaler::base {
namespace {

void ExpectDate(int64_t days, int64_t year, int month, int day) {
  CivilDate d = CivilFromDays(days);
  EXPECT_EQ(d.year, year) << days;
  EXPECT_EQ(d.month, month) << days;
  EXPECT_EQ(d.day, day) << days;
}

TEST(CivilFromDays, KnownDates) {
  ExpectDate(0, 1970, 1, 1);
  ExpectDate(31, 1970, 2, 1);
  ExpectDate(59, 1970, 3, 1);
  ExpectDate(-1, 1969, 12, 31);
  ExpectDate(-719468, 0, 3, 1);
  ExpectDate(10957, 2000, 1, 1);
  ExpectDate(11016, 2000, 2, 29);  // divisible by 400: leap
  ExpectDate(11017, 2000, 3, 1);
  ExpectDate(-25508, 1900, 3, 1);  // 1900-02-28 + 1: divisible by 100, not a leap year
  ExpectDate(20417, 2025, 11, 25);
  static_assert(CivilFromDays(19723).year == 2024);
}

TEST(CivilFromDays, ConsecutiveDaysAdvanceByOneDay) {
  constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  CivilDate prev = CivilFromDays(-800000);
  for (int64_t days = -799999; days < 800000; ++days) {
    CivilDate d = CivilFromDays(days);
    bool leap = (prev.year % 4 == 0 && prev.year % 100 != 0) || prev.year % 400 == 0;
    int len = kDaysIn[prev.month - 1] + (prev.month == 2 && leap ? 1 : 0);
    if (prev.day < len) {
      ASSERT_EQ(d.year, prev.year);
      ASSERT_EQ(d.month, prev.month);
      ASSERT_EQ(d.day, prev.day + 1);
    } else if (prev.month < 12) {
      ASSERT_EQ(d.year, prev.year);
      ASSERT_EQ(d.month, prev.month + 1);
      ASSERT_EQ(d.day, 1);
    } else {
      ASSERT_EQ(d.year, prev.year + 1);
      ASSERT_EQ(d.month, 1);
      ASSERT_EQ(d.day, 1);
    }
    prev = d;
  }
}

}  // namespace
}  // namespace xscaler::base
