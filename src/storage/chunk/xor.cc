#include "storage/chunk/xor.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace xscaler::storage::chunk {
namespace {

// A delta-of-delta fits a bucket of `nbits` when -(2^(nbits-1) - 1) <= x <= 2^(nbits-1).
bool Fits(int64_t x, int nbits) {
  int64_t half = int64_t{1} << (nbits - 1);
  return x >= -(half - 1) && x <= half;
}

uint64_t Mask(int nbits) { return nbits >= 64 ? ~uint64_t{0} : (uint64_t{1} << nbits) - 1; }

constexpr double kMaxExactInt = 9007199254740992.0;  // 2^53
constexpr int kMaxDecimalExp = 7;
constexpr double kPow10[kMaxDecimalExp + 1] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};

// std::nearbyint(s) in the default rounding mode (ties to even, which xScaler never changes)
// for |s| <= 2^53, without the libm call: below 2^52, adding and subtracting 2^52 rounds to an
// integer (the sum's ulp is 1); from 2^52 on, every double is an integer.
double RoundToEven(double s) {
  double a = std::fabs(s);
  if (a < 4503599627370496.0) a = (a + 4503599627370496.0) - 4503599627370496.0;
  return std::copysign(a, s);
}

// Whether v == m / 10^e exactly (as IEEE division computes it) for an integer |m| <= 2^53; if
// so, *m is that integer. Decimal text such as "12.34" parses to exactly such a value, so the
// decimal-delta value mode stores those as small integer deltas (docs/format/chunk.md). -0.0,
// NaN and infinities never qualify. Encoder and decoder must agree bit for bit across builds and
// machines, which IEEE multiply/divide/round-to-nearest guarantee; never build this with
// -ffast-math (it would fold RoundToEven's addition away). At e == 0 the multiply and divide by
// 1.0 are exact no-ops and are skipped.
bool Decimal(double v, int e, int64_t* m) {
  const double s = e == 0 ? v : v * kPow10[e];
  if (!(s >= -kMaxExactInt && s <= kMaxExactInt)) return false;
  const auto r = static_cast<int64_t>(RoundToEven(s));
  const double back = e == 0 ? static_cast<double>(r) : static_cast<double>(r) / kPow10[e];
  if (std::bit_cast<uint64_t>(back) != std::bit_cast<uint64_t>(v)) return false;
  *m = r;
  return true;
}

// Bucket widths (payload bits) by prefix length; prefixes are `0`, `10`, `110`, `1110`, `1111`.
constexpr int kDodBits[] = {0, 7, 14, 20, 64};
// Decimal deltas: four buckets; the fifth prefix `1111` announces an exponent change instead.
constexpr int kDecimalDeltaBits[] = {7, 14, 21, 34};

// The decimal-delta bucket for d, or -1 when d needs more than 34 bits (XOR is used then).
int DecimalBucket(int64_t d) {
  for (int i = 0; i < 4; ++i) {
    if (Fits(d, kDecimalDeltaBits[i])) return i;
  }
  return -1;
}

// Index of the smallest bucket in `widths` (skipping a zero-width one) that holds `x`.
template <size_t N>
int BucketFor(int64_t x, const int (&widths)[N]) {
  for (size_t i = 0; i + 1 < N; ++i) {
    if (widths[i] > 0 && Fits(x, widths[i])) return static_cast<int>(i);
  }
  return static_cast<int>(N - 1);
}

// Prefix for bucket i of 5: i ones then a zero, except the last, which is four ones.
int PrefixLen(int i) { return i == 4 ? 4 : i + 1; }
uint64_t PrefixBits(int i) { return i == 4 ? 0b1111 : ((uint64_t{1} << i) - 1) << 1; }

}  // namespace

XorEncoder::XorEncoder() : bytes_(kXorHeaderSize + 8, '\0') {}

