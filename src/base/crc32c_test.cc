#include "base/crc32c.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace xscaler::base {
namespace internal {
uint32_t Crc32cPortableForTest(std::string_view data, uint32_t init);
}
namespace {

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string inc;
  for (int i = 0; i < 32; ++i) inc.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc32c(inc), 0x46DD794Eu);
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s = "hello, write-ahead log and friends";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(Crc32c(s.substr(cut), Crc32c(s.substr(0, cut))), Crc32c(s)) << cut;
  }
}

TEST(Crc32c, PortableMatchesHardware) {
  std::mt19937_64 rng(7);
  for (int len = 0; len < 300; ++len) {
    std::string s(len, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    // Unaligned starts too.
    for (size_t off = 0; off < std::min<size_t>(s.size(), 3); ++off) {
      std::string_view v = std::string_view(s).substr(off);
      EXPECT_EQ(Crc32c(v, 12345), internal::Crc32cPortableForTest(v, 12345)) << len;
    }
  }
}

TEST(Crc32c, MaskRoundTripsAndDiffers) {
  uint32_t c = Crc32c("foo");
  EXPECT_NE(MaskCrc(c), c);
  EXPECT_NE(MaskCrc(MaskCrc(c)), c);
  EXPECT_EQ(UnmaskCrc(MaskCrc(c)), c);
  EXPECT_EQ(UnmaskCrc(UnmaskCrc(MaskCrc(MaskCrc(c)))), c);
}

TEST(Crc32c, DetectsSingleBitFlips) {
  std::string s(100, 'x');
  uint32_t c = Crc32c(s);
  for (size_t i = 0; i < s.size() * 8; ++i) {
    std::string t = s;
    t[i / 8] = static_cast<char>(t[i / 8] ^ (1 << (i % 8)));
    EXPECT_NE(Crc32c(t), c);
  }
}

}  // namespace
}  // namespace xscaler::base
