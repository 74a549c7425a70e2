// The seam between storage and everything above it (ingest, PromQL, the HTTP API).
//
// Writers get an Appender: stage samples, then Commit. Commit returns only after the staged
// samples are in the write-ahead log and synced, so a 2xx sent after a successful Commit is a
// durability promise. Readers get a Querier bound to a time range: select series by label
// matchers, list label names and values. The in-memory head and (later) on-disk blocks look
// the same through this seam; the Querier merges them.
//
// Thread-safety: a Storage is safe for concurrent use. One Appender or Querier object is used
// by one thread at a time; many may exist at once.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "labels/labels.h"
#include "labels/matcher.h"

namespace xscaler::storage {

// Opaque handle to a series inside one Storage; 0 means "unknown, look it up by labels".
using SeriesRef = uint64_t;

inline constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

// Prometheus' staleness marker: a specific NaN bit pattern that ends a series for PromQL.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
inline double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }
inline bool IsStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

// What /api/v1/metadata reports for one metric family.
struct MetricMetadata {
  std::string type;  // counter, gauge, histogram, summary, unknown, ...
  std::string unit;
  std::string help;
  friend bool operator==(const MetricMetadata&, const MetricMetadata&) = default;
};

// Samples of one metric that passed Append but were not stored by Commit.
struct CommitDrop {
  std::string metric;
  int64_t samples = 0;
};

// One sample for a series known by ref (Appender::AppendExistingBatch).
struct RefSample {
  SeriesRef ref = 0;
  int64_t t_ms = 0;
  double v = 0;
};

// Error codes an Appender uses for per-sample rejections, so callers can count them by reason
// without parsing messages:
//   OutOfRange       - sample older than the series' newest sample (out of order / too old)
//   AlreadyExists    - same timestamp as the newest sample, different value
//   InvalidArgument  - bad labels (empty metric name, invalid label name, ...)
//   ResourceExhausted- a tenant limit (series count, ...) was hit
// A sample with the same timestamp and value as the newest one is accepted and ignored.
class Appender {
 public:
  virtual ~Appender() = default;

  // Stages one sample. `ref` is a value returned earlier by this Storage for the same label
  // set, or 0. Returns the series ref to reuse for later appends. REQUIRES: `lset` has a
  // non-empty __name__.
  virtual absl::StatusOr<SeriesRef> Append(SeriesRef ref, const labels::Labels& lset, int64_t t_ms,
                                           double v) = 0;

  // Stages one sample for a series known by ref only, with the same rules as Append (future,
  // minimum valid time, out-of-order window, duplicates) and the same per-sample errors.
  // NotFound when `ref` is not (or no longer, e.g. garbage-collected) a live series: the caller
  // then falls back to Append with the labels. This is for callers that remember refs across
  // appenders (an ingest-side cache); it never creates a series. The default implementation
  // always returns NotFound, which is correct (merely slower) for every caller.
  virtual absl::StatusOr<SeriesRef> AppendExisting(SeriesRef ref, int64_t t_ms, double v) {
    (void)t_ms;
    (void)v;
    return absl::NotFoundError(absl::StrCat("no live series with ref ", ref));
  }

  // AppendExisting for many samples at once, staged in the order given: statuses[i] is what
  // AppendExisting(samples[i]) would have returned (OK, NotFound or a per-sample error). Lets a
  // storage overlap the series lookups of a batch instead of paying their cache misses one
  // after another; the default just loops. REQUIRES: statuses.size() == samples.size().
  virtual void AppendExistingBatch(std::span<const RefSample> samples,
                                   std::span<absl::Status> statuses) {
    for (size_t i = 0; i < samples.size(); ++i) {
      statuses[i] = AppendExisting(samples[i].ref, samples[i].t_ms, samples[i].v).status();
    }
  }

  // Records type/unit/help for a metric family; persisted with the next Commit.
  virtual void UpdateMetadata(const std::string& metric_family, const MetricMetadata& md) = 0;

  // Makes every staged sample durable (WAL, fsync) and then visible to queriers. On error,
  // nothing staged is visible or acknowledged. The Appender is spent afterwards.
  virtual absl::Status Commit() = 0;
  // Drops what was staged.
  virtual void Rollback() = 0;

  // After a successful Commit: samples that passed Append but were not stored because a
  // concurrent commit stored a newer sample in the same series first (two requests raced on
  // one series). Callers report them as rejected so a client is never told "stored" for them.
  virtual std::vector<CommitDrop> DroppedAtCommit() const { return {}; }
};

// Iterates over one series' samples in time order.
class SampleIterator {
 public:
  virtual ~SampleIterator() = default;
  // Advances to the next sample; false when exhausted (or on error: see Err).
  virtual bool Next() = 0;
  // Advances to the first sample with t >= `t` (no-op if already there); false if none.
  virtual bool Seek(int64_t t) = 0;
  // REQUIRES: the last Next/Seek returned true.
  virtual std::pair<int64_t, double> At() const = 0;
  virtual absl::Status Err() const { return absl::OkStatus(); }
};

class Series {
 public:
  virtual ~Series() = default;
  virtual const labels::Labels& Labels() const = 0;
  // A fresh iterator over the samples within the Querier's [mint, maxt]. It owns (or shares)
  // what it reads: it stays valid after its SeriesSet has moved on, for as long as the set and
  // its Querier live, and may be read on another thread than the set's (the query engine
  // reads series in parallel while the set advances).
  virtual std::unique_ptr<SampleIterator> Iterator() const = 0;
};

// Series in ascending label-set order.
class SeriesSet {
 public:
  virtual ~SeriesSet() = default;
  virtual bool Next() = 0;
  // REQUIRES: the last Next returned true. Valid until the next call to Next.
  virtual const Series& At() const = 0;
  virtual absl::Status Err() const { return absl::OkStatus(); }
};

// A read view over [mint, maxt] (inclusive, milliseconds). Keeps what it reads alive until
// destroyed.
class Querier {
 public:
  virtual ~Querier() = default;
  // Series that satisfy every matcher and have at least one sample in range. REQUIRES: at
  // least one matcher that does not match the empty string (Prometheus' rule), which callers
  // validate; the storage may return an InvalidArgument error set otherwise.
  virtual std::unique_ptr<SeriesSet> Select(std::span<const labels::Matcher> matchers) = 0;
  // Select for callers that read only the series' labels (the series API): the same series,
  // but an implementation may skip loading samples where its index already proves one in
  // range. Only Labels() may be used on the returned series. The default is Select.
  virtual std::unique_ptr<SeriesSet> SelectLabels(std::span<const labels::Matcher> matchers) {
    return Select(matchers);
  }
  // Sorted, unique label names of series matching `matchers` (all series when empty).
  virtual absl::StatusOr<std::vector<std::string>> LabelNames(
      std::span<const labels::Matcher> matchers) = 0;
  // Sorted, unique values of `name` among series matching `matchers` (all when empty).
  virtual absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, std::span<const labels::Matcher> matchers) = 0;
};

// One tenant's database as seen by readers and writers.
class Storage {
 public:
  virtual ~Storage() = default;
  virtual std::unique_ptr<Appender> NewAppender() = 0;
  virtual std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) = 0;
  // Metric family name -> metadata, as last reported.
  virtual std::map<std::string, MetricMetadata> Metadata() const = 0;
};

}  // namespace xscaler::storage
