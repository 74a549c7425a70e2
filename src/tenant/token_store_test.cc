#include "tenant/token_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <atomic>
#include <set>
#include <thread>

namespace xscaler::tenant {
namespace {

using ::testing::HasSubstr;

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("xs_token_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<TokenStore> MustOpen() {
    auto s = TokenStore::Open(dir_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }
  std::string FileText() {
    std::ifstream in(std::filesystem::path(dir_) / "tokens.json");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  void WriteFileText(const std::string& text) {
    std::ofstream(std::filesystem::path(dir_) / "tokens.json", std::ios::trunc) << text;
  }

  std::string dir_;
};

TEST_F(TokenStoreTest, OpenCreatesAnEmptyFile) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Empty());
  EXPECT_TRUE(store->List().empty());
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir_) / "tokens.json"));
  auto perms = std::filesystem::status(std::filesystem::path(dir_) / "tokens.json").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::others_read, std::filesystem::perms::none);
  // Re-opening the file it wrote works.
  EXPECT_TRUE(TokenStore::Open(dir_).ok());
}

TEST_F(TokenStoreTest, CreateAuthenticateRevokeList) {
  auto store = MustOpen();
  absl::StatusOr<std::string> rw = store->Create("demo", true, true);
  ASSERT_TRUE(rw.ok()) << rw.status();
  absl::StatusOr<std::string> ro = store->Create("other", true, false);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(rw->size(), 43u);
  EXPECT_TRUE(rw->starts_with("xs_"));
  EXPECT_NE(*rw, *ro);
  EXPECT_FALSE(store->Empty());

  std::vector<TokenInfo> list = store->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(list[0].id.starts_with("tok_"));
  EXPECT_EQ(list[0].id.size(), 12u);
  EXPECT_NE(list[0].id, list[1].id);
  EXPECT_EQ(list[0].tenant, "demo");
  EXPECT_TRUE(list[0].read && list[0].write);
  EXPECT_FALSE(list[0].revoked);
  EXPECT_GT(list[0].created_unix, 1600000000);
  EXPECT_EQ(list[1].tenant, "other");
  EXPECT_TRUE(list[1].read);
  EXPECT_FALSE(list[1].write);
  // The public id is not part of the secret.
  EXPECT_EQ(rw->find(list[0].id.substr(4)), std::string::npos);

  std::optional<Grant> g = store->Authenticate(*rw);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(*g, (Grant{list[0].id, "demo", true, true}));
  g = store->Authenticate(*ro);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->tenant, "other");
  EXPECT_FALSE(g->write);

  // Near misses fail.
  std::string wrong = *rw;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  EXPECT_FALSE(store->Authenticate(wrong).has_value());
  EXPECT_FALSE(store->Authenticate("").has_value());
  EXPECT_FALSE(store->Authenticate(rw->substr(0, 42)).has_value());
  EXPECT_FALSE(store->Authenticate(*rw + "x").has_value());
  EXPECT_FALSE(store->Authenticate("Bearer " + *rw).has_value());

  ASSERT_TRUE(store->Revoke(list[0].id).ok());
  EXPECT_FALSE(store->Authenticate(*rw).has_value());
  EXPECT_TRUE(store->Authenticate(*ro).has_value());
  EXPECT_TRUE(store->Revoke(list[0].id).ok());  // idempotent
  EXPECT_TRUE(store->List()[0].revoked);
  EXPECT_FALSE(store->Empty());

  absl::Status s = store->Revoke("tok_nothere");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("tok_nothere"));

  // State survives a re-open.
  auto again = MustOpen();
  EXPECT_FALSE(again->Authenticate(*rw).has_value());
  EXPECT_TRUE(again->Authenticate(*ro).has_value());
  EXPECT_EQ(again->List().size(), 2u);
}

TEST_F(TokenStoreTest, CreateValidatesInput) {
  auto store = MustOpen();
  absl::StatusOr<std::string> t = store->Create("a/b", true, true);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("'/'"));
  EXPECT_EQ(store->Create("..", true, true).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Create("demo", false, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store->Empty());
}

