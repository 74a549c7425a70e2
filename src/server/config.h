// The server's typed configuration: YAML file keys and command-line flags are the same names
// (`data_dir` ⇔ `--data-dir`), and a flag given on the command line wins over the file. Built
// once at start-up and passed down; nothing reads global flags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace xscaler::server {

struct ServerConfig {
  std::string data_dir = "./data";
  std::string listen = "0.0.0.0:8080";
  // Largest request body accepted, after decompression (OTLP's recommended default).
  size_t max_request_bytes = 64u << 20;
  std::string log_level = "info";
  // Threads for network I/O and for request handling (decode, append, evaluation); 0 = auto.
  int io_threads = 0;
  int worker_threads = 0;
  // Tenant created with a first token when the server starts on an empty token store.
  std::string default_tenant = "demo";

  // Storage (issue 3). Durations in ms, written "15d", "2h", "500ms" in the file and flags.
  // Blocks older than this (relative to the tenant's newest data) are deleted; 0 = forever.
  int64_t retention_ms = 15LL * 24 * 3600 * 1000;
  // Cap on the bytes of blocks across all tenants; the oldest blocks go first; 0 = none.
  // Written "500GB", "1TiB" (or a plain byte count).
  uint64_t max_storage_bytes = 0;
  // Time range of one block cut from the head; compaction builds larger ones from these.
  int64_t block_range_ms = 2LL * 3600 * 1000;
  // How often each tenant's database looks for head ranges to cut and blocks to compact.
  int64_t compaction_interval_ms = 60 * 1000;
  // How far behind a series' newest sample an older sample is still accepted; 0 = none.
  int64_t ooo_window_ms = 0;
  // YAML file of per-tenant overrides (tenant/runtime_config.h), re-read every
  // runtime_config_reload_ms and on SIGHUP; empty = none.
  std::string runtime_config;
  int64_t runtime_config_reload_ms = 10 * 1000;
};

// Applies one config key given as text (a YAML scalar or a flag value) to `cfg`, parsing
// durations and sizes. InvalidArgument naming the key and the value otherwise; NotFound for
// an unknown key.
absl::Status SetConfigValue(ServerConfig& cfg, std::string_view key, const std::string& value);

// Checks values that parse but make no sense together or alone (e.g. a zero block range).
absl::Status ValidateConfig(const ServerConfig& cfg);

// Reads the YAML file at `path` over `base`. Unknown keys are an error that names the key, so
// a typo does not silently fall back to a default.
absl::StatusOr<ServerConfig> LoadConfigFile(const std::string& path, ServerConfig base);

// Splits "host:port" ("[::1]:80" too). Fails on a missing or out-of-range port.
absl::Status ParseListenAddress(const std::string& listen, std::string* host, uint16_t* port);

}  // namespace xscaler::server
