// The OTLP metrics ingester: decodes an ExportMetricsServiceRequest body (binary protobuf or
// protobuf-JSON) and translates it into Prometheus series appended to a storage::Appender,
// following Prometheus' OTLP translation (UnderscoreEscapingWithSuffixes) plus xScaler's
// additions: DELTA → cumulative conversion, a zero sample at the start time of new counter-like
// series, staleness markers for "no recorded value" points. Facts and rules:
// /work/shared/spec/otlp-ingest.md §1–2, §4.
//
// Translation summary:
//   names     metric names escaped with unit/type suffixes (naming.h); attribute keys → label
//             names; keys colliding after escaping are merged with ';' in key order (a warning).
//   resource  job = service.namespace "/" service.name (or service.name); instance =
//             service.instance.id; other resource attributes → `target_info` (value 1) at each
//             distinct point time of that resource in the request.
//   scope     otel_scope_name / otel_scope_version labels when set.
//   types     Gauge → gauge; cumulative monotonic Sum → counter (`_total`); non-monotonic Sum →
//             gauge; Histogram → `_bucket{le}` (+Inf = count), `_count`, `_sum` if present;
//             Summary → `{quantile}`, `_sum`, `_count`. Exponential histograms are rejected with
//             an explanation (no native histograms yet).
//   delta     DELTA sums and histograms are accumulated per output series in this object. A
//             point at the same millisecond as the previous one of its series is taken as a
//             re-send (the previous total is written again, idempotently); an older one is
//             rejected. Any other gap or start-time change just continues the running total.
//             With a Storage, a series without state is seeded from its newest stored sample of
//             the last 24 h, so totals survive a restart. The state is updated only when the
//             Append succeeded; the Ingester cannot know about a later failed Commit, so a client
//             retry after a failed Commit counts that delta twice.
//   start     For a counter-like series (monotonic sum, histogram series, converted delta) seen
//             for the first time by this object whose start time is before the point's time (in
//             ms), a 0 sample is appended at the start time first, so the first increment counts
//             in rate(); errors from it (e.g. out of order: the series has newer data) are
//             ignored. A cumulative series whose start time moves forward was reset: it gets a 0
//             at the new start time too. Every sample of a process is at or after its start time,
//             so such a 0 never lands between two samples of the same process.
//   time      ns → ms, rounded down; time 0 rejects the point.
//   problems  Rejections count client data points; a point whose attribute value is not valid
//             UTF-8 is rejected. target_info samples that cannot be stored only produce a
//             warning (they are derived, not sent by the client). Metrics without data points
//             are skipped silently (nothing is lost).
//
//   cache     Output series seen before are appended by their storage ref (series_cache.h):
//             same samples, rejections and warnings as building their labels, at a fraction of
//             the cost. The refs of a request are looked up at once, and runs of plain samples
//             (not delta, no start-time zero) go to Appender::AppendExistingBatch in wire order;
//             a sample whose ref went stale is re-appended by labels after its run. It assumes every Appender given to one Ingester appends to one Storage
//             whose refs are never reused for another label set (as the seam promises); an
//             Appender without refs (returning 0, or NotFound from AppendExisting) just keeps
//             the slow path.
//
// Thread-safety: Ingest may be called from many threads at once (per-series state and the
// series cache are striped and locked); each call needs its own Appender and IngestReport. The
// seen-series state grows with the number of delta series and counter-like series with a start
// time ever ingested (about 40 bytes each); the series cache is capped (TranslationOptions::series_cache_entries).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "ingest/otlp/series_cache.h"
#include "ingest/report.h"
#include "labels/labels.h"
#include "storage/storage.h"

namespace xscaler::ingest::otlp {

struct Request;
class Translator;

enum class Encoding { kProtobuf, kJson };

struct TranslationOptions {
  bool add_suffixes = true;  // Prometheus' UnderscoreEscapingWithSuffixes (default strategy)
  bool promote_scope_labels = true;  // otel_scope_name / otel_scope_version labels
  bool emit_target_info = true;
  bool delta_to_cumulative = true;  // DELTA sums/histograms accumulated per series
  bool inject_start_zero = true;  // zero sample at start_time for a series seen for the first time
  // Cap of the ref cache (series_cache.h, 43-85 bytes per entry); 0 disables it.
  size_t series_cache_entries = SeriesCache::kDefaultMaxEntries;
};

class Ingester {
 public:
  // `db` (may be nullptr) is only read, to seed delta totals after a restart; it must outlive
  // the Ingester.
  Ingester(storage::Storage* db, TranslationOptions opts);
  ~Ingester();
  Ingester(const Ingester&) = delete;
  Ingester& operator=(const Ingester&) = delete;

  // Decodes `body` (JSON is parsed in place, so `body` is modified) and appends every valid
  // point to `app`. Returns InvalidArgument (→ HTTP 400) when the body cannot be decoded at all;
  // then nothing has been appended. Per-point problems are recorded in `report` (Reject with a
  // reason, Warn), accepted samples via AddAccepted. Does not Commit.
  absl::Status Ingest(std::string& body, Encoding enc, storage::Appender& app,
                      IngestReport& report);

  // Translates an already decoded request (the second half of Ingest).
  void Translate(const Request& req, storage::Appender& app, IngestReport& report);

  const TranslationOptions& options() const { return opts_; }
  // Number of series with delta or seen-series state (for self-monitoring and tests).
  size_t TrackedSeries() const;
  // Number of entries in the series ref cache (0 when disabled).
  size_t CachedSeries() const;

 private:
  friend class Translator;

  struct SeriesState {
    double total = 0;                    // running cumulative value (delta series)
    int64_t last_t = storage::kMinTime;  // time of the last delta point folded in
    int64_t start = storage::kMinTime;   // newest start time seen (cumulative series), ms
  };
  struct Stripe {
    mutable absl::Mutex mu;
    absl::flat_hash_map<uint64_t, SeriesState> series ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kStripes = 64;
  Stripe& StripeFor(uint64_t hash) { return stripes_[hash % kStripes]; }

  storage::Storage* const db_;
  const TranslationOptions opts_;
  std::unique_ptr<Stripe[]> stripes_;
  std::unique_ptr<SeriesCache> cache_;  // nullptr when disabled
};

// Response bodies in the request's encoding. ExportMetricsServiceResponse carries
// partial_success only when the report has rejections or warnings (rejected_data_points and
// error_message = report.Summary()); otherwise it is the empty message ("" / "{}").
std::string EncodeExportResponse(Encoding enc, const IngestReport& report);
// google.rpc.Status {code, message} for error responses.
std::string EncodeStatus(Encoding enc, int grpc_code, std::string_view message);

}  // namespace xscaler::ingest::otlp
