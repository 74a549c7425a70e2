#include "storage/head/mem_series.h"

#include <bit>

#include "base/coding.h"

namespace xscaler::storage::head {
namespace {

// Floor division, so negative timestamps fall into the right chunk window.
int64_t Window(int64_t t, int64_t range) {
  int64_t q = t / range;
  if (t % range != 0 && t < 0) --q;
  return q;
}

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
  return labels::Labels(std::move(ls));
}

int64_t MemSeries::min_t() const {
  if (!sealed_.empty()) return sealed_.front().min_t;
  return open_.MinTime();
}

AppendOutcome MemSeries::Append(int64_t t, double v, const ChunkCutPolicy& policy,
                                bool* new_chunk) {
  *new_chunk = false;
  if (has_samples_) {
    if (t < last_t_) return AppendOutcome::kOutOfOrder;
    if (t == last_t_) {
      return std::bit_cast<uint64_t>(v) == std::bit_cast<uint64_t>(last_v_)
                 ? AppendOutcome::kDuplicate
                 : AppendOutcome::kConflict;
    }
  }
  const uint32_t n = open_.NumSamples();
  if (n > 0 && (n >= policy.max_samples || n >= chunk::kXorMaxSamples ||
                Window(t, policy.chunk_range_ms) !=
                    Window(open_.MinTime(), policy.chunk_range_ms))) {
    ChunkRef c{open_.MinTime(), open_.MaxTime(), nullptr};
    std::string bytes = open_.Release();
    bytes.shrink_to_fit();  // the encoder grew it geometrically; sealed chunks live long
    c.bytes = std::make_shared<const std::string>(std::move(bytes));
    sealed_.push_back(std::move(c));
  }
  if (open_.NumSamples() == 0) *new_chunk = true;
  open_.Append(t, v);
  last_t_ = t;
  last_v_ = v;
  has_samples_ = true;
  return AppendOutcome::kAppended;
}

void MemSeries::Snapshot(int64_t mint, int64_t maxt, std::vector<chunk::ChunkData>* out) const {
  for (const auto& c : sealed_) {
    if (c.max_t >= mint && c.min_t <= maxt) out->push_back({c.min_t, c.max_t, *c.bytes, c.bytes});
  }
  if (open_.NumSamples() > 0 && open_.MaxTime() >= mint && open_.MinTime() <= maxt) {
    auto copy = std::make_shared<const std::string>(open_.Bytes());
    out->push_back({open_.MinTime(), open_.MaxTime(), *copy, copy});
  }
}

bool MemSeries::TruncateBefore(int64_t mint, uint64_t* chunks_removed,
                               uint64_t* samples_removed) {
  size_t n = 0;
  while (n < sealed_.size() && sealed_[n].max_t < mint) {
    *samples_removed += chunk::XorDecoder(*sealed_[n].bytes).NumSamples();
    ++n;
  }
  if (n > 0) {
    sealed_.erase(sealed_.begin(), sealed_.begin() + static_cast<ptrdiff_t>(n));
    *chunks_removed += n;
    if (sealed_.empty()) sealed_.shrink_to_fit();
  }
  if (sealed_.empty() && open_.NumSamples() > 0 && open_.MaxTime() < mint) {
    *samples_removed += open_.NumSamples();
    ++*chunks_removed;
    open_ = chunk::XorEncoder();
  }
  // Series with no chunk left forget their newest sample: anything appended later is >= mint,
  // which is above it, so the ordering checks lose nothing.
  if (sealed_.empty() && open_.NumSamples() == 0) has_samples_ = false;
  return has_samples_;
}

size_t MemSeries::MemoryBytes() const {
  size_t n = sizeof(*this) + labels_.capacity() + sealed_.capacity() * sizeof(ChunkRef) +
             open_.SizeBytes();
  for (const auto& c : sealed_) n += c.bytes->capacity() + sizeof(std::string) + 16;
  return n;
}

}  // namespace xscaler::storage::head
