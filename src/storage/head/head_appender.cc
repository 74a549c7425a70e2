// The head's storage::Appender: validates and stages samples, catching out-of-order and
// conflicting duplicates against both the committed head and this appender's own batch, then
// commits them through Head::Commit (WAL first, then the head). Samples older than their
// series' newest one are staged as out-of-order when the head's window allows (head.h).

#include <algorithm>
#include <bit>
#include <chrono>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "storage/head/head.h"

namespace xscaler::storage::head {
namespace {

// "10m", "1h30m", "45s", "1500ms": the window as an operator would configure it.
std::string FormatDuration(int64_t ms) {
  if (ms % 1000 != 0) return absl::StrCat(ms, "ms");
  int64_t s = ms / 1000;
  std::string out;
  if (s >= 3600) absl::StrAppend(&out, s / 3600, "h");
  if (s % 3600 >= 60) absl::StrAppend(&out, s % 3600 / 60, "m");
  if (s % 60 != 0 || out.empty()) absl::StrAppend(&out, s % 60, "s");
  return out;
}

bool SameBits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class HeadAppender final : public Appender {
 public:
  explicit HeadAppender(Head* head) : head_(head) {}
  ~HeadAppender() override { Clear(); }

  absl::StatusOr<SeriesRef> Append(SeriesRef ref, const labels::Labels& lset, int64_t t,
                                   double v) override {
    if (auto st = CheckSample(t); !st.ok()) return st;
    // Pinned against garbage collection; the pin is kept while the series is in latest_.
    MemSeries* s = ref != 0 ? head_->AcquireByRef(ref) : nullptr;
    if (s == nullptr) {
      if (auto st = ValidateLabels(lset); !st.ok()) return st;
      bool created;
      s = head_->AcquireOrCreate(lset, &created);
    }
    return Stage(s, t, v);
  }

  absl::StatusOr<SeriesRef> AppendExisting(SeriesRef ref, int64_t t, double v) override {
    if (auto st = CheckSample(t); !st.ok()) return st;
    MemSeries* s = ref != 0 ? head_->AcquireByRef(ref) : nullptr;
    if (s == nullptr) {
      return absl::NotFoundError(absl::StrCat("no live series with ref ", ref, " in the head"));
    }
    return Stage(s, t, v);
  }

  void AppendExistingBatch(std::span<const RefSample> in,
                           std::span<absl::Status> statuses) override {
    found_.resize(in.size());
    head_->AcquireByRefBatch(in, found_);
    latest_.reserve(latest_.size() + in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      MemSeries* s = found_[i];
      if (absl::Status st = CheckSample(in[i].t_ms); !st.ok()) {
        if (s != nullptr) head_->Release(s);
        statuses[i] = std::move(st);
      } else if (s == nullptr) {
        statuses[i] = absl::NotFoundError(
            absl::StrCat("no live series with ref ", in[i].ref, " in the head"));
      } else {
        statuses[i] = Stage(s, in[i].t_ms, in[i].v).status();
      }
    }
  }

  // The checks that need no series, in the order Append has always applied them.
  absl::Status CheckSample(int64_t t) const {
    if (spent_) return absl::FailedPreconditionError("appender used after Commit or Rollback");
    if (auto st = CheckNotTooFarInFuture(t); !st.ok()) return st;
    if (const int64_t min_valid = head_->MinValidTime(); t < min_valid) {
      return absl::OutOfRangeError(absl::StrCat(
          "sample timestamp ", t, " is older than the head's minimum time (data before ",
          min_valid, " is already in an on-disk block)"));
    }
    return absl::OkStatus();
  }

  // Orders `t` against the series' newest sample (committed or staged) and stages it.
  // REQUIRES: `s` pinned by the caller (the pin is dropped or kept in latest_) and CheckSample
  // passed.
  absl::StatusOr<SeriesRef> Stage(MemSeries* s, int64_t t, double v) {
    bool has = false;
    int64_t newest_t = 0;
    double newest_v = 0;
    auto it = latest_.find(s);
    const bool held = it != latest_.end();
    if (held) {
      head_->Release(s);  // this appender pins it already
      has = true;
      newest_t = it->second.first;
      newest_v = it->second.second;
    } else {
      absl::MutexLock lock(&head_->StripeLock(s));
      has = s->has_samples();
      newest_t = s->last_t();
      newest_v = s->last_v();
      // The commit will append to this chunk; touching its tail now (under the lock that
      // guards it) lets the miss overlap with staging instead of stalling the apply, which
      // runs on one thread for the whole commit group (~12% of ingest CPU was that miss).
      s->PrefetchForAppend();
    }
    if (has && t < newest_t) return StageOutOfOrder(s, held, t, v, newest_t, newest_v);
    if (has) {
      absl::Status reject;
      if (t == newest_t &&
                 std::bit_cast<uint64_t>(v) != std::bit_cast<uint64_t>(newest_v)) {
        reject = absl::AlreadyExistsError(
            absl::StrCat("duplicate sample for timestamp ", t, " with a different value"));
      }
      if (!reject.ok() || t == newest_t) {  // rejected, or an equal duplicate (nothing to store)
        const SeriesRef r = s->ref();
        if (!held) head_->Release(s);
        if (!reject.ok()) return reject;
        return r;
      }
    }
    samples_.push_back({s, t, v});
    if (staged_active_) staged_[{s, t}] = v;
    latest_[s] = {t, v};
    return s->ref();
  }

  // t < the series' newest sample (committed or staged). REQUIRES: t >= MinValidTime().
  absl::StatusOr<SeriesRef> StageOutOfOrder(MemSeries* s, bool held, int64_t t, double v,
                                            int64_t newest_t, double newest_v) {
    const SeriesRef r = s->ref();
    auto reject = [&](absl::Status st) -> absl::StatusOr<SeriesRef> {
      if (!held) head_->Release(s);
      return st;
    };
    const int64_t window = head_->OooWindow();
    if (window <= 0) {
      return reject(absl::OutOfRangeError(
          absl::StrCat("out of order sample: timestamp ", t,
                       " is older than the series' newest sample ", newest_t)));
    }
    const int64_t newest = std::max(head_->MaxTime(), newest_t);
    const int64_t lower = newest < kMinTime + window ? kMinTime : newest - window;
    if (t < lower) {
      return reject(absl::OutOfRangeError(absl::StrCat(
          "out of order sample: timestamp ", t, " is older than the series' newest sample ",
          newest_t, " and outside the out-of-order window of ", FormatDuration(window),
          " (the oldest timestamp accepted now is ", lower, ")")));
    }
    // One sample per timestamp, against this batch and then the committed series.
    if (!staged_active_) {
      for (const auto& ss : samples_) staged_[{ss.series, ss.t}] = ss.v;
      staged_active_ = true;
    }
    double have = 0;
    bool found = false;
    if (auto it = staged_.find({s, t}); it != staged_.end()) {
      found = true;
      have = it->second;
    } else {
      absl::MutexLock lock(&head_->StripeLock(s));
      found = s->Lookup(t, head_->chunk_store(), &have);
    }
    if (found) {
      if (!SameBits(have, v)) {
        return reject(absl::AlreadyExistsError(
            absl::StrCat("duplicate sample for timestamp ", t, " with a different value")));
      }
      if (!held) head_->Release(s);
      return r;  // an equal duplicate: nothing to store
    }
    samples_.push_back({s, t, v, /*ooo=*/true});
    staged_[{s, t}] = v;
    if (!held) latest_[s] = {newest_t, newest_v};  // keeps the pin
    return r;
  }

  absl::Status CheckNotTooFarInFuture(int64_t t) const {
    const HeadOptions& opts = head_->options();
    if (opts.max_future_ms <= 0) return absl::OkStatus();
    // The wall clock read earlier by this appender is a lower bound of the time now, so a
    // sample within the bound of that reading needs no new one (a clock read per sample was
    // ~1.5% of ingest).
    if (opts.now_ms == nullptr && wall_ms_ != kMinTime && t <= wall_ms_ + opts.max_future_ms) {
      return absl::OkStatus();
    }
    const int64_t now = opts.now_ms != nullptr ? opts.now_ms() : (wall_ms_ = WallClockMs());
    if (t <= now + opts.max_future_ms) return absl::OkStatus();
    return absl::OutOfRangeError(absl::StrCat(
        "sample timestamp ", t, " is too far in the future: ", (t - now) / 1000,
        " s ahead of the server clock (at most ", opts.max_future_ms / 1000,
        " s allowed); check the client's clock"));
  }

  void UpdateMetadata(const std::string& metric_family, const MetricMetadata& md) override {
    if (spent_ || head_->MetadataEquals(metric_family, md)) return;
    for (auto& m : metadata_) {
      if (m.family == metric_family) {
        m.type = md.type;
        m.unit = md.unit;
        m.help = md.help;
        return;
      }
    }
    metadata_.push_back({metric_family, md.type, md.unit, md.help});
  }

  absl::Status Commit() override {
    if (spent_) return absl::FailedPreconditionError("appender committed or rolled back twice");
    spent_ = true;
    if (samples_.empty() && metadata_.empty()) return absl::OkStatus();

    std::vector<std::string> records;
    std::vector<MemSeries*> unlogged;
    for (const auto& [s, _] : latest_) {
      if (!s->logged()) unlogged.push_back(s);
    }
    if (!unlogged.empty()) {
      std::sort(unlogged.begin(), unlogged.end(),
                [](const MemSeries* a, const MemSeries* b) { return a->ref() < b->ref(); });
      std::vector<wal::SeriesRecord> recs;
      recs.reserve(unlogged.size());
      for (MemSeries* s : unlogged) recs.push_back({s->ref(), s->Labels()});
      wal::EncodeSeries(recs, &records.emplace_back());
    }
    if (!samples_.empty()) {
      // In-order samples first, then the out-of-order ones: Head::ApplyBatch applies them in
      // this order, as replay will.
      std::vector<wal::SampleRecord> recs, ooo;
      recs.reserve(samples_.size());
      for (const auto& ss : samples_) {
        (ss.ooo ? ooo : recs).push_back({ss.series->ref(), ss.t, ss.v});
      }
      if (!recs.empty()) wal::EncodeSamples(recs, &records.emplace_back());
      if (!ooo.empty()) {
        wal::EncodeSamples(ooo, &records.emplace_back(), wal::RecordType::kOooSamples);
      }
    }
    if (!metadata_.empty()) wal::EncodeMetadata(metadata_, &records.emplace_back());

    absl::Status st = head_->Commit(std::move(records), samples_, unlogged, metadata_, &dropped_);
    Clear();
    return st;
  }

  std::vector<CommitDrop> DroppedAtCommit() const override { return dropped_; }

  void Rollback() override {
    spent_ = true;
    Clear();
  }

 private:
  // Drops the staged state and the pins on its series. Called after Head::Commit returned, i.e.
  // after this appender's batch was applied (or failed), so the series may be collected now.
  void Clear() {
    for (const auto& [s, _] : latest_) head_->Release(s);
    samples_ = {};
    latest_ = {};
    staged_ = {};
    staged_active_ = false;
    metadata_ = {};
  }

  Head* const head_;
  std::vector<MemSeries*> found_;  // AppendExistingBatch scratch
  mutable int64_t wall_ms_ = kMinTime;  // the last wall-clock reading (CheckNotTooFarInFuture)
  bool spent_ = false;
  std::vector<CommitDrop> dropped_;
  std::vector<StagedSample> samples_;
  // Newest staged sample per series, for ordering checks within the batch.
  absl::flat_hash_map<MemSeries*, std::pair<int64_t, double>> latest_;
  // Every staged (series, timestamp) -> value, built when the first out-of-order candidate
  // needs a duplicate check inside the batch, and maintained from then on.
  absl::flat_hash_map<std::pair<MemSeries*, int64_t>, double> staged_;
  bool staged_active_ = false;
  std::vector<wal::MetadataRecord> metadata_;
};

}  // namespace

std::unique_ptr<Appender> Head::NewAppender() { return std::make_unique<HeadAppender>(this); }

}  // namespace xscaler::storage::head
