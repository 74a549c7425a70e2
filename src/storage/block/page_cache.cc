#include "storage/block/page_cache.h"

#include <atomic>

#include "absl/hash/hash.h"

namespace xscaler::storage::block {

PageCache& PageCache::Shared() {
  static PageCache* cache = new PageCache(kDefaultCapacityBytes);  // never destroyed: used at exit
  return *cache;
}

uint64_t PageCache::NewReaderId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

PageCache::PageCache(size_t capacity_bytes) : shard_capacity_(capacity_bytes / kShards) {}

PageCache::Shard& PageCache::ShardFor(const Key& k) {
  return shards_[absl::HashOf(k.first, k.second) % kShards];
}

std::optional<PageCache::Page> PageCache::Get(uint64_t reader, uint64_t key) {
  const Key k{reader, key};
  Shard& sh = ShardFor(k);
  absl::MutexLock lock(&sh.mu);
  auto it = sh.index.find(k);
  if (it == sh.index.end()) return std::nullopt;
  sh.lru.splice(sh.lru.begin(), sh.lru, it->second);
  return it->second->page;
}

void PageCache::Put(uint64_t reader, uint64_t key, const Page& page) {
  if (page.raw.size() > shard_capacity_) return;
  const Key k{reader, key};
  Shard& sh = ShardFor(k);
  absl::MutexLock lock(&sh.mu);
  if (auto it = sh.index.find(k); it != sh.index.end()) {
    sh.bytes -= it->second->page.raw.size();
    sh.lru.erase(it->second);
    sh.index.erase(it);
  }
  sh.lru.push_front(Entry{k, page});
  sh.index[k] = sh.lru.begin();
  sh.bytes += page.raw.size();
  while (sh.bytes > shard_capacity_) {
    const Entry& victim = sh.lru.back();
    sh.bytes -= victim.page.raw.size();
    sh.index.erase(victim.key);
    sh.lru.pop_back();
  }
}

void PageCache::EraseReader(uint64_t reader) {
  for (Shard& sh : shards_) {
    absl::MutexLock lock(&sh.mu);
    for (auto it = sh.lru.begin(); it != sh.lru.end();) {
      if (it->key.first == reader) {
        sh.bytes -= it->page.raw.size();
        sh.index.erase(it->key);
        it = sh.lru.erase(it);
      } else {
        ++it;
      }
    }
  }
}

size_t PageCache::bytes() const {
  size_t n = 0;
  for (const Shard& sh : shards_) {
    absl::MutexLock lock(&sh.mu);
    n += sh.bytes;
  }
  return n;
}

}  // namespace xscaler::storage::block