void XorEncoder::WriteBitsShort(uint64_t bits, int nbits) {
  size_t byte = bit_pos_ >> 3;
  if (byte + 8 > bytes_.size()) bytes_.resize(std::max(bytes_.size() * 2, byte + 16), '\0');
  uint64_t w;
  std::memcpy(&w, bytes_.data() + byte, 8);
  w = __builtin_bswap64(w);
  // Bits past bit_pos_ are still zero, so OR-ing places the new bits after the old ones.
  w |= ((bits & Mask(nbits)) << (64 - nbits)) >> (bit_pos_ & 7);
  w = __builtin_bswap64(w);
  std::memcpy(bytes_.data() + byte, &w, 8);
  bit_pos_ += static_cast<size_t>(nbits);
}

void XorEncoder::WriteBits(uint64_t bits, int nbits) {
  if (nbits > 56) {
    WriteBitsShort(bits >> 32, nbits - 32);
    WriteBitsShort(bits, 32);
  } else {
    WriteBitsShort(bits, nbits);
  }
}

void XorEncoder::WriteUvarint(uint64_t v) {
  while (v >= 0x80) {
    WriteBits((v & 0x7f) | 0x80, 8);
    v >>= 7;
  }
  WriteBits(v, 8);
}

void XorEncoder::WriteValue(uint64_t bits) {
  const uint64_t x = bits ^ v_bits_;
  const double prev = std::bit_cast<double>(v_bits_);
  const double cur = std::bit_cast<double>(bits);
  v_bits_ = bits;
  if (x == 0) {
    WriteBit(false);
    return;
  }
  int lead = std::min(std::countl_zero(x), 31);
  int trail = std::countr_zero(x);
  const bool reuse = leading_ != 0xff && lead >= leading_ && trail >= trailing_;
  const int xor_cost = reuse ? 2 + (64 - leading_ - trailing_) : 3 + 11 + (64 - lead - trail);

  // Decimal delta: at the current exponent, else at the smallest exponent that fits both.
  int64_t pm, cm;
  int exp = -1;
  if (Decimal(prev, exp_, &pm) && Decimal(cur, exp_, &cm)) {
    exp = exp_;
  } else if (int64_t m7; Decimal(cur, kMaxDecimalExp, &m7)) {  // cheap filter for the search
    for (int e = 0; e <= kMaxDecimalExp; ++e) {
      if (e != exp_ && Decimal(cur, e, &cm) && Decimal(prev, e, &pm)) {
        exp = e;
        break;
      }
    }
  }
  if (exp >= 0) {
    int64_t d = cm - pm;  // |d| <= 2^54: no overflow
    int b = DecimalBucket(d);
    if (b >= 0 && 3 + (exp == exp_ ? 0 : 7) + PrefixLen(b) + kDecimalDeltaBits[b] < xor_cost) {
      WriteBits(0b111, 3);
      if (exp != exp_) {
        WriteBits(0b1111, 4);
        WriteBits(static_cast<uint64_t>(exp), 3);
        exp_ = static_cast<uint8_t>(exp);
      }
      WriteBits(PrefixBits(b), PrefixLen(b));
      WriteBits(static_cast<uint64_t>(d), kDecimalDeltaBits[b]);
      return;
    }
  }
  if (reuse) {
    WriteBits(0b10, 2);
    WriteBits(x >> trailing_, 64 - leading_ - trailing_);
    return;
  }
  leading_ = static_cast<uint8_t>(lead);
  trailing_ = static_cast<uint8_t>(trail);
  int sig = 64 - lead - trail;
  WriteBits(0b110, 3);
  WriteBits(static_cast<uint64_t>(lead), 5);
  WriteBits(static_cast<uint64_t>(sig & 63), 6);  // 64 is stored as 0
  WriteBits(x >> trail, sig);
}

void XorEncoder::Append(int64_t t, double v) {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  if (num_samples_ == 0) {
    uint64_t zz = (static_cast<uint64_t>(t) << 1) ^ static_cast<uint64_t>(t >> 63);
    WriteUvarint(zz);
    WriteBits(bits, 64);
    v_bits_ = bits;
    min_t_ = t;
  } else if (num_samples_ == 1) {
    t_delta_ = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
    WriteUvarint(t_delta_);
    WriteValue(bits);
  } else {
    uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
    auto dod = static_cast<int64_t>(delta - t_delta_);
    t_delta_ = delta;
    if (dod == 0) {
      WriteBit(false);
    } else {
      int b = BucketFor(dod, kDodBits);
      WriteBits(PrefixBits(b), PrefixLen(b));
      WriteBits(static_cast<uint64_t>(dod), kDodBits[b]);
    }
    WriteValue(bits);
  }
  t_ = t;
  ++num_samples_;
  bytes_[0] = static_cast<char>(num_samples_ >> 8);
  bytes_[1] = static_cast<char>(num_samples_ & 0xff);
}

