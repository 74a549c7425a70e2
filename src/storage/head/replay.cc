#include "storage/head/replay.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "storage/wal/checkpoint.h"
#include "storage/wal/record.h"
#include "storage/wal/wal.h"

namespace xscaler::storage::head {

// Friend of Head: applies a WAL with one reading thread and N sample workers (see replay.h).
class Replayer {
 public:
  Replayer(Head* head, int threads) : head_(head), shards_(static_cast<size_t>(threads)) {}

  absl::Status Run(base::Env* env, const std::string& wal_dir) {
    const auto start = std::chrono::steady_clock::now();
    for (auto& sh : shards_) sh.thread = std::thread([this, &sh] { Work(sh); });
    absl::Status st = ReadAll(env, wal_dir);
    for (size_t i = 0; i < shards_.size(); ++i) Submit(i);
    for (auto& sh : shards_) {
      {
        absl::MutexLock lock(&sh.mu);
        sh.closed = true;
      }
      sh.thread.join();
    }
    Finish();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const ReplayStats& rs = head_->replay_;
    spdlog::info(
        "wal replay {}: {} segments, {} series, {} samples in {:.3f} s ({:.0f} samples/s, {} "
        "threads); {} unknown refs, {} dropped, {} too old, {} bad records{}",
        wal_dir, rs.segments, rs.series, rs.samples, secs, secs > 0 ? rs.samples / secs : 0.0,
        shards_.size(), rs.unknown_refs, rs.dropped_samples, rs.too_old, rs.bad_records,
        rs.repaired ? "; a corrupt tail was truncated" : "");
    return st;
  }

 private:
  struct Item {
    MemSeries* s;
    int64_t t;
    double v;
    bool ooo;  // from a kOooSamples record: applied with AppendOoo
  };
  // One worker's share of the series (ref % N): only it applies their samples, in log order.
  struct Shard {
    absl::Mutex mu;
    std::deque<std::vector<Item>> queue ABSL_GUARDED_BY(mu);
    bool closed ABSL_GUARDED_BY(mu) = false;
    std::vector<Item> filling;  // reading thread only
    std::thread thread;
    // Worker-local results, merged in Finish.
    std::vector<MemSeries*> first;  // series whose first sample this worker applied
    uint64_t samples = 0, appended = 0, chunks = 0, dropped = 0, ooo = 0;
    int64_t min_t = kMaxTime, max_t = kMinTime;
  };
  static constexpr size_t kBatch = 4096;
  static constexpr size_t kMaxQueued = 32;  // batches per shard: bounds memory

  absl::Status ReadAll(base::Env* env, const std::string& wal_dir) {
    uint64_t first_segment = 0;
    auto cp = wal::LatestCheckpoint(env, wal_dir);
    if (cp.ok()) {
      auto r = wal::Reader::Open(env, cp->dir);
      if (!r.ok()) return r.status();
      spdlog::info("wal replay {}: reading checkpoint {}", wal_dir, cp->dir);
      if (auto st = ReadLog(**r, cp->dir); !st.ok()) return st;
      first_segment = cp->segment + 1;
    } else if (!absl::IsNotFound(cp.status())) {
      return cp.status();
    }
    auto r = wal::Reader::Open(env, wal_dir, first_segment);
    if (!r.ok()) return r.status();
    return ReadLog(**r, wal_dir);
  }

  absl::Status ReadLog(wal::Reader& r, const std::string& dir) {
    ReplayStats& rs = head_->replay_;
    const size_t n = r.segments().size();
    size_t seen = 0;
    uint64_t cur = 0;
    const auto started = std::chrono::steady_clock::now();
    auto last_log = started;
    const uint64_t samples_at_start = Dispatched();
    std::string_view rec;
    while (r.Next(&rec)) {
      if (r.segment() != cur) {
        cur = r.segment();
        ++seen;
        ++rs.segments;
        const auto now = std::chrono::steady_clock::now();
        if (seen == 1 || seen == n || now - last_log > std::chrono::seconds(1)) {
          last_log = now;
          const double secs = std::chrono::duration<double>(now - started).count();
          const uint64_t done = Dispatched() - samples_at_start;
          spdlog::info("wal replay {}: segment {} ({} of {}), {} samples so far ({:.0f}/s)", dir,
                       cur, seen, n, done, secs > 0 ? done / secs : 0.0);
        }
      }
      Apply(rec);
    }
    if (r.skipped_corruptions() > 0) {
      // Damage inside an older segment: its rest was skipped (the Reader logged each one);
      // later segments were still read. Nothing is truncated for it.
      spdlog::error("wal replay {}: skipped {} damaged part(s) of older segments, first: {}", dir,
                    r.skipped_corruptions(), r.skipped().front().ToString());
    }
    const bool torn_tail = !r.status().ok() && r.status() != (r.skipped().empty()
                                                                  ? absl::OkStatus()
                                                                  : r.skipped().front());
    if (torn_tail) {
      spdlog::warn("wal replay {}: {}; truncating the log at the last good frame and continuing "
                   "with what was read",
                   dir, r.status().ToString());
      rs.repaired = true;
    }
    if (!r.status().ok()) {
      if (auto st = r.Repair(); !st.ok()) {
        return absl::Status(st.code(),
                            absl::StrCat("repairing the corrupt wal in ", dir, ": ", st.message()));
      }
    }
    return absl::OkStatus();
  }

