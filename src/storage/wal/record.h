// The payloads the TSDB stores in the write-ahead log: series definitions, samples (in-order
// and out-of-order ones, in separate record types with one layout) and metric metadata. Each
// record starts with a RecordType byte; the byte layouts are specified in
// docs/format/wal.md. Encoders append to *out and never allocate per sample beyond growing
// *out; decoders clear *out first (reusing its capacity) and return DataLoss on malformed
// input instead of crashing.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "labels/labels.h"

namespace xscaler::storage::wal {

// kOooSamples holds samples the head accepted as out-of-order (older than their series'
// newest sample, within the out-of-order window); replay puts them back into the series'
// out-of-order data without re-deciding (the window may have changed since).
enum class RecordType : uint8_t { kSeries = 1, kSamples = 2, kMetadata = 3, kOooSamples = 4 };

struct SeriesRecord {
  uint64_t ref = 0;
  labels::Labels labels;
  friend bool operator==(const SeriesRecord&, const SeriesRecord&) = default;
};

struct SampleRecord {
  uint64_t ref = 0;
  int64_t t = 0;
  double v = 0;
};

struct MetadataRecord {
  std::string family;
  std::string type, unit, help;
  friend bool operator==(const MetadataRecord&, const MetadataRecord&) = default;
};

void EncodeSeries(std::span<const SeriesRecord> series, std::string* out);
// `type` is kSamples or kOooSamples (same layout). Writes the column-wise layout (type byte
// 0x12 / 0x14, which PeekType reports as kSamples / kOooSamples).
void EncodeSamples(std::span<const SampleRecord> samples, std::string* out,
                   RecordType type = RecordType::kSamples);
// The older row-wise layout (type byte 0x02 / 0x04), still read by DecodeSamples; for tests
// and tools that must produce logs as older versions wrote them.
void EncodeSamplesRowLayout(std::span<const SampleRecord> samples, std::string* out,
                            RecordType type = RecordType::kSamples);
void EncodeMetadata(std::span<const MetadataRecord> metadata, std::string* out);

// The type of an encoded record; DataLoss if empty or unknown.
absl::StatusOr<RecordType> PeekType(std::string_view rec);

absl::Status DecodeSeries(std::string_view rec, std::vector<SeriesRecord>* out);
// Decodes kSamples and kOooSamples records alike (PeekType tells which), in either layout.
absl::Status DecodeSamples(std::string_view rec, std::vector<SampleRecord>* out);
absl::Status DecodeMetadata(std::string_view rec, std::vector<MetadataRecord>* out);

}  // namespace xscaler::storage::wal
