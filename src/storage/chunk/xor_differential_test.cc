// Differential test of the XOR chunk codec against the reference implementation kept in
// xor_reference.h (the decoder before its fast path): on many random chunks of every value
// shape (random walks, decimals at each exponent, NaNs including the staleness marker, +-Inf,
// -0.0, runs of equal values, large and negative timestamps and gaps, 1..65535 samples), and on
// truncated, bit-flipped and random byte strings, both must produce the same samples bit for
// bit and the same error (same message: same bit offset and sample) at the same point, through
// Next and Seek. The encoder must produce the same bytes.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/chunk/xor.h"
#include "storage/chunk/xor_reference.h"

namespace xscaler::storage::chunk {
namespace {

struct Sample {
  int64_t t;
  uint64_t bits;
};

uint64_t B(double d) { return std::bit_cast<uint64_t>(d); }

// A random series of `n` samples; `mode` picks timestamp and value shapes.
std::vector<Sample> RandomSeries(std::mt19937_64& rng, size_t n) {
  std::vector<Sample> out;
  const int vmode = static_cast<int>(rng() % 9);
  const int tmode = static_cast<int>(rng() % 5);
  const int exp = static_cast<int>(rng() % 8);
  int64_t t = static_cast<int64_t>(rng() % 4 == 0 ? rng() : rng() % 2'000'000'000'000ULL);
  if (rng() % 8 == 0) t = -t;
  if (rng() % 16 == 0) t = std::numeric_limits<int64_t>::min() + static_cast<int64_t>(rng() % 1000);
  double v = static_cast<double>(static_cast<int64_t>(rng() % 200000) - 100000);
  int64_t m = static_cast<int64_t>(rng() % 100000);
  const uint64_t specials[] = {0x7ff0000000000002ULL,  // staleness marker
                               0x7ff8000000000000ULL,
                               0xfff8000000000001ULL,
                               B(std::numeric_limits<double>::infinity()),
                               B(-std::numeric_limits<double>::infinity()),
                               B(-0.0),
                               B(0.0),
                               B(std::numeric_limits<double>::denorm_min()),
                               B(std::numeric_limits<double>::max()),
                               B(9007199254740992.0),
                               B(-9007199254740993.0),
                               B(1e300)};
  for (size_t i = 0; i < n; ++i) {
    uint64_t bits = 0;
    switch (vmode) {
      case 0:  // integer counter
        v += static_cast<double>(rng() % (rng() % 4 == 0 ? 1000 : 20));
        bits = B(v);
        break;
      case 1:  // decimal random walk at one exponent
        m += static_cast<int64_t>(rng() % 41) - 20;
        bits = B(static_cast<double>(m) / std::pow(10.0, exp));
        break;
      case 2:  // decimals with a changing exponent and big jumps
        if (rng() % 5 == 0) m = static_cast<int64_t>(rng() >> (11 + rng() % 40));
        m += static_cast<int64_t>(rng() % 2001) - 1000;
        if (rng() % 3 == 0) m = -m;
        bits = B(static_cast<double>(m) / std::pow(10.0, static_cast<int>(rng() % 8)));
        break;
      case 3:  // float random walk
        v += (static_cast<double>(rng() % 1000000) / 1e6 - 0.5) * 3.7;
        bits = B(v);
        break;
      case 4:  // raw random bits (any NaN payload, denormals, ...)
        bits = rng();
        break;
      case 5:  // specials mixed with integers
        bits = rng() % 2 ? specials[rng() % std::size(specials)]
                         : B(static_cast<double>(static_cast<int32_t>(rng())));
        break;
      case 6:  // long runs of equal values, occasionally the staleness marker
        if (rng() % 10 == 0) v = static_cast<double>(rng() % 100) / 4;
        bits = rng() % 30 == 0 ? specials[0] : B(v);
        break;
      case 7:  // mantissas near 2^50..2^53 (the decoder's mantissa cache bound)
        m = (int64_t{1} << (50 + rng() % 4)) - static_cast<int64_t>(rng() % 64);
        if (rng() % 2) m = -m;
        bits = B(static_cast<double>(m) / std::pow(10.0, static_cast<int>(rng() % 8)));
        break;
      default:  // gauge with 2 decimals that moves every few samples
        if (rng() % 3 == 0)
          v = std::round((v + (static_cast<double>(rng() % 21) - 10) / 100) * 100) / 100;
        bits = B(v);
        break;
    }
    out.push_back({t, bits});
    uint64_t dt = 15000;
    switch (tmode) {
      case 0:
        break;
      case 1:
        dt += rng() % 5 == 0 ? rng() % 7 - 3 : 0;
        break;  // jitter
      case 2:
        dt = 1 + rng() % (uint64_t{1} << (rng() % 40));
        break;  // every bucket
      case 3:
        dt = rng() % 10 == 0 ? 1 + (rng() >> (1 + rng() % 63)) : 1000;
        break;  // huge gaps
      default:
        dt = 1 + rng() % 3;
        break;
    }
    uint64_t next = static_cast<uint64_t>(t) + dt;
    if (static_cast<int64_t>(next) <= t) break;  // would wrap past int64 max
    t = static_cast<int64_t>(next);
  }
  return out;
}

std::string EncodeBoth(const std::vector<Sample>& in) {
  XorEncoder e;
  reference::XorEncoder r;
  for (const auto& s : in) {
    e.Append(s.t, std::bit_cast<double>(s.bits));
    r.Append(s.t, std::bit_cast<double>(s.bits));
  }
  EXPECT_EQ(e.Bytes(), r.Bytes());
  return std::string(e.Bytes());
}

// Next and Seek must match the reference exactly.
void Compare(std::string_view bytes, std::mt19937_64& rng) {
  {
    reference::XorDecoder r(bytes);
    XorDecoder d(bytes);
    ASSERT_EQ(r.NumSamples(), d.NumSamples());
    for (size_t i = 0;; ++i) {
      bool a = r.Next();
      ASSERT_EQ(a, d.Next()) << "sample " << i << ": " << r.status() << " vs " << d.status();
      if (!a) break;
      ASSERT_EQ(r.t(), d.t()) << i;
      ASSERT_EQ(B(r.v()), B(d.v())) << i;
    }
    ASSERT_EQ(r.status(), d.status());
    ASSERT_FALSE(d.Next());
  }
  {
    reference::XorDecoder r(bytes);
    XorDecoder d(bytes);
    // A few seeks forward (some behind the current sample), then Next to the end.
    int64_t target = std::numeric_limits<int64_t>::min();
    for (int k = 0; k < 4; ++k) {
      if (rng() % 2) target += static_cast<int64_t>(rng() % 100000);
      if (rng() % 4 == 0) target = static_cast<int64_t>(rng());
      bool a = r.Seek(target);
      ASSERT_EQ(a, d.Seek(target));
      if (!a) break;
      ASSERT_EQ(r.t(), d.t());
      ASSERT_EQ(B(r.v()), B(d.v()));
    }
    while (true) {
      bool a = r.Next();
      ASSERT_EQ(a, d.Next());
      if (!a) break;
      ASSERT_EQ(r.t(), d.t());
      ASSERT_EQ(B(r.v()), B(d.v()));
    }
    ASSERT_EQ(r.status(), d.status());
  }
}

TEST(XorDifferential, RandomChunksTruncatedAndFlipped) {
  std::mt19937_64 rng(20261125);
  for (int iter = 0; iter < 4000; ++iter) {
    size_t n = 1 + (rng() % 4 == 0 ? rng() % 1000 : rng() % 130);
    auto in = RandomSeries(rng, n);
    std::string bytes = EncodeBoth(in);
    ASSERT_NO_FATAL_FAILURE(Compare(bytes, rng)) << "iter " << iter;
    // Round trip, as a sanity check of the reference itself.
    {
      XorDecoder d(bytes);
      for (const auto& s : in) {
        ASSERT_TRUE(d.Next());
        ASSERT_EQ(d.t(), s.t);
        ASSERT_EQ(B(d.v()), s.bits);
      }
      ASSERT_FALSE(d.Next());
      ASSERT_TRUE(d.status().ok());
    }
    // Truncations: every length for short chunks, random ones otherwise.
    if (bytes.size() < 64) {
      for (size_t len = 0; len < bytes.size(); ++len) {
        ASSERT_NO_FATAL_FAILURE(Compare(std::string_view(bytes).substr(0, len), rng))
            << "iter " << iter << " len " << len;
      }
    } else {
      for (int k = 0; k < 20; ++k) {
        size_t len = rng() % bytes.size();
        ASSERT_NO_FATAL_FAILURE(Compare(std::string_view(bytes).substr(0, len), rng));
      }
    }
    // Bit flips (header included: counts beyond the stream).
    for (int k = 0; k < 4; ++k) {
      std::string c = bytes;
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) c[rng() % c.size()] ^= static_cast<char>(1 << (rng() % 8));
      ASSERT_NO_FATAL_FAILURE(Compare(c, rng)) << "iter " << iter << " flip " << k;
    }
    // Trailing garbage after the announced samples is ignored by both.
    ASSERT_NO_FATAL_FAILURE(Compare(bytes + std::string(1 + rng() % 9, '\xff'), rng));
  }
}

TEST(XorDifferential, MaxSamples) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 6; ++iter) {
    std::vector<Sample> in;
    while (in.size() < kXorMaxSamples) {
      auto part = RandomSeries(rng, kXorMaxSamples - in.size());
      int64_t shift = in.empty() ? 0 : in.back().t + 1 - part.front().t;
      bool ok = true;
      for (auto& s : part) {
        int64_t nt;
        if (__builtin_add_overflow(s.t, shift, &nt)) ok = false;
        s.t = nt;
      }
      if (!ok) continue;
      in.insert(in.end(), part.begin(), part.end());
    }
    std::string bytes = EncodeBoth(in);
    ASSERT_NO_FATAL_FAILURE(Compare(bytes, rng));
    ASSERT_NO_FATAL_FAILURE(Compare(std::string_view(bytes).substr(0, bytes.size() / 2), rng));
  }
}

TEST(XorDifferential, RandomBytes) {
  std::mt19937_64 rng(99);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string c(rng() % 80, '\0');
    for (auto& ch : c) ch = static_cast<char>(rng() % 4 == 0 ? 0xff : rng());
    ASSERT_NO_FATAL_FAILURE(Compare(c, rng)) << iter;
  }
}

}  // namespace
}  // namespace xscaler::storage::chunk
