#include "storage/head/head.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "storage/wal/wal.h"

namespace xscaler::storage::head {

struct Head::Batch {
  std::vector<std::string> records;
  std::span<const StagedSample> samples;
  std::span<MemSeries* const> newly_logged;
  std::span<const wal::MetadataRecord> metadata;
  std::vector<CommitDrop> dropped;  // filled while applying
  bool taken = false;  // a leader has picked it into its group
  bool done = false;
  absl::Status status;
};

absl::Status ValidateLabels(const labels::Labels& lset) {
  if (lset.MetricName().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "series ", lset.ToString(), " has no metric name: label __name__ is missing or empty"));
  }
  for (const auto& l : lset) {
    if (!labels::IsValidLabelName(l.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid label name \"", l.name, "\" in series ", lset.ToString(),
                       ": label names must match [a-zA-Z_][a-zA-Z0-9_]*"));
    }
  }
  return absl::OkStatus();
}

Head::Head(HeadOptions opts)
    : opts_(opts),
      mask_(std::bit_ceil(std::max<size_t>(opts.stripes, 1)) - 1),
      hash_stripes_(new HashStripe[mask_ + 1]),
      ref_stripes_(new RefStripe[mask_ + 1]) {
  SetOooWindow(opts.ooo_window_ms);
}

Head::~Head() = default;

absl::Status Head::EnableChunkMapper(base::Env* env, std::string dir, ChunkMapperOptions opts) {
  if (store_ != nullptr) return absl::FailedPreconditionError("head chunk mapper already enabled");
  opts.keep_existing = false;
  auto m = ChunkMapper::Open(env, std::move(dir), opts);
  if (!m.ok()) return m.status();
  store_ = std::make_unique<ChunkStore>(*std::move(m));
  return absl::OkStatus();
}

MemSeries* Head::GetByRef(uint64_t ref) const {
  const RefStripe& st = ref_stripes_[ref & mask_];
  absl::ReaderMutexLock lock(&st.mu);
  auto it = st.by_ref.find(ref);
  return it == st.by_ref.end() ? nullptr : it->second.get();
}

MemSeries* Head::AcquireByRef(uint64_t ref) {
  const RefStripe& st = ref_stripes_[ref & mask_];
  absl::ReaderMutexLock lock(&st.mu);
  auto it = st.by_ref.find(ref);
  if (it == st.by_ref.end()) return nullptr;
  it->second->pending.fetch_add(1, std::memory_order_relaxed);
  return it->second.get();
}

void Head::AcquireByRefBatch(std::span<const RefSample> samples, std::span<MemSeries*> out) {
  // Each pass touches what the next one needs, for every sample, before the next pass reads
  // it: the misses of a pass overlap instead of queueing behind each sample's locks.
  for (const RefSample& rs : samples) __builtin_prefetch(&ref_stripes_[rs.ref & mask_]);
  for (size_t i = 0; i < samples.size(); ++i) {
    out[i] = AcquireByRef(samples[i].ref);
    if (out[i] != nullptr) __builtin_prefetch(out[i]);
  }
  for (MemSeries* s : out) {
    if (s != nullptr) __builtin_prefetch(&StripeLock(s));
  }
}

void Head::Release(MemSeries* s) { s->pending.fetch_sub(1, std::memory_order_release); }

bool Head::HasSeries(uint64_t ref) const {
  if (GetByRef(ref) != nullptr) return true;
  uint64_t target;
  {
    absl::MutexLock lock(&alias_mu_);
    auto it = aliases_.find(ref);
    if (it == aliases_.end()) return false;
    target = it->second;
  }
  return GetByRef(target) != nullptr;
}

size_t Head::NumSeriesInMemory() const {
  size_t n = 0;
  for (size_t i = 0; i <= mask_; ++i) {
    absl::ReaderMutexLock lock(&ref_stripes_[i].mu);
    n += ref_stripes_[i].by_ref.size();
  }
  return n;
}

void Head::SetMinValidTime(int64_t t) {
  int64_t cur = min_valid_time_.load(std::memory_order_relaxed);
  while (t > cur && !min_valid_time_.compare_exchange_weak(cur, t, std::memory_order_acq_rel)) {
  }
}

MemSeries* Head::FindLocked(const HashStripe& st, uint64_t hash, std::string_view enc) const {
  auto it = st.by_hash.find(hash);
  if (it == st.by_hash.end()) return nullptr;
  for (MemSeries* s = it->second; s != nullptr; s = s->hash_next) {
    if (s->encoded_labels() == enc) return s;
  }
  return nullptr;
}