double XorEncoder::LastValue() const { return std::bit_cast<double>(v_bits_); }

std::string XorEncoder::Release() {
  std::string out = std::move(bytes_);
  out.resize(SizeBytes());
  *this = XorEncoder();
  return out;
}

XorDecoder::XorDecoder(std::string_view bytes) : data_(bytes.data()), size_(bytes.size()) {
  if (size_ < kXorHeaderSize) {
    status_ = absl::DataLossError(
        absl::StrCat("xor chunk: ", size_, " bytes is too short for the header"));
    return;
  }
  num_samples_ = (static_cast<uint32_t>(static_cast<unsigned char>(data_[0])) << 8) |
                 static_cast<unsigned char>(data_[1]);
  fast_limit_ = num_samples_;
  st_.pos = kXorHeaderSize * 8;
}

uint64_t XorDecoder::LoadTail(const char* data, size_t size, size_t byte) {
  uint64_t w = 0;
  if (byte >= size) return 0;
  if (size >= 8) {
    // The last 8 bytes, shifted so that `byte` comes first; zeros shift in behind.
    std::memcpy(&w, data + size - 8, 8);
    return __builtin_bswap64(w) << (8 * (byte + 8 - size));
  }
  std::memcpy(&w, data + byte, size - byte);
  return __builtin_bswap64(w);
}

bool XorDecoder::DecimalOf(uint64_t bits, int e, int64_t* m) {
  return Decimal(std::bit_cast<double>(bits), e, m);
}

bool XorDecoder::Fail(const char* what) {
  fast_limit_ = 0;
  status_ = absl::DataLossError(absl::StrCat("xor chunk: ", what, " at bit ", st_.pos, " (sample ",
                                             read_, " of ", num_samples_, ")"));
  return false;
}

uint64_t XorDecoder::Load64(size_t byte) const {
  uint64_t w = 0;
  if (byte + 8 <= size_) {
    std::memcpy(&w, data_ + byte, 8);
  } else if (byte < size_) {
    std::memcpy(&w, data_ + byte, size_ - byte);
  }
  return __builtin_bswap64(w);
}

bool XorDecoder::ReadBits(int nbits, uint64_t* out) {
  if (static_cast<uint64_t>(nbits) > size_ * 8 - st_.pos) return Fail("truncated");
  if (nbits > 56) {
    uint64_t hi = (Load64(st_.pos >> 3) << (st_.pos & 7)) >> (64 - (nbits - 32));
    st_.pos += static_cast<size_t>(nbits - 32);
    uint64_t lo = (Load64(st_.pos >> 3) << (st_.pos & 7)) >> 32;
    st_.pos += 32;
    *out = (hi << 32) | lo;
    return true;
  }
  *out = (Load64(st_.pos >> 3) << (st_.pos & 7)) >> (64 - nbits);
  st_.pos += static_cast<size_t>(nbits);
  return true;
}

bool XorDecoder::ReadBit(bool* bit) {
  if (st_.pos >= size_ * 8) return Fail("truncated");
  *bit = (static_cast<unsigned char>(data_[st_.pos >> 3]) >> (7 - (st_.pos & 7))) & 1;
  ++st_.pos;
  return true;
}

bool XorDecoder::ReadUvarint(uint64_t* out) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    uint64_t byte = 0;
    if (!ReadBits(8, &byte)) return false;
    if (shift == 63 && byte > 1) return Fail("varint overflows 64 bits");
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *out = result;
      return true;
    }
  }
  return Fail("varint longer than 10 bytes");
}

