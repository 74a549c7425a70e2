// Test-only: the XOR chunk encoder and decoder as they were before the decoder's fast path
// (session 9), kept verbatim as the reference that xor_differential_test.cc and the fuzz target
// compare the production code against, bit for bit and error for error. Do not optimize (only
// locals GCC could not prove initialized after inlining were given initial values).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/chunk/xor.h"

namespace xscaler::storage::chunk::reference {

class XorEncoder {
 public:
  XorEncoder();

  // REQUIRES: t > MaxTime() (or the chunk is empty); NumSamples() < kXorMaxSamples.
  void Append(int64_t t, double v);

  // The complete chunk (header included). Valid until the next Append or destruction.
  std::string_view Bytes() const { return std::string_view(bytes_.data(), SizeBytes()); }
  uint32_t NumSamples() const { return num_samples_; }
  // REQUIRES: NumSamples() > 0.
  int64_t MinTime() const { return min_t_; }
  int64_t MaxTime() const { return t_; }
  double LastValue() const;
  size_t SizeBytes() const { return (bit_pos_ + 7) / 8; }

  // Drops the chunk's bytes and returns them (the encoder is then empty again).
  std::string Release();

 private:
  void WriteBits(uint64_t bits, int nbits);  // REQUIRES: 0 < nbits <= 64
  void WriteBit(bool bit) { WriteBits(bit ? 1 : 0, 1); }
  void WriteBitsShort(uint64_t bits, int nbits);  // REQUIRES: 0 < nbits <= 56
  void WriteUvarint(uint64_t v);
  void WriteValue(uint64_t bits);

  // Header + bit stream, followed by zeroed slack so that bits can be OR'ed in with one
  // 64-bit load/store; only the first SizeBytes() bytes are the chunk.
  std::string bytes_;
  size_t bit_pos_ = kXorHeaderSize * 8;  // bits used, header included
  uint32_t num_samples_ = 0;
  int64_t min_t_ = 0;
  int64_t t_ = 0;
  uint64_t t_delta_ = 0;  // last timestamp delta (unsigned: deltas are positive)
  uint64_t v_bits_ = 0;
  uint8_t leading_ = 0xff;  // 0xff: no XOR window yet
  uint8_t trailing_ = 0;
  uint8_t exp_ = 0;  // decimal exponent of the last decimal-delta value
};

class XorDecoder {
 public:
  // `bytes` must stay valid while the decoder is used.
  explicit XorDecoder(std::string_view bytes);

  // Advances to the next sample; false at the end or on corruption (see status()).
  bool Next();
  // Advances to the first sample with t() >= t (staying put if already there); false if none.
  bool Seek(int64_t t);
  // REQUIRES: the last Next/Seek returned true.
  int64_t t() const { return t_; }
  double v() const;
  // OK, or DataLoss naming the bit offset where decoding failed.
  absl::Status status() const { return status_; }
  // Samples the header announces (0 if the header is missing).
  uint32_t NumSamples() const { return num_samples_; }

 private:
  bool ReadBits(int nbits, uint64_t* out);  // REQUIRES: 0 < nbits <= 64
  uint64_t Load64(size_t byte) const;       // big-endian, zero past the end
  bool ReadBit(bool* bit);
  bool ReadUvarint(uint64_t* out);
  // A bucketed two's complement integer: prefix of up to four 1 bits, widths[prefix] bits.
  bool ReadBucket(const int* widths, uint64_t* out);
  bool ReadValue();
  bool Fail(const char* what);

  std::string_view bytes_;
  size_t bit_pos_ = 0;  // absolute bit offset into bytes_
  uint32_t num_samples_ = 0;
  uint32_t read_ = 0;
  int64_t t_ = 0;
  uint64_t t_delta_ = 0;
  uint64_t v_bits_ = 0;
  uint8_t leading_ = 0xff;  // 0xff: no XOR window yet
  uint8_t trailing_ = 0;
  uint8_t exp_ = 0;
  bool started_ = false;  // Next/Seek returned true at least once
  absl::Status status_;
};

// A delta-of-delta fits a bucket of `nbits` when -(2^(nbits-1) - 1) <= x <= 2^(nbits-1).
inline bool Fits(int64_t x, int nbits) {
  int64_t half = int64_t{1} << (nbits - 1);
  return x >= -(half - 1) && x <= half;
}

inline uint64_t Mask(int nbits) { return nbits >= 64 ? ~uint64_t{0} : (uint64_t{1} << nbits) - 1; }

inline constexpr double kMaxExactInt = 9007199254740992.0;  // 2^53
inline constexpr int kMaxDecimalExp = 7;
inline constexpr double kPow10[kMaxDecimalExp + 1] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};

