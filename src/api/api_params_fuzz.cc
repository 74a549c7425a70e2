// Fuzzes the API's parameter parsers (timestamps, durations, limits) and the JSON string
// escaper, whose output must never contain a raw control character or an unescaped quote.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/json_writer.h"
#include "api/params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)xscaler::api::ParseTime(in);
  (void)xscaler::api::ParseDuration(in);
  (void)xscaler::api::ParseLimitParam(in);
  std::string out;
  xscaler::api::AppendJsonString(out, in);
  if (out.size() < 2 || out.front() != '"' || out.back() != '"') std::abort();
  for (size_t i = 1; i + 1 < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    if (c < 0x20) std::abort();
    if (c == '\\') {
      ++i;  // skip the escaped character
    } else if (c == '"') {
      std::abort();
    }
  }
  return 0;
}
