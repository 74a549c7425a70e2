#include "ingest/remote_write/remote_write.h"

#include <snappy.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/utf8.h"
#include "ingest/protowire/reader.h"
#include "labels/labels.h"

namespace xscaler::ingest::remote_write {
namespace {

using protowire::Reader;

// Field numbers from prometheus/prompb (remote.proto, types.proto).
constexpr uint32_t kWriteRequestTimeseries = 1;
constexpr uint32_t kWriteRequestMetadata = 3;
constexpr uint32_t kTimeSeriesLabels = 1;
constexpr uint32_t kTimeSeriesSamples = 2;
constexpr uint32_t kTimeSeriesExemplars = 3;
constexpr uint32_t kTimeSeriesHistograms = 4;
constexpr uint32_t kLabelName = 1;
constexpr uint32_t kLabelValue = 2;
constexpr uint32_t kSampleValue = 1;
constexpr uint32_t kSampleTimestamp = 2;
constexpr uint32_t kMetadataType = 1;
constexpr uint32_t kMetadataFamilyName = 2;
constexpr uint32_t kMetadataHelp = 4;
constexpr uint32_t kMetadataUnit = 5;

constexpr std::string_view kSnappyFramedMagic("\xff\x06\x00\x00sNaPpY", 10);

// Names in messages are clipped so a hostile 1 MB label name cannot bloat the report.
std::string Clip(std::string_view s) {
  constexpr size_t kMax = 100;
  if (s.size() <= kMax) return std::string(s);
  return std::string(s.substr(0, kMax)) + "...";
}

absl::Status Malformed(std::string_view where, const absl::Status& inner) {
  return absl::InvalidArgumentError(
      "malformed remote-write WriteRequest: " + std::string(where) + ": " + std::string(inner.message()));
}

// ---- Pass 1: structural validation, so that nothing is appended from a broken body. ----

// Reads a Sample message (absent fields are 0, as in protobuf).
absl::Status ReadSample(std::string_view b, int64_t* t, double* v) {
  Reader r(b);
  while (r.Next()) {
    if (r.field() == kSampleValue) *v = r.dbl();
    else if (r.field() == kSampleTimestamp) *t = r.int64();
  }
  return r.status();
}

// What the validating walk learns of one TimeSeries, so that a series whose labels are cached
// is ingested without walking its bytes again.
struct ScannedSeries {
  std::string_view ts;      // the TimeSeries message
  std::string_view metric;  // the first __name__ label's value, as sent (not yet checked)
  int64_t samples = 0;
  int64_t histograms = 0;
  int64_t t = 0;  // the first sample
  double v = 0;
};

// Checks a Label message; sets `*metric` when it is the __name__ label.
absl::Status ScanLabel(std::string_view b, std::string_view* metric) {
  std::string_view name, value;
  Reader r(b);
  while (r.Next()) {
    if (r.field() == kLabelName) name = r.bytes();
    else if (r.field() == kLabelValue) value = r.bytes();
  }
  if (r.ok() && metric->data() == nullptr && name == labels::kMetricName) *metric = value;
  return r.status();
}

absl::Status ScanTimeSeries(std::string_view b, ScannedSeries& out, LabelBytesHasher* hasher) {
  out.ts = b;
  Reader r(b);
  while (r.Next()) {
    switch (r.field()) {
      case kTimeSeriesLabels: {
        std::string_view lb = r.bytes();
        if (!r.ok()) break;
        if (absl::Status s = ScanLabel(lb, &out.metric); !s.ok()) return Malformed("label", s);
        if (hasher != nullptr) hasher->Add(r.raw_field());
        break;
      }
      case kTimeSeriesSamples: {
        std::string_view sb = r.bytes();
        if (!r.ok()) break;
        // Every sample is checked; the first is kept, so a one-sample series (the usual
        // shape) need not be walked again.
        int64_t t = 0;
        double v = 0;
        if (absl::Status s = ReadSample(sb, &t, &v); !s.ok()) return Malformed("sample", s);
        if (out.samples++ == 0) {
          out.t = t;
          out.v = v;
        }
        break;
      }
      case kTimeSeriesHistograms:
        r.bytes();  // checks the wire type; the contents are not interpreted
        ++out.histograms;
        break;
      case kTimeSeriesExemplars:
        r.bytes();
        break;
      default:
        break;
    }
  }
  return r.status();
}

absl::Status ValidateMetadata(std::string_view b) {
  Reader r(b);
  while (r.Next()) {
    switch (r.field()) {
      case kMetadataType: r.varint(); break;
      case kMetadataFamilyName:
      case kMetadataHelp:
      case kMetadataUnit: r.bytes(); break;
      default: break;
    }
  }
  return r.status();
}

// A request's series and metadata entries as the validating walk found them.
struct ScannedRequest {
  std::vector<ScannedSeries> series;
  std::vector<LabelBytesKey> keys;  // with a cache: series[i]'s label-bytes key
  std::vector<std::string_view> metadata;
};

absl::Status Scan(std::string_view decoded, bool with_keys, ScannedRequest& out) {
  Reader r(decoded);
  while (r.Next()) {
    if (r.field() == kWriteRequestTimeseries) {
      std::string_view b = r.bytes();
      if (!r.ok()) break;
      ScannedSeries& ss = out.series.emplace_back();
      std::optional<LabelBytesHasher> hasher;
      if (with_keys) hasher.emplace();
      if (absl::Status s = ScanTimeSeries(b, ss, hasher ? &*hasher : nullptr); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("malformed remote-write WriteRequest: timeseries #",
                                                       out.series.size() - 1, ": ", std::string(s.message())));
      }
      if (with_keys) out.keys.push_back(hasher->Finish());
    } else if (r.field() == kWriteRequestMetadata) {
      std::string_view b = r.bytes();
      if (!r.ok()) break;
      if (absl::Status s = ValidateMetadata(b); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("malformed remote-write WriteRequest: metadata #",
                                                       out.metadata.size(), ": ", std::string(s.message())));
      }
      out.metadata.push_back(b);
    }
  }
  if (!r.ok()) return Malformed("WriteRequest", r.status());
  return absl::OkStatus();
}

