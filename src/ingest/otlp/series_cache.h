// A per-Ingester (so per-tenant) map from the OTLP inputs that determine one output series to
// the storage series ref it resolved to, so a series seen before skips building, validating,
// sorting and hashing its label set and the storage's label lookup: the sample goes straight to
// Appender::AppendExisting(ref, t, v). The same idea as remote write's SeriesRefCache, keyed by
// decoded OTLP fields instead of label bytes.
//
// Key (SeriesKeyHasher, 128 bits): everything the Translator derives the label set from, each
// string fed with its length and each list with its element count, in order:
//   point series   kPointSeries tag, the scope's fixed labels (otel_scope_name/version, job,
//                  instance: names and values), the output metric name (which folds in the OTLP
//                  name, unit, type and monotonicity), the point's attribute (key, rendered
//                  value) pairs in wire order, and the sub-series (plain value, bucket + bound
//                  bits, +Inf bucket, _count, _sum, quantile + quantile bits);
//   target_info    kTargetInfo tag, job, instance, all resource attribute pairs in order.
// The key is a function finer than the label set (the same labels reached through another
// attribute order or value encoding simply miss), so a hit can only name the series the slow path
// would have built. Two 64-bit multiply-rotate lanes with their own constants (one seeded per
// process) must both collide for a sample to land in the wrong series: ~2^-84 per lookup with
// 4M entries, i.e. never in practice; and since the cache is per tenant, even a crafted
// collision could only misplace that tenant's own samples.
//
// The caller's rules (Translator in ingester.cc): insert only a ref returned by a successful
// Append of a label set built from exactly these inputs, and only when that build raised no
// warning (attribute keys colliding after escaping), so a hit never skips a rejection or a
// warning the slow path would have given. A ref may go stale (its series garbage-collected):
// AppendExisting then says NotFound and the caller erases the entry and builds the labels.
//
// Value: the ref and the label set's SeriesKey (the key of the Ingester's delta/start-time
// state), so the cached path needs no label set for that state either.
//
// Layout and memory (ingest/ref_table.h): 64 locked stripes of open-addressing tables with the
// key inline, 32-byte entries {key, ref, state key} at most 3/4 full: 43-85 bytes per entry,
// so at most ~350 MB at the default cap of 4M entries, a fraction of what the head spends on the
// same series. FindBatch looks a request up with one lock per stripe and overlapped cache misses.
//
// Thread-safety: all methods are safe to call concurrently (striped mutexes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ingest/ref_table.h"
#include "storage/storage.h"

namespace xscaler::ingest::otlp {

using SeriesCacheKey = Key128;

// Builds a SeriesCacheKey from a sequence of fields. Copyable, so a prefix (scope, metric,
// point) is hashed once and extended per output series.
class SeriesKeyHasher {
 public:
  SeriesKeyHasher();
  // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
  void Add(std::string_view s);
  void AddU64(uint64_t v);
  SeriesCacheKey Finish() const;

 private:
  uint64_t a_;
  uint64_t b_;
};

struct CachedSeries {
  storage::SeriesRef ref = 0;
  uint64_t state_key = 0;  // the Ingester's SeriesKey of the label set
};

class SeriesCache {
 public:
  static constexpr size_t kDefaultMaxEntries = size_t{4} << 20;
  explicit SeriesCache(size_t max_entries = kDefaultMaxEntries) : table_(max_entries) {}
  SeriesCache(const SeriesCache&) = delete;
  SeriesCache& operator=(const SeriesCache&) = delete;

  // True and `*out` set when `key` is present.
  bool Find(const SeriesCacheKey& key, CachedSeries* out) const;
  // out[i] = the entry of keys[i], or ref 0 when absent; the lookups of one stripe run under one
  // lock with their memory accesses overlapped (prefetched), so a request's cache misses do not
  // add up. REQUIRES: out.size() == keys.size().
  void FindBatch(std::span<const SeriesCacheKey> keys, std::span<CachedSeries> out) const;
  // Ignores ref 0 (an Appender that has no refs).
  void Insert(const SeriesCacheKey& key, const CachedSeries& value);
  void Erase(const SeriesCacheKey& key);
  size_t size() const;

 private:
  StripedRefTable<CachedSeries> table_;
};

}  // namespace xscaler::ingest::otlp
