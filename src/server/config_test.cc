#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

namespace xscaler::server {
namespace {

std::string WriteTemp(const std::string& text) {
  auto path = std::filesystem::temp_directory_path() /
              ("xscaler_config_test_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

TEST(ConfigTest, FileOverridesDefaults) {
  auto path = WriteTemp("data_dir: /tmp/x\nlisten: 127.0.0.1:9999\nmax_request_bytes: 1024\n");
  auto cfg = LoadConfigFile(path, ServerConfig{});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->data_dir, "/tmp/x");
  EXPECT_EQ(cfg->listen, "127.0.0.1:9999");
  EXPECT_EQ(cfg->max_request_bytes, 1024u);
  EXPECT_EQ(cfg->log_level, "info");
  std::filesystem::remove(path);
}

TEST(ConfigTest, UnknownKeyIsNamed) {
  auto path = WriteTemp("data-dir: /tmp/x\n");
  auto cfg = LoadConfigFile(path, ServerConfig{});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("unknown key \"data-dir\""), std::string::npos);
  std::filesystem::remove(path);
}

TEST(ConfigTest, BadValueIsAnError) {
  auto path = WriteTemp("max_request_bytes: lots\n");
  EXPECT_FALSE(LoadConfigFile(path, ServerConfig{}).ok());
  std::filesystem::remove(path);
}

TEST(ConfigTest, StorageDefaults) {
  ServerConfig cfg;
  EXPECT_EQ(cfg.retention_ms, 15LL * 24 * 3600 * 1000);
  EXPECT_EQ(cfg.max_storage_bytes, 0u);
  EXPECT_EQ(cfg.block_range_ms, 2LL * 3600 * 1000);
  EXPECT_EQ(cfg.compaction_interval_ms, 60000);
  EXPECT_EQ(cfg.ooo_window_ms, 0);
  EXPECT_EQ(cfg.runtime_config, "");
  EXPECT_TRUE(ValidateConfig(cfg).ok());
}

TEST(ConfigTest, StorageKeysParseUnits) {
  auto path = WriteTemp(
      "retention: 36h\nmax_storage_bytes: 1TiB\nblock_range: 1h\ncompaction_interval: 5s\n"
      "ooo_window: 10m\nruntime_config: /etc/xscaler/overrides.yaml\nmax_request_bytes: 8MiB\n");
  auto cfg = LoadConfigFile(path, ServerConfig{});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->retention_ms, 36LL * 3600 * 1000);
  EXPECT_EQ(cfg->max_storage_bytes, 1ull << 40);
  EXPECT_EQ(cfg->block_range_ms, 3600LL * 1000);
  EXPECT_EQ(cfg->compaction_interval_ms, 5000);
  EXPECT_EQ(cfg->ooo_window_ms, 600000);
  EXPECT_EQ(cfg->runtime_config, "/etc/xscaler/overrides.yaml");
  EXPECT_EQ(cfg->max_request_bytes, 8u << 20);
  EXPECT_TRUE(ValidateConfig(*cfg).ok());
  std::filesystem::remove(path);
}

TEST(ConfigTest, RetentionZeroMeansForeverAndSizesAcceptSi) {
  ServerConfig cfg;
  ASSERT_TRUE(SetConfigValue(cfg, "retention", "0").ok());
  EXPECT_EQ(cfg.retention_ms, 0);
  ASSERT_TRUE(SetConfigValue(cfg, "max_storage_bytes", "500GB").ok());
  EXPECT_EQ(cfg.max_storage_bytes, 500'000'000'000u);
  ASSERT_TRUE(SetConfigValue(cfg, "max_storage_bytes", "0").ok());
  EXPECT_EQ(cfg.max_storage_bytes, 0u);
  EXPECT_TRUE(ValidateConfig(cfg).ok());
}

TEST(ConfigTest, BadStorageValuesNameTheKey) {
  ServerConfig cfg;
  for (auto [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"retention", "15 days"},
                                                        {"retention", "-1d"},
                                                        {"block_range", "2"},
                                                        {"max_storage_bytes", "lots"},
                                                        {"compaction_interval", "1x"},
                                                        {"ooo_window", "1.5h"},
                                                        {"io_threads", "-2"},
                                                        {"worker_threads", "many"}}) {
    absl::Status st = SetConfigValue(cfg, key, value);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << key << "=" << value;
    EXPECT_NE(st.message().find(key), std::string::npos) << st.message();
  }
  EXPECT_EQ(SetConfigValue(cfg, "retention_period", "1d").code(), absl::StatusCode::kNotFound);

  auto path = WriteTemp("block_range: 2 hours\n");
  auto loaded = LoadConfigFile(path, ServerConfig{});
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("block_range"), std::string::npos);
  std::filesystem::remove(path);

  path = WriteTemp("retention: [1d]\n");
  EXPECT_FALSE(LoadConfigFile(path, ServerConfig{}).ok());
  std::filesystem::remove(path);
}

TEST(ConfigTest, ValidateRejectsNonsense) {
  ServerConfig cfg;
  cfg.block_range_ms = 0;
  EXPECT_NE(ValidateConfig(cfg).message().find("block_range"), std::string::npos);
  cfg = ServerConfig{};
  cfg.compaction_interval_ms = 0;
  EXPECT_NE(ValidateConfig(cfg).message().find("compaction_interval"), std::string::npos);
  cfg = ServerConfig{};
  cfg.retention_ms = 60000;  // shorter than one block
  EXPECT_NE(ValidateConfig(cfg).message().find("retention"), std::string::npos);
  cfg.block_range_ms = 1000;
  EXPECT_TRUE(ValidateConfig(cfg).ok());
}

TEST(ConfigTest, ListenAddress) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(ParseListenAddress("127.0.0.1:8080", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(ParseListenAddress("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(ParseListenAddress(":9090", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_FALSE(ParseListenAddress("localhost", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress("a:99999", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress("a:8x", &host, &port).ok());
}

}  // namespace
}  // namespace xscaler::server
