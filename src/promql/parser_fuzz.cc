// Fuzz target: any input either fails to parse cleanly or parses to an AST whose printed form
// parses back to an equal AST.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "promql/parser.h"
#include "promql/printer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  (void)xscaler::promql::ParseMetricSelector(in);
  auto e = xscaler::promql::ParseExpr(in);
  if (!e.ok()) return 0;
  std::string printed = xscaler::promql::Print(**e);
  auto again = xscaler::promql::ParseExpr(printed);
  if (!again.ok() || !xscaler::promql::AstEqual(**e, **again)) {
    std::fprintf(stderr, "round trip failed:\n  input:   %s\n  printed: %s\n  error: %s\n",
                 in.c_str(), printed.c_str(),
                 again.ok() ? "ASTs differ" : std::string(again.status().message()).c_str());
    std::abort();
  }
  return 0;
}
