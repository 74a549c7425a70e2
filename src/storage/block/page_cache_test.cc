#include "storage/block/page_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace xscaler::storage::block {
namespace {

PageCache::Page MakePage(size_t n, char fill) {
  auto buf = std::make_shared<std::string>(n, fill);
  return {std::string_view(*buf), buf};
}

TEST(PageCacheTest, GetReturnsWhatWasPutPerReader) {
  PageCache c(1 << 20);
  EXPECT_FALSE(c.Get(1, 7).has_value());
  c.Put(1, 7, MakePage(100, 'a'));
  auto hit = c.Get(1, 7);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->raw, std::string(100, 'a'));
  EXPECT_FALSE(c.Get(2, 7).has_value());  // another reader's key space
  c.Put(1, 7, MakePage(50, 'b'));         // replaces
  EXPECT_EQ(c.Get(1, 7)->raw, std::string(50, 'b'));
  EXPECT_EQ(c.bytes(), 50u);
}

TEST(PageCacheTest, StaysWithinItsBudgetAndEvictsLeastRecentlyUsed) {
  PageCache c(16 * 1000);  // 1000 bytes per shard
  for (uint64_t k = 0; k < 400; ++k) c.Put(1, k, MakePage(100, 'x'));
  EXPECT_LE(c.bytes(), 16u * 1000);
  EXPECT_GT(c.bytes(), 0u);
  // The newest page of each shard is still there; the oldest are gone.
  EXPECT_TRUE(c.Get(1, 399).has_value());
  int oldest_present = 0;
  for (uint64_t k = 0; k < 50; ++k) oldest_present += c.Get(1, k).has_value();
  EXPECT_EQ(oldest_present, 0);
  // Too large for a shard: not kept (and evicts nothing).
  const size_t before = c.bytes();
  c.Put(1, 1000, MakePage(5000, 'y'));
  EXPECT_FALSE(c.Get(1, 1000).has_value());
  EXPECT_EQ(c.bytes(), before);
}

TEST(PageCacheTest, RecentlyReadPagesSurviveEviction) {
  PageCache c(16 * 1000);
  // Find keys that share a shard with key 0 by filling and reading key 0 in between.
  c.Put(1, 0, MakePage(100, 'z'));
  for (uint64_t k = 1; k < 2000; ++k) {
    ASSERT_TRUE(c.Get(1, 0).has_value()) << k;  // keeps it the most recently used
    c.Put(1, k, MakePage(100, 'x'));
  }
}

TEST(PageCacheTest, EvictedPagesStayValidForTheirReaders) {
  PageCache c(16 * 200);
  c.Put(1, 1, MakePage(150, 'q'));
  auto held = c.Get(1, 1);
  ASSERT_TRUE(held.has_value());
  for (uint64_t k = 2; k < 500; ++k) c.Put(1, k, MakePage(150, 'x'));
  EXPECT_FALSE(c.Get(1, 1).has_value());
  EXPECT_EQ(held->raw, std::string(150, 'q'));  // the owner keeps the bytes alive
}

TEST(PageCacheTest, EraseReaderDropsOnlyThatReader) {
  PageCache c(1 << 20);
  for (uint64_t k = 0; k < 100; ++k) {
    c.Put(1, k, MakePage(10, 'a'));
    c.Put(2, k, MakePage(10, 'b'));
  }
  c.EraseReader(1);
  for (uint64_t k = 0; k < 100; ++k) {
    EXPECT_FALSE(c.Get(1, k).has_value());
    EXPECT_TRUE(c.Get(2, k).has_value());
  }
  EXPECT_EQ(c.bytes(), 1000u);
  EXPECT_NE(PageCache::NewReaderId(), PageCache::NewReaderId());
}

TEST(PageCacheTest, ConcurrentUse) {
  PageCache c(16 * 4000);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&c, w] {
      for (uint64_t i = 0; i < 5000; ++i) {
        const uint64_t k = (i * 7 + static_cast<uint64_t>(w)) % 300;
        if (auto p = c.Get(3, k)) {
          EXPECT_EQ(p->raw.size(), 10 + k % 50);
        } else {
          c.Put(3, k, MakePage(10 + k % 50, 'c'));
        }
        if (i % 1000 == 0 && w == 0) c.EraseReader(3);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(c.bytes(), 16u * 4000);
}

}  // namespace
}  // namespace xscaler::storage::block
