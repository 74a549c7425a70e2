// Fuzzes the columnar page codec (columnar_page.h). The first input byte picks a mode:
//   0: the rest is a columnar body, decoded into a page of raw_len = next 3 bytes (LE) bytes;
//      a body that decodes must encode again into a body that decodes to the same page.
//   1: the rest is samples (dt: 1 byte, 1 + value: 8 bytes; a zero dt starts a new chunk),
//      XOR-encoded into chunks of one page, which must round-trip exactly.
//   other: the rest is a raw page (entry*); when it parses it must round-trip exactly.
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/coding.h"
#include "storage/block/columnar_page.h"
#include "storage/chunk/xor.h"

using namespace xscaler;
using namespace xscaler::storage::block;

namespace {

void ExpectRoundTrip(const std::string& raw) {
  auto body = EncodeColumnarPage(raw);
  if (!body.ok()) return;
  std::string back;
  if (!DecodeColumnarPage(*body, raw.size(), &back).ok() || back != raw) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode == 0) {
    if (in.size() < 3) return 0;
    size_t raw_len = static_cast<uint8_t>(in[0]) | size_t{static_cast<uint8_t>(in[1])} << 8 |
                     size_t{static_cast<uint8_t>(in[2])} << 16;
    std::string raw;
    absl::Status st = DecodeColumnarPage(std::string_view(in).substr(3), raw_len, &raw);
    if (!st.ok()) {
      if (st.code() != absl::StatusCode::kDataLoss) std::abort();
      return 0;
    }
    if (raw.size() != raw_len) std::abort();
    ExpectRoundTrip(raw);
  } else if (mode == 1) {
    std::string raw;
    storage::chunk::XorEncoder enc;
    int64_t t = static_cast<int64_t>(in.size()) * 1000 - 5000;
    auto flush = [&] {
      if (enc.NumSamples() == 0) return;
      std::string c = enc.Release();
      base::PutVarint64(&raw, c.size());
      raw.append(c);
    };
    for (size_t i = 0; i + 9 <= in.size(); i += 9) {
      uint8_t dt = static_cast<uint8_t>(in[i]);
      if (dt == 0 || enc.NumSamples() == storage::chunk::kXorMaxSamples) flush();
      t += dt == 0 ? 1 : dt * 977;
      enc.Append(t, std::bit_cast<double>(base::DecodeFixed64(in.data() + i + 1)));
    }
    flush();
    auto body = EncodeColumnarPage(raw);
    if (!body.ok()) std::abort();
    std::string back;
    if (!DecodeColumnarPage(*body, raw.size(), &back).ok() || back != raw) std::abort();
  } else {
    ExpectRoundTrip(in);
  }
  return 0;
}
