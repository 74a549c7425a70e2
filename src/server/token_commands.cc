// `xscaler token create|list|revoke`: offline management of the token file. A running server
// re-reads the file within a second, so revocations apply without a restart.
#include <ctime>
#include <filesystem>
#include <iostream>

#include "server/commands.h"
#include "tenant/token_store.h"

namespace xscaler::server {
namespace {

std::unique_ptr<tenant::TokenStore> OpenStore(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  auto store = tenant::TokenStore::Open(data_dir);
  if (!store.ok()) {
    std::cerr << "xscaler: " << store.status().message() << "\n";
    return nullptr;
  }
  return std::move(*store);
}

std::string Permissions(bool read, bool write) {
  if (read && write) return "read, write";
  return read ? "read" : "write";
}

}  // namespace

int RunTokenCreate(const std::string& data_dir, const std::string& tenant, bool read, bool write) {
  auto store = OpenStore(data_dir);
  if (!store) return 1;
  auto token = store->Create(tenant, read, write);
  if (!token.ok()) {
    std::cerr << "xscaler: " << token.status().message() << "\n";
    return 1;
  }
  std::string id;
  for (const auto& t : store->List()) {
    if (t.tenant == tenant) id = t.id;  // List is in creation order; the newest is last
  }
  std::cout << "created token " << id << " for tenant \"" << tenant << "\" ("
            << Permissions(read, write) << "); it is shown only once:\n"
            << *token << "\n";
  return 0;
}

int RunTokenList(const std::string& data_dir) {
  auto store = OpenStore(data_dir);
  if (!store) return 1;
  std::cout << "ID\tTENANT\tPERMISSIONS\tCREATED\tSTATUS\n";
  for (const auto& t : store->List()) {
    char created[32] = "-";
    std::time_t ct = static_cast<std::time_t>(t.created_unix);
    std::tm tm{};
    if (gmtime_r(&ct, &tm) != nullptr) std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::cout << t.id << "\t" << t.tenant << "\t" << Permissions(t.read, t.write) << "\t" << created
              << "\t" << (t.revoked ? "revoked" : "active") << "\n";
  }
  return 0;
}

int RunTokenRevoke(const std::string& data_dir, const std::string& token_id) {
  auto store = OpenStore(data_dir);
  if (!store) return 1;
  auto st = store->Revoke(token_id);
  if (!st.ok()) {
    std::cerr << "xscaler: " << st.message() << "\n";
    return 1;
  }
  std::cout << "revoked token " << token_id << "\n";
  return 0;
}

}  // namespace xscaler::server
