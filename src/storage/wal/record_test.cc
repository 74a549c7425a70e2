#include "storage/wal/record.h"

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace xscaler::storage::wal {
namespace {

TEST(Record, SeriesRoundTrip) {
  std::vector<SeriesRecord> in = {
      {1, labels::Labels{{"__name__", "up"}, {"job", "node"}}},
      {2, labels::Labels{}},
      {UINT64_MAX, labels::Labels{{"__name__", "x"}, {"v", std::string(1000, 'z')}}},
  };
  std::string rec;
  EncodeSeries(in, &rec);
  EXPECT_EQ(*PeekType(rec), RecordType::kSeries);
  std::vector<SeriesRecord> out = {{9, {}}};  // cleared by Decode
  ASSERT_TRUE(DecodeSeries(rec, &out).ok());
  EXPECT_EQ(out, in);
}

TEST(Record, MetadataRoundTrip) {
  std::vector<MetadataRecord> in = {{"http_requests", "counter", "", "Requests served."},
                                    {"temp", "gauge", "celsius", ""}};
  std::string rec;
  EncodeMetadata(in, &rec);
  EXPECT_EQ(*PeekType(rec), RecordType::kMetadata);
  std::vector<MetadataRecord> out;
  ASSERT_TRUE(DecodeMetadata(rec, &out).ok());
  EXPECT_EQ(out, in);
}

void ExpectSamplesEqual(const std::vector<SampleRecord>& a, const std::vector<SampleRecord>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].ref, b[i].ref) << i;
    EXPECT_EQ(a[i].t, b[i].t) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i].v), std::bit_cast<uint64_t>(b[i].v)) << i;
  }
}

TEST(Record, SamplesRoundTripEdgeValues) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<SampleRecord> in = {
      {5, 1000, 1},
      {4, 1000, -0.0},
      {UINT64_MAX, kMin, std::bit_cast<double>(0x7ff0000000000002ull)},
      {0, kMax, std::numeric_limits<double>::infinity()},
      {7, -1, -std::numeric_limits<double>::infinity()},
      {8, 0, std::nan("")},
      {9, 1, 4503599627370496.0},   // 2^52: varint path
      {10, 2, -4503599627370496.0},
      {11, 3, 4503599627370497.0 * 2},  // beyond: raw path
      {12, 4, 0.5},
      {13, 5, 0.0},
      {14, 6, 1e300},
  };
  std::string rec;
  EncodeSamples(in, &rec);
  EXPECT_EQ(*PeekType(rec), RecordType::kSamples);
  std::vector<SampleRecord> out;
  ASSERT_TRUE(DecodeSamples(rec, &out).ok());
  ExpectSamplesEqual(out, in);
}

TEST(Record, OooSamplesShareTheSamplesLayout) {
  std::vector<SampleRecord> in = {{3, 1000, 1.5}, {1, 900, -2}, {3, 990, std::nan("")}};
  std::string ooo, plain;
  EncodeSamples(in, &ooo, RecordType::kOooSamples);
  EncodeSamples(in, &plain);
  EXPECT_EQ(*PeekType(ooo), RecordType::kOooSamples);
  EXPECT_EQ(ooo[0], '\x14');
  EXPECT_EQ(ooo.substr(1), plain.substr(1));  // only the type byte differs
  std::vector<SampleRecord> out;
  ASSERT_TRUE(DecodeSamples(ooo, &out).ok());
  ExpectSamplesEqual(out, in);
  // Truncations are shorter valid records or DataLoss, as for samples.
  for (size_t n = 1; n < ooo.size(); ++n) {
    absl::Status s = DecodeSamples(ooo.substr(0, n), &out);
    if (s.ok()) {
      EXPECT_LT(out.size(), in.size());
    } else {
      EXPECT_TRUE(absl::IsDataLoss(s)) << n;
    }
  }
  EXPECT_TRUE(absl::IsDataLoss(PeekType("\x05").status()));
  EXPECT_TRUE(absl::IsDataLoss(PeekType("\x11").status()));  // only samples have a columnar form
  EXPECT_TRUE(absl::IsDataLoss(PeekType("\x15").status()));
}

TEST(Record, ColumnarLayoutBytes) {
  // docs/format/wal.md: count, then every ref delta, every time delta, every value.
  std::vector<SampleRecord> in = {{5, 1000, 3}, {6, 1000, 0.5}, {4, 1015, -1}};
  std::string rec;
  EncodeSamples(in, &rec);
  const std::string want = std::string("\x12\x03") +             // type, count
                           "\x0a\x02\x03" +                      // refs +5 +1 -2
                           std::string("\xd0\x0f\x00\x1e", 4) +  // times +1000 +0 +15
                           std::string("\x0c\x01\x00\x00\x00\x00\x00\x00\xe0\x3f\x02", 11);
  EXPECT_EQ(rec, want);
}