void Head::InsertRef(std::unique_ptr<MemSeries> s) {
  RefStripe& st = ref_stripes_[s->ref() & mask_];
  absl::MutexLock lock(&st.mu);
  uint64_t ref = s->ref();
  st.by_ref[ref] = std::move(s);
}

MemSeries* Head::GetOrCreate(const labels::Labels& lset, bool* created) {
  MemSeries* s = AcquireOrCreate(lset, created);
  Release(s);
  return s;
}

MemSeries* Head::AcquireOrCreate(const labels::Labels& lset, bool* created) {
  const uint64_t hash = lset.Hash();
  std::string enc = EncodeLabels(lset);
  HashStripe& st = hash_stripes_[hash & mask_];
  absl::MutexLock lock(&st.mu);
  if (MemSeries* s = FindLocked(st, hash, enc)) {
    s->pending.fetch_add(1, std::memory_order_relaxed);
    *created = false;
    return s;
  }
  auto owned = std::make_unique<MemSeries>(next_ref_.fetch_add(1), hash, std::move(enc));
  MemSeries* s = owned.get();
  s->pending.fetch_add(1, std::memory_order_relaxed);
  MemSeries*& chain = st.by_hash[hash];
  s->hash_next = chain;
  chain = s;
  InsertRef(std::move(owned));  // hash stripe -> ref stripe: the documented lock order
  *created = true;
  return s;
}

MemSeries* Head::CreateWithRef(const labels::Labels& lset, uint64_t ref) {
  if (ref == 0) return nullptr;
  const uint64_t hash = lset.Hash();
  std::string enc = EncodeLabels(lset);
  if (MemSeries* existing = GetByRef(ref)) {
    return existing->encoded_labels() == enc ? existing : nullptr;
  }
  HashStripe& st = hash_stripes_[hash & mask_];
  absl::MutexLock lock(&st.mu);
  if (MemSeries* s = FindLocked(st, hash, enc)) {  // same labels under another ref
    {
      absl::MutexLock alias(&alias_mu_);
      aliases_[ref] = s->ref();
    }
    // The alias ref was handed out once: a new series must never get it again, or a later
    // checkpoint would keep the old definition for it and replay would mislabel its samples.
    ReserveRefsThrough(ref);
    return s;
  }
  auto owned = std::make_unique<MemSeries>(ref, hash, std::move(enc));
  MemSeries* s = owned.get();
  s->set_logged();
  MemSeries*& chain = st.by_hash[hash];
  s->hash_next = chain;
  chain = s;
  InsertRef(std::move(owned));
  ReserveRefsThrough(ref);
  return s;
}

void Head::ReserveRefsThrough(uint64_t ref) {
  uint64_t next = next_ref_.load();
  while (next <= ref && !next_ref_.compare_exchange_weak(next, ref + 1)) {
  }
}

void Head::NoteTime(int64_t t) {
  int64_t cur = min_time_.load(std::memory_order_relaxed);
  while (t < cur && !min_time_.compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
  }
  cur = max_time_.load(std::memory_order_relaxed);
  while (t > cur && !max_time_.compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
  }
}

bool Head::ApplySample(MemSeries* s, int64_t t, double v, bool ooo, bool* dropped) {
  *dropped = false;
  bool first = false;
  bool new_chunk = false;
  AppendOutcome out;
  {
    absl::MutexLock lock(&StripeLock(s));
    // Staged before a concurrent Truncate raised the minimum: the range may already be cut
    // into a block. Checked under the series lock, which Truncate takes after raising the
    // minimum, so a sample either lands before Truncate scans the series or is dropped here.
    if (t < MinValidTime()) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      *dropped = true;
      return false;
    }
    if (ooo) {
      const bool had = s->has_samples();
      const int64_t last = s->last_t();
      out = s->AppendOoo(t, v, opts_.chunk, store_.get(), &new_chunk);
      if (out == AppendOutcome::kAppended && had && t < last) {
        ooo_samples_.fetch_add(1, std::memory_order_relaxed);
      }
    } else {
      out = s->Append(t, v, opts_.chunk, store_.get(), &new_chunk);
    }
    if (out == AppendOutcome::kAppended && !s->indexed) {
      s->indexed = true;
      first = true;
    }
  }
  switch (out) {
    case AppendOutcome::kAppended:
      num_samples_.fetch_add(1, std::memory_order_relaxed);
      if (new_chunk) num_chunks_.fetch_add(1, std::memory_order_relaxed);
      NoteTime(t);
      break;
    case AppendOutcome::kDuplicate:
      break;
    case AppendOutcome::kOutOfOrder:
    case AppendOutcome::kConflict:
      dropped_.fetch_add(1, std::memory_order_relaxed);
      *dropped = true;
      break;
  }
  if (first) num_series_.fetch_add(1, std::memory_order_relaxed);
  return first;
}

