#include "tenant/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
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

constexpr int64_t kHour = 3600 * 1000;

// Writes one sample per minute of series `name` over [from, to) and flushes it into blocks.
void WriteAndFlush(Tenant* t, const std::string& name, int64_t from, int64_t to) {
  auto app = t->db->NewAppender();
  labels::Labels lset{{"__name__", name}};
  for (int64_t ts = from; ts < to; ts += 60 * 1000) {
    ASSERT_TRUE(app->Append(0, lset, ts, static_cast<double>(ts)).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  ASSERT_TRUE(t->db->Flush().ok());
}

uint64_t BlockBytes(const Tenant* t) {
  uint64_t n = 0;
  for (const auto& b : t->db->Blocks()) n += b->SizeBytes();
  return n;
}

RegistryOptions TestOptions() {
  RegistryOptions o;
  o.tsdb.background = false;
  o.tsdb.block_range_ms = kHour;
  o.tsdb.wal.sync = false;
  o.size_cap_interval_ms = 0;  // the tests call EnforceSizeCap
  return o;
}

TEST_F(TenantRegistryTest, SizeCapDeletesTheOldestBlocksAcrossTenants) {
  RegistryOptions o = TestOptions();
  // "a-newer" sorts first but holds the newer data: age decides, not tenant order.
  auto reg = TenantRegistry::Open(dir_, o);
  ASSERT_TRUE(reg.ok()) << reg.status();
  Tenant* newer = *(*reg)->GetOrCreate("a-newer");
  Tenant* older = *(*reg)->GetOrCreate("b-older");
  WriteAndFlush(newer, "m", 10 * kHour, 13 * kHour);
  WriteAndFlush(older, "m", 1 * kHour, 4 * kHour);
  const uint64_t newer_bytes = BlockBytes(newer);
  const uint64_t older_bytes = BlockBytes(older);
  ASSERT_GT(newer_bytes, 0u);
  ASSERT_GT(older_bytes, 0u);
  EXPECT_EQ((*reg)->EnforceSizeCap().blocks_deleted, 0u);  // no cap: no-op
  reg->reset();

  o.max_storage_bytes = newer_bytes + older_bytes / 2;
  reg = TenantRegistry::Open(dir_, o);
  ASSERT_TRUE(reg.ok()) << reg.status();
  newer = (*reg)->Find("a-newer");
  older = (*reg)->Find("b-older");
  const size_t older_blocks = older->db->Blocks().size();
  TenantRegistry::SizeCapResult r = (*reg)->EnforceSizeCap();
  EXPECT_EQ(r.bytes_before, newer_bytes + older_bytes);
  EXPECT_LE(r.bytes_after, o.max_storage_bytes);
  EXPECT_GE(r.blocks_deleted, 1u);
  EXPECT_LE(r.blocks_deleted, older_blocks);
  EXPECT_EQ(BlockBytes(newer), newer_bytes);  // untouched
  EXPECT_EQ(BlockBytes(older), r.bytes_after - newer_bytes);
  // What is left of the older tenant is its newest data.
  for (const auto& b : older->db->Blocks()) EXPECT_GT(b->meta().max_time, 1 * kHour);

  // Under the cap: nothing more goes.
  EXPECT_EQ((*reg)->EnforceSizeCap().blocks_deleted, 0u);
  reg->reset();

  // A cap below one tenant's blocks empties the other first, then eats into it.
  o.max_storage_bytes = 1;
  reg = TenantRegistry::Open(dir_, o);
  ASSERT_TRUE(reg.ok());
  r = (*reg)->EnforceSizeCap();
  EXPECT_EQ(r.bytes_after, 0u);
  EXPECT_TRUE((*reg)->Find("b-older")->db->Blocks().empty());
  EXPECT_TRUE((*reg)->Find("a-newer")->db->Blocks().empty());
}

TEST_F(TenantRegistryTest, SizeCapRunsInTheBackground) {
  RegistryOptions o = TestOptions();
  {
    auto reg = TenantRegistry::Open(dir_, o);
    ASSERT_TRUE(reg.ok());
    WriteAndFlush(*(*reg)->GetOrCreate("t"), "m", 1 * kHour, 5 * kHour);
  }
  o.max_storage_bytes = 1;
  o.size_cap_interval_ms = 10;
  auto reg = TenantRegistry::Open(dir_, o);
  ASSERT_TRUE(reg.ok());
  Tenant* t = (*reg)->Find("t");
  for (int i = 0; i < 1000 && !t->db->Blocks().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(t->db->Blocks().empty());
}

TEST_F(TenantRegistryTest, RuntimeOverridesApplyToOpenAndNewTenants) {
  RegistryOptions o = TestOptions();
  o.default_limits.retention_ms = 15 * 24 * kHour;
  o.runtime.overrides["short"].retention_ms = 2 * kHour;
  auto reg = TenantRegistry::Open(dir_, o);
  ASSERT_TRUE(reg.ok());
  Tenant* plain = *(*reg)->GetOrCreate("plain");
  Tenant* shortt = *(*reg)->GetOrCreate("short");
  EXPECT_EQ(plain->db->retention_ms(), 15 * 24 * kHour);
  EXPECT_EQ(shortt->db->retention_ms(), 2 * kHour);
  EXPECT_EQ((*reg)->LimitsFor("short").retention_ms, 2 * kHour);

  RuntimeConfig cfg;
  cfg.overrides["plain"].retention_ms = 3 * kHour;
  cfg.overrides["plain"].ooo_window_ms = 600000;
  cfg.overrides["later"].retention_ms = 0;
  (*reg)->ApplyRuntimeConfig(cfg);
  EXPECT_EQ(plain->db->retention_ms(), 3 * kHour);
  EXPECT_EQ(shortt->db->retention_ms(), 15 * 24 * kHour);  // its override is gone
  EXPECT_EQ((*reg)->LimitsFor("plain").ooo_window_ms, 600000);
  Tenant* later = *(*reg)->GetOrCreate("later");
  EXPECT_EQ(later->db->retention_ms(), 0);
}

TEST_F(TenantRegistryTest, RetentionOverrideDropsOldBlocksOnTheNextRound) {
  auto reg = TenantRegistry::Open(dir_, TestOptions());
  ASSERT_TRUE(reg.ok());
  Tenant* t = *(*reg)->GetOrCreate("t");
  WriteAndFlush(t, "m", 0, 6 * kHour);
  ASSERT_FALSE(t->db->Blocks().empty());
  int64_t oldest = t->db->Blocks().front()->meta().min_time;
  EXPECT_LT(oldest, 2 * kHour);

  RuntimeConfig cfg;
  cfg.overrides["t"].retention_ms = 2 * kHour;
  (*reg)->ApplyRuntimeConfig(cfg);
  ASSERT_TRUE(t->db->Compact().ok());
  ASSERT_FALSE(t->db->Blocks().empty());
  EXPECT_GT(t->db->Blocks().front()->meta().min_time, oldest);
  int64_t newest_max = 0;
  for (const auto& b : t->db->Blocks()) newest_max = std::max(newest_max, b->meta().max_time);
  for (const auto& b : t->db->Blocks()) {
    EXPECT_GT(b->meta().max_time, newest_max - 2 * kHour) << b->meta().ulid;
  }
}

}  // namespace
}  // namespace xscaler::tenant
