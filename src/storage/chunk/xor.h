// Gorilla-compressed float chunks: delta-of-delta timestamps and, per value, the shorter of an
// XOR against the previous value or a delta of decimal mantissas (integers and short decimals
// such as 12.34), bit-packed. The byte layout is specified in docs/format/chunk.md.
//
// XorEncoder builds one chunk by appending samples in strictly increasing time order; its
// bytes are a complete, decodable chunk after every Append. XorDecoder walks a chunk's bytes
// and never crashes or reads out of bounds on corrupt input: it stops and reports DataLoss.
// Values round-trip bit-exactly (NaN payloads such as the staleness marker, +-Inf, -0.0).
//
// Thread-safety: neither class is thread-safe. A decoder over an encoder's Bytes() must not
// outlive the next Append (copy the bytes or hold the owner's lock).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace xscaler::storage::chunk {

// Chunk header: number of samples, big-endian uint16 (so a chunk holds at most 65535 samples).
inline constexpr size_t kXorHeaderSize = 2;
inline constexpr uint32_t kXorMaxSamples = 65535;

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

  // Advances to the next sample; false at the end or on corruption (see status()). Inline in
  // the callers' loops so that the decoder's state can stay in registers.
  [[gnu::always_inline]] bool Next() {
    if (read_ >= 2 && read_ < fast_limit_ && DecodeFast(data_, size_, &st_)) {
      ++read_;
      return true;
    }
    return NextSlow();
  }
  // Advances to the first sample with t() >= t (staying put if already there); false if none.
  bool Seek(int64_t t) {
    if (started_ && status_.ok() && st_.t >= t) return true;
    while (Next()) {
      if (st_.t >= t) return true;
    }
    return false;
  }
  // REQUIRES: the last Next/Seek returned true.
  int64_t t() const { return st_.t; }
  double v() const { return std::bit_cast<double>(st_.v_bits); }
  // OK, or DataLoss naming the bit offset where decoding failed.
  absl::Status status() const { return status_; }
  // Samples the header announces (0 if the header is missing).
  uint32_t NumSamples() const { return num_samples_; }

 private:
  static constexpr double kPow10[8] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};
  static constexpr int64_t kMaxMantissa = int64_t{1} << 53;
  // Mantissas up to 2^50 survive value = m / 10^e, m' = nearbyint(value * 10^e) exactly (the
  // two roundings err by at most |m| * 2^-52 < 0.5), so a decoded decimal's mantissa can be
  // remembered instead of recomputed from the value.
  static constexpr int64_t kCachedMantissa = int64_t{1} << 50;

  // Everything that carries from one sample to the next.
  struct State {
    size_t pos = 0;  // absolute bit offset into the bytes
    int64_t t = 0;
    uint64_t t_delta = 0;
    uint64_t v_bits = 0;
    // When dec_e != 0xff: the current value is decimal at exponent dec_e with mantissa dec_m
    // (what the decimal-delta mode would compute from it).
    int64_t dec_m = 0;
    uint8_t dec_e = 0xff;
    uint8_t leading = 0xff;  // 0xff: no XOR window yet
    uint8_t trailing = 0;
    uint8_t exp = 0;
  };

  // Decodes sample 2 or later into *st without bounds checks per field: reads past the end see
  // zero bits and are caught once, after the sample. Returns false, leaving *st unchanged, on
  // anything unusual (end of data, corruption, 64-bit fields); NextSlow then decodes the same
  // sample with per-field checks and reports errors at the exact bit.
  [[gnu::always_inline]] static inline bool DecodeFast(const char* data, size_t size, State* st);
  // The 64 stream bits starting at bit `pos`, first bit in the MSB; bits past the end read as
  // zero. At least the first 57 are stream bits (or that zero padding).
  [[gnu::always_inline]] static inline uint64_t Peek(const char* data, size_t size, size_t pos);
  static uint64_t LoadTail(const char* data, size_t size, size_t byte);
  static bool DecimalOf(uint64_t bits, int e, int64_t* m);

  // The reference decoder (also samples 0 and 1).
  bool NextSlow();
  bool ReadBits(int nbits, uint64_t* out);  // REQUIRES: 0 < nbits <= 64
  uint64_t Load64(size_t byte) const;       // big-endian, zero past the end
  bool ReadBit(bool* bit);
  bool ReadUvarint(uint64_t* out);
  // A bucketed two's complement integer: prefix of up to four 1 bits, widths[prefix] bits.
  bool ReadBucket(const int* widths, uint64_t* out);
  bool ReadValue();
  bool Fail(const char* what);

  const char* data_ = nullptr;
  size_t size_ = 0;
  State st_;
  uint32_t num_samples_ = 0;
  uint32_t fast_limit_ = 0;  // num_samples_, or 0 once decoding failed
  uint32_t read_ = 0;
  bool started_ = false;  // Next/Seek returned true at least once
  absl::Status status_;
};

