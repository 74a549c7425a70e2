// CompactionLimiter: caps how many databases (tenants) cut or compact blocks at the same time,
// so background storage work takes a bounded share of the machine's cores and disk bandwidth
// however many tenants there are. Each tenant's Tsdb has its own background thread; a round
// does its file work only while holding a slot.
//
// Thread-safety: safe for concurrent use. A Slot must not outlive its limiter.
#pragma once

#include <algorithm>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace xscaler::storage {

class CompactionLimiter {
 public:
  // `slots` <= 0: half the hardware threads, at least one.
  explicit CompactionLimiter(int slots = 0)
      : free_(slots > 0 ? slots
                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency() / 2))) {}

  class Slot {
   public:
    explicit Slot(CompactionLimiter* l) : l_(l) {
      if (l_ == nullptr) return;
      absl::MutexLock lock(&l_->mu_);
      l_->mu_.Await(absl::Condition(
          +[](int* free) { return *free > 0; }, &l_->free_));
      --l_->free_;
    }
    ~Slot() {
      if (l_ == nullptr) return;
      absl::MutexLock lock(&l_->mu_);
      ++l_->free_;
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    CompactionLimiter* const l_;
  };

  int free_slots() const {
    absl::MutexLock lock(&mu_);
    return free_;
  }

 private:
  mutable absl::Mutex mu_;
  int free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xscaler::storage
