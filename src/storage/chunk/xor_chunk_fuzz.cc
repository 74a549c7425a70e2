// Fuzzes the XOR chunk decoder with arbitrary bytes (Next must agree bit for bit and error
// for error with the reference decoder in xor_reference.h), and the encoder/decoder
// pair with sample sequences derived from the input (which must round-trip bit-exactly, with
// the same bytes as the reference encoder).
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "storage/chunk/xor.h"
#include "storage/chunk/xor_reference.h"

using xscaler::storage::chunk::XorDecoder;
using xscaler::storage::chunk::XorEncoder;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  {
    XorDecoder d(bytes);
    int64_t prev = 0;
    bool first = true;
    while (d.Next()) {
      if (!first && d.t() <= prev) std::abort();
      prev = d.t();
      first = false;
    }
    XorDecoder s(bytes);
    (void)s.Seek(size > 8 ? static_cast<int64_t>(size) * 1000 : 0);
  }
  {
    namespace ref = xscaler::storage::chunk::reference;
    ref::XorDecoder r(bytes);
    XorDecoder d(bytes);
    while (true) {
      bool a = r.Next();
      if (a != d.Next()) std::abort();
      if (!a) break;
      if (r.t() != d.t() || std::bit_cast<uint64_t>(r.v()) != std::bit_cast<uint64_t>(d.v())) {
        std::abort();
      }
    }
    if (r.status() != d.status()) std::abort();
  }
  // Round trip: each 16 input bytes are (timestamp delta, value bits).
  XorEncoder e;
  xscaler::storage::chunk::reference::XorEncoder re;
  std::vector<std::pair<int64_t, uint64_t>> in;
  int64_t t = 0;
  for (size_t off = 0; off + 16 <= size && in.size() < 65535; off += 16) {
    uint64_t dt, bits;
    std::memcpy(&dt, data + off, 8);
    std::memcpy(&bits, data + off + 8, 8);
    dt = dt % (uint64_t{1} << (dt % 63)) + 1;  // spread over small and huge gaps
    // Steer values towards the interesting encodings: raw bits, integers, short decimals.
    switch (bits >> 62) {
      case 1:
        bits = std::bit_cast<uint64_t>(static_cast<double>(static_cast<int32_t>(bits)));
        break;
      case 2:
        bits = std::bit_cast<uint64_t>(static_cast<double>(static_cast<int32_t>(bits)) /
                                       std::pow(10.0, static_cast<int>((bits >> 32) % 10)));
        break;
      default:
        break;
    }
    int64_t next = static_cast<int64_t>(static_cast<uint64_t>(t) + dt);
    if (!in.empty() && next <= t) break;
    t = next;
    in.emplace_back(t, bits);
    e.Append(t, std::bit_cast<double>(bits));
    re.Append(t, std::bit_cast<double>(bits));
  }
  if (e.Bytes() != re.Bytes()) std::abort();
  XorDecoder d(e.Bytes());
  for (const auto& [ts, bits] : in) {
    if (!d.Next() || d.t() != ts || std::bit_cast<uint64_t>(d.v()) != bits) std::abort();
  }
  if (d.Next() || !d.status().ok()) std::abort();
  return 0;
}
