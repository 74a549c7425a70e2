#include "tenant/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "labels/matcher.h"

namespace xscaler::tenant {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

class TenantRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("xs_registry_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<TenantRegistry> MustOpen() {
    auto r = TenantRegistry::Open(dir_, RegistryOptions{});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : nullptr;
  }

  std::string dir_;
};

TEST_F(TenantRegistryTest, CreatesTenantsLazilyAndFindsThem) {
  auto reg = MustOpen();
  ASSERT_NE(reg, nullptr);
  EXPECT_TRUE(reg->List().empty());
  EXPECT_EQ(reg->Find("demo"), nullptr);

  absl::StatusOr<Tenant*> t = reg->GetOrCreate("demo");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->id, "demo");
  ASSERT_NE((*t)->db, nullptr);
  ASSERT_NE((*t)->otlp, nullptr);
  EXPECT_TRUE(fs::is_directory(fs::path(dir_) / "tenants" / "demo"));
  EXPECT_EQ(reg->Find("demo"), *t);
  absl::StatusOr<Tenant*> again = reg->GetOrCreate("demo");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *t);
  ASSERT_TRUE(reg->GetOrCreate("b-team").ok());
  EXPECT_THAT(reg->List(), ElementsAre("b-team", "demo"));
}

TEST_F(TenantRegistryTest, RejectsInvalidTenantIds) {
  auto reg = MustOpen();
  for (std::string_view id : {"", ".", "..", "a/b", "../etc"}) {
    absl::StatusOr<Tenant*> t = reg->GetOrCreate(id);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << id;
  }
  EXPECT_TRUE(reg->List().empty());
  EXPECT_FALSE(fs::exists(fs::path(dir_) / "etc"));
}

TEST_F(TenantRegistryTest, ReopensTenantsFoundOnDiskWithTheirData) {
  {
    auto reg = MustOpen();
    absl::StatusOr<Tenant*> t = reg->GetOrCreate("demo");
    ASSERT_TRUE(t.ok());
    auto app = (*t)->db->NewAppender();
    labels::Labels lset{{"__name__", "up"}, {"job", "x"}};
    ASSERT_TRUE(app->Append(0, lset, 1000, 1).ok());
    ASSERT_TRUE(app->Commit().ok());
    ASSERT_TRUE(reg->GetOrCreate("empty").ok());
  }
  fs::create_directories(fs::path(dir_) / "tenants" / "not a tenant");
  auto reg = MustOpen();
  ASSERT_NE(reg, nullptr);
  EXPECT_THAT(reg->List(), ElementsAre("demo", "empty"));
  Tenant* t = reg->Find("demo");
  ASSERT_NE(t, nullptr);
  auto q = t->db->NewQuerier(storage::kMinTime, storage::kMaxTime);
  absl::StatusOr<labels::Matcher> m =
      labels::Matcher::Create(labels::MatchType::kEqual, "__name__", "up");
  ASSERT_TRUE(m.ok());
  std::vector<labels::Matcher> ms{*m};
  auto set = q->Select(ms);
  ASSERT_TRUE(set->Next());
  auto it = set->At().Iterator();
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At(), (std::pair<int64_t, double>{1000, 1}));
  EXPECT_FALSE(set->Next());
}

TEST_F(TenantRegistryTest, ConcurrentGetOrCreateOpensOnce) {
  auto reg = MustOpen();
  std::vector<Tenant*> got(4, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<Tenant*> t = reg->GetOrCreate("shared");
      if (t.ok()) got[i] = *t;
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_NE(got[0], nullptr);
  for (Tenant* t : got) EXPECT_EQ(t, got[0]);
  EXPECT_EQ(reg->List().size(), 1u);
}

}  // namespace
}  // namespace xscaler::tenant