bool XorDecoder::ReadBucket(const int* widths, uint64_t* out) {
  int ones = 0;
  bool bit = true;
  while (ones < 4) {
    if (!ReadBit(&bit)) return false;
    if (!bit) break;
    ++ones;
  }
  int nbits = widths[ones];
  uint64_t v = 0;
  if (nbits > 0) {
    if (!ReadBits(nbits, &v)) return false;
    if (nbits < 64 && v > (uint64_t{1} << (nbits - 1))) v -= uint64_t{1} << nbits;
  }
  *out = v;
  return true;
}

bool XorDecoder::ReadValue() {
  bool bit = false;
  if (!ReadBit(&bit)) return false;
  if (!bit) return true;  // same value
  if (!ReadBit(&bit)) return false;
  if (!bit) {
    if (st_.leading == 0xff) return Fail("value reuses a window that was never set");
  } else {
    if (!ReadBit(&bit)) return false;
    if (bit) {  // decimal delta
      int ones = 0;
      while (ones < 4) {
        if (!ReadBit(&bit)) return false;
        if (!bit) break;
        ++ones;
      }
      if (ones == 4) {  // exponent change, then the bucket
        uint64_t e;
        if (!ReadBits(3, &e)) return false;
        st_.exp = static_cast<uint8_t>(e);
        ones = 0;
        while (ones < 4) {
          if (!ReadBit(&bit)) return false;
          if (!bit) break;
          ++ones;
        }
        if (ones == 4) return Fail("two exponent changes in one decimal delta");
      }
      int64_t prev;
      if (!Decimal(std::bit_cast<double>(st_.v_bits), st_.exp, &prev)) {
        return Fail("decimal delta after a value that is not a decimal at its exponent");
      }
      const int nbits = kDecimalDeltaBits[ones];
      uint64_t raw;
      if (!ReadBits(nbits, &raw)) return false;
      if (raw > (uint64_t{1} << (nbits - 1))) raw -= uint64_t{1} << nbits;
      int64_t cur = prev + static_cast<int64_t>(raw);  // |raw| < 2^34: no overflow
      if (cur < -(int64_t{1} << 53) || cur > (int64_t{1} << 53)) {
        return Fail("decimal value out of range");
      }
      st_.v_bits = std::bit_cast<uint64_t>(static_cast<double>(cur) / kPow10[st_.exp]);
      // See kCachedMantissa.
      st_.dec_e = cur >= -kCachedMantissa && cur <= kCachedMantissa ? st_.exp : 0xff;
      st_.dec_m = cur;
      return true;
    }
    uint64_t lead, sig;
    if (!ReadBits(5, &lead) || !ReadBits(6, &sig)) return false;
    if (sig == 0) sig = 64;
    if (lead + sig > 64) return Fail("invalid xor window");
    st_.leading = static_cast<uint8_t>(lead);
    st_.trailing = static_cast<uint8_t>(64 - lead - sig);
  }
  int sig = 64 - st_.leading - st_.trailing;
  uint64_t x;
  if (!ReadBits(sig, &x)) return false;
  st_.v_bits ^= x << st_.trailing;
  st_.dec_e = 0xff;
  return true;
}

bool XorDecoder::NextSlow() {
  if (!status_.ok() || read_ >= num_samples_) return false;
  if (read_ == 0) {
    uint64_t zz;
    if (!ReadUvarint(&zz) || !ReadBits(64, &st_.v_bits)) return false;
    st_.t = static_cast<int64_t>((zz >> 1) ^ (~(zz & 1) + 1));
  } else {
    int64_t prev = st_.t;
    if (read_ == 1) {
      if (!ReadUvarint(&st_.t_delta)) return false;
    } else {
      uint64_t dod;
      if (!ReadBucket(kDodBits, &dod)) return false;
      st_.t_delta += dod;
    }
    st_.t = static_cast<int64_t>(static_cast<uint64_t>(st_.t) + st_.t_delta);
    if (st_.t <= prev) {
      st_.t = prev;
      return Fail("timestamp does not increase");
    }
    if (!ReadValue()) return false;
  }
  ++read_;
  started_ = true;
  return true;
}

}  // namespace xscaler::storage::chunk
