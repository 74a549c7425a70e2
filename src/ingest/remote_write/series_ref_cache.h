// A per-tenant map from the raw wire bytes of a remote-write TimeSeries' labels (its Label
// sub-messages, in order) to the storage series ref they resolved to, so a series seen before
// skips decoding, validating, sorting and hashing its label set and the label-compare lookup.
//
// Keys are 128 bits: two independent 64-bit hashes of the label bytes (absl::Hash and a
// multiply-rotate hash with its own constants), each fed every sub-message's length and bytes.
// Two distinct label sets would have to collide in both at once for a sample to land in the
// wrong series: with 4M entries that is ~2^-84 per lookup, i.e. never in practice. The key
// depends only on the bytes, so the same labels sent in another order or encoding simply miss.
//
// Only refs returned by a successful Append of a validated label set are inserted (the
// caller's rule), so a hit never lets an invalid label set through. A ref may go stale (its
// series garbage-collected): Appender::AppendExisting then says NotFound and the caller erases
// the entry and falls back. Bounded: when a stripe exceeds its share of max_entries it is
// cleared (its series just take the slow path once more).
//
// Thread-safety: all methods are safe to call concurrently (striped mutexes).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "storage/storage.h"

namespace xscaler::ingest::remote_write {

struct LabelBytesKey {
  uint64_t a = 0;
  uint64_t b = 0;
  friend bool operator==(const LabelBytesKey&, const LabelBytesKey&) = default;
};

// Builds a LabelBytesKey from a series' Label sub-messages, one Add per sub-message.
class LabelBytesHasher {
 public:
  void Add(std::string_view label_message);
  LabelBytesKey Finish() const;

 private:
  uint64_t a_ = 0x243f6a8885a308d3ULL;
  uint64_t b_ = 0x13198a2e03707344ULL;
};

class SeriesRefCache {
 public:
  static constexpr size_t kDefaultMaxEntries = size_t{4} << 20;
  explicit SeriesRefCache(size_t max_entries = kDefaultMaxEntries);
  SeriesRefCache(const SeriesRefCache&) = delete;
  SeriesRefCache& operator=(const SeriesRefCache&) = delete;

  // The cached ref, or 0 when absent.
  storage::SeriesRef Find(const LabelBytesKey& key) const;
  void Insert(const LabelBytesKey& key, storage::SeriesRef ref);
  void Erase(const LabelBytesKey& key);
  size_t size() const;

 private:
  static constexpr size_t kStripes = 64;
  struct KeyHash {
    size_t operator()(const LabelBytesKey& k) const { return static_cast<size_t>(k.a); }
  };
  struct Stripe {
    mutable absl::Mutex mu;
    absl::flat_hash_map<LabelBytesKey, storage::SeriesRef, KeyHash> map ABSL_GUARDED_BY(mu);
  };
  // `b` picks the stripe so the in-stripe hash (`a`) stays fully random.
  Stripe& StripeFor(const LabelBytesKey& k) const { return stripes_[k.b % kStripes]; }

  const size_t max_per_stripe_;
  mutable std::array<Stripe, kStripes> stripes_;
};

}  // namespace xscaler::ingest::remote_write
