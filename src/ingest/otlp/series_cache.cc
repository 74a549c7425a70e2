#include "ingest/otlp/series_cache.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "absl/hash/hash.h"

namespace xscaler::ingest::otlp {
namespace {

// Two multiply-rotate lanes over the same 8-byte words, with their own constants and rotations.
// The lanes do not depend on each other, so the CPU runs them in parallel: two 64-bit hashes for
// about the price of one.
constexpr uint64_t kA1 = 0x87c37b91114253d5ULL;
constexpr uint64_t kA2 = 0x4cf5ad432745937fULL;
constexpr uint64_t kB1 = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kB2 = 0xc2b2ae3d27d4eb4fULL;
constexpr uint64_t kLengthTweak = 0x2545f4914f6cdd1dULL;
constexpr uint64_t kNumberTweak = 0x5851f42d4c957f2dULL;

inline void MixWord(uint64_t& a, uint64_t& b, uint64_t w) {
  a = std::rotl(a ^ (w * kA1), 31) * kA2;
  b = std::rotl(b ^ (w * kB1), 29) * kB2;
}

uint64_t Fmix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Lane a starts from a per-process value (absl's hash seed moves with ASLR), so a client cannot
// precompute two attribute sets that share a key.
const uint64_t kProcessSeed = absl::HashOf(uint64_t{0x243f6a8885a308d3ULL});

}  // namespace

SeriesKeyHasher::SeriesKeyHasher() : a_(kProcessSeed), b_(0x13198a2e03707344ULL) {}

inline uint64_t Load64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
inline uint64_t Load32(const char* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

void SeriesKeyHasher::Add(std::string_view s) {
  // Locals, so the lanes stay in registers.
  uint64_t a = a_, b = b_;
  const char* p = s.data();
  const size_t n = s.size();
  MixWord(a, b, n ^ kLengthTweak);
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) MixWord(a, b, Load64(p + i));
    // The last 1-7 bytes as the (overlapping) last word: the length above makes it unambiguous.
    if (i < n) MixWord(a, b, Load64(p + n - 8));
  } else if (n >= 4) {
    MixWord(a, b, Load32(p) | (Load32(p + n - 4) << 32));
  } else if (n > 0) {
    const auto byte = [p](size_t i) { return static_cast<uint64_t>(static_cast<uint8_t>(p[i])); };
    MixWord(a, b, byte(0) | (byte(n / 2) << 8) | (byte(n - 1) << 16));
  }
  a_ = a;
  b_ = b;
}

void SeriesKeyHasher::AddU64(uint64_t v) {
  // A tweak word first, distinct from the length tweak, so a number never reads as a string.
  MixWord(a_, b_, kNumberTweak);
  MixWord(a_, b_, v);
}

SeriesCacheKey SeriesKeyHasher::Finish() const {
  // b also depends on a: equal keys need both lanes equal (Fmix is a bijection).
  const uint64_t a = Fmix(a_);
  return {a, Fmix(b_ + a)};
}

namespace {
// Probe runs stay short at this load (linear probing: ~2.5 slots per hit at 3/4).
constexpr size_t kMaxLoadNum = 3;
constexpr size_t kMaxLoadDen = 4;
constexpr size_t kMinSlots = 16;
}  // namespace

SeriesCache::SeriesCache(size_t max_entries)
    : max_per_stripe_(std::max<size_t>(1, max_entries / kStripes)) {}

size_t SeriesCache::Stripe::Probe(const SeriesCacheKey& key) const {
  const size_t mask = slots.size() - 1;
  for (size_t i = key.a & mask;; i = (i + 1) & mask) {
    const Entry& e = slots[i];
    if (e.value.ref == 0 || e.key == key) return i;
  }
}

void SeriesCache::Stripe::Grow() {
  std::vector<Entry> old = std::move(slots);
  slots.assign(std::max(kMinSlots, old.size() * 2), Entry{});
  for (const Entry& e : old) {
    if (e.value.ref != 0) slots[Probe(e.key)] = e;
  }
}

// Backward-shift deletion: later entries of the probe run move up, so no tombstones are needed
// and runs never lengthen with churn.
void SeriesCache::Stripe::EraseAt(size_t i) {
  const size_t mask = slots.size() - 1;
  size_t hole = i;
  for (size_t j = (i + 1) & mask; slots[j].value.ref != 0; j = (j + 1) & mask) {
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

bool SeriesCache::Find(const SeriesCacheKey& key, CachedSeries* out) const {
  Stripe& st = StripeFor(key);
  absl::MutexLock lock(&st.mu);
  if (st.slots.empty()) return false;
  const Entry& e = st.slots[st.Probe(key)];
  if (e.value.ref == 0) return false;
  *out = e.value;
  return true;
}

void SeriesCache::FindBatch(std::span<const SeriesCacheKey> keys,
                            std::span<CachedSeries> out) const {
  // Counting sort of the positions by stripe.
  std::array<uint32_t, kStripes + 1> start{};
  for (const SeriesCacheKey& k : keys) ++start[StripeOf(k) + 1];
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
      for (uint32_t k = from; k < to; ++k) out[order[k]] = CachedSeries{};
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

void SeriesCache::Insert(const SeriesCacheKey& key, const CachedSeries& value) {
  if (value.ref == 0) return;
  Stripe& st = StripeFor(key);
  absl::MutexLock lock(&st.mu);
  if (!st.slots.empty()) {
    Entry& e = st.slots[st.Probe(key)];
    if (e.value.ref != 0) {
      e.value = value;  // a newer ref for the same key
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

void SeriesCache::Erase(const SeriesCacheKey& key) {
  Stripe& st = StripeFor(key);
  absl::MutexLock lock(&st.mu);
  if (st.slots.empty()) return;
  const size_t i = st.Probe(key);
  if (st.slots[i].value.ref != 0) st.EraseAt(i);
}

size_t SeriesCache::size() const {
  size_t n = 0;
  for (Stripe& st : stripes_) {
    absl::MutexLock lock(&st.mu);
    n += st.count;
  }
  return n;
}

}  // namespace xscaler::ingest::otlp
