// xscaler: one binary, subcommands. `xscaler serve` with no arguments is the embedded default.
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

#include "server/commands.h"
#include "server/config.h"
#include "server/version.h"

int main(int argc, char** argv) {
  // Debian's Abseil is built with mutex deadlock detection on; it costs ~6% of ingest CPU
  // (a lock-order graph update per lock) and our lock order is fixed by design.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // glibc gives each thread that allocates concurrently its own heap arena, up to 8 per core,
  // and keeps what a query freed in that arena: with the HTTP workers and the query pool, peak
  // RSS while running the shared harness' dashboard queries at 100k series was 556-586 MiB,
  // 389-408 MiB with one arena per core (VictoriaMetrics: 306); ingest and query times did not
  // move beyond the run-to-run noise. MALLOC_ARENA_MAX still wins if set.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  }
  using xscaler::server::ServerConfig;
  CLI::App app{"xScaler: an OpenTelemetry-native, multi-tenant metrics backend"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "Print the version and exit");

  // serve: every YAML key is also a flag; a flag given explicitly wins over the file.
  ServerConfig flags;
  std::string config_file;
  auto* serve = app.add_subcommand("serve", "Run the server (data in ./data, port 8080 by default)");
  serve->add_option("--config", config_file, "YAML config file (keys as the flags, with _)");
  auto* o_data = serve->add_option("--data-dir", flags.data_dir, "Data directory")->capture_default_str();
  auto* o_listen = serve->add_option("--listen", flags.listen, "HOST:PORT to listen on")->capture_default_str();
  auto* o_max = serve->add_option("--max-request-bytes", flags.max_request_bytes,
                                  "Largest request body after decompression")->capture_default_str();
  auto* o_log = serve->add_option("--log-level", flags.log_level, "trace|debug|info|warn|error")->capture_default_str();
  auto* o_io = serve->add_option("--io-threads", flags.io_threads, "Network threads (0 = auto)");
  auto* o_wk = serve->add_option("--worker-threads", flags.worker_threads, "Request worker threads (0 = auto)");
  auto* o_dt = serve->add_option("--default-tenant", flags.default_tenant,
                                 "Tenant given a first token on an empty data dir")->capture_default_str();
  // Storage keys take text with units ("15d", "500GB"), parsed like the file's values.
  const std::vector<std::pair<std::string, std::string>> storage_flags = {
      {"retention", "Delete blocks older than this (15d default; 0 = keep forever)"},
      {"max-storage-bytes", "Cap on block bytes across all tenants, e.g. 500GB or 1TiB (0 = none)"},
      {"block-range", "Time range of a block cut from the head (2h default)"},
      {"compaction-interval", "How often to cut blocks, compact and apply retention (1m default)"},
      {"ooo-window",
       "Out-of-order window (0 = off); stored, not enforced until out-of-order ingestion lands"},
      {"runtime-config", "YAML file of per-tenant overrides, re-read every 10s and on SIGHUP"},
  };
  std::map<std::string, std::string> storage_values;
  std::vector<std::pair<std::string, CLI::Option*>> storage_opts;
  for (const auto& [name, help] : storage_flags) {
    storage_opts.emplace_back(name, serve->add_option("--" + name, storage_values[name], help));
  }

  auto* token = app.add_subcommand("token", "Manage API tokens (stored as hashes in DATA_DIR/tokens.json)");
  token->require_subcommand(1);
  std::string t_dir = "./data", t_tenant, t_id;
  bool t_read = false, t_write = false;
  auto* create = token->add_subcommand("create", "Create a token; prints it once, as the last line");
  create->add_option("--data-dir", t_dir, "Data directory")->capture_default_str();
  create->add_option("--tenant", t_tenant, "Tenant ID (X-Scope-OrgID)")->required();
  create->add_flag("--read", t_read, "Allow reading (queries)");
  create->add_flag("--write", t_write, "Allow writing (ingest)");
  auto* list = token->add_subcommand("list", "List tokens (ids, tenants, permissions; never secrets)");
  list->add_option("--data-dir", t_dir, "Data directory")->capture_default_str();
  auto* revoke = token->add_subcommand("revoke", "Revoke a token by id; running servers notice within seconds");
  revoke->add_option("--data-dir", t_dir, "Data directory")->capture_default_str();
  revoke->add_option("token-id", t_id, "Token id as shown by `token list`")->required();

  auto* tsdb = app.add_subcommand(
      "tsdb", "Inspect a data dir offline (read-only: safe next to a running server)");
  tsdb->require_subcommand(1);
  std::string db_dir, dump_match = "{__name__=~\".+\"}";
  int64_t dump_min = std::numeric_limits<int64_t>::min();
  int64_t dump_max = std::numeric_limits<int64_t>::max();
  auto* verify = tsdb->add_subcommand(
      "verify", "Check every block, WAL segment and checkpoint; exit 1 if anything is corrupt");
  verify->add_option("dir", db_dir, "A data dir, tenant dir (DATA_DIR/tenants/ID) or block dir")
      ->required();
  auto* dump = tsdb->add_subcommand(
      "dump", "Print samples as `{labels} value timestamp_ms` lines, from blocks and the WAL");
  dump->add_option("dir", db_dir, "A data dir, tenant dir (DATA_DIR/tenants/ID) or block dir")
      ->required();
  dump->add_option("--match", dump_match, "Series selector")->capture_default_str();
  dump->add_option("--min-time", dump_min, "Earliest timestamp, ms since the epoch");
  dump->add_option("--max-time", dump_max, "Latest timestamp (inclusive), ms since the epoch");

  std::vector<std::string> test_files;
  std::string exclusions;
  auto* promqltest = app.add_subcommand("promqltest", "Run Prometheus-format PromQL test files");
  promqltest->add_option("files", test_files, "Test files")->required();
  promqltest->add_option("--exclusions", exclusions, "File listing evals known not to pass yet");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (show_version) {
    std::cout << "xscaler " << xscaler::server::kVersion << " (revision "
              << xscaler::server::kRevision << ")\n";
    return 0;
  }
  if (serve->parsed()) {
    ServerConfig cfg;
    if (!config_file.empty()) {
      auto loaded = xscaler::server::LoadConfigFile(config_file, cfg);
      if (!loaded.ok()) {
        std::cerr << "xscaler: " << loaded.status().message() << "\n";
        return 2;
      }
      cfg = *loaded;
    }
    if (o_data->count()) cfg.data_dir = flags.data_dir;
    if (o_listen->count()) cfg.listen = flags.listen;
    if (o_max->count()) cfg.max_request_bytes = flags.max_request_bytes;
    if (o_log->count()) cfg.log_level = flags.log_level;
    if (o_io->count()) cfg.io_threads = flags.io_threads;
    if (o_wk->count()) cfg.worker_threads = flags.worker_threads;
    if (o_dt->count()) cfg.default_tenant = flags.default_tenant;
    for (const auto& [name, opt] : storage_opts) {
      if (opt->count() == 0) continue;
      std::string key = name;
      std::replace(key.begin(), key.end(), '-', '_');
      if (auto st = xscaler::server::SetConfigValue(cfg, key, storage_values[name]); !st.ok()) {
        std::cerr << "xscaler: " << st.message() << "\n";
        return 2;
      }
    }
    if (auto st = xscaler::server::ValidateConfig(cfg); !st.ok()) {
      std::cerr << "xscaler: " << st.message() << "\n";
      return 2;
    }
    return xscaler::server::RunServe(cfg);
  }
  if (create->parsed()) {
    // Neither flag means both: the common case is one token for an app that writes and reads.
    if (!t_read && !t_write) t_read = t_write = true;
    return xscaler::server::RunTokenCreate(t_dir, t_tenant, t_read, t_write);
  }
  if (list->parsed()) return xscaler::server::RunTokenList(t_dir);
  if (revoke->parsed()) return xscaler::server::RunTokenRevoke(t_dir, t_id);
  if (verify->parsed()) return xscaler::server::RunTsdbVerify(db_dir);
  if (dump->parsed()) return xscaler::server::RunTsdbDump(db_dir, dump_match, dump_min, dump_max);
  if (promqltest->parsed()) return xscaler::server::RunPromqlTest(test_files, exclusions);
  std::cout << app.help();
  return 0;
}
