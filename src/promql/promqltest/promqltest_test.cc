#include "promql/promqltest/promqltest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

namespace xscaler::promql::promqltest {
namespace {

std::string WriteFile(const std::string& name, const std::string& content) {
  // ctest runs each test in its own process, in parallel: one directory per process.
  auto dir = std::filesystem::temp_directory_path() /
             ("promqltest_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / name;
  std::ofstream(p) << content;
  return p.string();
}

constexpr char kFile[] = R"(load 1m
  metric{a="x"} 0+10x10
  other 1 _ stale 3

eval instant at 5m metric
  metric{a="x"} 50

eval range from 0 to 2m step 1m metric * 2
  {a="x"} 0 20 40

eval instant at 5m metric
  metric{a="x"} 51

eval_fail instant at 0m metric + on(a) group_left metric{b="y"} + (
  expected_fail_regexp unclosed left

eval instant at 2m other
  expect fail
)";

TEST(PromqlTest, ReportsFailuresWithExpressionAndDifference) {
  std::string path = WriteFile("sample.test", kFile);
  std::ostringstream out;
  int rc = RunPromqlTestFiles({path}, "", out);
  EXPECT_NE(rc, 0);
  std::string s = out.str();
  EXPECT_THAT(s, ::testing::HasSubstr("sample.test:11: FAIL metric"));
  EXPECT_THAT(s, ::testing::HasSubstr("expected 51 for metric{a=\"x\"} but got 50"));
  EXPECT_THAT(s, ::testing::HasSubstr("sample.test:17: FAIL other"));
  EXPECT_THAT(s, ::testing::HasSubstr("3 passed, 2 failed"));
}

TEST(PromqlTest, ExclusionsSuppressFailures) {
  std::string path = WriteFile("sample.test", kFile);
  std::string excl = WriteFile("excl.txt",
                               "# comment\nsample.test:11  wrong on purpose\n"
                               "sample.test:17  also wrong\nsample.test:5  passes anyway\n");
  std::ostringstream out;
  EXPECT_EQ(RunPromqlTestFiles({path}, excl, out), 0);
  EXPECT_THAT(out.str(), ::testing::HasSubstr("sample.test:5: passes but is listed"));
  auto st = RunFile(path, LoadExclusions(excl), out);
  EXPECT_EQ(st.passed, 3);
  EXPECT_EQ(st.excluded, 2);
  EXPECT_EQ(st.failed, 0);
}

TEST(PromqlTest, MissingFileFails) {
  std::ostringstream out;
  EXPECT_NE(RunPromqlTestFiles({"/nonexistent/x.test"}, "", out), 0);
}

}  // namespace
}  // namespace xscaler::promql::promqltest
