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

storage::SeriesRef SeriesRefCache::Find(const LabelBytesKey& key) const { return table_.Find(key); }

void SeriesRefCache::FindBatch(std::span<const LabelBytesKey> keys,
                               std::span<storage::SeriesRef> out) const {
  table_.FindBatch(keys, out);
}

void SeriesRefCache::Insert(const LabelBytesKey& key, storage::SeriesRef ref) {
  table_.Insert(key, ref);
}

void SeriesRefCache::Erase(const LabelBytesKey& key) { table_.Erase(key); }

size_t SeriesRefCache::size() const { return table_.size(); }

}  // namespace xscaler::ingest::remote_write
