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
// Layout (ingest/ref_table.h): 64 locked stripes of open-addressing tables with the key
// inline, 24 bytes per entry at most 3/4 full (32-64 B per entry with the slack); FindBatch
// looks a whole request up with one lock per stripe and overlapped cache misses.
//
// Thread-safety: all methods are safe to call concurrently (striped mutexes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "ingest/ref_table.h"
#include "storage/storage.h"

namespace xscaler::ingest::remote_write {

using LabelBytesKey = Key128;

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
  explicit SeriesRefCache(size_t max_entries = kDefaultMaxEntries) : table_(max_entries) {}
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
  StripedRefTable<storage::SeriesRef> table_;
};

}  // namespace xscaler::ingest::remote_write
