// The server's typed configuration: YAML file keys and command-line flags are the same names
// (`data_dir` ⇔ `--data-dir`), and a flag given on the command line wins over the file. Built
// once at start-up and passed down; nothing reads global flags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

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
};

// Reads the YAML file at `path` over `base`. Unknown keys are an error that names the key, so
// a typo does not silently fall back to a default.
absl::StatusOr<ServerConfig> LoadConfigFile(const std::string& path, ServerConfig base);

// Splits "host:port" ("[::1]:80" too). Fails on a missing or out-of-range port.
absl::Status ParseListenAddress(const std::string& listen, std::string* host, uint16_t* port);

}  // namespace xscaler::server
