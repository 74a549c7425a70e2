#include "ingest/remote_write/series_ref_cache.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/hash/hash.h"

namespace xscaler::ingest::remote_write {
namespace {

// The second, independent hash: 8 bytes at a time, multiply-rotate with its own constants.
uint64_t MulRot(uint64_t h, std::string_view s) {
  constexpr uint64_t k1 = 0x87c37b91114253d5ULL;
  constexpr uint64_t k2 = 0x4cf5ad432745937fULL;
  h ^= s.size() * k2;
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = std::rotl(h ^ (w * k1), 31) * k2;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = std::rotl(h ^ (w * k1), 31) * k2;
  }
  return h;
}

uint64_t Fmix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

void LabelBytesHasher::Add(std::string_view label_message) {
  a_ = absl::HashOf(a_, label_message);  // hashes the length too
  b_ = MulRot(b_, label_message);
}

LabelBytesKey LabelBytesHasher::Finish() const { return {a_, Fmix(b_)}; }

SeriesRefCache::SeriesRefCache(size_t max_entries)
    : max_per_stripe_(std::max<size_t>(1, max_entries / kStripes)) {}

storage::SeriesRef SeriesRefCache::Find(const LabelBytesKey& key) const {
  Stripe& st = StripeFor(key);
  absl::MutexLock lock(&st.mu);
  auto it = st.map.find(key);
  return it == st.map.end() ? 0 : it->second;
}

void SeriesRefCache::Insert(const LabelBytesKey& key, storage::SeriesRef ref) {
  if (ref == 0) return;
  Stripe& st = StripeFor(key);
  absl::MutexLock lock(&st.mu);
  if (st.map.size() >= max_per_stripe_ && !st.map.contains(key)) st.map.clear();
  st.map[key] = ref;
}

void SeriesRefCache::Erase(const LabelBytesKey& key) {
  Stripe& st = StripeFor(key);
  absl::MutexLock lock(&st.mu);
  st.map.erase(key);
}

size_t SeriesRefCache::size() const {
  size_t n = 0;
  for (Stripe& st : stripes_) {
    absl::MutexLock lock(&st.mu);
    n += st.map.size();
  }
  return n;
}

}  // namespace xscaler::ingest::remote_write
