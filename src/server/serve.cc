// `xscaler serve`: wires the components together and runs until SIGINT/SIGTERM; SIGHUP
// re-reads the runtime config (per-tenant overrides), which is also re-read every 10 s.
//
// Start-up order matters for operators: the HTTP server listens first (so /ready can answer
// 503 while WALs replay and /-/healthy answers at once), then every tenant's database is opened
// and its WAL replayed, then the server turns ready.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include "api/routes.h"
#include "http/router.h"
#include "http/server.h"
#include "promql/engine.h"
#include "promql/parser.h"
#include "server/commands.h"
#include "server/tsdb_status.h"
#include "server/version.h"
#include "spdlog/spdlog.h"
#include "tenant/registry.h"
#include "tenant/runtime_config.h"
#include "tenant/tenant_id.h"
#include "tenant/token_store.h"
#include "tenant/units.h"

namespace xscaler::server {
namespace {

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// On an empty token store: one read+write token for the default tenant, printed once as
// ready-to-paste shell lines. Its hash is all that is kept.
void CreateFirstToken(tenant::TokenStore& tokens, const ServerConfig& config) {
  if (!tokens.Empty()) return;
  auto token = tokens.Create(config.default_tenant, /*read=*/true, /*write=*/true);
  if (!token.ok()) {
    spdlog::error("could not create the first token: {}", std::string(token.status().message()));
    return;
  }
  std::cout << "\nFirst start: created tenant \"" << config.default_tenant
            << "\" and a read+write token. It is shown only this once; keep it:\n\n"
            << "export XSCALER_TOKEN=" << *token << "\n"
            << "export XSCALER_TENANT_ID=" << config.default_tenant << "\n\n"
            << "More tokens: xscaler token create --data-dir " << config.data_dir
            << " --tenant <id>\n"
            << std::endl;
}

// Runs `fn` every `interval` on its own thread until destroyed (the destructor waits for a
// run in progress). Used to re-read the token file every second, so `xscaler token revoke` in
// another process takes effect without a restart, and the runtime config every 10 s.
class Ticker {
 public:
  Ticker(std::chrono::milliseconds interval, std::function<void()> fn)
      : thread_([this, interval, fn = std::move(fn)] {
          std::unique_lock lock(mu_);
          while (!stop_) {
            cv_.wait_for(lock, interval);
            if (stop_) break;
            lock.unlock();
            fn();
            lock.lock();
          }
        }) {}
  ~Ticker() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Re-reads the runtime config (per-tenant overrides); logs what changed, and each new error
// once (a broken file is retried every tick but reported only when the problem changes).
class RuntimeConfigWatcher {
 public:
  explicit RuntimeConfigWatcher(tenant::RuntimeConfigReloader* reloader) : reloader_(reloader) {}
  void Reload(std::string_view why) {
    bool changed = false;
    absl::Status st = reloader_->Reload(&changed);
    std::lock_guard lock(mu_);
    if (!st.ok()) {
      if (st.ToString() != last_error_) {
        spdlog::error("runtime config reload ({}) failed, keeping the previous overrides: {}", why,
                      std::string(st.message()));
        last_error_ = st.ToString();
      }
      return;
    }
    last_error_.clear();
    if (changed) {
      spdlog::info("runtime config {} reloaded ({}): {} tenant override(s)", reloader_->path(), why,
                   reloader_->current().overrides.size());
    }
  }

