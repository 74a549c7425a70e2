#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tenant/units.h"

namespace xscaler::server {

namespace {

constexpr std::string_view kKnownKeys =
    "data_dir, listen, max_request_bytes, log_level, io_threads, worker_threads, "
    "default_tenant, retention, max_storage_bytes, block_range, compaction_interval, "
    "ooo_window, runtime_config";

absl::StatusOr<int> ParseInt(std::string_view key, const std::string& value) {
  int out = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || ptr != value.data() + value.size() || out < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(key), ": \"", value, "\" is not a non-negative integer"));
  }
  return out;
}

template <typename T>
absl::Status Assign(std::string_view key, absl::StatusOr<T> parsed, T* dst) {
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(key), ": ", parsed.status().message()));
  }
  *dst = *parsed;
  return absl::OkStatus();
}

}  // namespace

absl::Status SetConfigValue(ServerConfig& cfg, std::string_view key, const std::string& value) {
  if (key == "data_dir") {
    cfg.data_dir = value;
  } else if (key == "listen") {
    cfg.listen = value;
  } else if (key == "max_request_bytes") {
    uint64_t bytes = 0;
    if (auto st = Assign(key, tenant::ParseBytes(value), &bytes); !st.ok()) return st;
    cfg.max_request_bytes = static_cast<size_t>(bytes);
  } else if (key == "log_level") {
    cfg.log_level = value;
  } else if (key == "io_threads") {
    return Assign(key, ParseInt(key, value), &cfg.io_threads);
  } else if (key == "worker_threads") {
    return Assign(key, ParseInt(key, value), &cfg.worker_threads);
  } else if (key == "default_tenant") {
    cfg.default_tenant = value;
  } else if (key == "retention") {
    return Assign(key, tenant::ParseDurationMs(value), &cfg.retention_ms);
  } else if (key == "max_storage_bytes") {
    return Assign(key, tenant::ParseBytes(value), &cfg.max_storage_bytes);
  } else if (key == "block_range") {
    return Assign(key, tenant::ParseDurationMs(value), &cfg.block_range_ms);
  } else if (key == "compaction_interval") {
    return Assign(key, tenant::ParseDurationMs(value), &cfg.compaction_interval_ms);
  } else if (key == "ooo_window") {
    return Assign(key, tenant::ParseDurationMs(value), &cfg.ooo_window_ms);
  } else if (key == "runtime_config") {
    cfg.runtime_config = value;
  } else {
    return absl::NotFoundError(absl::StrCat("unknown key \"", std::string(key),
                                            "\" (known: ", std::string(kKnownKeys), ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateConfig(const ServerConfig& cfg) {
  if (cfg.block_range_ms < 1000) {
    return absl::InvalidArgumentError(absl::StrCat("block_range must be at least 1s (got ",
                                                   tenant::FormatDurationMs(cfg.block_range_ms),
                                                   "); the default 2h suits most setups"));
  }
  if (cfg.compaction_interval_ms < 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("compaction_interval must be at least 100ms (got ",
                     tenant::FormatDurationMs(cfg.compaction_interval_ms), ")"));
  }
  if (cfg.retention_ms != 0 && cfg.retention_ms < cfg.block_range_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("retention (", tenant::FormatDurationMs(cfg.retention_ms),
                     ") must be 0 (forever) or at least block_range (",
                     tenant::FormatDurationMs(cfg.block_range_ms), "): whole blocks are deleted"));
  }
  if (cfg.max_request_bytes == 0) {
    return absl::InvalidArgumentError("max_request_bytes must be above 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerConfig> LoadConfigFile(const std::string& path, ServerConfig cfg) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError("cannot read config file " + path + ": " + e.what());
  }
  if (root.IsNull()) return cfg;
  if (!root.IsMap()) {
    return absl::InvalidArgumentError("config file " + path + ": expected a mapping of keys");
  }
  try {
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) {
        return absl::InvalidArgumentError("config file " + path + ": " + key +
                                          " must be a single value");
      }
      absl::Status st = SetConfigValue(cfg, key, kv.second.as<std::string>());
      if (!st.ok()) {
        return absl::InvalidArgumentError("config file " + path + ": " + std::string(st.message()));
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError("config file " + path + ": " + e.what());
  }
  return cfg;
}

absl::Status ParseListenAddress(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError("listen address \"" + listen +
                                      "\" must be HOST:PORT, e.g. 0.0.0.0:8080");
  }
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  const std::string p = listen.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || ptr != p.data() + p.size() || value > 65535) {
    return absl::InvalidArgumentError("listen address \"" + listen + "\" has an invalid port");
  }
  *host = h;
  *port = static_cast<uint16_t>(value);
  return absl::OkStatus();
}

}  // namespace xscaler::server
