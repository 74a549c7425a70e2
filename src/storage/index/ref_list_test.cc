#include "storage/index/ref_list.h"

#include <random>
#include <set>

#include "gtest/gtest.h"

namespace xscaler::storage::index {
namespace {

Postings FromSet(const std::set<uint64_t>& s) { return Postings(s.begin(), s.end()); }

TEST(RefListTest, MatchesASortedSetUnderRandomInsertsAndErases) {
  std::mt19937_64 rng(7);
  RefList list;
  std::set<uint64_t> want;
  // Mostly ascending refs (the head's pattern), some older ones, and some above 2^32.
  uint64_t next = 1;
  for (int i = 0; i < 20000; ++i) {
    const int op = static_cast<int>(rng() % 10);
    uint64_t ref;
    if (op < 6) {
      ref = next++;
    } else if (op < 8) {
      ref = 1 + rng() % next;
    } else {
      ref = (uint64_t{1} << 32) - 3 + rng() % 8;  // straddles the 32-bit limit
    }
    if (op == 9 || (op == 7 && !want.empty())) {
      list.Erase(ref);
      want.erase(ref);
    } else {
      list.Insert(ref);
      want.insert(ref);
    }
    ASSERT_EQ(list.size(), want.size()) << "op " << i;
  }
  EXPECT_EQ(list.ToPostings(), FromSet(want));
  EXPECT_FALSE(list.empty());
}

TEST(RefListTest, EraseAllRemovesExactlyTheDeadOnBothSidesOfTheLimit) {
  RefList list;
  std::set<uint64_t> want;
  const uint64_t big = uint64_t{1} << 32;
  for (uint64_t r : {uint64_t{1}, uint64_t{5}, uint64_t{9}, big - 1, big, big + 7, big + 9}) {
    list.Insert(r);
    want.insert(r);
  }
  const Postings dead = {5, 6, big - 1, big + 7, big + 8};
  list.EraseAll(dead);
  for (uint64_t d : dead) want.erase(d);
  EXPECT_EQ(list.ToPostings(), FromSet(want));
  list.EraseAll(list.ToPostings());
  EXPECT_TRUE(list.empty());
}

TEST(RefListTest, IntersectsAgreesWithTheSetIntersection) {
  std::mt19937_64 rng(11);
  const uint64_t big = uint64_t{1} << 32;
  for (int round = 0; round < 300; ++round) {
    RefList list;
    std::set<uint64_t> a, b;
    const int na = static_cast<int>(rng() % 50), nb = static_cast<int>(rng() % 50);
    for (int i = 0; i < na; ++i) a.insert((rng() % 2 ? big : 0) + rng() % 200);
    for (int i = 0; i < nb; ++i) b.insert((rng() % 2 ? big : 0) + rng() % 200);
    for (uint64_t r : a) list.Insert(r);
    bool want = false;
    for (uint64_t r : a) want = want || b.count(r) > 0;
    const Postings p = FromSet(b);
    EXPECT_EQ(list.Intersects(p), want) << "round " << round;
  }
}

TEST(RefListTest, KeepsFourBytesPerRefWithLittleSlack) {
  RefList list;
  for (uint64_t r = 1; r <= 100000; ++r) list.Insert(r);
  // 4 bytes per ref plus at most ~1/8 growth slack (doubling would allow up to 2x).
  EXPECT_LE(list.CapacityBytes(), 100000 * 4 * 9 / 8 + 64);
  EXPECT_GE(list.CapacityBytes(), 100000 * 4);
}

}  // namespace
}  // namespace xscaler::storage::index
