#include "base/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

namespace xscaler::base {

ThreadPool::ThreadPool(int threads) {
  const int n = std::max(1, threads);
  workers_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (auto& t : workers_) t.join();
}

ThreadPool& ThreadPool::Default() {
  // Leaked on purpose: workers stay valid for queries that run while the process exits.
  static ThreadPool* const pool =
      new ThreadPool(static_cast<int>(std::thread::hardware_concurrency()));
  return *pool;
}

void ThreadPool::Schedule(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(fn));
}

void ThreadPool::WorkerLoop() {
  for (;;) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ThreadPool* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stop_ || !p->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and nothing left to run
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }
}

namespace internal {

// The state of one loop, shared by its owner and its helper tasks. A helper that starts after
// the loop finished claims nothing (next >= n) and never calls fn.
struct LoopState {
  LoopState(size_t n, std::function<void(size_t)> fn) : n(n), fn(std::move(fn)) {}
  const size_t n;
  const std::function<void(size_t)> fn;
  std::atomic<size_t> next{0};
  mutable absl::Mutex mu;
  size_t done ABSL_GUARDED_BY(mu) = 0;

  bool RunOne() {
    const size_t i = next.fetch_add(1, std::memory_order_relaxed);
    if (i >= n) return false;
    fn(i);
    absl::MutexLock lock(&mu);
    ++done;
    return true;
  }
  bool Done() const {
    absl::MutexLock lock(&mu);
    return done == n;
  }
  void Wait() {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](LoopState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return s->done == s->n; },
        this));
  }
};

}  // namespace internal

ThreadPool::Loop::~Loop() {
  while (RunOne()) {
  }
  Wait();
}
bool ThreadPool::Loop::RunOne() { return st_->RunOne(); }
bool ThreadPool::Loop::Done() const { return st_->Done(); }
void ThreadPool::Loop::Wait() { st_->Wait(); }

std::unique_ptr<ThreadPool::Loop> ThreadPool::Start(size_t n, std::function<void(size_t)> fn,
                                                    int max_helpers) {
  auto st = std::make_shared<internal::LoopState>(n, std::move(fn));
  size_t helpers = std::min(n, workers_.size());
  if (max_helpers >= 0) helpers = std::min(helpers, static_cast<size_t>(max_helpers));
  if (helpers > 0) {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < helpers; ++i) {
      queue_.push_back([st] {
        while (st->RunOne()) {
        }
      });
    }
  }
  return std::unique_ptr<Loop>(new Loop(std::move(st)));
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn, int max_helpers) {
  if (n == 0) return;
  if (n == 1) {
    fn(0);
    return;
  }
  // Borrows fn: the Loop is destroyed (every call returned) before this returns.
  auto loop = Start(
      n, [&fn](size_t i) { fn(i); },
      max_helpers < 0 ? static_cast<int>(n - 1) : std::min<int>(max_helpers, static_cast<int>(n - 1)));
  while (loop->RunOne()) {
  }
  loop->Wait();
}

}  // namespace xscaler::base
