#include "storage/chunk/xor.h"

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace xscaler::storage::chunk {
namespace {

struct S {
  int64_t t;
  uint64_t bits;
};

std::vector<S> Decode(std::string_view bytes, absl::Status* status = nullptr) {
  XorDecoder d(bytes);
  std::vector<S> out;
  while (d.Next()) out.push_back({d.t(), std::bit_cast<uint64_t>(d.v())});
  if (status != nullptr) *status = d.status();
  return out;
}

void ExpectRoundTrip(const std::vector<S>& in) {
  XorEncoder e;
  for (size_t i = 0; i < in.size(); ++i) {
    e.Append(in[i].t, std::bit_cast<double>(in[i].bits));
    // The bytes are a complete chunk after every append.
    absl::Status st;
    auto got = Decode(e.Bytes(), &st);
    ASSERT_TRUE(st.ok()) << st;
    ASSERT_EQ(got.size(), i + 1);
    ASSERT_EQ(got.back().t, in[i].t);
    ASSERT_EQ(got.back().bits, in[i].bits) << i;
  }
  EXPECT_EQ(e.NumSamples(), in.size());
  if (!in.empty()) {
    EXPECT_EQ(e.MinTime(), in.front().t);
    EXPECT_EQ(e.MaxTime(), in.back().t);
    EXPECT_EQ(std::bit_cast<uint64_t>(e.LastValue()), in.back().bits);
  }
  EXPECT_EQ(e.SizeBytes(), e.Bytes().size());
  auto got = Decode(e.Bytes());
  ASSERT_EQ(got.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(got[i].t, in[i].t) << i;
    EXPECT_EQ(got[i].bits, in[i].bits) << i;
  }
}

uint64_t B(double d) { return std::bit_cast<uint64_t>(d); }

TEST(Xor, EmptyChunk) {
  XorEncoder e;
  EXPECT_EQ(e.NumSamples(), 0u);
  EXPECT_EQ(e.Bytes().size(), kXorHeaderSize);
  XorDecoder d(e.Bytes());
  EXPECT_FALSE(d.Next());
  EXPECT_TRUE(d.status().ok());
  EXPECT_FALSE(d.Seek(0));
}

TEST(Xor, SpecialValuesRoundTripBitExactly) {
  std::vector<S> in;
  std::vector<uint64_t> specials = {
      0x7ff0000000000002ull,  // staleness marker
      0x7ff8000000000000ull,  // quiet NaN
      0xfff8000000000001ull,  // negative NaN with payload
      B(std::numeric_limits<double>::infinity()),
      B(-std::numeric_limits<double>::infinity()),
      B(-0.0),
      B(0.0),
      B(std::numeric_limits<double>::denorm_min()),
      B(std::numeric_limits<double>::max()),
      B(1.0),
      B(1.0),
      0xffffffffffffffffull,
      0x0000000000000001ull,
      0x8000000000000001ull,
  };
  int64_t t = 1000;
  for (uint64_t b : specials) in.push_back({t += 15000, b});
  ExpectRoundTrip(in);
}

TEST(Xor, EdgeTimestamps) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  ExpectRoundTrip({{kMin, B(1)}, {kMax, B(2)}});
  ExpectRoundTrip({{kMin, B(1)}, {kMin + 1, B(2)}, {kMax - 1, B(3)}, {kMax, B(4)}});
  ExpectRoundTrip({{-5000, B(1)}, {-4000, B(1)}, {-3000, B(1)}, {0, B(1)}, {1, B(1)}});
  // Every dod bucket boundary, both signs.
  std::vector<S> in;
  int64_t t = 0, delta = 1 << 21;
  in.push_back({t, B(0)});
  for (int64_t dod : {0LL, 1LL, -1LL, 8191LL, 8192LL, -8191LL, -8192LL, 65535LL, 65536LL, -65535LL,
                      -65536LL, 524287LL, 524288LL, -524287LL, -524288LL, 1LL << 40,
                      -(1LL << 39)}) {
    delta += dod;
    t += delta;
    in.push_back({t, B(static_cast<double>(dod))});
  }
  ExpectRoundTrip(in);
}

TEST(Xor, RandomRoundTrips) {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 200; ++iter) {
    std::vector<S> in;
    int n = static_cast<int>(rng() % 300) + 1;
    int64_t t = static_cast<int64_t>(rng() % 2000000000000) - 1000000000000;
    double v = 0;
    int kind = iter % 4;
    for (int i = 0; i < n; ++i) {
      switch (kind) {
        case 0:  // regular scrape with jitter, counter
          t += 15000 + static_cast<int64_t>(rng() % 21) - 10;
          v += static_cast<double>(rng() % 100);
          break;
        case 1:  // random gaps and random bits
          // Wrapping add: an overflow ends the series below.
          t = static_cast<int64_t>(static_cast<uint64_t>(t) + 1 + (rng() >> (rng() % 63 + 1)));
          v = std::bit_cast<double>(rng());
          break;
        case 2:  // gauge floats
          t += 1000;
          v = std::sin(i * 0.1) * 1e3;
          break;
        default:  // constant
          t += 60000;
          v = 42;
      }
      if (!in.empty() && t <= in.back().t) break;  // overflowed: stop
      in.push_back({t, B(v)});
    }
    ExpectRoundTrip(in);
  }
}

