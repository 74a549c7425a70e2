// Fuzzes the HTTP layer's input parsers: body decompression (gzip, deflate, zstd, with a small
// limit so bombs are cut short) and query/form decoding. The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "http/decompress.h"
#include "http/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr size_t kLimit = 1 << 20;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
    case 1:
    case 2: {
      static const char* kEncodings[] = {"gzip", "deflate", "zstd"};
      auto r = xscaler::http::Decompress(kEncodings[data[0] % 4], body, kLimit);
      if (r.ok() && r->size() > kLimit) std::abort();
      break;
    }
    default: {
      std::multimap<std::string, std::string> params;
      xscaler::http::ParseFormEncoded(body, params);
      for (const auto& [k, v] : params) {
        if (k.size() > body.size() || v.size() > body.size()) std::abort();
      }
    }
  }
  return 0;
}