// Whether v == m / 10^e exactly (as IEEE division computes it) for an integer |m| <= 2^53; if
// so, *m is that integer. Decimal text such as "12.34" parses to exactly such a value, so the
// decimal-delta value mode stores those as small integer deltas (docs/format/chunk.md). -0.0,
// NaN and infinities never qualify. Encoder and decoder must agree bit for bit across builds and
// machines, which IEEE multiply/divide/nearbyint guarantee; never build this with -ffast-math.
inline bool Decimal(double v, int e, int64_t* m) {
  double s = v * kPow10[e];
  if (!(s >= -kMaxExactInt && s <= kMaxExactInt)) return false;
  auto r = static_cast<int64_t>(std::nearbyint(s));
  if (std::bit_cast<uint64_t>(static_cast<double>(r) / kPow10[e]) != std::bit_cast<uint64_t>(v)) {
    return false;
  }
  *m = r;
  return true;
}

// Bucket widths (payload bits) by prefix length; prefixes are `0`, `10`, `110`, `1110`, `1111`.
inline constexpr int kDodBits[] = {0, 7, 14, 20, 64};
// Decimal deltas: four buckets; the fifth prefix `1111` announces an exponent change instead.
inline constexpr int kDecimalDeltaBits[] = {7, 14, 21, 34};

// The decimal-delta bucket for d, or -1 when d needs more than 34 bits (XOR is used then).
inline int DecimalBucket(int64_t d) {
  for (int i = 0; i < 4; ++i) {
    if (Fits(d, kDecimalDeltaBits[i])) return i;
  }
  return -1;
}

// Index of the smallest bucket in `widths` (skipping a zero-width one) that holds `x`.
template <size_t N>
inline int BucketFor(int64_t x, const int (&widths)[N]) {
  for (size_t i = 0; i + 1 < N; ++i) {
    if (widths[i] > 0 && Fits(x, widths[i])) return static_cast<int>(i);
  }
  return static_cast<int>(N - 1);
}

// Prefix for bucket i of 5: i ones then a zero, except the last, which is four ones.
inline int PrefixLen(int i) { return i == 4 ? 4 : i + 1; }
inline uint64_t PrefixBits(int i) { return i == 4 ? 0b1111 : ((uint64_t{1} << i) - 1) << 1; }

inline XorEncoder::XorEncoder() : bytes_(kXorHeaderSize + 8, '\0') {}

