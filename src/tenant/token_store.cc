#include "tenant/token_store.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "tenant/tenant_id.h"

namespace xscaler::tenant {
namespace {

constexpr int kFormatVersion = 1;
constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

std::string ErrnoText(int err) { return std::generic_category().message(err); }

absl::Status IoError(std::string_view what, const std::string& path, int err) {
  return absl::InternalError(std::string(what) + " " + path + ": " + ErrnoText(err));
}

// Closes a POSIX file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

absl::Status RandomBytes(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    return absl::InternalError("the system random number generator (OpenSSL RAND_bytes) failed");
  }
  return absl::OkStatus();
}

// Uniform base62 characters by rejection sampling (bytes >= 248 would bias the modulo).
absl::StatusOr<std::string> RandomBase62(size_t n) {
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    if (absl::Status s = RandomBytes(buf, sizeof buf); !s.ok()) return s;
    for (unsigned char b : buf) {
      if (b < 248 && out.size() < n) out += kBase62[b % 62];
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseHash(std::string_view hex, std::array<unsigned char, 32>& out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

std::array<unsigned char, 32> Sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  // EVP_Digest with SHA-256 cannot fail short of memory exhaustion; a zero hash then simply
  // matches nothing.
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

absl::Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return IoError("cannot fsync directory", dir, errno);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Open(std::string data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return absl::InternalError("cannot create data directory " + data_dir + ": " + ec.message());
  }
  std::string path = (std::filesystem::path(data_dir) / kTokensFileName).string();
  std::unique_ptr<TokenStore> store(new TokenStore(std::move(data_dir), std::move(path)));
  if (!std::filesystem::exists(store->path_, ec)) {
    // Mutate creates the file under the cross-process lock (and re-checks existence there).
    absl::Status s = store->Mutate([](std::vector<Entry>&) { return absl::OkStatus(); });
    if (!s.ok()) return s;
    return store;
  }
  FileStamp stamp;
  absl::StatusOr<std::vector<Entry>> entries = store->ReadFile(&stamp);
  if (!entries.ok()) return entries.status();
  absl::MutexLock lock(&store->mu_);
  store->entries_ = *std::move(entries);
  store->stamp_ = stamp;
  return store;
}

absl::StatusOr<std::vector<TokenStore::Entry>> TokenStore::ReadFile(FileStamp* stamp) const {
  Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      *stamp = FileStamp{};
      return std::vector<Entry>{};
    }
    return IoError("cannot open token file", path_, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoError("cannot stat token file", path_, errno);
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read token file", path_, errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  *stamp = FileStamp{static_cast<uint64_t>(st.st_ino),
                     static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                     static_cast<int64_t>(st.st_size)};

  auto corrupt = [&](const std::string& what) {
    return absl::DataLossError("token file " + path_ + " is corrupt: " + what +
                               ". Restore it from a backup, or delete it to start over (which "
                               "invalidates every token)");
  };
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    return corrupt(std::string("invalid JSON at byte ") + std::to_string(doc.GetErrorOffset()) +
                   " (" + rapidjson::GetParseError_En(doc.GetParseError()) + ")");
  }
  if (!doc.IsObject() || !doc.HasMember("tokens") || !doc["tokens"].IsArray()) {
    return corrupt("expected an object with a \"tokens\" array");
  }
  if (doc.HasMember("version") &&
      (!doc["version"].IsInt() || doc["version"].GetInt() != kFormatVersion)) {
    return corrupt("unsupported format version (this build reads version " +
                   std::to_string(kFormatVersion) + ")");
  }
  std::vector<Entry> entries;
  const auto& tokens = doc["tokens"].GetArray();
  entries.reserve(tokens.Size());
  for (rapidjson::SizeType i = 0; i < tokens.Size(); ++i) {
    const auto& t = tokens[i];
    std::string where = "token #" + std::to_string(i);
    if (!t.IsObject()) return corrupt(where + " is not an object");
    auto str = [&](const char* key) -> const rapidjson::Value* {
      auto it = t.FindMember(key);
      return it != t.MemberEnd() && it->value.IsString() ? &it->value : nullptr;
    };
    auto boolean = [&](const char* key) -> std::optional<bool> {
      auto it = t.FindMember(key);
      if (it == t.MemberEnd() || !it->value.IsBool()) return std::nullopt;
      return it->value.GetBool();
    };
    const rapidjson::Value* id = str("id");
    const rapidjson::Value* tenant = str("tenant");
    const rapidjson::Value* sha = str("sha256");
    std::optional<bool> read = boolean("read"), write = boolean("write"),
                        revoked = boolean("revoked");
    auto created = t.FindMember("created_unix");
    if (id == nullptr || tenant == nullptr || sha == nullptr || !read || !write || !revoked ||
        created == t.MemberEnd() || !created->value.IsInt64()) {
      return corrupt(where +
                     " lacks one of id, tenant, sha256, read, write, revoked, created_unix "
                     "(or has one of the wrong type)");
    }
    Entry e;
    e.info.id.assign(id->GetString(), id->GetStringLength());
    e.info.tenant.assign(tenant->GetString(), tenant->GetStringLength());
    e.info.read = *read;
    e.info.write = *write;
    e.info.revoked = *revoked;
    e.info.created_unix = created->value.GetInt64();
    if (!ParseHash(std::string_view(sha->GetString(), sha->GetStringLength()), e.hash)) {
      return corrupt(where + " (" + e.info.id + ") has a sha256 that is not 64 hex digits");
    }
    if (!IsValidTenantId(e.info.tenant)) {
      return corrupt(where + " (" + e.info.id + ") has an invalid tenant ID");
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

absl::Status TokenStore::WriteFile(const std::vector<Entry>& entries) const {
  rapidjson::StringBuffer sb;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("version");
  w.Int(kFormatVersion);
  w.Key("tokens");
  w.StartArray();
  for (const Entry& e : entries) {
    w.StartObject();
    w.Key("id");
    w.String(e.info.id.data(), static_cast<rapidjson::SizeType>(e.info.id.size()));
    w.Key("tenant");
    w.String(e.info.tenant.data(), static_cast<rapidjson::SizeType>(e.info.tenant.size()));
    w.Key("read");
    w.Bool(e.info.read);
    w.Key("write");
    w.Bool(e.info.write);
    w.Key("created_unix");
    w.Int64(e.info.created_unix);
    w.Key("revoked");
    w.Bool(e.info.revoked);
    w.Key("sha256");
    std::string hex = Hex(e.hash.data(), e.hash.size());
    w.String(hex.data(), static_cast<rapidjson::SizeType>(hex.size()));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::string text(sb.GetString(), sb.GetSize());
  text += '\n';

  std::string tmp = path_ + ".tmp";  // only written under the cross-process lock
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return IoError("cannot create", tmp, errno);
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoError("cannot write", tmp, errno);
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return IoError("cannot fsync", tmp, errno);
    if (::close(fd.release()) != 0) return IoError("cannot close", tmp, errno);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return IoError("cannot rename into", path_, errno);
  return SyncDir(data_dir_);
}

template <typename Fn>
absl::Status TokenStore::Mutate(Fn&& fn) {
  absl::MutexLock lock(&mu_);
  std::string lock_path = (std::filesystem::path(data_dir_) / "tokens.lock").string();
  Fd lock_fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock_fd.get() < 0) return IoError("cannot open lock file", lock_path, errno);
  while (::flock(lock_fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return IoError("cannot lock", lock_path, errno);
  }
  // Closing the descriptor (Fd's destructor) releases the flock.
  FileStamp stamp;
  absl::StatusOr<std::vector<Entry>> entries = ReadFile(&stamp);
  if (!entries.ok()) return entries.status();
  if (absl::Status s = fn(*entries); !s.ok()) return s;
  if (absl::Status s = WriteFile(*entries); !s.ok()) return s;
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) return IoError("cannot stat token file", path_, errno);
  entries_ = *std::move(entries);
  stamp_ = FileStamp{static_cast<uint64_t>(st.st_ino),
                     static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                     static_cast<int64_t>(st.st_size)};
  return absl::OkStatus();
}

absl::StatusOr<std::string> TokenStore::Create(std::string_view tenant, bool read, bool write) {
  if (absl::Status s = ValidateTenantId(tenant); !s.ok()) return s;
  if (!read && !write) {
    return absl::InvalidArgumentError(
        "a token needs at least one permission: read, write, or both");
  }
  absl::StatusOr<std::string> secret = RandomBase62(kTokenSecretChars);
  if (!secret.ok()) return secret.status();
  std::string token = std::string(kTokenPrefix) + *secret;
  OPENSSL_cleanse(secret->data(), secret->size());

  absl::Status s = Mutate([&](std::vector<Entry>& entries) -> absl::Status {
    Entry e;
    for (;;) {  // 32 random bits; retry the (unlikely) collision with an existing id
      unsigned char b[4];
      if (absl::Status rs = RandomBytes(b, sizeof b); !rs.ok()) return rs;
      e.info.id = "tok_" + Hex(b, sizeof b);
      bool taken = false;
      for (const Entry& other : entries) taken |= other.info.id == e.info.id;
      if (!taken) break;
    }
    e.info.tenant = std::string(tenant);
    e.info.read = read;
    e.info.write = write;
    e.info.created_unix = static_cast<int64_t>(std::time(nullptr));
    e.info.revoked = false;
    e.hash = Sha256(token);
    entries.push_back(std::move(e));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return token;
}

absl::Status TokenStore::Revoke(std::string_view token_id) {
  return Mutate([&](std::vector<Entry>& entries) -> absl::Status {
    for (Entry& e : entries) {
      if (e.info.id == token_id) {
        e.info.revoked = true;
        return absl::OkStatus();
      }
    }
    return absl::NotFoundError("no token with id \"" + std::string(token_id) +
                               "\"; `xscaler token list` shows the ids");
  });
}

std::vector<TokenInfo> TokenStore::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<TokenInfo> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.info);
  return out;
}

std::optional<Grant> TokenStore::Authenticate(std::string_view token) const {
  // The format check leaks nothing secret: it is the same for every well-formed token.
  if (token.size() != kTokenPrefix.size() + kTokenSecretChars || !token.starts_with(kTokenPrefix)) {
    return std::nullopt;
  }
  const Hash h = Sha256(token);
  absl::MutexLock lock(&mu_);
  const Entry* match = nullptr;
  for (const Entry& e : entries_) {
    // Every entry is compared, whatever matched before; the branch below depends only on the
    // result, and at most one hash can equal h.
    bool equal = CRYPTO_memcmp(h.data(), e.hash.data(), h.size()) == 0;
    if (equal && !e.info.revoked) match = &e;
  }
  if (match == nullptr) return std::nullopt;
  return Grant{match->info.id, match->info.tenant, match->info.read, match->info.write};
}

absl::Status TokenStore::ReloadIfChanged() {
  struct stat st;
  FileStamp now;
  if (::stat(path_.c_str(), &st) == 0) {
    now = FileStamp{static_cast<uint64_t>(st.st_ino),
                    static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                    static_cast<int64_t>(st.st_size)};
  } else if (errno != ENOENT) {
    return IoError("cannot stat token file", path_, errno);
  }
  FileStamp before;
  {
    absl::MutexLock lock(&mu_);
    if (now == stamp_) return absl::OkStatus();
    before = stamp_;
  }
  FileStamp stamp;
  absl::StatusOr<std::vector<Entry>> entries = ReadFile(&stamp);
  if (!entries.ok()) return entries.status();
  absl::MutexLock lock(&mu_);
  // A Create/Revoke in this process may have installed a newer state while we read; the file
  // we read then is not newer than it.
  if (stamp_ != before) return absl::OkStatus();
  entries_ = *std::move(entries);
  stamp_ = stamp;
  return absl::OkStatus();
}

bool TokenStore::Empty() const {
  absl::MutexLock lock(&mu_);
  return entries_.empty();
}

}  // namespace xscaler::tenant