void Head::ApplyMetadata(std::span<const wal::MetadataRecord> metadata) {
  if (metadata.empty()) return;
  absl::MutexLock lock(&meta_mu_);
  for (const auto& m : metadata) metadata_[m.family] = MetricMetadata{m.type, m.unit, m.help};
}

bool Head::MetadataEquals(const std::string& family, const MetricMetadata& md) const {
  absl::ReaderMutexLock lock(&meta_mu_);
  auto it = metadata_.find(family);
  return it != metadata_.end() && it->second == md;
}

void Head::ApplyBatch(Batch& b) {
  for (MemSeries* s : b.newly_logged) s->set_logged();
  std::vector<MemSeries*> to_index;
  auto apply = [&](const StagedSample& ss) {
    bool dropped;
    if (ApplySample(ss.series, ss.t, ss.v, ss.ooo, &dropped)) to_index.push_back(ss.series);
    if (!dropped) return;
    // Rare (a race between requests on one series), so decoding the labels here is fine.
    std::string metric(ss.series->Labels().MetricName());
    auto it = std::find_if(b.dropped.begin(), b.dropped.end(),
                           [&](const CommitDrop& d) { return d.metric == metric; });
    if (it == b.dropped.end()) {
      b.dropped.push_back({std::move(metric), 1});
    } else {
      ++it->samples;
    }
  };
  // In WAL order: the batch's in-order samples record, then its out-of-order one (Commit).
  // The series some samples ahead, then (once loaded: finding it reads the series' immutable
  // hash) their stripe locks are prefetched, so the misses overlap with the appends before.
  constexpr size_t kAheadSeries = 16, kAheadLock = 8;
  bool any_ooo = false;
  for (size_t i = 0; i < b.samples.size(); ++i) {
    if (i + kAheadSeries < b.samples.size()) __builtin_prefetch(b.samples[i + kAheadSeries].series);
    if (i + kAheadLock < b.samples.size()) {
      __builtin_prefetch(&StripeLock(b.samples[i + kAheadLock].series), 1);
    }
    const StagedSample& ss = b.samples[i];
    if (ss.ooo) {
      any_ooo = true;
    } else {
      apply(ss);
    }
  }
  if (any_ooo) {
    for (const auto& ss : b.samples) {
      if (ss.ooo) apply(ss);
    }
  }
  // Postings after samples: a querier that finds the series also finds its samples.
  for (MemSeries* s : to_index) postings_.Add(s->ref(), s->Labels());
  ApplyMetadata(b.metadata);
}

absl::Status Head::Commit(std::vector<std::string> records, std::span<const StagedSample> samples,
                          std::span<MemSeries* const> newly_logged,
                          std::span<const wal::MetadataRecord> metadata,
                          std::vector<CommitDrop>* dropped) {
  Batch b;
  b.records = std::move(records);
  b.samples = samples;
  b.newly_logged = newly_logged;
  b.metadata = metadata;

  std::vector<Batch*> group;
  uint64_t g;
  {
    absl::MutexLock lock(&pipe_mu_);
    queue_.push_back(&b);
    std::pair<Head*, Batch*> arg(this, &b);
    pipe_mu_.Await(absl::Condition(
        +[](std::pair<Head*, Batch*>* a) {
          return a->second->done || (!a->second->taken && !a->first->writing_);
        },
        &arg));
    if (b.done) {
      *dropped = std::move(b.dropped);
      return b.status;
    }
    group.swap(queue_);
    for (Batch* x : group) x->taken = true;
    g = next_group_++;
    writing_ = true;
  }

  absl::Status st;
  if (wal_ != nullptr) {
    std::vector<std::string_view> views;
    for (Batch* x : group) {
      for (const auto& r : x->records) views.push_back(r);
    }
    st = wal_->Write(std::span<const std::string_view>(views));
    if (!st.ok()) {
      st = absl::Status(st.code(), absl::StrCat("writing the write-ahead log: ", st.message()));
    }
  }

  {
    absl::MutexLock lock(&pipe_mu_);
    writing_ = false;  // the next group may write its frame while this one applies
    std::pair<Head*, uint64_t> arg(this, g);
    pipe_mu_.Await(absl::Condition(
        +[](std::pair<Head*, uint64_t>* a) { return a->first->applied_group_ + 1 == a->second; },
        &arg));
  }
  if (st.ok()) {
    for (Batch* x : group) ApplyBatch(*x);
  }
  absl::MutexLock lock(&pipe_mu_);
  applied_group_ = g;
  for (Batch* x : group) {
    x->status = st;
    x->done = true;
  }
  *dropped = std::move(b.dropped);
  return st;
}

