#include "storage/wal/record.h"

#include <bit>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/coding.h"

namespace xscaler::storage::wal {
namespace {

using base::EncodeVarint64;
using base::ZigZagEncode;

// Set in the type byte of a samples / ooo_samples record with the column-wise layout.
constexpr uint8_t kColumnarBit = 0x10;

// Integral values up to 2^52 in magnitude are stored as varints (see docs/format/wal.md).
constexpr double kMaxExactInt = 4503599627370496.0;  // 2^52

char* EncodeValue(char* p, double v) {
  if (v >= -kMaxExactInt && v <= kMaxExactInt) {
    auto i = static_cast<int64_t>(v);
    if (static_cast<double>(i) == v && !(i == 0 && std::signbit(v))) {
      return EncodeVarint64(p, ZigZagEncode(i) << 1);
    }
  }
  *p++ = 1;
  base::EncodeFixed64(p, std::bit_cast<uint64_t>(v));
  return p + 8;
}

absl::Status Malformed(const char* what, size_t offset) {
  return absl::DataLossError(absl::StrCat("wal record: malformed ", what, " at byte ", offset));
}

absl::Status CheckType(std::string_view* rec, RecordType want, const char* name) {
  if (rec->empty() || static_cast<uint8_t>((*rec)[0]) != static_cast<uint8_t>(want)) {
    return absl::DataLossError(absl::StrCat("wal record: not a ", name, " record"));
  }
  rec->remove_prefix(1);
  return absl::OkStatus();
}

bool GetValue(std::string_view* rec, uint64_t x, double* v) {
  if ((x & 1) == 0) {
    *v = static_cast<double>(base::ZigZagDecode(x >> 1));
    return true;
  }
  return x == 1 && base::GetDouble(rec, v);  // other odd tags are reserved
}

bool IsColumnarSamples(uint8_t t) {
  return t == (static_cast<uint8_t>(RecordType::kSamples) | kColumnarBit) ||
         t == (static_cast<uint8_t>(RecordType::kOooSamples) | kColumnarBit);
}

absl::Status DecodeColumnarSamples(std::string_view rec, std::vector<SampleRecord>* out) {
  const size_t total = rec.size();
  rec.remove_prefix(1);
  uint64_t n;
  if (!base::GetVarint64(&rec, &n)) return Malformed("samples count", total - rec.size());
  // A sample takes at least 3 bytes (one per column), which bounds n before resizing.
  if (n > rec.size() / 3) return Malformed("samples count", total - rec.size());
  out->resize(n);
  uint64_t ref = 0;
  for (SampleRecord& s : *out) {
    int64_t d;
    if (!base::GetVarsint64(&rec, &d)) return Malformed("sample ref", total - rec.size());
    ref += static_cast<uint64_t>(d);
    s.ref = ref;
  }
  uint64_t t = 0;
  for (SampleRecord& s : *out) {
    int64_t d;
    if (!base::GetVarsint64(&rec, &d)) return Malformed("sample time", total - rec.size());
    t += static_cast<uint64_t>(d);
    s.t = static_cast<int64_t>(t);
  }
  for (SampleRecord& s : *out) {
    uint64_t x;
    if (!base::GetVarint64(&rec, &x) || !GetValue(&rec, x, &s.v)) {
      return Malformed("sample value", total - rec.size());
    }
  }
  if (!rec.empty()) return Malformed("samples (trailing bytes)", total - rec.size());
  return absl::OkStatus();
}

}  // namespace

void EncodeSeries(std::span<const SeriesRecord> series, std::string* out) {
  out->push_back(static_cast<char>(RecordType::kSeries));
  for (const SeriesRecord& s : series) {
    base::PutVarint64(out, s.ref);
    base::PutVarint64(out, s.labels.size());
    for (const labels::Label& l : s.labels) {
      base::PutLengthPrefixed(out, l.name);
      base::PutLengthPrefixed(out, l.value);
    }
  }
}

void EncodeSamples(std::span<const SampleRecord> samples, std::string* out, RecordType type) {
  size_t start = out->size();
  // Worst case per sample: two 10-byte varints and a 9-byte value.
  out->resize(start + 1 + base::kMaxVarint64Bytes + samples.size() * 29);
  char* p = out->data() + start;
  *p++ = static_cast<char>(static_cast<uint8_t>(type) | kColumnarBit);
  p = EncodeVarint64(p, samples.size());
  // Column by column: each column's bytes are alike (mostly 1-byte deltas, runs of equal
  // timestamps), which zstd compresses far better than interleaved samples.
  uint64_t prev_ref = 0;
  for (const SampleRecord& s : samples) {
    p = EncodeVarint64(p, ZigZagEncode(static_cast<int64_t>(s.ref - prev_ref)));
    prev_ref = s.ref;
  }
  uint64_t prev_t = 0;
  for (const SampleRecord& s : samples) {
    p = EncodeVarint64(p, ZigZagEncode(static_cast<int64_t>(static_cast<uint64_t>(s.t) - prev_t)));
    prev_t = static_cast<uint64_t>(s.t);
  }
  for (const SampleRecord& s : samples) p = EncodeValue(p, s.v);
  out->resize(static_cast<size_t>(p - out->data()));
}

void EncodeSamplesRowLayout(std::span<const SampleRecord> samples, std::string* out,
                            RecordType type) {
  size_t start = out->size();
  // Worst case per sample: two 10-byte varints and a 9-byte value.
  out->resize(start + 1 + 2 * base::kMaxVarint64Bytes + samples.size() * 29);
  char* p = out->data() + start;
  *p++ = static_cast<char>(type);
  if (!samples.empty()) {
    uint64_t prev_ref = samples[0].ref;
    const auto base_t = static_cast<uint64_t>(samples[0].t);
    p = EncodeVarint64(p, prev_ref);
    p = EncodeVarint64(p, ZigZagEncode(samples[0].t));
    for (const SampleRecord& s : samples) {
      p = EncodeVarint64(p, ZigZagEncode(static_cast<int64_t>(s.ref - prev_ref)));
      prev_ref = s.ref;
      p = EncodeVarint64(p, ZigZagEncode(static_cast<int64_t>(static_cast<uint64_t>(s.t) - base_t)));
      p = EncodeValue(p, s.v);
    }
  }
  out->resize(static_cast<size_t>(p - out->data()));
}

void EncodeMetadata(std::span<const MetadataRecord> metadata, std::string* out) {
  out->push_back(static_cast<char>(RecordType::kMetadata));
  for (const MetadataRecord& m : metadata) {
    base::PutLengthPrefixed(out, m.family);
    base::PutLengthPrefixed(out, m.type);
    base::PutLengthPrefixed(out, m.unit);
    base::PutLengthPrefixed(out, m.help);
  }
}

absl::StatusOr<RecordType> PeekType(std::string_view rec) {
  if (rec.empty()) return absl::DataLossError("wal record: empty");
  auto t = static_cast<uint8_t>(rec[0]);
  if (IsColumnarSamples(t)) t &= ~kColumnarBit;
  if (t < 1 || t > 4) {
    return absl::DataLossError(absl::StrCat("wal record: unknown type ", t));
  }
  return static_cast<RecordType>(t);
}

absl::Status DecodeSeries(std::string_view rec, std::vector<SeriesRecord>* out) {
  out->clear();
  const size_t total = rec.size();
  if (absl::Status s = CheckType(&rec, RecordType::kSeries, "series"); !s.ok()) return s;
  std::vector<labels::Label> ls;
  while (!rec.empty()) {
    uint64_t ref, n;
    if (!base::GetVarint64(&rec, &ref) || !base::GetVarint64(&rec, &n)) {
      return Malformed("series header", total - rec.size());
    }
    // Each label takes at least two bytes, which bounds `n` before reserving.
    if (n > rec.size() / 2) return Malformed("label count", total - rec.size());
    ls.clear();
    ls.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view name, value;
      if (!base::GetLengthPrefixed(&rec, &name) || !base::GetLengthPrefixed(&rec, &value)) {
        return Malformed("label", total - rec.size());
      }
      ls.push_back(labels::Label{std::string(name), std::string(value)});
    }
    out->push_back(SeriesRecord{ref, labels::Labels(std::move(ls))});
    ls = {};
  }
  return absl::OkStatus();
}

