// The table behind the ingest paths' series caches (remote write's SeriesRefCache, OTLP's
// SeriesCache): a bounded, thread-safe map from a 128-bit key (a hash of what determines a
// series' label set) to a small value holding the storage series ref.
//
// Layout: 64 stripes, each an open-addressing table of {key, value} entries with linear
// probing, at most 3/4 full (a table doubles when it fills). The key is stored inline, so a
// lookup costs one cache miss, and FindBatch groups a request's keys by stripe (one lock per
// stripe) and prefetches the next keys' slots while it probes the current one, so the misses of
// a request overlap instead of adding up. Deletion shifts later entries of the probe run back,
// so there are no tombstones and runs never lengthen with churn. Bounded: when a stripe reaches
// its share of max_entries it is cleared (its series take the slow path once more).
//
// `Value` is a storage::SeriesRef, or a trivially copyable struct with a `storage::SeriesRef ref`
// member; ref 0 marks an empty slot, so values with ref 0 are never stored and a miss reads as
// Value{}.
//
// Thread-safety: all methods are safe to call concurrently (striped mutexes).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "storage/storage.h"

namespace xscaler::ingest {

struct Key128 {
  uint64_t a = 0;
  uint64_t b = 0;
  friend bool operator==(const Key128&, const Key128&) = default;
};

// The ref of a table value (see StripedRefTable).
inline storage::SeriesRef RefOf(storage::SeriesRef ref) { return ref; }
template <typename V>
auto RefOf(const V& v) -> decltype(v.ref) {
  return v.ref;
}

template <typename Value>
class StripedRefTable {
 public:
  explicit StripedRefTable(size_t max_entries)
      : max_per_stripe_(std::max<size_t>(1, max_entries / kStripes)) {}
  StripedRefTable(const StripedRefTable&) = delete;
  StripedRefTable& operator=(const StripedRefTable&) = delete;

  // The value of `key`, or Value{} (ref 0) when absent.
  Value Find(const Key128& key) const {
    Stripe& st = stripes_[StripeOf(key)];
    absl::MutexLock lock(&st.mu);
    if (st.slots.empty()) return Value{};
    return st.slots[st.Probe(key)].value;
  }

  // out[i] = Find(keys[i]) for every i. REQUIRES: out.size() == keys.size().
  void FindBatch(std::span<const Key128> keys, std::span<Value> out) const {
    // Counting sort of the positions by stripe.
    std::array<uint32_t, kStripes + 1> start{};
    for (const Key128& k : keys) ++start[StripeOf(k) + 1];
    for (size_t s = 0; s < kStripes; ++s) start[s + 1] += start[s];
    std::vector<uint32_t> order(keys.size());
    {
      std::array<uint32_t, kStripes> fill;
      std::copy(start.begin(), start.end() - 1, fill.begin());
      for (size_t i = 0; i < keys.size(); ++i) {
        order[fill[StripeOf(keys[i])]++] = static_cast<uint32_t>(i);
      }
    }
    constexpr uint32_t kAhead = 6;
    for (size_t s = 0; s < kStripes; ++s) {
      const uint32_t from = start[s];
      const uint32_t to = start[s + 1];
      if (from == to) continue;
      Stripe& st = stripes_[s];
      absl::MutexLock lock(&st.mu);
      if (st.slots.empty()) {
        for (uint32_t k = from; k < to; ++k) out[order[k]] = Value{};
        continue;
      }
      const size_t mask = st.slots.size() - 1;
      for (uint32_t k = from; k < std::min(to, from + kAhead); ++k) {
        __builtin_prefetch(&st.slots[keys[order[k]].a & mask]);
      }
      for (uint32_t k = from; k < to; ++k) {
        if (k + kAhead < to) __builtin_prefetch(&st.slots[keys[order[k + kAhead]].a & mask]);
        out[order[k]] = st.slots[st.Probe(keys[order[k]])].value;
      }
    }
  }

  // Stores `value` for `key` (replacing an older one); ignores ref 0.
  void Insert(const Key128& key, const Value& value) {
    if (RefOf(value) == 0) return;
    Stripe& st = stripes_[StripeOf(key)];
    absl::MutexLock lock(&st.mu);
    if (!st.slots.empty()) {
      Entry& e = st.slots[st.Probe(key)];
      if (RefOf(e.value) != 0) {
        e.value = value;
        return;
      }
    }
    if (st.count >= max_per_stripe_) {
      st.slots.assign(st.slots.size(), Entry{});
      st.count = 0;
    }
    if ((st.count + 1) * kMaxLoadDen > st.slots.size() * kMaxLoadNum) st.Grow();
    st.slots[st.Probe(key)] = Entry{key, value};
    ++st.count;
  }

  void Erase(const Key128& key) {
    Stripe& st = stripes_[StripeOf(key)];
    absl::MutexLock lock(&st.mu);
    if (st.slots.empty()) return;
    const size_t i = st.Probe(key);
    if (RefOf(st.slots[i].value) != 0) st.EraseAt(i);
  }

  size_t size() const {
    size_t n = 0;
    for (Stripe& st : stripes_) {
      absl::MutexLock lock(&st.mu);
      n += st.count;
    }
    return n;
  }

 private:
  static constexpr size_t kStripes = 64;
  // Probe runs stay short at this load (linear probing: ~2.5 slots per hit at 3/4).
  static constexpr size_t kMaxLoadNum = 3;
  static constexpr size_t kMaxLoadDen = 4;
  static constexpr size_t kMinSlots = 16;

  struct Entry {
    Key128 key;
    Value value;  // ref 0 = empty slot
  };
  struct Stripe {
    mutable absl::Mutex mu;
    std::vector<Entry> slots ABSL_GUARDED_BY(mu);  // power-of-two size, or empty
    size_t count ABSL_GUARDED_BY(mu) = 0;

    // Index of the slot holding `key`, or of the empty slot ending its probe run.
    size_t Probe(const Key128& key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      const size_t mask = slots.size() - 1;
      for (size_t i = key.a & mask;; i = (i + 1) & mask) {
        const Entry& e = slots[i];
        if (RefOf(e.value) == 0 || e.key == key) return i;
      }
    }
    void Grow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      std::vector<Entry> old = std::move(slots);
      slots.assign(std::max(kMinSlots, old.size() * 2), Entry{});
      for (const Entry& e : old) {
        if (RefOf(e.value) != 0) slots[Probe(e.key)] = e;
      }
    }
    void EraseAt(size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      const size_t mask = slots.size() - 1;
      size_t hole = i;
      for (size_t j = (i + 1) & mask; RefOf(slots[j].value) != 0; j = (j + 1) & mask) {
        const size_t home = slots[j].key.a & mask;
        // The entry at j may fill the hole unless its home lies in (hole, j] (cyclically).
        const bool home_after_hole = ((j - home) & mask) < ((j - hole) & mask);
        if (!home_after_hole) {
          slots[hole] = slots[j];
          hole = j;
        }
      }
      slots[hole] = Entry{};
      --count;
    }
  };
  // `b` picks the stripe so the in-stripe position (`a`) stays fully random.
  static size_t StripeOf(const Key128& k) { return k.b % kStripes; }

  const size_t max_per_stripe_;
  mutable std::array<Stripe, kStripes> stripes_;
};

}  // namespace xscaler::ingest
