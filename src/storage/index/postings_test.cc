#include "storage/index/postings.h"

#include <algorithm>
#include <random>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xscaler::storage::index {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Postings RandomList(std::mt19937_64& rng, size_t n, uint64_t max) {
  std::set<uint64_t> s;
  std::uniform_int_distribution<uint64_t> d(0, max);
  while (s.size() < n) s.insert(d(rng));
  return Postings(s.begin(), s.end());
}

TEST(PostingsTest, IntersectBasics) {
  EXPECT_THAT(Intersect(Postings{1, 2, 3, 5, 8}, Postings{2, 3, 4, 8, 9}), ElementsAre(2, 3, 8));
  EXPECT_THAT(Intersect(Postings{}, Postings{1, 2}), IsEmpty());
  std::vector<Postings> none;
  EXPECT_THAT(Intersect(none), IsEmpty());
  std::vector<Postings> three = {{1, 5, 7, 9}, {5, 7, 9, 11}, {0, 7, 9}};
  EXPECT_THAT(Intersect(three), ElementsAre(7, 9));
  std::vector<Postings> with_empty = {{1, 2}, {}, {1, 2}};
  EXPECT_THAT(Intersect(with_empty), IsEmpty());
}

TEST(PostingsTest, MergeAndWithoutBasics) {
  std::vector<Postings> lists = {{1, 4, 9}, {2, 4, 10}, {}, {0, 9, 11}};
  EXPECT_THAT(Merge(lists), ElementsAre(0, 1, 2, 4, 9, 10, 11));
  std::vector<Postings> two = {{1, 3}, {2, 3}};
  EXPECT_THAT(Merge(two), ElementsAre(1, 2, 3));
  EXPECT_THAT(Without(Postings{1, 2, 3, 4, 5}, Postings{0, 2, 5, 6}), ElementsAre(1, 3, 4));
  EXPECT_THAT(Without(Postings{1, 2}, Postings{}), ElementsAre(1, 2));
  EXPECT_THAT(Without(Postings{}, Postings{1}), IsEmpty());
}

TEST(PostingsTest, GallopFindsLowerBound) {
  Postings l;
  for (uint64_t i = 0; i < 1000; ++i) l.push_back(i * 3);
  for (uint64_t x = 0; x < 3005; ++x) {
    for (size_t from : {size_t{0}, size_t{7}, size_t{500}}) {
      size_t want = std::lower_bound(l.begin() + from, l.end(), x) - l.begin();
      if (from < l.size() && l[from] >= x) want = from;
      ASSERT_EQ(Gallop(l, from, x), want) << "x=" << x << " from=" << from;
    }
  }
  EXPECT_EQ(Gallop(l, l.size(), 5), l.size());
}

TEST(PostingsTest, RandomAgainstStdAlgorithms) {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 300; ++iter) {
    size_t k = 1 + rng() % 6;
    std::vector<Postings> lists;
    for (size_t i = 0; i < k; ++i) {
      size_t n = rng() % 4 == 0 ? rng() % 5 : rng() % 400;
      lists.push_back(RandomList(rng, n, n + rng() % 2000));
    }
    // Reference intersection / union via std::set_*.
    Postings inter = lists[0];
    std::set<uint64_t> uni(lists[0].begin(), lists[0].end());
    for (size_t i = 1; i < k; ++i) {
      Postings tmp;
      std::set_intersection(inter.begin(), inter.end(), lists[i].begin(), lists[i].end(),
                            std::back_inserter(tmp));
      inter = tmp;
      uni.insert(lists[i].begin(), lists[i].end());
    }
    ASSERT_EQ(Intersect(lists), inter);
    ASSERT_EQ(Merge(lists), Postings(uni.begin(), uni.end()));
    if (k >= 2) {
      Postings diff;
      std::set_difference(lists[0].begin(), lists[0].end(), lists[1].begin(), lists[1].end(),
                          std::back_inserter(diff));
      ASSERT_EQ(Without(lists[0], lists[1]), diff);
      ASSERT_EQ(Intersects(lists[0], lists[1]), !Intersect(lists[0], lists[1]).empty());
    }
  }
}

}  // namespace
}  // namespace xscaler::storage::index
