// A zero-copy protobuf wire-format reader: walks one message's fields in order over a borrowed
// buffer, never allocating. Length-delimited fields come back as views into the input, so a
// nested message is read by constructing another Reader over its bytes.
//
// Usage:
//   protowire::Reader r(buf);
//   while (r.Next()) {
//     switch (r.field()) { case 1: name = r.bytes(); break; ... default: break; /* skipped */ }
//   }
//   if (!r.ok()) return r.status();
//
// Unknown fields are skipped (forward compatibility). Groups (wire types 3/4, deprecated) are
// rejected. Errors carry the byte offset. Not thread-safe; the buffer must outlive the reader.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace xscaler::ingest::protowire {

enum class WireType : uint8_t { kVarint = 0, kI64 = 1, kLen = 2, kSGroup = 3, kEGroup = 4, kI32 = 5 };

// Decodes a base-128 varint at p (< end); advances p. Returns false when truncated or longer
// than 10 bytes.
inline bool ReadVarint(const char*& p, const char* end, uint64_t& out) {
  uint64_t result = 0;
  for (int shift = 0; shift < 70 && p < end; shift += 7) {
    uint8_t b = static_cast<uint8_t>(*p++);
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      out = result;
      return true;
    }
  }
  return false;
}

class Reader {
 public:
  explicit Reader(std::string_view buf) : begin_(buf.data()), p_(buf.data()), end_(buf.data() + buf.size()) {}

  // Reads the next field. Returns false at the end of the buffer or on malformed input.
  // Inline: it runs once per field of every request (the ingest hot path); one-byte tags and
  // one-byte lengths, i.e. nearly every field, take the short branch.
  bool Next() {
    if (error_ != nullptr || p_ >= end_) return false;
    const uint8_t b0 = static_cast<uint8_t>(*p_);
    if (b0 >= 0x80 || b0 < 8) return NextSlow();  // multi-byte tag, or field number 0
    const ptrdiff_t left = end_ - p_;
    if ((b0 & 7) == static_cast<uint8_t>(WireType::kLen)) {
      if (left < 2 || static_cast<uint8_t>(p_[1]) >= 0x80) return NextSlow();
      const size_t n = static_cast<uint8_t>(p_[1]);
      if (n > static_cast<size_t>(left - 2)) return NextSlow();  // reports the error
      field_start_ = p_;
      field_ = b0 >> 3;
      wire_type_ = WireType::kLen;
      len_ = std::string_view(p_ + 2, n);
      p_ += 2 + n;
      return true;
    }
    if ((b0 & 7) == static_cast<uint8_t>(WireType::kI64) && left >= 9) {
      field_start_ = p_;
      field_ = b0 >> 3;
      wire_type_ = WireType::kI64;
      std::memcpy(&scalar_, p_ + 1, 8);
      p_ += 9;
      return true;
    }
    return NextSlow();
  }

  bool ok() const { return error_ == nullptr; }
  // OK, or InvalidArgument naming what was wrong and where.
  absl::Status status() const { return error_ == nullptr ? absl::OkStatus() : ErrorStatus(); }

  uint32_t field() const { return field_; }
  WireType wire_type() const { return wire_type_; }

  // Accessors for the current field's value. Each checks the wire type; on mismatch it marks
  // the reader failed (so the caller's loop ends and status() explains) and returns 0/"".
  uint64_t varint() { return Expect(WireType::kVarint) ? scalar_ : 0; }
  int64_t int64() { return static_cast<int64_t>(varint()); }
  bool boolean() { return varint() != 0; }
  int64_t sint64() {
    uint64_t v = varint();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  uint64_t fixed64() { return Expect(WireType::kI64) ? scalar_ : 0; }
  int64_t sfixed64() { return static_cast<int64_t>(fixed64()); }
  double dbl() { return std::bit_cast<double>(fixed64()); }
  uint32_t fixed32();
  float flt() { return std::bit_cast<float>(fixed32()); }
  std::string_view bytes() { return Expect(WireType::kLen) ? len_ : std::string_view(); }
  // The raw bytes of the current field (tag, length prefix and payload), e.g. to hash a
  // sub-message exactly as it was sent.
  std::string_view raw_field() const {
    return field_start_ == nullptr ? std::string_view()
                                   : std::string_view(field_start_, static_cast<size_t>(p_ - field_start_));
  }

  // Marks the reader failed with `what` (a static string), e.g. for a semantic error found by
  // the caller; the offset reported is the current field's.
  void Fail(const char* what) {
    if (error_ == nullptr) error_ = what;
    p_ = end_;
  }

 private:
  bool NextSlow();
  absl::Status ErrorStatus() const;
  bool Expect(WireType t) {
    if (wire_type_ == t) return true;
    Fail("field has an unexpected wire type");
    return false;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  const char* field_start_ = nullptr;
  const char* error_ = nullptr;
  uint32_t field_ = 0;
  WireType wire_type_ = WireType::kVarint;
  uint64_t scalar_ = 0;
  std::string_view len_;
};

// Calls fn(uint64_t) for every element of a repeated fixed64/double field, accepting both the
// packed form (one LEN field) and the unpacked form (one I64 field per element). Returns false
// (and fails the reader) on malformed input.
template <typename Fn>
bool ForEachFixed64(Reader& r, Fn&& fn) {
  if (r.wire_type() == WireType::kI64) {
    fn(r.fixed64());
    return r.ok();
  }
  std::string_view b = r.bytes();
  if (!r.ok()) return false;
  if (b.size() % 8 != 0) {
    r.Fail("packed fixed64 field length is not a multiple of 8");
    return false;
  }
  for (size_t i = 0; i < b.size(); i += 8) {
    uint64_t v;
    std::memcpy(&v, b.data() + i, 8);  // protobuf is little-endian, as is every target we build
    fn(v);
  }
  return true;
}

// Same for repeated varint fields (packed or not).
template <typename Fn>
bool ForEachVarint(Reader& r, Fn&& fn) {
  if (r.wire_type() == WireType::kVarint) {
    fn(r.varint());
    return r.ok();
  }
  std::string_view b = r.bytes();
  if (!r.ok()) return false;
  const char* p = b.data();
  const char* end = p + b.size();
  while (p < end) {
    uint64_t v;
    if (!ReadVarint(p, end, v)) {
      r.Fail("truncated varint in packed field");
      return false;
    }
    fn(v);
  }
  return true;
}

}  // namespace xscaler::ingest::protowire
