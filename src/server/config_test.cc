#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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
