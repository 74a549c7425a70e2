// The PromQL function signature table (name, argument types, variadic-ness, return type), used
// by the parser for type checking. Evaluation lives in the engine. Immutable; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "promql/ast.h"

namespace xscaler::promql {

struct FunctionSig {
  std::string_view name;
  std::vector<ValueType> arg_types;
  // 0: exactly arg_types.size() args. >0: the last arg type is optional and may repeat up to
  // `variadic` times (so size()-1 .. size()-1+variadic args). -1: the last type repeats freely
  // (at least size()-1 args).
  int variadic = 0;
  ValueType return_type = ValueType::kVector;
};

// nullptr when unknown.
const FunctionSig* LookupFunction(std::string_view name);

}  // namespace xscaler::promql
