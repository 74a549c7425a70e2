#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace xscaler::base {
namespace {

TEST(ThreadPoolTest, ParallelForRunsEveryIterationOnce) {
  ThreadPool pool(3);
  for (size_t n : {0, 1, 2, 7, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    pool.ParallelFor(n, [&](size_t i) { hits[i].fetch_add(1); });
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << n << " " << i;
  }
}

TEST(ThreadPoolTest, ParallelForUsesWorkers) {
  ThreadPool pool(2);
  // Each iteration waits until two different threads have entered, so the loop only finishes
  // if a worker helps the caller.
  std::atomic<int> entered{0};
  std::mutex mu;
  std::set<std::thread::id> ids;
  pool.ParallelFor(2, [&](size_t) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
    }
    entered.fetch_add(1);
    while (entered.load() < 2) std::this_thread::yield();
  });
  EXPECT_EQ(ids.size(), 2u);
}

TEST(ThreadPoolTest, CompletesWhenWorkersAreBusyAndWhenNested) {
  ThreadPool pool(1);
  std::atomic<bool> release{false};
  pool.Schedule([&] {
    while (!release.load()) std::this_thread::yield();
  });
  // The only worker is blocked: the caller runs every iteration itself.
  std::atomic<int> sum{0};
  pool.ParallelFor(100, [&](size_t i) { sum.fetch_add(static_cast<int>(i)); });
  EXPECT_EQ(sum.load(), 4950);
  release = true;
  // Nested calls from inside iterations.
  std::atomic<int> inner{0};
  pool.ParallelFor(4, [&](size_t) { pool.ParallelFor(10, [&](size_t) { inner.fetch_add(1); }); });
  EXPECT_EQ(inner.load(), 40);
}

TEST(ThreadPoolTest, MaxHelpersZeroRunsOnTheCaller) {
  ThreadPool pool(2);
  std::set<std::thread::id> ids;
  pool.ParallelFor(50, [&](size_t) { ids.insert(std::this_thread::get_id()); }, 0);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(*ids.begin(), std::this_thread::get_id());
}

TEST(ThreadPoolTest, DefaultPoolIsSharedAndSized) {
  EXPECT_EQ(&ThreadPool::Default(), &ThreadPool::Default());
  EXPECT_GE(ThreadPool::Default().size(), 1);
}

}  // namespace
}  // namespace xscaler::base

namespace xscaler::base {
namespace {

TEST(ThreadPoolTest, StartedLoopsFinishUnderTheirOwner) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> a(300), b(300);
  auto la = pool.Start(a.size(), [&](size_t i) { a[i].fetch_add(1); }, 1);
  auto lb = pool.Start(b.size(), [&](size_t i) { b[i].fetch_add(1); });
  while (lb->RunOne()) {
  }
  lb->Wait();
  EXPECT_TRUE(lb->Done());
  for (auto& x : b) EXPECT_EQ(x.load(), 1);
  la.reset();  // runs what is left, waits for the rest
  for (auto& x : a) EXPECT_EQ(x.load(), 1);
  // A loop started while every worker is busy completes on its owner alone.
  ThreadPool one(1);
  std::atomic<bool> release{false};
  one.Schedule([&] {
    while (!release.load()) std::this_thread::yield();
  });
  std::atomic<int> sum{0};
  auto lc = one.Start(10, [&](size_t i) { sum.fetch_add(static_cast<int>(i)); });
  while (lc->RunOne()) {
  }
  lc->Wait();
  EXPECT_EQ(sum.load(), 45);
  release = true;
}

}  // namespace
}  // namespace xscaler::base
