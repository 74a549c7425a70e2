#include "storage/head/mem_series.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/coding.h"

namespace xscaler::storage::head {
namespace {

// Floor division, so negative timestamps fall into the right chunk window.
int64_t Window(int64_t t, int64_t range) {
  int64_t q = t / range;
  if (t % range != 0 && t < 0) --q;
  return q;
}

constexpr int64_t kNoTime = INT64_MAX;
constexpr int64_t kNoTimeMax = INT64_MIN;

}  // namespace

std::string EncodeLabels(const labels::Labels& lset) {
  std::string out;
  size_t n = 0;
  for (const auto& l : lset) n += l.name.size() + l.value.size() + 2;
  out.reserve(n);
  for (const auto& l : lset) {
    base::PutLengthPrefixed(&out, l.name);
    base::PutLengthPrefixed(&out, l.value);
  }
  return out;
}

labels::Labels DecodeLabels(std::string_view enc) {
  std::vector<labels::Label> ls;
  std::string_view name, value;
  while (!enc.empty() && base::GetLengthPrefixed(&enc, &name) &&
         base::GetLengthPrefixed(&enc, &value)) {
    ls.push_back({std::string(name), std::string(value)});
  }
  // Encoded from a valid Labels, so already sorted and free of duplicates: skip the re-sort
  // (it was a tenth of a head Select's time).
  return labels::Labels::FromSorted(std::move(ls));
}

namespace {

// Index of the first byte where a and b differ (or the shorter size), 8 bytes at a time.
size_t FirstMismatch(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) return i + static_cast<size_t>(std::countr_zero(x ^ y) / 8);  // little-endian
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

bool EncodedLabelsLess(std::string_view a, std::string_view b) {
  // Series compared while sorting a selection mostly share their leading pairs (the metric
  // name, often the job): skip the pairs that are byte-identical in both, found with one
  // word-wise scan, and compare label by label from the first pair that differs.
  const size_t p = FirstMismatch(a, b);
  size_t q = 0;
  {
    std::string_view rest = a, n, v;
    while (!rest.empty() && base::GetLengthPrefixed(&rest, &n) && base::GetLengthPrefixed(&rest, &v)) {
      const size_t next = a.size() - rest.size();
      if (next > p) break;
      q = next;
    }
  }
  a.remove_prefix(q);
  b.remove_prefix(q);
  std::string_view an, av, bn, bv;
  while (true) {
    const bool a_more = !a.empty() && base::GetLengthPrefixed(&a, &an) &&
                        base::GetLengthPrefixed(&a, &av);
    const bool b_more = !b.empty() && base::GetLengthPrefixed(&b, &bn) &&
                        base::GetLengthPrefixed(&b, &bv);
    if (!a_more || !b_more) return !a_more && b_more;  // a prefix of b sorts first
    if (an != bn) return an < bn;
    if (av != bv) return av < bv;
  }
}

namespace {

bool SameBits(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }

// Whether the chunk `bytes` holds a sample at t; its value in *v.
bool ChunkHas(std::string_view bytes, int64_t t, double* v) {
  chunk::XorDecoder d(bytes);
  if (!d.Seek(t) || d.t() != t) return false;
  *v = d.v();
  return true;
}

}  // namespace

int64_t MemSeries::min_t() const {
  int64_t m = kNoTime;
  if (!mapped_.empty()) {
    m = mapped_.front().min_t;
  } else if (heap_ != nullptr) {
    m = heap_->front().min_t;
  } else if (open_.NumSamples() > 0) {
    m = open_.MinTime();
  }
  if (ooo_ != nullptr) {
    if (!ooo_->buf.empty()) m = std::min(m, ooo_->buf.front().first);
    for (const auto& c : ooo_->chunks) m = std::min(m, c.min_t);
  }
  return m;
}

int64_t MemSeries::max_t() const {
  // Out-of-order samples are older than the newest in-order one, unless the in-order chunks
  // were truncated away.
  if (has_samples_) return last_t_;
  int64_t m = kNoTimeMax;
  if (ooo_ != nullptr) {
    if (!ooo_->buf.empty()) m = std::max(m, ooo_->buf.back().first);
    for (const auto& c : ooo_->chunks) m = std::max(m, c.max_t);
  }
  return m;
}

AppendOutcome MemSeries::AppendOoo(int64_t t, double v, const ChunkCutPolicy& policy,
                                   ChunkStore* store, bool* new_chunk) {
  *new_chunk = false;
  if (!has_samples_ || t >= last_t_) return Append(t, v, policy, store, new_chunk);
  double have;
  if (Lookup(t, store, &have)) {
    return SameBits(have, v) ? AppendOutcome::kDuplicate : AppendOutcome::kConflict;
  }
  if (ooo_ == nullptr) ooo_ = std::make_unique<OooData>();
  auto& buf = ooo_->buf;
  auto it = std::lower_bound(
      buf.begin(), buf.end(), t,
      [](const std::pair<int64_t, double>& s, int64_t x) { return s.first < x; });
  buf.insert(it, {t, v});
  if (buf.size() >= kOooBufferSamples) {
    chunk::XorEncoder enc;
    for (const auto& [st, sv] : buf) enc.Append(st, sv);
    ChunkRef c{enc.MinTime(), enc.MaxTime(), nullptr};
    std::string bytes = enc.Release();
    bytes.shrink_to_fit();
    c.bytes = std::make_shared<const std::string>(std::move(bytes));
    ooo_->chunks.push_back(std::move(c));
    buf.clear();
    *new_chunk = true;
  }
  return AppendOutcome::kAppended;
}

bool MemSeries::Lookup(int64_t t, const ChunkStore* store, double* v) const {
  if (has_samples_ && t <= last_t_) {
    if (t == last_t_) {
      *v = last_v_;
      return true;
    }
    if (open_.NumSamples() > 0 && t >= open_.MinTime()) {
      if (ChunkHas(open_.Bytes(), t, v)) return true;
    } else if (heap_ != nullptr && t >= heap_->front().min_t) {
      // Ordered and disjoint: the last chunk starting at or before t.
      auto it = std::upper_bound(heap_->begin(), heap_->end(), t,
                                 [](int64_t x, const ChunkRef& c) { return x < c.min_t; });
      --it;
      if (t <= it->max_t && ChunkHas(*it->bytes, t, v)) return true;
    } else if (!mapped_.empty() && store != nullptr) {
      auto it = std::upper_bound(mapped_.begin(), mapped_.end(), t,
                                 [](int64_t x, const MappedChunk& c) { return x < c.min_t; });
      if (it != mapped_.begin()) {
        --it;
        if (t <= it->max_t()) {
          absl::StatusOr<chunk::ChunkData> c = store->Read(it->ref);
          if (c.ok() && ChunkHas(c->bytes, t, v)) return true;
        }
      }
    }
  }
  if (ooo_ != nullptr) {
    const auto& buf = ooo_->buf;
    auto it = std::lower_bound(
        buf.begin(), buf.end(), t,
        [](const std::pair<int64_t, double>& s, int64_t x) { return s.first < x; });
    if (it != buf.end() && it->first == t) {
      *v = it->second;
      return true;
    }
    for (const auto& c : ooo_->chunks) {
      if (t >= c.min_t && t <= c.max_t && ChunkHas(*c.bytes, t, v)) return true;
    }
  }
  return false;
}

void MemSeries::Seal(ChunkStore* store) {
  const int64_t lo = open_.MinTime(), hi = open_.MaxTime();
  const uint32_t n = open_.NumSamples();
  std::string bytes = open_.Release();
  auto mappable = [](int64_t a, int64_t b, uint32_t k) {
    return static_cast<uint64_t>(b) - static_cast<uint64_t>(a) <= UINT32_MAX && k <= UINT16_MAX;
  };
  if (store != nullptr) {
    // Earlier failed writes first, so mapped_ stays older than heap_.
    while (heap_ != nullptr) {
      const ChunkRef& c = heap_->front();
      const uint32_t cn = chunk::XorDecoder(*c.bytes).NumSamples();
      if (!mappable(c.min_t, c.max_t, cn)) break;
      absl::StatusOr<uint64_t> ref = store->Write(ref_, c.min_t, c.max_t, *c.bytes);
      if (!ref.ok()) break;
      mapped_.push_back({c.min_t, *ref, static_cast<uint32_t>(c.max_t - c.min_t),
                         static_cast<uint16_t>(cn)});
      heap_->erase(heap_->begin());
      if (heap_->empty()) heap_.reset();
    }
    if (heap_ == nullptr && mappable(lo, hi, n)) {
      absl::StatusOr<uint64_t> ref = store->Write(ref_, lo, hi, bytes);
      if (ref.ok()) {
        mapped_.push_back({lo, *ref, static_cast<uint32_t>(hi - lo), static_cast<uint16_t>(n)});
        return;
      }
    }
  }
  bytes.shrink_to_fit();  // the encoder grew it geometrically; sealed chunks live long
  if (heap_ == nullptr) heap_ = std::make_unique<std::vector<ChunkRef>>();
  heap_->push_back({lo, hi, std::make_shared<const std::string>(std::move(bytes))});
}

AppendOutcome MemSeries::Append(int64_t t, double v, const ChunkCutPolicy& policy,
                                ChunkStore* store, bool* new_chunk) {
  *new_chunk = false;
  if (has_samples_) {
    if (t < last_t_) return AppendOutcome::kOutOfOrder;
    if (t == last_t_) {
      return SameBits(v, last_v_) ? AppendOutcome::kDuplicate : AppendOutcome::kConflict;
    }
  }
  const uint32_t n = open_.NumSamples();
  if (n > 0 && (n >= policy.max_samples || n >= chunk::kXorMaxSamples ||
                Window(t, policy.chunk_range_ms) !=
                    Window(open_.MinTime(), policy.chunk_range_ms))) {
    Seal(store);
  }
  if (open_.NumSamples() == 0) *new_chunk = true;
  open_.Append(t, v);
  last_t_ = t;
  last_v_ = v;
  has_samples_ = true;
  return AppendOutcome::kAppended;
}

bool MemSeries::HasChunkOverlapping(int64_t mint, int64_t maxt) const {
  if (!mapped_.empty() && mapped_.back().max_t() >= mint && mapped_.front().min_t <= maxt) {
    auto it = std::lower_bound(mapped_.begin(), mapped_.end(), mint,
                               [](const MappedChunk& c, int64_t x) { return c.max_t() < x; });
    if (it != mapped_.end() && it->min_t <= maxt) return true;
  }
  if (heap_ != nullptr) {
    for (const auto& c : *heap_) {
      if (c.max_t >= mint && c.min_t <= maxt) return true;
    }
  }
  if (open_.NumSamples() > 0 && open_.MaxTime() >= mint && open_.MinTime() <= maxt) return true;
  if (ooo_ == nullptr) return false;
  for (const auto& c : ooo_->chunks) {
    if (c.max_t >= mint && c.min_t <= maxt) return true;
  }
  for (const auto& [t, v] : ooo_->buf) {
    if (t >= mint && t <= maxt) return true;
  }
  return false;
}

absl::Status MemSeries::Snapshot(int64_t mint, int64_t maxt, const ChunkStore* store,
                                 std::vector<chunk::ChunkData>* out, bool* overlaps) const {
  *overlaps = false;
  if (!mapped_.empty() && mapped_.back().max_t() >= mint && mapped_.front().min_t <= maxt) {
    // First chunk that may overlap: the chunks are ordered by time and disjoint.
    auto it = std::lower_bound(mapped_.begin(), mapped_.end(), mint,
                               [](const MappedChunk& c, int64_t x) { return c.max_t() < x; });
    for (; it != mapped_.end() && it->min_t <= maxt; ++it) {
      if (store == nullptr) {
        return absl::InternalError("head series has mapped chunks but the head has no chunk store");
      }
      absl::StatusOr<chunk::ChunkData> c = store->Read(it->ref);
      if (!c.ok()) return c.status();
      out->push_back(*std::move(c));
    }
  }
  if (heap_ != nullptr) {
    for (const auto& c : *heap_) {
      if (c.max_t >= mint && c.min_t <= maxt) out->push_back({c.min_t, c.max_t, *c.bytes, c.bytes});
    }
  }
  if (open_.NumSamples() > 0 && open_.MaxTime() >= mint && open_.MinTime() <= maxt) {
    out->push_back(
        chunk::ChunkData::Owning(open_.MinTime(), open_.MaxTime(), std::string(open_.Bytes())));
  }
  if (ooo_ == nullptr) return absl::OkStatus();
  for (const auto& c : ooo_->chunks) {
    if (c.max_t >= mint && c.min_t <= maxt) {
      out->push_back({c.min_t, c.max_t, *c.bytes, c.bytes});
      *overlaps = true;
    }
  }
  chunk::XorEncoder enc;
  for (const auto& [t, v] : ooo_->buf) {
    if (t >= mint && t <= maxt) enc.Append(t, v);
  }
  if (enc.NumSamples() > 0) {
    const int64_t lo = enc.MinTime(), hi = enc.MaxTime();
    out->push_back(chunk::ChunkData::Owning(lo, hi, enc.Release()));
    *overlaps = true;
  }
  return absl::OkStatus();
}

bool MemSeries::TruncateBefore(int64_t mint, uint64_t* chunks_removed,
                               uint64_t* samples_removed) {
  size_t n = 0;
  while (n < mapped_.size() && mapped_[n].max_t() < mint) {
    *samples_removed += mapped_[n].num_samples;
    ++n;
  }
  if (n > 0) {
    mapped_.erase(mapped_.begin(), mapped_.begin() + static_cast<ptrdiff_t>(n));
    *chunks_removed += n;
    if (mapped_.empty()) mapped_.shrink_to_fit();
  }
  if (mapped_.empty() && heap_ != nullptr) {
    n = 0;
    while (n < heap_->size() && (*heap_)[n].max_t < mint) {
      *samples_removed += chunk::XorDecoder(*(*heap_)[n].bytes).NumSamples();
      ++n;
    }
    heap_->erase(heap_->begin(), heap_->begin() + static_cast<ptrdiff_t>(n));
    *chunks_removed += n;
    if (heap_->empty()) heap_.reset();
  }
  const bool no_sealed = mapped_.empty() && heap_ == nullptr;
  if (no_sealed && open_.NumSamples() > 0 && open_.MaxTime() < mint) {
    *samples_removed += open_.NumSamples();
    ++*chunks_removed;
    open_ = chunk::XorEncoder();
  }
  // Series with no chunk left forget their newest sample: anything appended later is >= mint,
  // which is above it, so the ordering checks lose nothing.
  if (no_sealed && open_.NumSamples() == 0) has_samples_ = false;
  if (ooo_ != nullptr) {
    auto& chunks = ooo_->chunks;
    auto keep = std::remove_if(chunks.begin(), chunks.end(), [&](const ChunkRef& c) {
      if (c.max_t >= mint) return false;
      *samples_removed += chunk::XorDecoder(*c.bytes).NumSamples();
      ++*chunks_removed;
      return true;
    });
    chunks.erase(keep, chunks.end());
    auto& buf = ooo_->buf;
    auto first_kept = std::lower_bound(
        buf.begin(), buf.end(), mint,
        [](const std::pair<int64_t, double>& s, int64_t x) { return s.first < x; });
    *samples_removed += static_cast<uint64_t>(first_kept - buf.begin());
    buf.erase(buf.begin(), first_kept);
    if (chunks.empty() && buf.empty()) ooo_.reset();
  }
  return !empty();
}

size_t MemSeries::MemoryBytes() const {
  // Heap chunks: the vector entry, the make_shared block (control + string) and the bytes.
  constexpr size_t kSharedString = sizeof(std::string) + 16;
  size_t n = sizeof(*this) + labels_size_ + mapped_.capacity() * sizeof(MappedChunk) +
             open_.SizeBytes();
  if (heap_ != nullptr) {
    n += sizeof(*heap_) + heap_->capacity() * sizeof(ChunkRef);
    for (const auto& c : *heap_) n += c.bytes->capacity() + kSharedString;
  }
  if (ooo_ != nullptr) {
    n += sizeof(OooData) + ooo_->buf.capacity() * sizeof(ooo_->buf[0]) +
         ooo_->chunks.capacity() * sizeof(ChunkRef);
    for (const auto& c : ooo_->chunks) n += c.bytes->capacity() + kSharedString;
  }
  return n;
}

}  // namespace xscaler::storage::head
