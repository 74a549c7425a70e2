#include "ingest/remote_write/series_ref_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace xscaler::ingest::remote_write {
namespace {

LabelBytesKey KeyOf(const std::vector<std::string>& parts) {
  LabelBytesHasher h;
  for (const auto& p : parts) h.Add(p);
  return h.Finish();
}

TEST(SeriesRefCacheTest, KeysDependOnEveryByteAndOnBoundaries) {
  EXPECT_EQ(KeyOf({"ab", "cd"}), KeyOf({"ab", "cd"}));
  EXPECT_FALSE(KeyOf({"ab", "cd"}) == KeyOf({"abc", "d"}));  // same concatenation
  EXPECT_FALSE(KeyOf({"ab", "cd"}) == KeyOf({"cd", "ab"}));
  EXPECT_FALSE(KeyOf({"ab", "cd"}) == KeyOf({"ab", "ce"}));
  EXPECT_FALSE(KeyOf({"ab"}) == KeyOf({"ab", ""}));
  EXPECT_FALSE(KeyOf({}) == KeyOf({""}));
  const LabelBytesKey k = KeyOf({"0123456789abcdefXYZ"});
  EXPECT_NE(k.a, k.b);  // two different functions
}

TEST(SeriesRefCacheTest, FindInsertErase) {
  SeriesRefCache c;
  const LabelBytesKey k = KeyOf({"x"});
  EXPECT_EQ(c.Find(k), 0u);
  c.Insert(k, 7);
  EXPECT_EQ(c.Find(k), 7u);
  c.Insert(k, 9);  // a newer ref for the same bytes replaces the old one
  EXPECT_EQ(c.Find(k), 9u);
  EXPECT_EQ(c.Find(KeyOf({"y"})), 0u);
  c.Erase(k);
  EXPECT_EQ(c.Find(k), 0u);
  c.Insert(k, 0);  // 0 means "unknown" and is never stored
  EXPECT_EQ(c.size(), 0u);
}

TEST(SeriesRefCacheTest, StaysWithinItsBound) {
  SeriesRefCache c(/*max_entries=*/640);  // 10 per stripe
  for (int i = 0; i < 10000; ++i) c.Insert(KeyOf({std::to_string(i)}), i + 1);
  EXPECT_LE(c.size(), 640u);
  EXPECT_GT(c.size(), 0u);
  const LabelBytesKey last = KeyOf({"9999"});
  EXPECT_EQ(c.Find(last), 10000u);  // the newest entry survives its stripe's reset
}

TEST(SeriesRefCacheTest, ConcurrentUse) {
  SeriesRefCache c(1 << 12);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&c, w] {
      for (int i = 0; i < 5000; ++i) {
        const LabelBytesKey k = KeyOf({std::to_string(i % 700)});
        const storage::SeriesRef got = c.Find(k);
        if (got != 0) {
          EXPECT_EQ(got, static_cast<storage::SeriesRef>(i % 700 + 1));
        }
        if (i % 3 == w % 3) c.Erase(k);
        else c.Insert(k, i % 700 + 1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(c.size(), 700u);
}

}  // namespace
}  // namespace xscaler::ingest::remote_write
