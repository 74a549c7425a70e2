// ThreadPool: a fixed set of worker threads, created once, that run queued closures, and
// ParallelFor, which spreads the iterations of a loop over the calling thread and idle workers.
// The process-wide pool (Default) lets one request use every core without spawning threads:
// the PromQL engine evaluates a query's per-series work on it.
//
// ParallelFor never waits for a worker to become free: the calling thread claims iterations
// itself, and workers only help with those still unclaimed. A call therefore completes even when
// every worker is busy with other callers (it then runs alone), and nested or concurrent calls
// cannot deadlock. Its loop state is shared-owned, so a helper task that starts after the call
// has returned finds nothing left to claim and exits without touching the caller's closure.
//
// Thread-safety: Schedule and ParallelFor may be called from any thread, including workers.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace xscaler::base {

namespace internal {
struct LoopState;
}  // namespace internal

class ThreadPool {
 public:
  // Starts `threads` workers (at least 1).
  explicit ThreadPool(int threads);
  // Runs the closures still queued, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The process-wide pool: std::thread::hardware_concurrency() workers (at least 1), started on
  // first use and never destroyed (queries may run during static destruction at exit).
  static ThreadPool& Default();

  int size() const { return static_cast<int>(workers_.size()); }

  // Queues `fn` to run on a worker. REQUIRES: `fn` does not throw.
  void Schedule(std::function<void()> fn);

  // Calls fn(i) for every i in [0, n) exactly once, on the calling thread and on up to
  // `max_helpers` workers (-1: all), and returns when every call has returned. Calls run in no
  // particular order and concurrently. REQUIRES: `fn` does not throw.
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn, int max_helpers = -1);

  // A ParallelFor that the caller finishes later: workers start on its iterations at once; the
  // owner runs unclaimed ones with RunOne (e.g. while it waits for another loop) and waits with
  // Wait. Destroying a Loop runs what is unclaimed and waits for the rest, so `fn`'s captures
  // need only outlive the Loop. One owner thread; workers never wait on a Loop.
  class Loop {
   public:
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    // Runs one unclaimed iteration on this thread; false when none is left.
    bool RunOne();
    // Whether every iteration has returned.
    bool Done() const;
    // Returns when every iteration has returned.
    void Wait();

   private:
    friend class ThreadPool;
    explicit Loop(std::shared_ptr<internal::LoopState> st) : st_(std::move(st)) {}
    std::shared_ptr<internal::LoopState> st_;
  };
  // REQUIRES: `fn` does not throw.
  std::unique_ptr<Loop> Start(size_t n, std::function<void(size_t)> fn, int max_helpers = -1);

 private:
  void WorkerLoop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace xscaler::base