 private:
  tenant::RuntimeConfigReloader* const reloader_;
  std::mutex mu_;
  std::string last_error_;
};

int ThreadsOrAuto(int configured, int fallback) { return configured > 0 ? configured : fallback; }

}  // namespace

int RunServe(const ServerConfig& config) {
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  std::string host;
  uint16_t port = 0;
  if (auto st = ParseListenAddress(config.listen, &host, &port); !st.ok()) {
    std::cerr << "xscaler: " << st.message() << "\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    std::cerr << "xscaler: cannot create data directory " << config.data_dir << ": "
              << ec.message() << "\n";
    return 1;
  }

  // Signals are handled by sigwait in this thread; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reload the runtime config
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto tokens_or = tenant::TokenStore::Open(config.data_dir);
  if (!tokens_or.ok()) {
    std::cerr << "xscaler: " << tokens_or.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<tenant::TokenStore> tokens = std::move(*tokens_or);

  // Per-tenant overrides: a broken file at start-up is fatal (nothing to fall back to); later
  // it only keeps the previous overrides in force.
  tenant::RuntimeConfig runtime;
  if (!config.runtime_config.empty()) {
    auto loaded = tenant::LoadRuntimeConfigFile(config.runtime_config);
    if (!loaded.ok()) {
      std::cerr << "xscaler: " << loaded.status().message() << "\n";
      return 2;
    }
    runtime = *std::move(loaded);
  }
  CreateFirstToken(*tokens, config);

  std::atomic<bool> ready{false};
  std::atomic<tenant::TenantRegistry*> registry_ptr{nullptr};

  // One engine for every tenant: it bounds concurrent queries across the whole server.
  promql::Engine engine(promql::EngineOptions{});

  api::ApiServices services;
  auto auth = std::make_shared<http::AuthConfig>();
  tenant::TokenStore* token_store = tokens.get();
  auth->authenticate = [token_store](std::string_view token) -> std::optional<http::Grant> {
    auto g = token_store->Authenticate(token);
    if (!g) return std::nullopt;
    return http::Grant{g->token_id, g->tenant, g->read, g->write};
  };
  auth->validate_tenant = [](std::string_view id) { return tenant::ValidateTenantId(id); };
  services.auth = auth;
  services.ready = [&ready] { return ready.load(); };
  services.max_body_bytes = config.max_request_bytes;

  services.read.storage = [&registry_ptr](std::string_view id) -> storage::Storage* {
    tenant::TenantRegistry* reg = registry_ptr.load();
    if (reg == nullptr) return nullptr;
    tenant::Tenant* t = reg->Find(id);
    return t != nullptr ? t->db.get() : nullptr;
  };
  services.read.parse_selector = [](std::string_view s) { return promql::ParseMetricSelector(s); };
  services.read.engine = &engine;
  services.read.now_ms = WallClockMs;
  services.read.build.version = kVersion;
  services.read.build.revision = kRevision;

  services.ingest.get_or_create =
      [&registry_ptr](std::string_view id) -> absl::StatusOr<api::IngestTarget> {
    tenant::TenantRegistry* reg = registry_ptr.load();
    if (reg == nullptr) {
      return absl::UnavailableError("xScaler is starting (replaying write-ahead logs); retry shortly");
    }
    auto t = reg->GetOrCreate(id);
    if (!t.ok()) return t.status();
    return api::IngestTarget{(*t)->db.get(), (*t)->otlp.get(), &(*t)->log, &(*t)->rw_refs};
  };
  services.ingest.find_log = [&registry_ptr](std::string_view id) -> tenant::IngestionLog* {
    tenant::TenantRegistry* reg = registry_ptr.load();
    if (reg == nullptr) return nullptr;
    tenant::Tenant* t = reg->Find(id);
    return t != nullptr ? &t->log : nullptr;
  };
  services.ingest.max_decoded_bytes = config.max_request_bytes;

  services.tsdb.status = [&registry_ptr, &config](std::string_view id,
                                                  size_t limit) -> absl::StatusOr<api::TsdbStatus> {
    tenant::TenantRegistry* reg = registry_ptr.load();
    tenant::Tenant* t = reg != nullptr ? reg->Find(id) : nullptr;
    if (t == nullptr) return absl::NotFoundError("tenant has no data");
    api::TsdbStatus st = BuildTsdbStatus(*t->db, limit);
    st.max_storage_bytes = config.max_storage_bytes;
    st.ooo_window_ms = reg->LimitsFor(id).ooo_window_ms;
    return st;
  };
  services.tsdb.flush = [&registry_ptr](std::string_view id) -> absl::StatusOr<size_t> {
    tenant::TenantRegistry* reg = registry_ptr.load();
    tenant::Tenant* t = reg != nullptr ? reg->Find(id) : nullptr;
    if (t == nullptr) return absl::NotFoundError("tenant has no data");
    if (absl::Status st = t->db->Flush(); !st.ok()) return st;
    spdlog::info("tenant \"{}\": head flushed into blocks on request", t->id);
    return t->db->Blocks().size();
  };
  services.ingest.now_ms = WallClockMs;

  http::Router router;
  api::RegisterRoutes(router, services);

  http::ServerOptions opts;
  opts.host = host;
  opts.port = port;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  opts.io_threads = ThreadsOrAuto(config.io_threads, std::min(cores, 4));
  // Workers block on fsync (group-committed) and on evaluation: more than cores pays off.
  opts.worker_threads = ThreadsOrAuto(config.worker_threads, std::max(4, cores * 2));
  opts.max_body_bytes = config.max_request_bytes;
  http::Server server(opts, router);
  if (auto st = server.Start(); !st.ok()) {
    std::cerr << "xscaler: " << st.message() << "\n";
    return 1;
  }
  spdlog::info("xscaler {} listening on {}:{} (data dir {})", kVersion, host, server.port(),
               config.data_dir);

  auto start = std::chrono::steady_clock::now();
  tenant::RegistryOptions ropts;
  ropts.tsdb.block_range_ms = config.block_range_ms;
  ropts.tsdb.compaction_interval_ms = config.compaction_interval_ms;
  ropts.tsdb.retention_ms = config.retention_ms;
  ropts.default_limits.retention_ms = config.retention_ms;
  ropts.default_limits.ooo_window_ms = config.ooo_window_ms;
  ropts.runtime = runtime;
  ropts.max_storage_bytes = config.max_storage_bytes;
  ropts.size_cap_interval_ms = config.compaction_interval_ms;
  spdlog::info("storage: retention {}, block range {}, compaction every {}, size cap {}{}",
               config.retention_ms == 0 ? std::string("forever")
                                        : tenant::FormatDurationMs(config.retention_ms),
               tenant::FormatDurationMs(config.block_range_ms),
               tenant::FormatDurationMs(config.compaction_interval_ms),
               config.max_storage_bytes == 0 ? std::string("none")
                                             : tenant::FormatBytes(config.max_storage_bytes),
               config.runtime_config.empty() ? std::string()
                                             : ", runtime overrides from " + config.runtime_config);
  auto registry = tenant::TenantRegistry::Open(config.data_dir, ropts);
  if (!registry.ok()) {
    spdlog::error("cannot open storage in {}: {}", config.data_dir, std::string(registry.status().message()));
    server.Stop();
    return 1;
  }
  registry_ptr.store(registry->get());
  ready.store(true);
  spdlog::info("ready: {} tenant(s) open in {:.2f} s", (*registry)->List().size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  std::unique_ptr<tenant::RuntimeConfigReloader> runtime_reloader;
  std::unique_ptr<RuntimeConfigWatcher> runtime_watcher;
  std::unique_ptr<Ticker> runtime_ticker;
  if (!config.runtime_config.empty()) {
    tenant::TenantRegistry* reg = registry->get();
    runtime_reloader = std::make_unique<tenant::RuntimeConfigReloader>(
        config.runtime_config,
        [reg](const tenant::RuntimeConfig& c) { reg->ApplyRuntimeConfig(c); });
    runtime_watcher = std::make_unique<RuntimeConfigWatcher>(runtime_reloader.get());
    runtime_watcher->Reload("start");  // the same file as read above: records it as current
    runtime_ticker =
        std::make_unique<Ticker>(std::chrono::milliseconds(config.runtime_config_reload_ms),
                                 [w = runtime_watcher.get()] { w->Reload("periodic"); });
  }

  int signal_number = 0;
  {
    tenant::TokenStore* ts = tokens.get();
    Ticker token_reloader(std::chrono::seconds(1), [ts] {
      if (auto st = ts->ReloadIfChanged(); !st.ok()) {
        spdlog::warn("token file reload failed (keeping the previous tokens): {}",
                     std::string(st.message()));
      }
    });
    for (;;) {
      sigwait(&signals, &signal_number);
      if (signal_number != SIGHUP) break;
      if (runtime_watcher) {
        runtime_watcher->Reload("SIGHUP");
      } else {
        spdlog::info("SIGHUP: no runtime_config file is set, nothing to reload");
      }
    }
    spdlog::info("received signal {}, shutting down", signal_number);
    ready.store(false);
    server.Stop();  // in-flight requests finish (their commits complete) before storage closes
  }
  runtime_ticker.reset();
  registry_ptr.store(nullptr);
  registry->reset();  // closes every tenant's WAL cleanly
  spdlog::info("stopped");
  return 0;
}

}  // namespace xscaler::server
