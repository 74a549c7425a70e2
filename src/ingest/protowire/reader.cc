#include "ingest/protowire/reader.h"

#include <string>

namespace xscaler::ingest::protowire {

bool Reader::NextSlow() {
  if (error_ != nullptr || p_ >= end_) return false;
  field_start_ = p_;
  uint64_t tag;
  if (!ReadVarint(p_, end_, tag)) {
    Fail("truncated or overlong field tag");
    return false;
  }
  field_ = static_cast<uint32_t>(tag >> 3);
  if (field_ == 0 || (tag >> 3) > 0x1fffffff) {
    Fail("invalid field number");
    return false;
  }
  wire_type_ = static_cast<WireType>(tag & 7);
  switch (wire_type_) {
    case WireType::kVarint:
      if (!ReadVarint(p_, end_, scalar_)) {
        Fail("truncated varint");
        return false;
      }
      return true;
    case WireType::kI64:
      if (end_ - p_ < 8) {
        Fail("truncated fixed64");
        return false;
      }
      std::memcpy(&scalar_, p_, 8);
      p_ += 8;
      return true;
    case WireType::kI32: {
      if (end_ - p_ < 4) {
        Fail("truncated fixed32");
        return false;
      }
      uint32_t v;
      std::memcpy(&v, p_, 4);
      scalar_ = v;
      p_ += 4;
      return true;
    }
    case WireType::kLen: {
      uint64_t n;
      if (!ReadVarint(p_, end_, n)) {
        Fail("truncated length prefix");
        return false;
      }
      if (n > static_cast<uint64_t>(end_ - p_)) {
        Fail("length-delimited field runs past the end of its message");
        return false;
      }
      len_ = std::string_view(p_, n);
      p_ += n;
      return true;
    }
    default:
      Fail("unsupported wire type (groups are not allowed)");
      return false;
  }
}

absl::Status Reader::ErrorStatus() const {
  const char* at = field_start_ != nullptr ? field_start_ : begin_;
  return absl::InvalidArgumentError(std::string("malformed protobuf at byte ") +
                                    std::to_string(at - begin_) + " (field " +
                                    std::to_string(field_) + "): " + error_);
}

uint32_t Reader::fixed32() { return Expect(WireType::kI32) ? static_cast<uint32_t>(scalar_) : 0; }

}  // namespace xscaler::ingest::protowire
