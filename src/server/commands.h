// The `xscaler` subcommands. Each returns the process exit code; none throws.
#pragma once

#include <string>
#include <vector>

#include "server/config.h"

namespace xscaler::server {

// Runs the server until SIGINT/SIGTERM.
int RunServe(const ServerConfig& config);

int RunTokenCreate(const std::string& data_dir, const std::string& tenant, bool read, bool write);
int RunTokenList(const std::string& data_dir);
int RunTokenRevoke(const std::string& data_dir, const std::string& token_id);

// Runs Prometheus-format PromQL test files; exit 1 if an eval outside the exclusions fails.
int RunPromqlTest(const std::vector<std::string>& files, const std::string& exclusions);

}  // namespace xscaler::server
