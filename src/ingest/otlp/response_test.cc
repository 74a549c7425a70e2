#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/otlp/ingester.h"
#include "metrics.pb.h"

namespace xscaler::ingest::otlp {
namespace {

namespace pb = ::xscaler::test::otlp;

TEST(Response, FullSuccessIsEmptyMessage) {
  IngestReport report;
  report.AddAccepted(10);
  EXPECT_EQ(EncodeExportResponse(Encoding::kProtobuf, report), "");
  EXPECT_EQ(EncodeExportResponse(Encoding::kJson, report), "{}");
  pb::ExportMetricsServiceResponse resp;
  ASSERT_TRUE(resp.ParseFromString(EncodeExportResponse(Encoding::kProtobuf, report)));
  EXPECT_FALSE(resp.has_partial_success());
}

TEST(Response, PartialSuccessDecodesWithLibprotobuf) {
  IngestReport report;
  report.Reject("http_requests_total", "out of order or too old sample: x", 3);
  pb::ExportMetricsServiceResponse resp;
  ASSERT_TRUE(resp.ParseFromString(EncodeExportResponse(Encoding::kProtobuf, report)));
  ASSERT_TRUE(resp.has_partial_success());
  EXPECT_EQ(resp.partial_success().rejected_data_points(), 3);
  EXPECT_EQ(resp.partial_success().error_message(), report.Summary());
  EXPECT_EQ(EncodeExportResponse(Encoding::kJson, report),
            "{\"partialSuccess\":{\"rejectedDataPoints\":\"3\",\"errorMessage\":\"rejected 3 data "
            "points: metric \\\"http_requests_total\\\": out of order or too old sample: x (3 "
            "points)\"}}");
}

TEST(Response, WarningOnlyHasZeroRejected) {
  IngestReport report;
  report.Warn("metric \"x\" has no data points; skipped");
  pb::ExportMetricsServiceResponse resp;
  ASSERT_TRUE(resp.ParseFromString(EncodeExportResponse(Encoding::kProtobuf, report)));
  ASSERT_TRUE(resp.has_partial_success());
  EXPECT_EQ(resp.partial_success().rejected_data_points(), 0);
  EXPECT_EQ(resp.partial_success().error_message(), "metric \"x\" has no data points; skipped");
  EXPECT_EQ(EncodeExportResponse(Encoding::kJson, report),
            "{\"partialSuccess\":{\"errorMessage\":\"metric \\\"x\\\" has no data points; "
            "skipped\"}}");
}

TEST(Response, InvalidUtf8IsReplacedSoClientsCanParse) {
  IngestReport report;
  report.Reject("bad\xff", "reason", 1);
  pb::ExportMetricsServiceResponse resp;
  ASSERT_TRUE(resp.ParseFromString(EncodeExportResponse(Encoding::kProtobuf, report)));
  EXPECT_THAT(resp.partial_success().error_message(), ::testing::HasSubstr("bad\xEF\xBF\xBD"));
}

TEST(Response, Status) {
  pb::Status st;
  ASSERT_TRUE(st.ParseFromString(EncodeStatus(Encoding::kProtobuf, 3, "bad body")));
  EXPECT_EQ(st.code(), 3);
  EXPECT_EQ(st.message(), "bad body");
  EXPECT_EQ(EncodeStatus(Encoding::kJson, 3, "bad \"body\""),
            "{\"code\":3,\"message\":\"bad \\\"body\\\"\"}");
}

}  // namespace
}  // namespace xscaler::ingest::otlp
