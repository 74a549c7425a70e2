#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>

#include "absl/status/status.h"

namespace xscaler::server {

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
      const YAML::Node& v = kv.second;
      if (key == "data_dir") {
        cfg.data_dir = v.as<std::string>();
      } else if (key == "listen") {
        cfg.listen = v.as<std::string>();
      } else if (key == "max_request_bytes") {
        cfg.max_request_bytes = v.as<size_t>();
      } else if (key == "log_level") {
        cfg.log_level = v.as<std::string>();
      } else if (key == "io_threads") {
        cfg.io_threads = v.as<int>();
      } else if (key == "worker_threads") {
        cfg.worker_threads = v.as<int>();
      } else if (key == "default_tenant") {
        cfg.default_tenant = v.as<std::string>();
      } else {
        return absl::InvalidArgumentError("config file " + path + ": unknown key \"" + key +
                                          "\" (known: data_dir, listen, max_request_bytes, "
                                          "log_level, io_threads, worker_threads, default_tenant)");
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
