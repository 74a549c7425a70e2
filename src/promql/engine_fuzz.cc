// Fuzz target: any query that parses evaluates (instant and range) against a small fixed
// dataset without crashing, hanging, or tripping sanitizers; errors are fine.
#include <cstdint>
#include <string>

#include "promql/engine.h"
#include "promql/parser.h"
#include "promql/testing/memory_storage.h"

namespace {

xscaler::promql::testing::MemoryStorage* Store() {
  static auto* store = [] {
    auto* s = new xscaler::promql::testing::MemoryStorage();
    using xscaler::labels::Labels;
    for (int i = 0; i < 20; ++i) {
      s->Add(Labels({{"__name__", "foo"}, {"a", "x"}}), i * 15000, i);
      s->Add(Labels({{"__name__", "foo"}, {"a", "y"}}), i * 15000, 20 - i);
      s->Add(Labels({{"__name__", "bar_bucket"}, {"le", i % 2 ? "+Inf" : "1"}}), i * 15000, i);
    }
    s->Add(Labels({{"__name__", "foo"}, {"a", "z"}}), 60000, xscaler::storage::StaleNaN());
    return s;
  }();
  return store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto expr = xscaler::promql::ParseExpr(in);
  if (!expr.ok()) return 0;
  static auto* engine = new xscaler::promql::Engine(xscaler::promql::EngineOptions{
      .max_samples = 200000, .timeout_ms = 2000, .delayed_name_removal = (size % 2) == 0});
  (void)engine->Exec(*Store(), **expr, 120000, 120000, 1, false);
  (void)engine->Exec(*Store(), **expr, 0, 300000, 30000, true);
  return 0;
}