TEST_F(TokenStoreTest, StoresOnlyHashes) {
  auto store = MustOpen();
  std::set<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<std::string> t = store->Create("demo", true, true);
    ASSERT_TRUE(t.ok());
    tokens.insert(*t);
  }
  EXPECT_EQ(tokens.size(), 5u);
  std::string text = FileText();
  EXPECT_THAT(text, HasSubstr("sha256"));
  for (const std::string& t : tokens) {
    EXPECT_EQ(text.find(t), std::string::npos);
    EXPECT_EQ(text.find(t.substr(3)), std::string::npos);
    EXPECT_EQ(text.find(t.substr(3, 12)), std::string::npos);
  }
}

TEST_F(TokenStoreTest, ReloadPicksUpChangesFromAnotherInstance) {
  auto server = MustOpen();
  auto cli = MustOpen();
  absl::StatusOr<std::string> t = cli->Create("demo", true, true);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(server->Authenticate(*t).has_value());  // not seen until reloaded
  ASSERT_TRUE(server->ReloadIfChanged().ok());
  ASSERT_TRUE(server->Authenticate(*t).has_value());

  auto cli2 = MustOpen();
  ASSERT_TRUE(cli2->Revoke(cli2->List()[0].id).ok());
  EXPECT_TRUE(server->Authenticate(*t).has_value());
  ASSERT_TRUE(server->ReloadIfChanged().ok());
  EXPECT_FALSE(server->Authenticate(*t).has_value());
  ASSERT_TRUE(server->ReloadIfChanged().ok());  // unchanged: no-op
  EXPECT_FALSE(server->Authenticate(*t).has_value());
}

TEST_F(TokenStoreTest, WritersInTwoInstancesDoNotLoseEachOthersTokens) {
  auto a = MustOpen();
  auto b = MustOpen();
  absl::StatusOr<std::string> ta = a->Create("demo", true, true);
  absl::StatusOr<std::string> tb = b->Create("demo", true, false);  // b never reloaded
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_EQ(b->List().size(), 2u);
  EXPECT_TRUE(b->Authenticate(*ta).has_value());
  auto c = MustOpen();
  EXPECT_TRUE(c->Authenticate(*ta).has_value());
  EXPECT_TRUE(c->Authenticate(*tb).has_value());
}

TEST_F(TokenStoreTest, CorruptFileIsAClearError) {
  {
    auto store = MustOpen();
    ASSERT_TRUE(store->Create("demo", true, true).ok());
  }
  WriteFileText("{\"tokens\": [ {\"id\": ");
  absl::StatusOr<std::unique_ptr<TokenStore>> s = TokenStore::Open(dir_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.status().message(), HasSubstr("tokens.json is corrupt"));
  EXPECT_THAT(s.status().message(), HasSubstr("invalid JSON at byte"));

  WriteFileText("[]");
  s = TokenStore::Open(dir_);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.status().message(), HasSubstr("\"tokens\" array"));

  WriteFileText(R"({"tokens":[{"id":"tok_1","tenant":"demo","read":true,"write":true,
                  "created_unix":1,"revoked":false,"sha256":"abc"}]})");
  s = TokenStore::Open(dir_);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.status().message(), HasSubstr("64 hex digits"));

  WriteFileText(R"({"tokens":[{"id":"tok_1","tenant":"demo"}]})");
  s = TokenStore::Open(dir_);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.status().message(), HasSubstr("token #0"));
}

TEST_F(TokenStoreTest, ReloadKeepsOldStateOnCorruptFile) {
  auto store = MustOpen();
  absl::StatusOr<std::string> t = store->Create("demo", true, true);
  ASSERT_TRUE(t.ok());
  WriteFileText("not json at all");
  absl::Status s = store->ReloadIfChanged();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(store->Authenticate(*t).has_value());
}

TEST_F(TokenStoreTest, ConcurrentAuthenticateCreateAndReload) {
  auto store = MustOpen();
  absl::StatusOr<std::string> t = store->Create("demo", true, true);
  ASSERT_TRUE(t.ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 200; ++n) {
        if (!store->Authenticate(*t).has_value()) ++failures;
        if (!store->ReloadIfChanged().ok()) ++failures;
      }
    });
  }
  threads.emplace_back([&] {
    for (int n = 0; n < 10; ++n) {
      if (!store->Create("other", true, false).ok()) ++failures;
    }
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->List().size(), 11u);
}

}  // namespace
}  // namespace xscaler::tenant
