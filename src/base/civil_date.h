// Calendar dates (proleptic Gregorian, UTC) from day counts since 1970-01-01, with Howard
// Hinnant's civil_from_days algorithm: exact for any day count whose year fits in int64, and
// correct for negative days (dates before 1970). Pure; thread-safe.
#pragma once

#include <cstdint>

namespace xscaler::base {

struct CivilDate {
  int64_t year;
  int month;  // 1-12
  int day;    // 1-31
};

// REQUIRES: |days| < 2^62 (any day count derived from int64 seconds or milliseconds is).
constexpr CivilDate CivilFromDays(int64_t days) {
  int64_t z = days + 719468;  // days since 0000-03-01, so leap days end each 4-year cycle
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                       // [0, 146096]
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  int64_t mp = (5 * doy + 2) / 153;                                     // March = 0
  int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

}  // namespace xscaler::base