  void Apply(std::string_view record) {
    ReplayStats& rs = head_->replay_;
    auto type = wal::PeekType(record);
    if (!type.ok()) {
      ++rs.bad_records;
      spdlog::warn("wal replay: skipping record: {}", type.status().ToString());
      return;
    }
    ++rs.records;
    switch (*type) {
      case wal::RecordType::kSeries: {
        if (auto st = wal::DecodeSeries(record, &series_buf_); !st.ok()) {
          ++rs.bad_records;
          spdlog::warn("wal replay: skipping series record: {}", st.ToString());
          return;
        }
        for (const auto& s : series_buf_) {
          MemSeries* m = head_->CreateWithRef(s.labels, s.ref);
          if (m == nullptr) {
            ++rs.bad_records;
            spdlog::warn("wal replay: series ref {} redefined with other labels {}; ignored",
                         s.ref, s.labels.ToString());
            continue;
          }
          SetRef(s.ref, m);
          ++rs.series;
        }
        break;
      }
      case wal::RecordType::kSamples:
      case wal::RecordType::kOooSamples: {
        const bool ooo = *type == wal::RecordType::kOooSamples;
        if (auto st = wal::DecodeSamples(record, &samples_buf_); !st.ok()) {
          ++rs.bad_records;
          spdlog::warn("wal replay: skipping samples record: {}", st.ToString());
          return;
        }
        const int64_t min_valid = head_->MinValidTime();
        for (const auto& s : samples_buf_) {
          const RefEntry* e = FindRef(s.ref);
          if (e == nullptr) {
            ++rs.unknown_refs;
            continue;
          }
          if (s.t < min_valid) {
            ++rs.too_old;
            continue;
          }
          // By the series' own ref, not the record's: an alias ref (a repeated series record)
          // must land on the same worker as the series it maps to.
          const size_t i = e->series_ref % shards_.size();
          Shard& sh = shards_[i];
          sh.filling.push_back({e->s, s.t, s.v, ooo});
          ++dispatched_;
          if (sh.filling.size() >= kBatch) Submit(i);
        }
        break;
      }
      case wal::RecordType::kMetadata: {
        if (auto st = wal::DecodeMetadata(record, &meta_buf_); !st.ok()) {
          ++rs.bad_records;
          spdlog::warn("wal replay: skipping metadata record: {}", st.ToString());
          return;
        }
        head_->ApplyMetadata(meta_buf_);
        rs.metadata += meta_buf_.size();
        break;
      }
    }
  }

  // Refs are dense (1, 2, 3, ... per head), so most live in a vector indexed by ref: a hash
  // lookup per sample into a map of a million series is a cache miss on a random slot, the
  // vector is read nearly sequentially in scrape order. Sparse outliers go to the map.
  // The series' own ref is kept next to the pointer so sharding never dereferences the
  // series on the reading thread (a cache miss per sample).
  struct RefEntry {
    MemSeries* s = nullptr;
    uint64_t series_ref = 0;
  };
  void SetRef(uint64_t ref, MemSeries* m) {
    const RefEntry e{m, m->ref()};
    if (ref < dense_.size() || ref < 2 * dense_.size() + (1u << 20)) {
      if (ref >= dense_.size()) dense_.resize(std::max<size_t>(ref + 1, 2 * dense_.size()));
      dense_[ref] = e;
      sparse_.erase(ref);
    } else {
      sparse_[ref] = e;
    }
  }
  const RefEntry* FindRef(uint64_t ref) const {
    if (ref < dense_.size() && dense_[ref].s != nullptr) return &dense_[ref];
    if (sparse_.empty()) return nullptr;
    auto it = sparse_.find(ref);
    return it == sparse_.end() ? nullptr : &it->second;
  }

  void Submit(size_t i) {
    Shard& sh = shards_[i];
    if (sh.filling.empty()) return;
    absl::MutexLock lock(&sh.mu);
    sh.mu.Await(absl::Condition(
        +[](Shard* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->queue.size() < kMaxQueued; },
        &sh));
    sh.queue.push_back(std::move(sh.filling));
    sh.filling = {};
    sh.filling.reserve(kBatch);
  }

