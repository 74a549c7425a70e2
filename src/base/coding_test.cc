#include "base/coding.h"

#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace xscaler::base {
namespace {

TEST(Coding, FixedIsLittleEndian) {
  std::string s;
  PutFixed32(&s, 0x04030201);
  PutFixed64(&s, 0x0807060504030201ull);
  ASSERT_EQ(s.size(), 12u);
  EXPECT_EQ(s.substr(0, 4), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(s.substr(4), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  std::string_view in = s;
  uint32_t a;
  uint64_t b;
  ASSERT_TRUE(GetFixed32(&in, &a));
  ASSERT_TRUE(GetFixed64(&in, &b));
  EXPECT_EQ(a, 0x04030201u);
  EXPECT_EQ(b, 0x0807060504030201ull);
  EXPECT_TRUE(in.empty());
  EXPECT_FALSE(GetFixed32(&in, &a));
  std::string_view short_in("abc", 3);
  EXPECT_FALSE(GetFixed32(&short_in, &a));
  EXPECT_FALSE(GetFixed64(&short_in, &b));
}

TEST(Coding, DoubleBitsSurvive) {
  std::vector<uint64_t> bits = {0x7ff0000000000002ull, 0x7ff8000000000001ull,
                                0x8000000000000000ull, 0x7ff0000000000000ull, 0};
  std::string s;
  for (uint64_t b : bits) PutDouble(&s, std::bit_cast<double>(b));
  std::string_view in = s;
  for (uint64_t b : bits) {
    double d;
    ASSERT_TRUE(GetDouble(&in, &d));
    EXPECT_EQ(std::bit_cast<uint64_t>(d), b);
  }
}

TEST(Coding, VarintRoundTrip) {
  std::vector<uint64_t> values = {0, 1, 127, 128, 255, 300, 16383, 16384, (1ull << 32) - 1,
                                  1ull << 32, (1ull << 63) - 1, 1ull << 63, UINT64_MAX};
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; ++i) values.push_back(rng() >> (rng() % 64));
  std::string s;
  for (uint64_t v : values) {
    size_t before = s.size();
    PutVarint64(&s, v);
    EXPECT_EQ(s.size() - before, static_cast<size_t>(VarintLength(v)));
  }
  std::string_view in = s;
  for (uint64_t v : values) {
    uint64_t got;
    ASSERT_TRUE(GetVarint64(&in, &got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(VarintLength(UINT64_MAX), 10);
}

TEST(Coding, SignedZigZag) {
  std::vector<int64_t> values = {0, -1, 1, -64, 64, std::numeric_limits<int64_t>::min(),
                                 std::numeric_limits<int64_t>::max()};
  EXPECT_EQ(ZigZagEncode(0), 0u);
  EXPECT_EQ(ZigZagEncode(-1), 1u);
  EXPECT_EQ(ZigZagEncode(1), 2u);
  EXPECT_EQ(ZigZagEncode(std::numeric_limits<int64_t>::min()), UINT64_MAX);
  std::string s;
  for (int64_t v : values) PutVarsint64(&s, v);
  std::string_view in = s;
  for (int64_t v : values) {
    int64_t got;
    ASSERT_TRUE(GetVarsint64(&in, &got));
    EXPECT_EQ(got, v);
  }
}

TEST(Coding, VarintRejectsTruncatedAndOverlong) {
  std::string s;
  PutVarint64(&s, UINT64_MAX);
  for (size_t n = 0; n < s.size(); ++n) {
    std::string_view in(s.data(), n);
    uint64_t v;
    EXPECT_FALSE(GetVarint64(&in, &v)) << n;
  }
  // 11 continuation bytes: too long.
  std::string overlong(10, '\x80');
  overlong.push_back('\x01');
  std::string_view in = overlong;
  uint64_t v;
  EXPECT_FALSE(GetVarint64(&in, &v));
  // 10th byte carrying more than one bit overflows 64 bits.
  std::string overflow(9, '\xff');
  overflow.push_back('\x02');
  in = overflow;
  EXPECT_FALSE(GetVarint64(&in, &v));
  // Varint32 rejects values above 2^32-1.
  std::string big;
  PutVarint64(&big, 1ull << 32);
  in = big;
  uint32_t v32;
  EXPECT_FALSE(GetVarint32(&in, &v32));
}

TEST(Coding, LengthPrefixed) {
  std::string s;
  PutLengthPrefixed(&s, "");
  PutLengthPrefixed(&s, "hello");
  PutLengthPrefixed(&s, std::string(300, 'z'));
  std::string_view in = s, out;
  ASSERT_TRUE(GetLengthPrefixed(&in, &out));
  EXPECT_EQ(out, "");
  ASSERT_TRUE(GetLengthPrefixed(&in, &out));
  EXPECT_EQ(out, "hello");
  ASSERT_TRUE(GetLengthPrefixed(&in, &out));
  EXPECT_EQ(out, std::string(300, 'z'));
  EXPECT_TRUE(in.empty());
  std::string bad;
  PutVarint64(&bad, 10);
  bad += "short";
  in = bad;
  EXPECT_FALSE(GetLengthPrefixed(&in, &out));
}

}  // namespace
}  // namespace xscaler::base
