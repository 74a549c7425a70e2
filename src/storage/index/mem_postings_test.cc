#include "storage/index/mem_postings.h"

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xscaler::storage::index {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(MemPostingsTest, AddLookupDelete) {
  MemPostings mp;
  mp.Add(3, labels::Labels{{"__name__", "up"}, {"job", "a"}});
  mp.Add(1, labels::Labels{{"__name__", "up"}, {"job", "b"}});
  mp.Add(2, labels::Labels{{"__name__", "down"}, {"job", "a"}});
  EXPECT_THAT(mp.PostingsFor("__name__", "up"), ElementsAre(1, 3));  // out-of-order ref sorted
  EXPECT_THAT(mp.PostingsFor("job", "a"), ElementsAre(2, 3));
  EXPECT_THAT(mp.PostingsFor("job", "zzz"), IsEmpty());
  EXPECT_THAT(mp.PostingsFor("nope", "a"), IsEmpty());
  EXPECT_THAT(mp.AllPostings(), ElementsAre(1, 2, 3));
  EXPECT_THAT(mp.PostingsFor("", ""), ElementsAre(1, 2, 3));
  EXPECT_THAT(mp.LabelNames(), ElementsAre("__name__", "job"));
  EXPECT_THAT(mp.LabelValues("job"), ElementsAre("a", "b"));
  std::vector<std::string> vals = {"b", "a", "missing"};
  EXPECT_THAT(mp.PostingsForValueList("job", vals), ElementsAre(1, 2, 3));
  EXPECT_THAT(mp.PostingsForValues("job", [](std::string_view v) { return v == "b"; }),
              ElementsAre(1));
  std::vector<uint64_t> p = {2};
  EXPECT_THAT(mp.LabelValuesFor("__name__", p), ElementsAre("down"));
  EXPECT_THAT(mp.LabelNamesFor(p), ElementsAre("__name__", "job"));
  EXPECT_EQ(mp.NumSeries(), 3u);
  EXPECT_EQ(mp.NumLabelPairs(), 4u);

  mp.Delete(1, labels::Labels{{"__name__", "up"}, {"job", "b"}});
  EXPECT_THAT(mp.LabelValues("job"), ElementsAre("a"));  // emptied key is gone
  EXPECT_THAT(mp.AllPostings(), ElementsAre(2, 3));
  EXPECT_EQ(mp.NumLabelPairs(), 3u);
}

TEST(MemPostingsTest, ConcurrentWritersAndReaders) {
  MemPostings mp;
  constexpr int kPerWriter = 2000;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      Postings p = mp.PostingsFor("w", "0");
      ASSERT_TRUE(std::is_sorted(p.begin(), p.end()));
      (void)mp.LabelValues("i");
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        mp.Add(static_cast<uint64_t>(i * 2 + w + 1),
               labels::Labels{{"w", std::to_string(w)}, {"i", std::to_string(i)}});
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(mp.AllPostings().size(), 2u * kPerWriter);
  Postings all = mp.AllPostings();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(mp.PostingsFor("w", "1").size(), static_cast<size_t>(kPerWriter));
}

}  // namespace
}  // namespace xscaler::storage::index