  void Work(Shard& sh) {
    const ChunkCutPolicy& policy = head_->opts_.chunk;
    ChunkStore* const store = head_->store_.get();  // thread-safe writes
    std::vector<Item> batch;
    for (;;) {
      {
        absl::MutexLock lock(&sh.mu);
        sh.mu.Await(absl::Condition(
            +[](Shard* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return !s->queue.empty() || s->closed;
            },
            &sh));
        if (sh.queue.empty()) return;
        batch = std::move(sh.queue.front());
        sh.queue.pop_front();
      }
      // Same rules and counters as Head::ApplySample, kept worker-local.
      // Replay is bound by cache misses on the series and their open chunks (a scrape
      // touches every series once): prefetch the series a few items ahead, and the chunk
      // bytes of the series a little less far ahead (which needs the series loaded).
      constexpr size_t kAheadSeries = 16, kAheadChunk = 8;
      for (size_t k = 0; k < batch.size(); ++k) {
        if (k + kAheadSeries < batch.size()) __builtin_prefetch(batch[k + kAheadSeries].s);
        if (k + kAheadChunk < batch.size()) batch[k + kAheadChunk].s->PrefetchForAppend();
        const Item& it = batch[k];
        bool new_chunk = false;
        AppendOutcome out;
        bool first = false;
        // No stripe lock: this worker is the only thread touching the series (its shard), and
        // nothing else reads the head until replay returns (joining the workers publishes
        // their writes). The lock was a fifth of the replay time.
        if (it.ooo) {
          const bool had = it.s->has_samples();
          const int64_t last = it.s->last_t();
          out = it.s->AppendOoo(it.t, it.v, policy, store, &new_chunk);
          if (out == AppendOutcome::kAppended && had && it.t < last) ++sh.ooo;
        } else {
          out = it.s->Append(it.t, it.v, policy, store, &new_chunk);
        }
        if (out == AppendOutcome::kAppended && !it.s->indexed) {
          it.s->indexed = true;
          first = true;
        }
        ++sh.samples;
        if (out == AppendOutcome::kAppended) {
          ++sh.appended;
          if (new_chunk) ++sh.chunks;
          sh.min_t = std::min(sh.min_t, it.t);
          sh.max_t = std::max(sh.max_t, it.t);
        } else if (out != AppendOutcome::kDuplicate) {
          ++sh.dropped;
        }
        if (first) sh.first.push_back(it.s);
      }
    }
  }

  void Finish() {
    ReplayStats& rs = head_->replay_;
    std::vector<MemSeries*> first;
    for (auto& sh : shards_) {
      rs.samples += sh.samples;
      rs.dropped_samples += sh.dropped;
      head_->num_samples_.fetch_add(sh.appended, std::memory_order_relaxed);
      head_->num_chunks_.fetch_add(sh.chunks, std::memory_order_relaxed);
      head_->dropped_.fetch_add(sh.dropped, std::memory_order_relaxed);
      head_->ooo_samples_.fetch_add(sh.ooo, std::memory_order_relaxed);
      if (sh.appended > 0) {
        head_->NoteTime(sh.min_t);
        head_->NoteTime(sh.max_t);
      }
      first.insert(first.end(), sh.first.begin(), sh.first.end());
    }
    // Ascending refs make every postings insertion an O(1) append.
    std::sort(first.begin(), first.end(),
              [](const MemSeries* a, const MemSeries* b) { return a->ref() < b->ref(); });
    for (MemSeries* s : first) head_->postings_.Add(s->ref(), s->Labels());
    head_->num_series_.fetch_add(first.size(), std::memory_order_relaxed);
  }

  Head* const head_;
  std::vector<Shard> shards_;
  // Samples handed to workers so far (progress; the workers count what they apply).
  uint64_t Dispatched() const { return dispatched_; }
  uint64_t dispatched_ = 0;
  std::vector<RefEntry> dense_;
  absl::flat_hash_map<uint64_t, RefEntry> sparse_;
  std::vector<wal::SeriesRecord> series_buf_;
  std::vector<wal::SampleRecord> samples_buf_;
  std::vector<wal::MetadataRecord> meta_buf_;
};

absl::Status ReplayWal(base::Env* env, const std::string& wal_dir, Head* head,
                       ReplayOptions opts) {
  int threads = opts.threads;
  if (threads <= 0) {
    // The reading thread is busy too (CRC, decoding, series creation).
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
  }
  Replayer r(head, threads);
  return r.Run(env, wal_dir);
}

}  // namespace xscaler::storage::head
