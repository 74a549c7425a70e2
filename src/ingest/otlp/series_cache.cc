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

bool SeriesCache::Find(const SeriesCacheKey& key, CachedSeries* out) const {
  const CachedSeries found = table_.Find(key);
  if (found.ref == 0) return false;
  *out = found;
  return true;
}

void SeriesCache::FindBatch(std::span<const SeriesCacheKey> keys,
                            std::span<CachedSeries> out) const {
  table_.FindBatch(keys, out);
}

void SeriesCache::Insert(const SeriesCacheKey& key, const CachedSeries& value) {
  table_.Insert(key, value);
}

void SeriesCache::Erase(const SeriesCacheKey& key) { table_.Erase(key); }

size_t SeriesCache::size() const { return table_.size(); }

}  // namespace xscaler::ingest::otlp
