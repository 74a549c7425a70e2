// The `xscaler` subcommands. Each returns the process exit code; none throws.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/config.h"

namespace xscaler::server {

// Runs the server until SIGINT/SIGTERM.
int RunServe(const ServerConfig& config);

int RunTokenCreate(const std::string& data_dir, const std::string& tenant, bool read, bool write);
int RunTokenList(const std::string& data_dir);
int RunTokenRevoke(const std::string& data_dir, const std::string& token_id);

// `xscaler tsdb verify DIR`: DIR is a data dir, a tenant dir, a block dir or a wal dir. Checks
// every block deeply (meta.json, index, every chunk CRC), every WAL segment and checkpoint
// (every frame's CRC, every record decodes); one line per item; 1 if anything is corrupt.
int RunTsdbVerify(const std::string& dir);
// `xscaler tsdb dump DIR`: every sample matching `match` in [min_t, max_t] as promtool prints
// them (`{labels} value timestamp_ms`), from blocks and the WAL, opened read-only.
int RunTsdbDump(const std::string& dir, const std::string& match, int64_t min_t, int64_t max_t);

// Runs Prometheus-format PromQL test files; exit 1 if an eval outside the exclusions fails.
int RunPromqlTest(const std::vector<std::string>& files, const std::string& exclusions);

}  // namespace xscaler::server