inline void XorEncoder::WriteBitsShort(uint64_t bits, int nbits) {
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

inline void XorEncoder::WriteBits(uint64_t bits, int nbits) {
  if (nbits > 56) {
    WriteBitsShort(bits >> 32, nbits - 32);
    WriteBitsShort(bits, 32);
  } else {
    WriteBitsShort(bits, nbits);
  }
}

inline void XorEncoder::WriteUvarint(uint64_t v) {
  while (v >= 0x80) {
    WriteBits((v & 0x7f) | 0x80, 8);
    v >>= 7;
  }
  WriteBits(v, 8);
}

inline void XorEncoder::WriteValue(uint64_t bits) {
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

inline void XorEncoder::Append(int64_t t, double v) {
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

inline double XorEncoder::LastValue() const { return std::bit_cast<double>(v_bits_); }

inline std::string XorEncoder::Release() {
  std::string out = std::move(bytes_);
  out.resize(SizeBytes());
  *this = XorEncoder();
  return out;
}

inline XorDecoder::XorDecoder(std::string_view bytes) : bytes_(bytes) {
  if (bytes_.size() < kXorHeaderSize) {
    status_ = absl::DataLossError(
        absl::StrCat("xor chunk: ", bytes_.size(), " bytes is too short for the header"));
    return;
  }
  num_samples_ = (static_cast<uint32_t>(static_cast<unsigned char>(bytes_[0])) << 8) |
                 static_cast<unsigned char>(bytes_[1]);
  bit_pos_ = kXorHeaderSize * 8;
}

inline bool XorDecoder::Fail(const char* what) {
  status_ = absl::DataLossError(absl::StrCat("xor chunk: ", what, " at bit ", bit_pos_,
                                             " (sample ", read_, " of ", num_samples_, ")"));
  return false;
}

inline uint64_t XorDecoder::Load64(size_t byte) const {
  uint64_t w = 0;
  if (byte + 8 <= bytes_.size()) {
    std::memcpy(&w, bytes_.data() + byte, 8);
  } else if (byte < bytes_.size()) {
    std::memcpy(&w, bytes_.data() + byte, bytes_.size() - byte);
  }
  return __builtin_bswap64(w);
}

inline bool XorDecoder::ReadBits(int nbits, uint64_t* out) {
  if (static_cast<uint64_t>(nbits) > bytes_.size() * 8 - bit_pos_) return Fail("truncated");
  if (nbits > 56) {
    uint64_t hi = (Load64(bit_pos_ >> 3) << (bit_pos_ & 7)) >> (64 - (nbits - 32));
    bit_pos_ += static_cast<size_t>(nbits - 32);
    uint64_t lo = (Load64(bit_pos_ >> 3) << (bit_pos_ & 7)) >> 32;
    bit_pos_ += 32;
    *out = (hi << 32) | lo;
    return true;
  }
  *out = (Load64(bit_pos_ >> 3) << (bit_pos_ & 7)) >> (64 - nbits);
  bit_pos_ += static_cast<size_t>(nbits);
  return true;
}

inline bool XorDecoder::ReadBit(bool* bit) {
  if (bit_pos_ >= bytes_.size() * 8) return Fail("truncated");
  *bit = (static_cast<unsigned char>(bytes_[bit_pos_ >> 3]) >> (7 - (bit_pos_ & 7))) & 1;
  ++bit_pos_;
  return true;
}

inline bool XorDecoder::ReadUvarint(uint64_t* out) {
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

inline bool XorDecoder::ReadBucket(const int* widths, uint64_t* out) {
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

inline bool XorDecoder::ReadValue() {
  bool bit = false;
  if (!ReadBit(&bit)) return false;
  if (!bit) return true;  // same value
  if (!ReadBit(&bit)) return false;
  if (!bit) {
    if (leading_ == 0xff) return Fail("value reuses a window that was never set");
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
        uint64_t e = 0;
        if (!ReadBits(3, &e)) return false;
        exp_ = static_cast<uint8_t>(e);
        ones = 0;
        while (ones < 4) {
          if (!ReadBit(&bit)) return false;
          if (!bit) break;
          ++ones;
        }
        if (ones == 4) return Fail("two exponent changes in one decimal delta");
      }
      int64_t prev;
      if (!Decimal(std::bit_cast<double>(v_bits_), exp_, &prev)) {
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
      v_bits_ = std::bit_cast<uint64_t>(static_cast<double>(cur) / kPow10[exp_]);
      return true;
    }
    uint64_t lead = 0, sig = 0;
    if (!ReadBits(5, &lead) || !ReadBits(6, &sig)) return false;
    if (sig == 0) sig = 64;
    if (lead + sig > 64) return Fail("invalid xor window");
    leading_ = static_cast<uint8_t>(lead);
    trailing_ = static_cast<uint8_t>(64 - lead - sig);
  }
  int sig = 64 - leading_ - trailing_;
  uint64_t x;
  if (!ReadBits(sig, &x)) return false;
  v_bits_ ^= x << trailing_;
  return true;
}

inline bool XorDecoder::Next() {
  if (!status_.ok() || read_ >= num_samples_) return false;
  if (read_ == 0) {
    uint64_t zz = 0;
    if (!ReadUvarint(&zz) || !ReadBits(64, &v_bits_)) return false;
    t_ = static_cast<int64_t>((zz >> 1) ^ (~(zz & 1) + 1));
  } else {
    int64_t prev = t_;
    if (read_ == 1) {
      if (!ReadUvarint(&t_delta_)) return false;
    } else {
      uint64_t dod;
      if (!ReadBucket(kDodBits, &dod)) return false;
      t_delta_ += dod;
    }
    t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + t_delta_);
    if (t_ <= prev) {
      t_ = prev;
      return Fail("timestamp does not increase");
    }
    if (!ReadValue()) return false;
  }
  ++read_;
  started_ = true;
  return true;
}

inline bool XorDecoder::Seek(int64_t t) {
  if (started_ && status_.ok() && t_ >= t) return true;
  while (Next()) {
    if (t_ >= t) return true;
  }
  return false;
}

inline double XorDecoder::v() const { return std::bit_cast<double>(v_bits_); }

}  // namespace xscaler::storage::chunk::reference