TEST(Xor, CompressesRegularData) {
  XorEncoder e;
  for (int i = 0; i < 120; ++i) e.Append(1700000000000 + i * 15000, 100.0 + (i % 3));
  // Gorilla should be well under 4 bytes/sample on such data.
  EXPECT_LT(e.SizeBytes(), 120u * 4);
  XorEncoder c;
  for (int i = 0; i < 120; ++i) c.Append(1700000000000 + i * 15000, 7.0);
  // 2 bits/sample after the first two: 2 header + 6 t0 + 8 v0 + 3 delta + 30 bytes.
  EXPECT_LE(c.SizeBytes(), 50u);
}

TEST(Xor, IntegerDeltaModeEdges) {
  const double k53 = 9007199254740992.0;  // 2^53
  std::vector<double> values = {0, 1, -1, 63, -63, 64, -64, 8191, -8192, 1 << 20, -(1 << 20),
                                1LL << 33, -(1LL << 33), k53, -k53, k53 - 1, 0, k53, 0.5, 7,
                                -0.0, 0.0, -0.0, 3, std::nan(""), 4, k53 * 2, 5,
                                std::numeric_limits<double>::infinity(), 6, 1e300, 8};
  std::vector<S> in;
  int64_t t = 0;
  for (double v : values) in.push_back({t += 1000, B(v)});
  ExpectRoundTrip(in);
}

TEST(Xor, DecimalModeEdges) {
  std::vector<double> values = {12.34, 12.35, 12.3, 0.1, 0.2, 0.3, 0.1 + 0.2, 1e-7, 2e-7, 1.5e-7,
                                -0.5, -0.25, 123456.7, 123456.8, 900719925.4740992, 900719925.474099,
                                1e-8, 0.5, -0.0, 0.01, 0, 0.02, 7, 7.0000001, 3.14159265358979,
                                2.5, 2.75, 1e300, 0.125, 0.1, 100, 99.99};
  std::vector<S> in;
  int64_t t = 0;
  for (double v : values) in.push_back({t += 1000, B(v)});
  ExpectRoundTrip(in);
  // Random short decimals with random exponents.
  std::mt19937_64 rng(17);
  in.clear();
  for (int i = 0; i < 2000; ++i) {
    int e = static_cast<int>(rng() % 9);
    double m = static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000);
    double v = m / std::pow(10.0, e);
    in.push_back({t += 1000, B(v)});
    if (in.size() == 500) {
      ExpectRoundTrip(in);
      in.clear();
    }
  }
  ExpectRoundTrip(in);
}

TEST(Xor, ShortDecimalsAreCheap) {
  std::mt19937_64 rng(10);
  XorEncoder e;
  for (int i = 0; i < 120; ++i) {
    double v = std::round(static_cast<double>(rng() % 1000000) / 100) / 100;  // 0.00 .. 100.00
    e.Append(i * 15000, v);
  }
  // A two-decimal gauge: 3 + 2 + 14 bits per value; XOR would take ~60.
  EXPECT_LT(e.SizeBytes(), 120u * 21 / 8 + 24);
}

