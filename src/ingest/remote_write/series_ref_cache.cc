#include "ingest/remote_write/series_ref_cache.h"

#include <algorithm>
#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace xscaler::ingest::remote_write {
namespace {

// Secret per process, so label sets that collide cannot be computed offline.
uint64_t ProcessSeed() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  return seed;
}

LabelBytesKey FromXxh(XXH128_hash_t h) { return {h.low64, h.high64}; }

// Probe runs stay short at this load (linear probing: ~2.5 slots per hit at 3/4).
constexpr size_t kMaxLoadNum = 3;
constexpr size_t kMaxLoadDen = 4;
constexpr size_t kMinSlots = 16;

}  // namespace

struct LabelBytesHasher::Stream {
  XXH3_state_t state;
};

LabelBytesHasher::LabelBytesHasher() = default;
LabelBytesHasher::~LabelBytesHasher() = default;

void LabelBytesHasher::Add(std::string_view raw) {
  if (span_begin_ != nullptr && raw.data() == span_end_) {
    span_end_ += raw.size();
    return;
  }
  FlushSpan();
  span_begin_ = raw.data();
  span_end_ = raw.data() + raw.size();
}

void LabelBytesHasher::FlushSpan() {
  if (span_begin_ == nullptr) return;
  if (stream_ == nullptr) {
    stream_ = std::make_unique<Stream>();
    XXH3_128bits_reset_withSeed(&stream_->state, ProcessSeed());
  }
  XXH3_128bits_update(&stream_->state, span_begin_, static_cast<size_t>(span_end_ - span_begin_));
  span_begin_ = span_end_ = nullptr;
}

LabelBytesKey LabelBytesHasher::Finish() {
  // The streaming and the one-shot forms give the same digest for the same bytes, so a series
  // whose labels arrive split hashes like one whose labels are contiguous.
  if (stream_ == nullptr) {
    const size_t n = span_begin_ == nullptr ? 0 : static_cast<size_t>(span_end_ - span_begin_);
    return FromXxh(XXH3_128bits_withSeed(span_begin_ == nullptr ? "" : span_begin_, n,
                                         ProcessSeed()));
  }
  FlushSpan();
  return FromXxh(XXH3_128bits_digest(&stream_->state));
}

SeriesRefCache::SeriesRefCache(size_t max_entries)
    : max_per_stripe_(std::max<size_t>(1, max_entries / kStripes)) {}

SeriesRefCache::~SeriesRefCache() = default;

size_t SeriesRefCache::Stripe::Probe(const LabelBytesKey& key) const {
  const size_t mask = slots.size() - 1;
  for (size_t i = key.a & mask;; i = (i + 1) & mask) {
    const Entry& e = slots[i];
    if (e.ref == 0 || e.key == key) return i;
  }
}

void SeriesRefCache::Stripe::Grow() {
  std::vector<Entry> old = std::move(slots);
  slots.assign(std::max(kMinSlots, old.size() * 2), Entry{});
  for (const Entry& e : old) {
    if (e.ref != 0) slots[Probe(e.key)] = e;
  }
}

// Backward-shift deletion: later entries of the probe run move up, so no tombstones are needed
// and runs never lengthen with churn.
void SeriesRefCache::Stripe::EraseAt(size_t i) {
  const size_t mask = slots.size() - 1;
  size_t hole = i;
  for (size_t j = (i + 1) & mask; slots[j].ref != 0; j = (j + 1) & mask) {
    const size_t home = slots[j].key.a & mask;
    // The entry at j may fill the hole if its home is not in (hole, j] (cyclically).
    const bool home_after_hole = ((j - home) & mask) < ((j - hole) & mask);
    if (!home_after_hole) {
      slots[hole] = slots[j];
      hole = j;
    }
  }
  slots[hole] = Entry{};
  --count;
}

storage::SeriesRef SeriesRefCache::Find(const LabelBytesKey& key) const {
  Stripe& st = stripes_[StripeOf(key)];
  absl::MutexLock lock(&st.mu);
  if (st.slots.empty()) return 0;
  return st.slots[st.Probe(key)].ref;
}

void SeriesRefCache::FindBatch(std::span<const LabelBytesKey> keys,
                               std::span<storage::SeriesRef> out) const {
  // Counting sort of the positions by stripe.
  std::array<uint32_t, kStripes + 1> start{};
  for (const LabelBytesKey& k : keys) ++start[StripeOf(k) + 1];
  for (size_t s = 0; s < kStripes; ++s) start[s + 1] += start[s];
  std::vector<uint32_t> order(keys.size());
  {
    std::array<uint32_t, kStripes> fill;
    std::copy(start.begin(), start.end() - 1, fill.begin());
    for (size_t i = 0; i < keys.size(); ++i) order[fill[StripeOf(keys[i])]++] = static_cast<uint32_t>(i);
  }
  constexpr size_t kAhead = 6;
  for (size_t s = 0; s < kStripes; ++s) {
    const uint32_t from = start[s];
    const uint32_t to = start[s + 1];
    if (from == to) continue;
    Stripe& st = stripes_[s];
    absl::MutexLock lock(&st.mu);
    if (st.slots.empty()) {
      for (uint32_t k = from; k < to; ++k) out[order[k]] = 0;
      continue;
    }
    const size_t mask = st.slots.size() - 1;
    for (uint32_t k = from; k < std::min<uint32_t>(to, from + kAhead); ++k) {
      __builtin_prefetch(&st.slots[keys[order[k]].a & mask]);
    }
    for (uint32_t k = from; k < to; ++k) {
      if (k + kAhead < to) __builtin_prefetch(&st.slots[keys[order[k + kAhead]].a & mask]);
      const LabelBytesKey& key = keys[order[k]];
      out[order[k]] = st.slots[st.Probe(key)].ref;
    }
  }
}

void SeriesRefCache::Insert(const LabelBytesKey& key, storage::SeriesRef ref) {
  if (ref == 0) return;
  Stripe& st = stripes_[StripeOf(key)];
  absl::MutexLock lock(&st.mu);
  if (!st.slots.empty()) {
    Entry& e = st.slots[st.Probe(key)];
    if (e.ref != 0) {
      e.ref = ref;  // a newer ref for the same bytes
      return;
    }
  }
  if (st.count >= max_per_stripe_) {
    st.slots.assign(st.slots.size(), Entry{});
    st.count = 0;
  }
  if ((st.count + 1) * kMaxLoadDen > st.slots.size() * kMaxLoadNum) st.Grow();
  st.slots[st.Probe(key)] = Entry{key, ref};
  ++st.count;
}

void SeriesRefCache::Erase(const LabelBytesKey& key) {
  Stripe& st = stripes_[StripeOf(key)];
  absl::MutexLock lock(&st.mu);
  if (st.slots.empty()) return;
  const size_t i = st.Probe(key);
  if (st.slots[i].ref != 0) st.EraseAt(i);
}

size_t SeriesRefCache::size() const {
  size_t n = 0;
  for (Stripe& st : stripes_) {
    absl::MutexLock lock(&st.mu);
    n += st.count;
  }
  return n;
}

}  // namespace xscaler::ingest::remote_write
