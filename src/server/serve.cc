// `xscaler serve`: wires the components together and runs until SIGINT/SIGTERM.
//
// Start-up order matters for operators: the HTTP server listens first (so /ready can answer
// 503 while WALs replay and /-/healthy answers at once), then every tenant's database is opened
// and its WAL replayed, then the server turns ready.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "api/routes.h"
#include "http/router.h"
#include "http/server.h"
#include "promql/engine.h"
#include "promql/parser.h"
#include "server/commands.h"
#include "server/version.h"
#include "spdlog/spdlog.h"
#include "tenant/registry.h"
#include "tenant/tenant_id.h"
#include "tenant/token_store.h"

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

// Re-reads the token file every second so `xscaler token revoke` in another process takes
// effect on the running server without a restart.
class TokenReloader {
 public:
  explicit TokenReloader(tenant::TokenStore* tokens)
      : thread_([this, tokens] {
          std::unique_lock lock(mu_);
          while (!stop_) {
            cv_.wait_for(lock, std::chrono::seconds(1));
            if (stop_) break;
            if (auto st = tokens->ReloadIfChanged(); !st.ok()) {
              spdlog::warn("token file reload failed (keeping the previous tokens): {}",
                           std::string(st.message()));
            }
          }
        }) {}
  ~TokenReloader() {
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
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto tokens_or = tenant::TokenStore::Open(config.data_dir);
  if (!tokens_or.ok()) {
    std::cerr << "xscaler: " << tokens_or.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<tenant::TokenStore> tokens = std::move(*tokens_or);
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
    return api::IngestTarget{(*t)->db.get(), (*t)->otlp.get(), &(*t)->log};
  };
  services.ingest.find_log = [&registry_ptr](std::string_view id) -> tenant::IngestionLog* {
    tenant::TenantRegistry* reg = registry_ptr.load();
    if (reg == nullptr) return nullptr;
    tenant::Tenant* t = reg->Find(id);
    return t != nullptr ? &t->log : nullptr;
  };
  services.ingest.max_decoded_bytes = config.max_request_bytes;
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
  auto registry = tenant::TenantRegistry::Open(config.data_dir, tenant::RegistryOptions{});
  if (!registry.ok()) {
    spdlog::error("cannot open storage in {}: {}", config.data_dir, std::string(registry.status().message()));
    server.Stop();
    return 1;
  }
  registry_ptr.store(registry->get());
  ready.store(true);
  spdlog::info("ready: {} tenant(s) open in {:.2f} s", (*registry)->List().size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  int signal_number = 0;
  {
    TokenReloader reloader(tokens.get());
    sigwait(&signals, &signal_number);
    spdlog::info("received signal {}, shutting down", signal_number);
    ready.store(false);
    server.Stop();  // in-flight requests finish (their commits complete) before storage closes
  }
  registry_ptr.store(nullptr);
  registry->reset();  // closes every tenant's WAL cleanly
  spdlog::info("stopped");
  return 0;
}

}  // namespace xscaler::server
