#include "tenant/runtime_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace xscaler::tenant {
namespace {

constexpr int64_t kDay = 24LL * 3600 * 1000;

TEST(RuntimeConfigTest, ParsesMimirLayout) {
  auto cfg = ParseRuntimeConfig(
      "overrides:\n"
      "  tenant-a:\n"
      "    retention: 30d\n"
      "    ooo_window: 10m\n"
      "  tenant-b:\n"
      "    retention: 0\n"
      "  tenant-c: {}\n",
      "test.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->overrides.size(), 3u);
  TenantLimits defaults{.retention_ms = 15 * kDay, .ooo_window_ms = 0};
  EXPECT_EQ(cfg->LimitsFor("tenant-a", defaults),
            (TenantLimits{.retention_ms = 30 * kDay, .ooo_window_ms = 600000}));
  EXPECT_EQ(cfg->LimitsFor("tenant-b", defaults),
            (TenantLimits{.retention_ms = 0, .ooo_window_ms = 0}));
  EXPECT_EQ(cfg->LimitsFor("tenant-c", defaults), defaults);
  EXPECT_EQ(cfg->LimitsFor("nobody", defaults), defaults);
}

TEST(RuntimeConfigTest, EmptyDocumentHasNoOverrides) {
  for (const char* text : {"", "# nothing\n", "overrides:\n"}) {
    auto cfg = ParseRuntimeConfig(text, "x");
    ASSERT_TRUE(cfg.ok()) << text << ": " << cfg.status();
    EXPECT_TRUE(cfg->overrides.empty());
  }
}

TEST(RuntimeConfigTest, ErrorsNameTheProblem) {
  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"override:\n  a: {retention: 1d}\n", "unknown key \"override\""},
      {"overrides:\n  a:\n    retension: 1d\n", "unknown key \"retension\""},
      {"overrides:\n  a:\n    retention: 10 days\n", "tenant \"a\": retention"},
      {"overrides:\n  a:\n    retention: [1d]\n", "must be a duration"},
      {"overrides:\n  \"bad/tenant\":\n    retention: 1d\n", "bad/tenant"},
      {"overrides: [a, b]\n", "must map tenant IDs"},
      {"overrides:\n  a: 5\n", "must be a mapping"},
      {"- 1\n- 2\n", "expected a mapping"},
      {"overrides: {a: {retention: 1d}\n", "runtime config f.yaml"},
  };
  for (const Case& c : cases) {
    auto cfg = ParseRuntimeConfig(c.yaml, "f.yaml");
    ASSERT_FALSE(cfg.ok()) << c.yaml;
    EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(cfg.status().message().find(c.want), std::string::npos)
        << c.yaml << " -> " << cfg.status().message();
  }
}

class ReloaderTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_ = (std::filesystem::temp_directory_path() /
                       ("xscaler_runtime_config_" + std::to_string(::getpid()) + ".yaml"))
                          .string();
};

TEST_F(ReloaderTest, AppliesChangesAndKeepsThePreviousConfigOnErrors) {
  std::vector<RuntimeConfig> applied;
  RuntimeConfigReloader r(path_, [&](const RuntimeConfig& c) { applied.push_back(c); });
  bool changed = false;
  EXPECT_FALSE(r.Reload(&changed).ok());  // missing file
  EXPECT_TRUE(applied.empty());

  Write("overrides:\n  a:\n    retention: 1d\n");
  ASSERT_TRUE(r.Reload(&changed).ok());
  EXPECT_TRUE(changed);
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].overrides.at("a").retention_ms, kDay);

  ASSERT_TRUE(r.Reload(&changed).ok());  // unchanged: not applied again
  EXPECT_FALSE(changed);
  EXPECT_EQ(applied.size(), 1u);

  Write("overrides:\n  a:\n    retention: 1 day\n");
  absl::Status st = r.Reload(&changed);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(path_), std::string::npos) << st;
  EXPECT_FALSE(changed);
  EXPECT_EQ(applied.size(), 1u);
  EXPECT_EQ(r.current().overrides.at("a").retention_ms, kDay);

  Write("overrides:\n  a:\n    retention: 2d\n");
  ASSERT_TRUE(r.Reload(&changed).ok());
  EXPECT_TRUE(changed);
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[1].overrides.at("a").retention_ms, 2 * kDay);

  Write("");  // removing every override is a change too
  ASSERT_TRUE(r.Reload(&changed).ok());
  EXPECT_TRUE(changed);
  EXPECT_TRUE(applied.back().overrides.empty());
}

}  // namespace
}  // namespace xscaler::tenant