TEST(Xor, SmallIntegerStepsAndJitterAreCheap) {
  std::mt19937_64 rng(9);
  XorEncoder e;
  int64_t t = 1700000000000;
  double v = 1000;
  for (int i = 0; i < 120; ++i) {
    e.Append(t += 15000 + static_cast<int64_t>(rng() % 7) - 3, v += static_cast<double>(rng() % 50));
  }
  // 9 bits of timestamp (7-bit dod bucket) and 11 of value (integer delta) per sample; XOR
  // as in Prometheus takes about 16 + 14..25 bits here.
  EXPECT_LT(e.SizeBytes(), 120u * 21 / 8 + 24);
}

TEST(Xor, Seek) {
  XorEncoder e;
  for (int i = 0; i < 100; ++i) e.Append(i * 10, i);
  XorDecoder d(e.Bytes());
  ASSERT_TRUE(d.Seek(-5));
  EXPECT_EQ(d.t(), 0);
  ASSERT_TRUE(d.Seek(55));
  EXPECT_EQ(d.t(), 60);
  EXPECT_EQ(d.v(), 6);
  ASSERT_TRUE(d.Seek(10));  // already past: stays
  EXPECT_EQ(d.t(), 60);
  ASSERT_TRUE(d.Seek(990));
  EXPECT_EQ(d.t(), 990);
  EXPECT_FALSE(d.Seek(991));
  EXPECT_TRUE(d.status().ok());
}

TEST(Xor, ReleaseResets) {
  XorEncoder e;
  e.Append(1, 1);
  e.Append(2, 2);
  std::string bytes = e.Release();
  EXPECT_EQ(Decode(bytes).size(), 2u);
  EXPECT_EQ(e.NumSamples(), 0u);
  e.Append(-7, 3);
  auto got = Decode(e.Bytes());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].t, -7);
}

TEST(Xor, TruncatedBytesReportDataLoss) {
  XorEncoder e;
  std::mt19937_64 rng(3);
  int64_t t = 0;
  for (int i = 0; i < 50; ++i) e.Append(t += 1 + rng() % 100000, std::bit_cast<double>(rng()));
  std::string bytes(e.Bytes());
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::Status st;
    auto got = Decode(std::string_view(bytes.data(), n), &st);
    EXPECT_TRUE(absl::IsDataLoss(st)) << n << " " << st;
    EXPECT_LT(got.size(), 50u);
  }
  absl::Status st;
  Decode(bytes, &st);
  EXPECT_TRUE(st.ok());
}

TEST(Xor, CorruptBytesNeverCrash) {
  XorEncoder e;
  std::mt19937_64 rng(5);
  int64_t t = 0;
  for (int i = 0; i < 60; ++i) e.Append(t += 1 + rng() % 1000, static_cast<double>(rng() % 1000));
  std::string good(e.Bytes());
  int detected = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string bad = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      size_t bit = rng() % (bad.size() * 8);
      bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    }
    absl::Status st;
    auto got = Decode(bad, &st);
    if (!st.ok()) {
      ++detected;
      EXPECT_TRUE(absl::IsDataLoss(st));
    }
    for (size_t i = 1; i < got.size(); ++i) ASSERT_GT(got[i].t, got[i - 1].t);
  }
  EXPECT_GT(detected, 0);
  // Pure garbage of every small length.
  for (int len = 0; len < 64; ++len) {
    std::string junk(len, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    Decode(junk);
  }
}

TEST(Xor, HeaderCountBeyondStreamIsDataLoss) {
  XorEncoder e;
  e.Append(1, 1);
  std::string bytes(e.Bytes());
  bytes[1] = 5;
  absl::Status st;
  auto got = Decode(bytes, &st);
  EXPECT_EQ(got.size(), 1u);
  EXPECT_TRUE(absl::IsDataLoss(st));
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st;
}

}  // namespace
}  // namespace xscaler::storage::chunk
