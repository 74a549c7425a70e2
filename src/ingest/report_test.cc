#include "ingest/report.h"

#include <gtest/gtest.h>

namespace xscaler::ingest {
namespace {

TEST(IngestReportTest, MergesEqualRejections) {
  IngestReport r;
  r.Reject("a", "out of order sample");
  r.Reject("a", "out of order sample", 2);
  r.Reject("b", "bad");
  r.AddAccepted(5);
  EXPECT_EQ(r.rejected_points(), 4);
  EXPECT_EQ(r.accepted_samples(), 5);
  ASSERT_EQ(r.rejections().size(), 2u);
  EXPECT_EQ(r.rejections()[0].points, 3);
  EXPECT_EQ(r.Summary(),
            "rejected 4 data points: metric \"a\": out of order sample (3 points); metric \"b\": bad");
}

TEST(IngestReportTest, SummaryIsBounded) {
  IngestReport r;
  for (int i = 0; i < 1000; ++i) r.Reject("metric_" + std::to_string(i), "some long reason here");
  std::string s = r.Summary(200);
  EXPECT_LE(s.size(), 200u);
  EXPECT_NE(s.find("(truncated)"), std::string::npos);
}

TEST(IngestReportTest, WarningsOnly) {
  IngestReport r;
  r.Warn("note");
  r.Warn("note");
  EXPECT_EQ(r.Summary(), "note");
  EXPECT_EQ(r.rejected_points(), 0);
}

}  // namespace
}  // namespace xscaler::ingest
