// A process-wide cache of decoded block chunk pages, shared by every open block of every
// tenant and bounded by bytes, so the cost of decompressing (and, for columnar pages,
// rebuilding) a page is paid once per page while dashboards refresh, not once per query.
//
// Keys are (reader id, page key): every ChunksReader takes a fresh id, so entries of a closed
// block are never returned for another one; they age out or are dropped by EraseReader.
// Pages are held by their owner (shared_ptr), so an evicted page stays valid for whoever still
// reads it. Least recently used pages go first; the cache is split into shards, each with its
// own lock and an equal share of the budget.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace xscaler::storage::block {

class PageCache {
 public:
  struct Page {
    std::string_view raw;
    std::shared_ptr<const void> owner;  // keeps `raw` alive
  };

  // 64 MiB: a 2 h block of ~600k series at 15 s, decoded.
  static constexpr size_t kDefaultCapacityBytes = size_t{64} << 20;
  // The cache every ChunksReader uses.
  static PageCache& Shared();
  // A key space no other reader uses.
  static uint64_t NewReaderId();

  explicit PageCache(size_t capacity_bytes);
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  std::optional<Page> Get(uint64_t reader, uint64_t key);
  // Keeps `page` (replacing an entry with the same key), evicting least recently used pages
  // of its shard while the shard is over its share. A page larger than a share is not kept.
  void Put(uint64_t reader, uint64_t key, const Page& page);
  // Drops every page of `reader` (its block was closed).
  void EraseReader(uint64_t reader);
  size_t bytes() const;

 private:
  static constexpr size_t kShards = 16;
  using Key = std::pair<uint64_t, uint64_t>;
  struct Entry {
    Key key;
    Page page;
  };
  struct Shard {
    mutable absl::Mutex mu;
    std::list<Entry> lru ABSL_GUARDED_BY(mu);  // most recent first
    absl::flat_hash_map<Key, std::list<Entry>::iterator> index ABSL_GUARDED_BY(mu);
    size_t bytes ABSL_GUARDED_BY(mu) = 0;
  };
  Shard& ShardFor(const Key& k);

  const size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace xscaler::storage::block
