// API tokens: which bearer token may read and/or write which tenant.
//
// Tokens are stored only as SHA-256 hashes, in DATA_DIR/tokens.json, which is always replaced
// atomically (temp file, fsync, rename, fsync dir) so a crash leaves the old or the new file,
// never a torn one. The plaintext (`xs_` + 40 base62 characters from RAND_bytes, 238 bits) is
// returned once by Create and never stored. Each token also has a public, random id
// (`tok_` + 8 hex) that list/revoke show; it reveals nothing about the secret.
//
// File format (version 1; unknown top-level keys are ignored):
//   {"version": 1, "tokens": [{"id": "tok_ab12cd34", "tenant": "demo", "read": true,
//     "write": true, "created_unix": 1700000000, "revoked": false,
//     "sha256": "<64 lowercase hex digits: SHA-256 of the whole token text, xs_ included>"}]}
//
// Several processes may share one data dir (the server, and `xscaler token create/revoke`):
// mutations take an flock on DATA_DIR/tokens.lock and re-read the file first, so concurrent
// writers never lose each other's changes; a running server picks changes up with
// ReloadIfChanged (the file's inode/mtime/size changed), which it calls every second.
//
// Thread-safety: every method is safe to call concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace xscaler::tenant {

struct TokenInfo {
  std::string id;  // public id, e.g. tok_ab12cd34
  std::string tenant;
  bool read = false;
  bool write = false;
  int64_t created_unix = 0;
  bool revoked = false;
};

// What an authenticated token may do.
struct Grant {
  std::string token_id;
  std::string tenant;
  bool read = false;
  bool write = false;
  friend bool operator==(const Grant&, const Grant&) = default;
};

inline constexpr std::string_view kTokenPrefix = "xs_";
inline constexpr size_t kTokenSecretChars = 40;
inline constexpr std::string_view kTokensFileName = "tokens.json";

class TokenStore {
 public:
  // Opens DATA_DIR/tokens.json, creating the directory and an empty file if missing. A file
  // that is not valid JSON or not in the expected shape → DataLoss naming the file and what is
  // wrong (the server must not start with an unreadable token file: that would lock everyone
  // out, or worse, look empty).
  static absl::StatusOr<std::unique_ptr<TokenStore>> Open(std::string data_dir);

  // Creates a token for `tenant` (validated as an X-Scope-OrgID) and returns its plaintext,
  // the only time it is ever available. REQUIRES: read || write.
  absl::StatusOr<std::string> Create(std::string_view tenant, bool read, bool write);

  // Marks the token revoked (kept in the file, so `token list` shows it). NotFound if no token
  // has this id; revoking twice is OK.
  absl::Status Revoke(std::string_view token_id);

  // Every token, revoked ones included, oldest first.
  std::vector<TokenInfo> List() const;

  // Hashes `token` and compares the hash with every stored hash in constant time (no early
  // exit), so response timing reveals nothing about how close a guess was. nullopt if the
  // token is unknown or revoked.
  std::optional<Grant> Authenticate(std::string_view token) const;

  // Re-reads the file if it was replaced or modified since it was last read. On a bad file the
  // previous state is kept and the error returned.
  absl::Status ReloadIfChanged();

  // True when the file holds no tokens at all (revoked ones count as tokens): the server's
  // cue to create the first-start demo token.
  bool Empty() const;

  const std::string& path() const { return path_; }

 private:
  using Hash = std::array<unsigned char, 32>;
  struct Entry {
    TokenInfo info;
    Hash hash;
  };
  // What identifies one version of the file; rename gives a new inode, so even a same-size
  // rewrite within one mtime tick is noticed.
  struct FileStamp {
    uint64_t inode = 0;
    int64_t mtime_ns = 0;
    int64_t size = -1;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };

  TokenStore(std::string data_dir, std::string path)
      : data_dir_(std::move(data_dir)), path_(std::move(path)) {}

  // Reads and parses the file. Does not touch the in-memory state.
  absl::StatusOr<std::vector<Entry>> ReadFile(FileStamp* stamp) const;
  absl::Status WriteFile(const std::vector<Entry>& entries) const;
  // Runs fn(entries) on the freshest on-disk state under the cross-process lock, writes the
  // result and installs it in memory.
  template <typename Fn>
  absl::Status Mutate(Fn&& fn);

  const std::string data_dir_;
  const std::string path_;
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  FileStamp stamp_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xscaler::tenant
