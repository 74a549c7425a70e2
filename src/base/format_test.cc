#include "base/format.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace xscaler::base {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(FormatFloatF, ShortestDigitsNeverAnExponent) {
  EXPECT_EQ(FormatFloatF(1), "1");
  EXPECT_EQ(FormatFloatF(0.005), "0.005");
  EXPECT_EQ(FormatFloatF(-2.5), "-2.5");
  EXPECT_EQ(FormatFloatF(0), "0");
  EXPECT_EQ(FormatFloatF(-0.0), "-0");
  EXPECT_EQ(FormatFloatF(1e21), "1000000000000000000000");
  EXPECT_EQ(FormatFloatF(1e-7), "0.0000001");
  EXPECT_EQ(FormatFloatF(0.1 + 0.2), "0.30000000000000004");
  // Go pads the shortest digits with zeros; the exact binary value would end in ...611392.
  EXPECT_EQ(FormatFloatF(1e23), "1" + std::string(23, '0'));
  EXPECT_EQ(FormatFloatF(1.5e-9), "0.0000000015");
}

TEST(AppendPrometheusValue, ExponentOutsideTheFixedRange) {
  auto f = [](double v) {
    std::string s;
    AppendPrometheusValue(s, v);
    return s;
  };
  EXPECT_EQ(f(0), "0");
  EXPECT_EQ(f(1e-6), "0.000001");
  EXPECT_EQ(f(9.9e-7), "9.9e-07");
  EXPECT_EQ(f(2.8449465006019636e-16), "2.8449465006019636e-16");
  EXPECT_EQ(f(1e21), "1e+21");
  EXPECT_EQ(f(-1e300), "-1e+300");
  EXPECT_EQ(f(123.25), "123.25");
  EXPECT_EQ(f(kInf), "+Inf");
  EXPECT_EQ(f(kNaN), "NaN");
}

TEST(FormatFloatF, PrometheusSpecials) {
  EXPECT_EQ(FormatFloatF(kInf), "+Inf");
  EXPECT_EQ(FormatFloatF(-kInf), "-Inf");
  EXPECT_EQ(FormatFloatF(kNaN), "NaN");
}

TEST(FormatFloatF, ExtremesFitAndRoundTrip) {
  for (double v : {std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                   std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::min()}) {
    std::string s = FormatFloatF(v);
    EXPECT_EQ(s.find('e'), std::string::npos) << s;
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
  }
  EXPECT_EQ(FormatFloatF(std::numeric_limits<double>::max()).size(), 309u);
}

TEST(AppendFloatF, AppendsToWhatIsThere) {
  std::string out = "v=";
  AppendFloatF(out, 0.25);
  AppendFloatF(out, -kInf);
  EXPECT_EQ(out, "v=0.25-Inf");
}

TEST(FormatFloatG, ExponentFromSixDigitsAndBelowMinusFour) {
  EXPECT_EQ(FormatFloatG(123456), "123456");
  EXPECT_EQ(FormatFloatG(1e6), "1e+06");
  EXPECT_EQ(FormatFloatG(1234567), "1.234567e+06");
  EXPECT_EQ(FormatFloatG(0.0001), "0.0001");
  EXPECT_EQ(FormatFloatG(0.00001), "1e-05");
  EXPECT_EQ(FormatFloatG(-1.5e-5), "-1.5e-05");
  EXPECT_EQ(FormatFloatG(1e100), "1e+100");
  EXPECT_EQ(FormatFloatG(5e-324), "5e-324");
  EXPECT_EQ(FormatFloatG(123.5), "123.5");
  EXPECT_EQ(FormatFloatG(100), "100");
  EXPECT_EQ(FormatFloatG(0.5), "0.5");
}

TEST(FormatFloatG, ZeroAndSpecials) {
  EXPECT_EQ(FormatFloatG(0), "0");
  EXPECT_EQ(FormatFloatG(-0.0), "-0");
  EXPECT_EQ(FormatFloatG(kInf), "+Inf");
  EXPECT_EQ(FormatFloatG(-kInf), "-Inf");
  EXPECT_EQ(FormatFloatG(kNaN), "NaN");
}

TEST(FormatFloatJs, ExponentOnlyBelowOneMillionthOrFromTenToTheTwentyFirst) {
  EXPECT_EQ(FormatFloatJs(1.5), "1.5");
  EXPECT_EQ(FormatFloatJs(1e-6), "0.000001");
  EXPECT_EQ(FormatFloatJs(1e-7), "1e-7");
  EXPECT_EQ(FormatFloatJs(-2.5e-8), "-2.5e-8");
  EXPECT_EQ(FormatFloatJs(1e20), "100000000000000000000");
  EXPECT_EQ(FormatFloatJs(1e21), "1e+21");
  EXPECT_EQ(FormatFloatJs(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(FormatFloatJs(0), "0");
  EXPECT_EQ(FormatFloatJs(1e6), "1000000");
}

TEST(FormatFloatJs, SpecialsWithoutPlusSign) {
  EXPECT_EQ(FormatFloatJs(kInf), "Inf");
  EXPECT_EQ(FormatFloatJs(-kInf), "-Inf");
  EXPECT_EQ(FormatFloatJs(kNaN), "NaN");
}

TEST(FormatFloat, EveryFormRoundTrips) {
  for (double v :
       {0.1, 1.0 / 3, 2.0 / 3 * 1e-9, 123456789.125, 6.02214076e23, 9007199254740993.0}) {
    EXPECT_EQ(std::stod(FormatFloatF(v)), v);
    EXPECT_EQ(std::stod(FormatFloatG(v)), v);
    EXPECT_EQ(std::stod(FormatFloatJs(v)), v);
  }
}

}  // namespace
}  // namespace xscaler::base
