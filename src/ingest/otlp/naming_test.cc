#include "ingest/otlp/naming.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace xscaler::ingest::otlp {
namespace {

TEST(MetricName, GuideInstruments) {
  EXPECT_EQ(BuildMetricName("http_requests_total", "1", NameType::kCounter, true),
            "http_requests_total");
  EXPECT_EQ(BuildMetricName("http_request_duration_seconds", "s", NameType::kOther, true),
            "http_request_duration_seconds");
  EXPECT_EQ(BuildMetricName("job_queue_depth", "1", NameType::kOther, true), "job_queue_depth");
}

TEST(MetricName, SuffixesFromPrometheusStrategy) {
  EXPECT_EQ(BuildMetricName("http.server.duration", "s", NameType::kOther, true),
            "http_server_duration_seconds");
  EXPECT_EQ(BuildMetricName("requests.count", "1", NameType::kCounter, true),
            "requests_count_total");
  EXPECT_EQ(BuildMetricName("memory.usage", "By", NameType::kGauge, true), "memory_usage_bytes");
  EXPECT_EQ(BuildMetricName("cpu.utilization", "1", NameType::kGauge, true),
            "cpu_utilization_ratio");
  EXPECT_EQ(BuildMetricName("ratio.of.things", "1", NameType::kGauge, true), "of_things_ratio");
  EXPECT_EQ(BuildMetricName("total.requests", "{request}", NameType::kCounter, true),
            "requests_total");
  EXPECT_EQ(BuildMetricName("net.io", "By/s", NameType::kGauge, true), "net_io_bytes_per_second");
  EXPECT_EQ(BuildMetricName("foo", "widgets/{x}", NameType::kGauge, true), "foo_widgets");
  EXPECT_EQ(BuildMetricName("foo__bar", "", NameType::kGauge, true), "foo_bar");
  EXPECT_EQ(BuildMetricName("2xx.count", "", NameType::kGauge, true), "_2xx_count");
  EXPECT_EQ(BuildMetricName("temp", "Cel", NameType::kGauge, true), "temp_celsius");
  EXPECT_EQ(BuildMetricName("a:b", "", NameType::kGauge, true), "a:b");
}

TEST(MetricName, WithoutSuffixes) {
  EXPECT_EQ(BuildMetricName("http.server.duration", "s", NameType::kOther, false),
            "http_server_duration");
  EXPECT_EQ(BuildMetricName("foo__bar", "", NameType::kCounter, false), "foo__bar");
  EXPECT_EQ(BuildMetricName("1abc", "", NameType::kGauge, false), "_1abc");
}

TEST(MetricName, InvalidNamesAreEmpty) {
  EXPECT_EQ(BuildMetricName("", "", NameType::kGauge, true), "");
  EXPECT_EQ(BuildMetricName("...", "", NameType::kGauge, true), "");
  EXPECT_EQ(BuildMetricName("\xc3\xa9\xc3\xa9", "", NameType::kGauge, false), "");
}

TEST(Unit, Metadata) {
  EXPECT_EQ(UnitMetadata("s"), "seconds");
  EXPECT_EQ(UnitMetadata("1"), "");
  EXPECT_EQ(UnitMetadata("{request}"), "");
  EXPECT_EQ(UnitMetadata("By/s"), "bytes_per_second");
  EXPECT_EQ(UnitMetadata("ms"), "milliseconds");
}

TEST(LabelName, Sanitization) {
  EXPECT_EQ(BuildLabelName("http.method"), "http_method");
  EXPECT_EQ(BuildLabelName("123invalid"), "key_123invalid");
  EXPECT_EQ(BuildLabelName("_private"), "key_private");
  EXPECT_EQ(BuildLabelName("__reserved__"), "__reserved__");
  EXPECT_EQ(BuildLabelName("caf\xc3\xa9"), "caf_");
  EXPECT_EQ(BuildLabelName(""), "");
  EXPECT_EQ(BuildLabelName("..."), "");
  EXPECT_EQ(BuildLabelName("a__b"), "a__b");
}

TEST(Format, LabelFloats) {
  EXPECT_EQ(FormatLabelFloat(0.005), "0.005");
  EXPECT_EQ(FormatLabelFloat(10000), "10000");
  EXPECT_EQ(FormatLabelFloat(0), "0");
  EXPECT_EQ(FormatLabelFloat(0.1), "0.1");
  EXPECT_EQ(FormatLabelFloat(1e-9), "0.000000001");
  EXPECT_EQ(FormatLabelFloat(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatLabelFloat(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(Format, AttributeDoubles) {
  EXPECT_EQ(FormatAttrDouble(1.5), "1.5");
  EXPECT_EQ(FormatAttrDouble(3), "3");
  EXPECT_EQ(FormatAttrDouble(1e-7), "1e-7");
  EXPECT_EQ(FormatAttrDouble(1e21), "1e+21");
  EXPECT_EQ(FormatAttrDouble(123456789012), "123456789012");
  EXPECT_EQ(FormatAttrDouble(std::nan("")), "NaN");
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
}

TEST(Format, JsonString) {
  std::string out;
  AppendJsonString(out, "a\"b\\c\n\x01");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace xscaler::ingest::otlp