TEST(Record, RowLayoutIsStillRead) {
  std::vector<SampleRecord> in = {{3, 1000, 1.5}, {1, 900, -2}, {3, 990, std::nan("")}};
  for (RecordType type : {RecordType::kSamples, RecordType::kOooSamples}) {
    std::string row, col;
    EncodeSamplesRowLayout(in, &row, type);
    EncodeSamples(in, &col, type);
    EXPECT_EQ(static_cast<uint8_t>(row[0]), static_cast<uint8_t>(type));
    EXPECT_EQ(*PeekType(row), type);
    EXPECT_EQ(*PeekType(col), type);
    std::vector<SampleRecord> out;
    ASSERT_TRUE(DecodeSamples(row, &out).ok());
    ExpectSamplesEqual(out, in);
    ASSERT_TRUE(DecodeSamples(col, &out).ok());
    ExpectSamplesEqual(out, in);
  }
}

TEST(Record, ColumnarTruncationsAndTrailingBytesAreDataLoss) {
  std::vector<SampleRecord> in = {{1, 2, 0.25}, {3, 4, 5}, {300, 1 << 20, -7}};
  std::string rec;
  EncodeSamples(in, &rec);
  std::vector<SampleRecord> out;
  // The count is stated up front, so no truncation (except to the bare type byte, which is
  // not a columnar record) reads as a shorter valid record.
  for (size_t n = 1; n < rec.size(); ++n) {
    EXPECT_TRUE(absl::IsDataLoss(DecodeSamples(rec.substr(0, n), &out))) << n;
  }
  EXPECT_TRUE(absl::IsDataLoss(DecodeSamples(rec + '\x00', &out)));
  // A count the bytes cannot hold must not allocate.
  EXPECT_TRUE(absl::IsDataLoss(
      DecodeSamples(std::string("\x12\xff\xff\xff\xff\x0f\x00\x00\x00", 9), &out)));
}

TEST(Record, SamplesAreCompact) {
  std::vector<SampleRecord> in;
  for (uint64_t i = 0; i < 1000; ++i) in.push_back({100 + i, 1700000000000, double(i % 50)});
  std::string rec;
  EncodeSamples(in, &rec);
  EXPECT_LT(rec.size(), 3500u);  // ~3.4 bytes per sample for a typical scrape of counters
  std::vector<SampleRecord> out;
  ASSERT_TRUE(DecodeSamples(rec, &out).ok());
  ExpectSamplesEqual(out, in);
}

TEST(Record, EmptySamplesAndAppendToExisting) {
  std::string rec = "prefix";
  EncodeSamples({}, &rec);
  EXPECT_EQ(rec, std::string("prefix\x12\x00", 8));
  std::vector<SampleRecord> out = {{1, 1, 1}};
  ASSERT_TRUE(DecodeSamples(std::string_view(rec).substr(6), &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(Record, RandomSamplesRoundTrip) {
  std::mt19937_64 rng(11);
  for (int iter = 0; iter < 50; ++iter) {
    std::vector<SampleRecord> in(rng() % 200 + 1);
    for (auto& s : in) {
      s.ref = rng() >> (rng() % 64);
      s.t = static_cast<int64_t>(rng() >> (rng() % 64));
      s.v = (rng() & 1) ? std::bit_cast<double>(rng()) : static_cast<double>(rng() % 100000);
    }
    std::string rec;
    EncodeSamples(in, &rec);
    std::vector<SampleRecord> out;
    ASSERT_TRUE(DecodeSamples(rec, &out).ok());
    ExpectSamplesEqual(out, in);
  }
}

TEST(Record, WrongTypeAndGarbageAreDataLoss) {
  std::string series;
  EncodeSeries(std::vector<SeriesRecord>{{1, labels::Labels{{"a", "b"}}}}, &series);
  std::vector<SampleRecord> samples;
  EXPECT_TRUE(absl::IsDataLoss(DecodeSamples(series, &samples)));
  EXPECT_TRUE(absl::IsDataLoss(PeekType("").status()));
  EXPECT_TRUE(absl::IsDataLoss(PeekType("\x09").status()));
  // Every truncation of a valid record is either a shorter valid record or DataLoss.
  std::vector<SeriesRecord> out;
  for (size_t n = 2; n < series.size(); ++n) {  // n == 1: a valid empty record
    absl::Status s = DecodeSeries(series.substr(0, n), &out);
    EXPECT_TRUE(absl::IsDataLoss(s)) << n;
  }
  std::string smp;
  EncodeSamples(std::vector<SampleRecord>{{1, 2, 0.25}, {3, 4, 5}}, &smp);
  for (size_t n = 1; n < smp.size(); ++n) {
    absl::Status s = DecodeSamples(smp.substr(0, n), &samples);
    if (s.ok()) {
      EXPECT_LT(samples.size(), 2u);
    } else {
      EXPECT_TRUE(absl::IsDataLoss(s)) << n;
    }
  }
  // A reserved value tag, in either layout.
  std::string bad = "\x02\x01\x02\x00\x00\x03";
  EXPECT_TRUE(absl::IsDataLoss(DecodeSamples(bad, &samples)));
  std::string bad_col("\x12\x01\x02\x04\x03", 5);
  EXPECT_TRUE(absl::IsDataLoss(DecodeSamples(bad_col, &samples)));
  // A huge label count must not allocate or crash.
  std::string huge = "\x01\x01\xff\xff\xff\xff\x0f";
  EXPECT_TRUE(absl::IsDataLoss(DecodeSeries(huge, &out)));
}

}  // namespace
}  // namespace xscaler::storage::wal
