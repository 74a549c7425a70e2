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

#include <cstdint>
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

}  // namespace xscaler::storage::chunk