std::map<std::string, MetricMetadata> Head::Metadata() const {
  absl::ReaderMutexLock lock(&meta_mu_);
  return metadata_;
}

HeadStats Head::Stats() const {
  HeadStats s;
  s.num_series = num_series_.load(std::memory_order_relaxed);
  s.num_samples = num_samples_.load(std::memory_order_relaxed);
  s.num_chunks = num_chunks_.load(std::memory_order_relaxed);
  s.min_time = min_time_.load(std::memory_order_relaxed);
  s.max_time = max_time_.load(std::memory_order_relaxed);
  s.dropped_samples = dropped_.load(std::memory_order_relaxed);
  s.ooo_samples = ooo_samples_.load(std::memory_order_relaxed);
  s.chunk_write_failures = store_ != nullptr ? store_->write_failures() : 0;
  return s;
}

size_t Head::MemoryBytes() const {
  // Per series: one by-ref slot (key + unique_ptr), one by-hash slot, control bytes, at
  // flat_hash_map's 7/8 maximum load.
  constexpr size_t kMapBytesPerSeries = (2 * 16 + 2) * 8 / 7;
  size_t total = 0;
  ReadGuard guard(this);
  ForEachSeriesLocked([&](MemSeries* s) { total += s->MemoryBytes() + kMapBytesPerSeries; });
  return total;
}

void Head::ReplayRecord(std::string_view record) {
  auto type = wal::PeekType(record);
  if (!type.ok()) {
    ++replay_.bad_records;
    spdlog::warn("wal replay: skipping record: {}", type.status().ToString());
    return;
  }
  ++replay_.records;
  switch (*type) {
    case wal::RecordType::kSeries: {
      if (auto st = wal::DecodeSeries(record, &replay_series_buf_); !st.ok()) {
        ++replay_.bad_records;
        spdlog::warn("wal replay: skipping series record: {}", st.ToString());
        return;
      }
      for (const auto& r : replay_series_buf_) {
        MemSeries* s = CreateWithRef(r.labels, r.ref);
        if (s == nullptr) {
          ++replay_.bad_records;
          spdlog::warn("wal replay: series ref {} redefined with other labels {}; ignored",
                       r.ref, r.labels.ToString());
          continue;
        }
        replay_refs_[r.ref] = s;
        ++replay_.series;
      }
      break;
    }
    case wal::RecordType::kSamples:
    case wal::RecordType::kOooSamples: {
      const bool ooo = *type == wal::RecordType::kOooSamples;
      if (auto st = wal::DecodeSamples(record, &replay_samples_buf_); !st.ok()) {
        ++replay_.bad_records;
        spdlog::warn("wal replay: skipping samples record: {}", st.ToString());
        return;
      }
      for (const auto& r : replay_samples_buf_) {
        auto it = replay_refs_.find(r.ref);
        if (it == replay_refs_.end()) {
          ++replay_.unknown_refs;
          continue;
        }
        if (r.t < MinValidTime()) {
          ++replay_.too_old;
          continue;
        }
        bool dropped;
        if (ApplySample(it->second, r.t, r.v, ooo, &dropped)) {
          postings_.Add(it->second->ref(), it->second->Labels());
        }
        if (dropped) ++replay_.dropped_samples;
        ++replay_.samples;
      }
      break;
    }
    case wal::RecordType::kMetadata: {
      if (auto st = wal::DecodeMetadata(record, &replay_meta_buf_); !st.ok()) {
        ++replay_.bad_records;
        spdlog::warn("wal replay: skipping metadata record: {}", st.ToString());
        return;
      }
      ApplyMetadata(replay_meta_buf_);
      replay_.metadata += replay_meta_buf_.size();
      break;
    }
  }
}

void Head::FinishReplay() {
  replay_refs_ = {};
  replay_series_buf_ = {};
  replay_samples_buf_ = {};
  replay_meta_buf_ = {};
}

}  // namespace xscaler::storage::head
