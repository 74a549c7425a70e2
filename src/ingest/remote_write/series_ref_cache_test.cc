#include "ingest/remote_write/series_ref_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace xscaler::ingest::remote_write {
namespace {

// A remote-write Label field (TimeSeries field 1) as a sender encodes it.
std::string LabelField(std::string_view name, std::string_view value) {
  std::string msg;
  msg += '\x0a';
  msg += static_cast<char>(name.size());
  msg += name;
  msg += '\x12';
  msg += static_cast<char>(value.size());
  msg += value;
  std::string field = "\x0a";
  field += static_cast<char>(msg.size());
  return field + msg;
}

// Keys of label fields held in separate buffers (the hasher's streaming path).
LabelBytesKey KeyOf(const std::vector<std::string>& fields) {
  LabelBytesHasher h;
  for (const auto& f : fields) h.Add(f);
  return h.Finish();
}

LabelBytesKey KeyOfLabels(const std::vector<std::pair<std::string, std::string>>& ls) {
  std::vector<std::string> fields;
  for (const auto& [n, v] : ls) fields.push_back(LabelField(n, v));
  return KeyOf(fields);
}

TEST(SeriesRefCacheTest, KeysDependOnEveryByteAndOnBoundaries) {
  EXPECT_EQ(KeyOfLabels({{"ab", "cd"}}), KeyOfLabels({{"ab", "cd"}}));
  EXPECT_FALSE(KeyOfLabels({{"ab", "cd"}}) == KeyOfLabels({{"abc", "d"}}));  // same text
  EXPECT_FALSE(KeyOfLabels({{"a", "1"}, {"b", "2"}}) == KeyOfLabels({{"b", "2"}, {"a", "1"}}));
  EXPECT_FALSE(KeyOfLabels({{"ab", "cd"}}) == KeyOfLabels({{"ab", "ce"}}));
  EXPECT_FALSE(KeyOfLabels({{"ab", ""}}) == KeyOfLabels({{"ab", ""}, {"", ""}}));
  EXPECT_FALSE(KeyOf({}) == KeyOfLabels({{"", ""}}));
  const LabelBytesKey k = KeyOfLabels({{"0123456789abcdef", "XYZ"}});
  EXPECT_NE(k.a, k.b);
}

TEST(SeriesRefCacheTest, ContiguousAndSplitLabelsHashAlike) {
  // Senders put a series' labels back to back; the hasher then hashes one span. Labels that
  // arrive split (another field between them, or copied buffers) must give the same key.
  const std::string a = LabelField("__name__", "up");
  const std::string b = LabelField("job", "api");
  const std::string c = LabelField("instance", "host-1:9100");
  const std::string whole = a + b + c;
  LabelBytesHasher contiguous;
  contiguous.Add(std::string_view(whole).substr(0, a.size()));
  contiguous.Add(std::string_view(whole).substr(a.size(), b.size()));
  contiguous.Add(std::string_view(whole).substr(a.size() + b.size()));
  EXPECT_EQ(contiguous.Finish(), KeyOf({a, b, c}));
  EXPECT_FALSE(KeyOf({a, b}) == KeyOf({a, b, c}));
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
  for (int i = 0; i < 10000; ++i) c.Insert(KeyOfLabels({{"n", std::to_string(i)}}), i + 1);
  EXPECT_LE(c.size(), 640u);
  EXPECT_GT(c.size(), 0u);
  const LabelBytesKey last = KeyOfLabels({{"n", "9999"}});
  EXPECT_EQ(c.Find(last), 10000u);  // the newest entry survives its stripe's reset
}

// Random inserts, replacements and erasures (backward-shift deletion) checked against a
// reference map, through Find and FindBatch.
TEST(SeriesRefCacheTest, MatchesAReferenceMapUnderChurn) {
  SeriesRefCache c(/*max_entries=*/1 << 20);
  std::map<int, storage::SeriesRef> want;
  std::mt19937 rng(7);
  auto key = [](int i) { return KeyOfLabels({{"k", std::to_string(i)}}); };
  for (int step = 0; step < 60000; ++step) {
    const int i = static_cast<int>(rng() % 3000);
    if (rng() % 3 == 0) {
      c.Erase(key(i));
      want.erase(i);
    } else {
      const storage::SeriesRef r = rng() % 100000 + 1;
      c.Insert(key(i), r);
      want[i] = r;
    }
  }
  EXPECT_EQ(c.size(), want.size());
  std::vector<LabelBytesKey> keys;
  for (int i = 0; i < 3000; ++i) keys.push_back(key(i));
  std::vector<storage::SeriesRef> got(keys.size(), 12345);
  c.FindBatch(keys, got);
  for (int i = 0; i < 3000; ++i) {
    const storage::SeriesRef expect = want.contains(i) ? want[i] : 0;
    ASSERT_EQ(c.Find(keys[i]), expect) << i;
    ASSERT_EQ(got[i], expect) << i;
  }
}

TEST(SeriesRefCacheTest, FindBatchOnAnEmptyCache) {
  SeriesRefCache c;
  std::vector<LabelBytesKey> keys = {KeyOfLabels({{"a", "b"}}), KeyOfLabels({{"c", "d"}})};
  std::vector<storage::SeriesRef> got(2, 9);
  c.FindBatch(keys, got);
  EXPECT_EQ(got, (std::vector<storage::SeriesRef>{0, 0}));
}

TEST(SeriesRefCacheTest, ConcurrentUse) {
  SeriesRefCache c(1 << 12);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&c, w] {
      for (int i = 0; i < 5000; ++i) {
        const LabelBytesKey k = KeyOfLabels({{"n", std::to_string(i % 700)}});
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