inline uint64_t XorDecoder::Peek(const char* data, size_t size, size_t pos) {
  const size_t byte = pos >> 3;
  uint64_t w;
  if (byte + 8 <= size) [[likely]] {
    std::memcpy(&w, data + byte, 8);
    w = __builtin_bswap64(w);
  } else {
    w = LoadTail(data, size, byte);
  }
  return w << (pos & 7);
}

inline bool XorDecoder::DecodeFast(const char* data, size_t size, State* st) {
  size_t pos = st->pos;
  uint64_t w = Peek(data, size, pos);
  // Timestamp: delta of deltas, prefix 0 / 10 / 110 / 1110 (+ 7 / 14 / 20 bits).
  uint64_t delta = st->t_delta;
  if (w >> 63) {
    const int ones = std::countl_one(w);
    if (ones >= 4) return false;  // 64-bit raw delta of deltas
    const int nbits = ones == 3 ? 20 : 7 * ones;
    uint64_t dod = (w << (ones + 1)) >> (64 - nbits);
    if (dod > (uint64_t{1} << (nbits - 1))) dod -= uint64_t{1} << nbits;
    delta += dod;
    pos += static_cast<size_t>(ones + 1 + nbits);
    w = Peek(data, size, pos);
  } else {  // the common case: the same interval again
    ++pos;
    w <<= 1;  // still >= 56 stream bits
  }
  const int64_t t = static_cast<int64_t>(static_cast<uint64_t>(st->t) + delta);
  if (t <= st->t) return false;

  // Value: 0 same / 10 reuse window / 110 new window / 111 decimal delta.
  if (w >> 63) {
    uint64_t v = st->v_bits;
    if (((w >> 62) & 1) == 0) {
      const int lead = st->leading, trail = st->trailing;
      if (lead == 0xff) return false;
      const int sig = 64 - lead - trail;  // 1..64
      uint64_t x;
      if (sig <= 54) {
        x = (w << 2) >> (64 - sig);
      } else if (sig <= 57) {
        x = Peek(data, size, pos + 2) >> (64 - sig);
      } else {
        return false;
      }
      pos += static_cast<size_t>(2 + sig);
      if (pos > size * 8) return false;  // truncated: let NextSlow say where
      st->v_bits = v ^ (x << trail);
      st->dec_e = 0xff;
    } else if (((w >> 61) & 1) == 0) {
      const uint64_t lead = (w << 3) >> 59;
      uint64_t sig = (w << 8) >> 58;
      if (sig == 0) sig = 64;
      if (lead + sig > 64 || sig > 57) return false;
      const uint64_t x = Peek(data, size, pos + 14) >> (64 - sig);
      pos += 14 + sig;
      if (pos > size * 8) return false;
      const uint64_t trail = 64 - lead - sig;
      st->leading = static_cast<uint8_t>(lead);
      st->trailing = static_cast<uint8_t>(trail);
      st->v_bits = v ^ (x << trail);
      st->dec_e = 0xff;
    } else {
      uint64_t r = w << 3;
      int used = 3;
      int exp = st->exp;
      int ones = std::min(std::countl_one(r), 4);
      if (ones == 4) {  // exponent change
        exp = static_cast<int>((r << 4) >> 61);
        r <<= 7;
        used += 7;
        ones = std::min(std::countl_one(r), 4);
        if (ones == 4) return false;
      }
      const int nbits = ones == 3 ? 34 : 7 * (ones + 1);
      uint64_t d = (r << (ones + 1)) >> (64 - nbits);  // used + ones + 1 + nbits <= 48 bits
      if (d > (uint64_t{1} << (nbits - 1))) d -= uint64_t{1} << nbits;
      int64_t prev = st->dec_m;
      if (st->dec_e != exp && !DecimalOf(v, exp, &prev)) return false;
      const int64_t cur = prev + static_cast<int64_t>(d);
      if (cur < -kMaxMantissa || cur > kMaxMantissa) return false;
      pos += static_cast<size_t>(used + ones + 1 + nbits);
      if (pos > size * 8) return false;
      // x / 1.0 == x exactly: integers skip the division.
      const double dv =
          exp == 0 ? static_cast<double>(cur) : static_cast<double>(cur) / kPow10[exp];
      st->v_bits = std::bit_cast<uint64_t>(dv);
      st->exp = static_cast<uint8_t>(exp);
      st->dec_m = cur;
      st->dec_e = cur >= -kCachedMantissa && cur <= kCachedMantissa ? static_cast<uint8_t>(exp)
                                                                    : uint8_t{0xff};
    }
  } else {
    ++pos;
    if (pos > size * 8) return false;
  }
  st->pos = pos;
  st->t_delta = delta;
  st->t = t;
  return true;
}

}  // namespace xscaler::storage::chunk
