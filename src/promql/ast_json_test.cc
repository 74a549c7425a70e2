#include "promql/ast_json.h"

#include <gtest/gtest.h>

#include "promql/parser.h"

namespace xscaler::promql {
namespace {

std::string J(std::string_view q) {
  auto e = ParseExpr(q);
  if (!e.ok()) return std::string(e.status().message());
  return AstToJson(**e);
}

TEST(AstJson, Selectors) {
  EXPECT_EQ(
      J("foo{a=\"b\"}"),
      R"({"matchers":[{"name":"a","type":"=","value":"b"},{"name":"__name__","type":"=","value":"foo"}],)"
      R"("name":"foo","offset":0,"startOrEnd":null,"timestamp":null,"type":"vectorSelector"})");
  EXPECT_EQ(
      J("foo[5m] offset 1m @ 10"),
      R"({"matchers":[{"name":"__name__","type":"=","value":"foo"}],"name":"foo",)"
      R"("offset":60000,"range":300000,"startOrEnd":null,"timestamp":10000,"type":"matrixSelector"})");
  EXPECT_EQ(
      J("foo[1h:] @ end()"),
      R"({"expr":{"matchers":[{"name":"__name__","type":"=","value":"foo"}],"name":"foo",)"
      R"("offset":0,"startOrEnd":null,"timestamp":null,"type":"vectorSelector"},)"
      R"("offset":0,"range":3600000,"startOrEnd":"end","step":0,"timestamp":null,"type":"subquery"})");
}

TEST(AstJson, Operators) {
  EXPECT_EQ(J("-1.5"), R"({"type":"numberLiteral","val":"-1.5"})");
  EXPECT_EQ(
      J("sum by (job) (x)"),
      R"({"expr":{"matchers":[{"name":"__name__","type":"=","value":"x"}],"name":"x","offset":0,)"
      R"("startOrEnd":null,"timestamp":null,"type":"vectorSelector"},"grouping":["job"],"op":"sum",)"
      R"("param":null,"type":"aggregation","without":false})");
  std::string b = J("a > bool on(x) b");
  EXPECT_NE(b.find(R"("bool":true)"), std::string::npos) << b;
  EXPECT_NE(b.find(R"("matching":{"card":"one-to-one","include":[],"labels":["x"],"on":true})"),
            std::string::npos)
      << b;
  std::string c = J("rate(x[1m])");
  EXPECT_NE(
      c.find(R"("func":{"argTypes":["matrix"],"name":"rate","returnType":"vector","variadic":0})"),
      std::string::npos)
      << c;
  EXPECT_EQ(J("\"<a>\""), R"({"type":"stringLiteral","val":"\u003ca\u003e"})");
}

}  // namespace
}  // namespace xscaler::promql