// ---- Pass 2: ingestion. Nested readers cannot fail here: pass 1 walked the same bytes. ----

// Label storage reused across the series of one request: strings keep their capacity, so a
// request of many similar series allocates for label text only while it grows.
class LabelScratch {
 public:
  void Clear() { n_ = 0; }
  void Add(std::string_view name, std::string_view value) {
    if (n_ == buf_.size()) buf_.emplace_back();
    buf_[n_].name.assign(name);
    buf_[n_].value.assign(value);
    ++n_;
  }
  std::span<labels::Label> items() { return std::span<labels::Label>(buf_.data(), n_); }

 private:
  std::vector<labels::Label> buf_;
  size_t n_ = 0;
};

// Empty when the (sorted) label set is acceptable, else the reason to reject the series.
std::string CheckLabels(std::span<const labels::Label> sorted, std::string_view metric) {
  if (metric.empty()) return "series has no metric name: the __name__ label is missing or empty";
  if (!labels::IsValidMetricName(metric)) {
    return absl::StrCat("invalid metric name \"", Clip(metric),
                        "\": metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  for (size_t i = 0; i < sorted.size(); ++i) {
    const labels::Label& l = sorted[i];
    if (i > 0 && sorted[i - 1].name == l.name) {
      return absl::StrCat("duplicate label name \"", Clip(l.name), "\" in one series");
    }
    if (!labels::IsValidLabelName(l.name)) {
      return absl::StrCat("invalid label name \"", Clip(l.name),
                          "\": label names must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (!base::IsValidUtf8(l.value)) {
      return absl::StrCat("the value of label \"", Clip(l.name), "\" is not valid UTF-8");
    }
  }
  return {};
}

// Collapses runs of equal Append failures within one series into one report entry, so a
// series of 10k out-of-order samples costs one Rejection, not 10k.
class FailureRun {
 public:
  FailureRun(IngestReport& report, std::string_view metric) : report_(report), metric_(metric) {}
  ~FailureRun() { Flush(); }
  void Add(const absl::Status& s) {
    if (count_ > 0 && s.code() == code_) {
      ++count_;
      return;
    }
    Flush();
    code_ = s.code();
    message_ = std::string(s.message());
    count_ = 1;
  }

 private:
  void Flush() {
    if (count_ > 0) report_.Reject(metric_, message_, count_);
    count_ = 0;
  }
  IngestReport& report_;
  std::string_view metric_;
  absl::StatusCode code_ = absl::StatusCode::kOk;
  std::string message_;
  int64_t count_ = 0;
};

constexpr std::string_view kNativeHistogramsRejected =
    "native histograms are not supported yet: the histogram samples of this series were "
    "rejected (send classic histograms, or disable native histograms in the sender, until "
    "xScaler supports them)";

// A series' __name__ and entry counts, from ParseLabels.
struct FullParse {
  std::string_view metric;
  int64_t samples = 0;
  int64_t histograms = 0;
};

// Decodes a series' labels into `scratch`, sorted by name (not yet checked).
FullParse ParseLabels(std::string_view ts, LabelScratch& scratch) {
  scratch.Clear();
  FullParse out;
  Reader r(ts);
  while (r.Next()) {
    switch (r.field()) {
      case kTimeSeriesLabels: {
        std::string_view name, value;
        Reader lr(r.bytes());
        while (lr.Next()) {
          if (lr.field() == kLabelName) name = lr.bytes();
          else if (lr.field() == kLabelValue) value = lr.bytes();
        }
        scratch.Add(name, value);
        break;
      }
      case kTimeSeriesSamples: ++out.samples; break;
      case kTimeSeriesHistograms: ++out.histograms; break;
      default: break;
    }
  }
  std::span<labels::Label> items = scratch.items();
  // Senders are required to sort labels, and Prometheus does: check before sorting.
  auto by_name = [](const labels::Label& a, const labels::Label& b) { return a.name < b.name; };
  if (!std::is_sorted(items.begin(), items.end(), by_name)) {
    std::sort(items.begin(), items.end(), by_name);
  }
  for (const labels::Label& l : items) {
    if (l.name == labels::kMetricName) {
      out.metric = l.value;
      break;
    }
  }
  return out;
}

// The label set to store, after CheckLabels passed on the sorted scratch.
labels::Labels ToLabels(LabelScratch& scratch) {
  // Sorted and free of duplicate names (CheckLabels), so only empty values (which mean "no
  // label" in Prometheus) need dropping before skipping the Labels constructor's sort.
  std::span<labels::Label> items = scratch.items();
  std::vector<labels::Label> kept;
  kept.reserve(items.size());
  for (const labels::Label& l : items) {
    if (!l.value.empty()) kept.push_back(l);
  }
  return labels::Labels::FromSorted(std::move(kept));
}

// Appends every sample of `ts` (skipping the first `skip`), with `lset` or, when `lset` is
// null, by `ref` alone through AppendExisting. A NotFound from AppendExisting (the cached
// series is gone) erases the cache entry and switches to the labels for the rest of the
// series. A ref from a successful Append is cached. Returns the accepted count.
int64_t AppendSamples(std::string_view ts, storage::SeriesRef ref, const labels::Labels* lset,
                      LabelScratch& scratch, storage::Appender& app, FailureRun& failures,
                      SeriesRefCache* cache, const LabelBytesKey& key) {
  std::optional<labels::Labels> fallback;
  bool by_labels = lset != nullptr;
  int64_t accepted = 0;
  Reader sr(ts);
  while (sr.Next()) {
    if (sr.field() != kTimeSeriesSamples) continue;
    double v = 0;
    int64_t t = 0;
    (void)ReadSample(sr.bytes(), &t, &v);  // cannot fail: Scan read the same bytes
    absl::StatusOr<storage::SeriesRef> got;
    if (!by_labels) {
      got = app.AppendExisting(ref, t, v);
      if (got.status().code() == absl::StatusCode::kNotFound) {
        cache->Erase(key);
        // The bytes passed CheckLabels when the entry was made, and the check is a function
        // of the bytes, so the labels decode to a valid set again.
        ParseLabels(ts, scratch);
        fallback.emplace(ToLabels(scratch));
        lset = &*fallback;
        by_labels = true;
        ref = 0;
      }
    }
    if (by_labels) got = app.Append(ref, *lset, t, v);
    if (got.ok()) {
      ref = *got;
      ++accepted;
    } else {
      failures.Add(got.status());
    }
  }
  if (cache != nullptr && by_labels && ref != 0) cache->Insert(key, ref);
  return accepted;
}

void IngestTimeSeriesFull(std::string_view ts, LabelScratch& scratch, storage::Appender& app,
                          IngestReport& report, SeriesRefCache* cache, const LabelBytesKey& key) {
  const FullParse p = ParseLabels(ts, scratch);
  if (p.histograms > 0) report.Reject(p.metric, kNativeHistogramsRejected, p.histograms);
  if (p.samples == 0) return;
  if (std::string reason = CheckLabels(scratch.items(), p.metric); !reason.empty()) {
    report.Reject(p.metric, reason, p.samples);
    return;
  }
  const labels::Labels lset = ToLabels(scratch);
  FailureRun failures(report, p.metric);
  report.AddAccepted(AppendSamples(ts, 0, &lset, scratch, app, failures, cache, key));
}

// A cached series the storage no longer has: back to its labels (valid: they were checked when
// the entry was made, and the check is a function of the bytes), which re-creates it and
// caches the new ref.
void ReappendByLabels(const ScannedSeries& ss, LabelScratch& scratch, storage::Appender& app,
                      IngestReport& report, SeriesRefCache* cache, const LabelBytesKey& key) {
  cache->Erase(key);
  ParseLabels(ss.ts, scratch);
  const labels::Labels lset = ToLabels(scratch);
  FailureRun failures(report, ss.metric);
  report.AddAccepted(AppendSamples(ss.ts, 0, &lset, scratch, app, failures, cache, key));
}

// A series whose label bytes are in the cache: appended by ref, without decoding its labels
// (they were checked when the entry was made, and the check is a function of the bytes).
void IngestCachedSeries(const ScannedSeries& ss, storage::SeriesRef ref, LabelScratch& scratch,
                        storage::Appender& app, IngestReport& report, SeriesRefCache* cache,
                        const LabelBytesKey& key) {
  if (ss.histograms > 0) report.Reject(ss.metric, kNativeHistogramsRejected, ss.histograms);
  if (ss.samples == 0) return;
  FailureRun failures(report, ss.metric);
  if (ss.samples == 1) {
    // The common shape (one sample per series per request): the walk already read it.
    absl::StatusOr<storage::SeriesRef> got = app.AppendExisting(ref, ss.t, ss.v);
    if (got.ok()) {
      report.AddAccepted(1);
      return;
    }
    if (got.status().code() != absl::StatusCode::kNotFound) {
      failures.Add(got.status());
      return;
    }
    return ReappendByLabels(ss, scratch, app, report, cache, key);
  }
  report.AddAccepted(AppendSamples(ss.ts, ref, nullptr, scratch, app, failures, cache, key));
}

void IngestMetadata(std::string_view b, storage::Appender& app) {
  uint64_t type = 0;
  std::string_view family, help, unit;
  Reader r(b);
  while (r.Next()) {
    switch (r.field()) {
      case kMetadataType: type = r.varint(); break;
      case kMetadataFamilyName: family = r.bytes(); break;
      case kMetadataHelp: help = r.bytes(); break;
      case kMetadataUnit: unit = r.bytes(); break;
      default: break;
    }
  }
  if (family.empty()) return;  // nothing to attach it to
  storage::MetricMetadata md{std::string(MetricTypeName(type)), std::string(unit),
                             std::string(help)};
  app.UpdateMetadata(std::string(family), md);
}

}  // namespace

std::string_view MetricTypeName(uint64_t type) {
  switch (type) {
    case 1: return "counter";
    case 2: return "gauge";
    case 3: return "histogram";
    case 4: return "gaugehistogram";
    case 5: return "summary";
    case 6: return "info";
    case 7: return "stateset";
    default: return "unknown";
  }
}

absl::Status IngestProto(std::string_view decoded, storage::Appender& app, IngestReport& report,
                         SeriesRefCache* cache) {
  // Pass 1 validates the whole body (nothing is appended from a broken one) and, with a cache,
  // hashes each series' label bytes on the way.
  ScannedRequest req;
  if (absl::Status s = Scan(decoded, cache != nullptr, req); !s.ok()) return s;
  std::vector<storage::SeriesRef> refs(req.series.size(), 0);
  if (cache != nullptr) cache->FindBatch(req.keys, refs);
  LabelScratch scratch;
  // Runs of cached one-sample series (the usual request) go to the storage as one batch, so it
  // can overlap their lookups; everything else is appended one series at a time. Either way
  // samples are staged in wire order.
  std::vector<storage::RefSample> batch;
  std::vector<size_t> batch_series;
  std::vector<absl::Status> statuses;
  auto flush = [&] {
    if (batch.empty()) return;
    statuses.assign(batch.size(), absl::OkStatus());
    app.AppendExistingBatch(batch, statuses);
    for (size_t k = 0; k < batch.size(); ++k) {
      const size_t i = batch_series[k];
      const ScannedSeries& ss = req.series[i];
      if (statuses[k].ok()) {
        report.AddAccepted(1);
      } else if (statuses[k].code() == absl::StatusCode::kNotFound) {
        ReappendByLabels(ss, scratch, app, report, cache, req.keys[i]);
      } else {
        FailureRun(report, ss.metric).Add(statuses[k]);
      }
    }
    batch.clear();
    batch_series.clear();
  };
  for (size_t i = 0; i < req.series.size(); ++i) {
    const ScannedSeries& ss = req.series[i];
    if (refs[i] != 0 && ss.samples == 1 && ss.histograms == 0) {
      batch.push_back({refs[i], ss.t, ss.v});
      batch_series.push_back(i);
      continue;
    }
    flush();
    if (refs[i] != 0) {
      IngestCachedSeries(ss, refs[i], scratch, app, report, cache, req.keys[i]);
    } else {
      IngestTimeSeriesFull(ss.ts, scratch, app, report, cache,
                           cache != nullptr ? req.keys[i] : LabelBytesKey{});
    }
  }
  flush();
  for (std::string_view md : req.metadata) IngestMetadata(md, app);
  return absl::OkStatus();
}

absl::Status IngestSnappy(std::string_view body, size_t max_decoded_bytes, storage::Appender& app,
                          IngestReport& report, SeriesRefCache* cache) {
  if (body.empty()) {
    return absl::InvalidArgumentError(
        "remote-write request body is empty: expected a snappy-compressed protobuf WriteRequest");
  }
  if (body.starts_with(kSnappyFramedMagic)) {
    return absl::InvalidArgumentError(
        "remote-write body uses the snappy framed (stream) format; Prometheus remote write 1.0 "
        "requires the snappy block format");
  }
  size_t n = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &n)) {
    return absl::InvalidArgumentError(
        "remote-write body is not valid snappy block-format data (Prometheus remote write 1.0 "
        "sends a snappy-compressed protobuf WriteRequest with Content-Encoding: snappy)");
  }
  if (n > max_decoded_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("remote-write body decompresses to ", n, " bytes, over the limit of ",
                     max_decoded_bytes, " bytes; send smaller batches (e.g. lower "
                     "queue_config.max_samples_per_send)"));
  }
  auto buf = std::make_unique_for_overwrite<char[]>(n == 0 ? 1 : n);
  if (!snappy::RawUncompress(body.data(), body.size(), buf.get())) {
    return absl::InvalidArgumentError(
        "remote-write body is corrupt snappy block-format data: decompression failed");
  }
  return IngestProto(std::string_view(buf.get(), n), app, report, cache);
}

}  // namespace xscaler::ingest::remote_write