absl::Status DecodeSamples(std::string_view rec, std::vector<SampleRecord>* out) {
  out->clear();
  const size_t total = rec.size();
  if (!rec.empty() && IsColumnarSamples(static_cast<uint8_t>(rec[0]))) {
    return DecodeColumnarSamples(rec, out);
  }
  if (!rec.empty() && static_cast<uint8_t>(rec[0]) == static_cast<uint8_t>(RecordType::kOooSamples)) {
    rec.remove_prefix(1);
  } else if (absl::Status s = CheckType(&rec, RecordType::kSamples, "samples"); !s.ok()) {
    return s;
  }
  if (rec.empty()) return absl::OkStatus();
  uint64_t ref;
  int64_t base_t;
  if (!base::GetVarint64(&rec, &ref) || !base::GetVarsint64(&rec, &base_t)) {
    return Malformed("samples header", total - rec.size());
  }
  if (rec.empty()) return Malformed("samples header (no samples)", total);
  out->reserve(rec.size() / 3);  // a sample takes at least 3 bytes
  while (!rec.empty()) {
    int64_t dref, dt;
    uint64_t x;
    if (!base::GetVarsint64(&rec, &dref) || !base::GetVarsint64(&rec, &dt) ||
        !base::GetVarint64(&rec, &x)) {
      return Malformed("sample", total - rec.size());
    }
    ref += static_cast<uint64_t>(dref);
    SampleRecord s;
    s.ref = ref;
    s.t = static_cast<int64_t>(static_cast<uint64_t>(base_t) + static_cast<uint64_t>(dt));
    if (!GetValue(&rec, x, &s.v)) return Malformed("sample value", total - rec.size());
    out->push_back(s);
  }
  return absl::OkStatus();
}

absl::Status DecodeMetadata(std::string_view rec, std::vector<MetadataRecord>* out) {
  out->clear();
  const size_t total = rec.size();
  if (absl::Status s = CheckType(&rec, RecordType::kMetadata, "metadata"); !s.ok()) return s;
  while (!rec.empty()) {
    std::string_view f, t, u, h;
    if (!base::GetLengthPrefixed(&rec, &f) || !base::GetLengthPrefixed(&rec, &t) ||
        !base::GetLengthPrefixed(&rec, &u) || !base::GetLengthPrefixed(&rec, &h)) {
      return Malformed("metadata entry", total - rec.size());
    }
    out->push_back(MetadataRecord{std::string(f), std::string(t), std::string(u), std::string(h)});
  }
  return absl::OkStatus();
}

}  // namespace xscaler::storage::wal
