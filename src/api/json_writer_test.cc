#include "api/json_writer.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace xscaler::api {
namespace {

TEST(FormatSampleValue, MatchesGoFormatFloatF) {
  EXPECT_EQ(FormatSampleValue(1), "1");
  EXPECT_EQ(FormatSampleValue(0.005), "0.005");
  EXPECT_EQ(FormatSampleValue(1000000), "1000000");
  // Prometheus switches to an exponent below 1e-6 and from 1e21 on (MarshalFloat).
  EXPECT_EQ(FormatSampleValue(1e21), "1e+21");
  EXPECT_EQ(FormatSampleValue(1e-7), "1e-07");
  EXPECT_EQ(FormatSampleValue(1.6e-8), "1.6e-08");
  EXPECT_EQ(FormatSampleValue(-1.375646946e21), "-1.375646946e+21");
  EXPECT_EQ(FormatSampleValue(1e-6), "0.000001");
  EXPECT_EQ(FormatSampleValue(9.99e20), "999000000000000000000");
  EXPECT_EQ(FormatSampleValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatSampleValue(-2.5), "-2.5");
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(-0.0), "-0");
  EXPECT_EQ(FormatSampleValue(123456789.125), "123456789.125");
}

TEST(FormatSampleValue, Specials) {
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::denorm_min()), "5e-324");
}

TEST(AppendTimestamp, LikePrometheusMarshalTimestamp) {
  auto ts = [](int64_t t) {
    std::string s;
    AppendTimestamp(s, t);
    return s;
  };
  EXPECT_EQ(ts(1700000000123), "1700000000.123");
  EXPECT_EQ(ts(1700000000000), "1700000000");
  EXPECT_EQ(ts(1700000000005), "1700000000.005");
  EXPECT_EQ(ts(1700000000050), "1700000000.050");
  EXPECT_EQ(ts(0), "0");
  EXPECT_EQ(ts(-1500), "-1.500");
}

TEST(AppendJsonString, EscapesLikeGo) {
  auto js = [](std::string_view s) {
    std::string out;
    AppendJsonString(out, s);
    return out;
  };
  EXPECT_EQ(js("plain"), "\"plain\"");
  EXPECT_EQ(js("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(js("l1\nl2\t\r"), "\"l1\\nl2\\t\\r\"");
  EXPECT_EQ(js(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(js("<a&b>"), "\"<a&b>\"");
  EXPECT_EQ(js("h\xc3\xa9llo \xe2\x82\xac"), "\"h\xc3\xa9llo \xe2\x82\xac\"");
  EXPECT_EQ(js("bad\xff"
               "end"),
            "\"bad\\ufffdend\"");
  EXPECT_EQ(js("\xe2\x80\xa8"), "\"\\u2028\"");
  EXPECT_EQ(js("trunc\xe2\x82"), "\"trunc\\ufffd\\ufffd\"");
  EXPECT_EQ(js(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
}

TEST(JsonWriter, CommasAndNesting) {
  JsonWriter w;
  w.BeginObject();
  w.Key("resultType");
  w.String("vector");
  w.Key("result");
  w.BeginArray();
  for (int i = 0; i < 2; ++i) {
    w.BeginObject();
    w.Key("metric");
    w.BeginObject();
    w.EndObject();
    w.Key("value");
    w.BeginArray();
    w.Timestamp(1000 + i);
    w.SampleValue(i + 0.5);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("n");
  w.Int(-3);
  w.Key("b");
  w.Bool(true);
  w.Key("z");
  w.Null();
  w.EndObject();
  EXPECT_EQ(w.str(),
            "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"0.5\"]},"
            "{\"metric\":{},\"value\":[1.001,\"1.5\"]}],\"n\":-3,\"b\":true,\"z\":null}");
}

}  // namespace
}  // namespace xscaler::api
