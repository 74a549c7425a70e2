// A per-tenant map from the raw wire bytes of a remote-write TimeSeries' labels (its Label
// fields, tags and lengths included, in order) to the storage series ref they resolved to, so a
// series seen before skips decoding, validating, sorting and hashing its label set and the
// label-compare lookup.
//
// Keys are 128 bits: XXH3-128 of the label fields' bytes, seeded per process at random. Two
// distinct label sets would have to collide in all 128 bits for a sample to land in the wrong
// series: with 4M entries that is ~2^-106 per lookup, and since the seed is secret a sender
// cannot search for a collision offline. The protobuf framing (tag, length) is part of the
// hashed bytes, so label boundaries are unambiguous. The key depends only on the bytes, so the
// same labels sent in another order or encoding simply miss.
//
// Only refs returned by a successful Append of a validated label set are inserted (the
// caller's rule), so a hit never lets an invalid label set through. A ref may go stale (its
// series garbage-collected): Appender::AppendExisting then says NotFound and the caller erases
// the entry and falls back. Bounded: when a stripe exceeds its share of max_entries it is
// cleared (its series just take the slow path once more).
//
// Layout: 64 stripes, each an open-addressing table of 24-byte entries {key, ref} with linear
// probing, at most half full (~48 B per entry with the slack). The key is stored inline, so a
// lookup costs one cache miss, and FindBatch groups a request's keys by stripe (one lock per
// stripe) and prefetches the next keys' slots while it probes the current one, so the misses of
// a request overlap instead of adding up.
//
// Thread-safety: all methods are safe to call concurrently (striped mutexes).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "storage/storage.h"

namespace xscaler::ingest::remote_write {

struct LabelBytesKey {
  uint64_t a = 0;
  uint64_t b = 0;
  friend bool operator==(const LabelBytesKey&, const LabelBytesKey&) = default;
};

// Builds a LabelBytesKey from a series' Label fields, one Add per field, each given with its
// tag and length prefix (protowire::Reader::raw_field()). Fields that follow each other in the
// buffer, as they do in every sender's encoding, are hashed in one pass.
class LabelBytesHasher {
 public:
  LabelBytesHasher();
  ~LabelBytesHasher();
  LabelBytesHasher(const LabelBytesHasher&) = delete;
  LabelBytesHasher& operator=(const LabelBytesHasher&) = delete;

  void Add(std::string_view raw_label_field);
  LabelBytesKey Finish();

 private:
  struct Stream;  // XXH3 streaming state, only for labels not contiguous in the buffer
  void FlushSpan();

  const char* span_begin_ = nullptr;
  const char* span_end_ = nullptr;
  std::unique_ptr<Stream> stream_;
};

class SeriesRefCache {
 public:
  static constexpr size_t kDefaultMaxEntries = size_t{4} << 20;
  explicit SeriesRefCache(size_t max_entries = kDefaultMaxEntries);
  ~SeriesRefCache();
  SeriesRefCache(const SeriesRefCache&) = delete;
  SeriesRefCache& operator=(const SeriesRefCache&) = delete;

  // The cached ref, or 0 when absent.
  storage::SeriesRef Find(const LabelBytesKey& key) const;
  // out[i] = Find(keys[i]) for every i, with the lookups of one stripe under one lock and
  // their memory accesses overlapped. REQUIRES: out.size() == keys.size().
  void FindBatch(std::span<const LabelBytesKey> keys, std::span<storage::SeriesRef> out) const;
  void Insert(const LabelBytesKey& key, storage::SeriesRef ref);
  void Erase(const LabelBytesKey& key);
  size_t size() const;

 private:
  static constexpr size_t kStripes = 64;
  struct Entry {
    LabelBytesKey key;
    storage::SeriesRef ref = 0;  // 0 = empty slot
  };
  struct Stripe {
    mutable absl::Mutex mu;
    std::vector<Entry> slots ABSL_GUARDED_BY(mu);  // power-of-two size, or empty
    size_t count ABSL_GUARDED_BY(mu) = 0;

    // Index of the slot holding `key`, or of the empty slot ending its probe run.
    size_t Probe(const LabelBytesKey& key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
    void Grow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
    void EraseAt(size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  };
  // `b` picks the stripe so the in-stripe position (`a`) stays fully random.
  static size_t StripeOf(const LabelBytesKey& k) { return k.b % kStripes; }

  const size_t max_per_stripe_;
  mutable std::array<Stripe, kStripes> stripes_;
};

}  // namespace xscaler::ingest::remote_write
