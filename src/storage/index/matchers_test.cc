#include "storage/index/matchers.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/index/mem_postings.h"

namespace xscaler::storage::index {
namespace {

using labels::Labels;
using labels::Matcher;
using labels::MatchType;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

Matcher M(MatchType t, std::string name, std::string value) {
  auto m = Matcher::Create(t, std::move(name), std::move(value));
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

class MatchersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Add(1, {{"__name__", "up"}, {"job", "api"}, {"instance", "a:1"}});
    Add(2, {{"__name__", "up"}, {"job", "db"}, {"instance", "b:1"}});
    Add(3, {{"__name__", "up"}, {"instance", "c:1"}});  // no job
    Add(4, {{"__name__", "http_requests_total"}, {"job", "api"}, {"code", "200"}});
    Add(5, {{"__name__", "http_requests_total"}, {"job", "api"}, {"code", "500"}});
  }
  void Add(uint64_t ref, Labels l) { mp_.Add(ref, l); }
  Postings Select(std::vector<Matcher> ms) {
    auto p = PostingsForMatchers(mp_, ms);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : Postings{};
  }
  MemPostings mp_;
};

TEST_F(MatchersTest, FourTypes) {
  EXPECT_THAT(Select({M(MatchType::kEqual, "__name__", "up")}), ElementsAre(1, 2, 3));
  EXPECT_THAT(Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kEqual, "job", "db")}),
              ElementsAre(2));
  EXPECT_THAT(Select({M(MatchType::kRegexMatch, "code", "5..")}), ElementsAre(5));
  EXPECT_THAT(Select({M(MatchType::kRegexMatch, "code", "200|500")}), ElementsAre(4, 5));
  EXPECT_THAT(Select({M(MatchType::kEqual, "job", "api"), M(MatchType::kNotEqual, "code", "200")}),
              ElementsAre(1, 5));  // series 1 has no code: != matches its ""
  EXPECT_THAT(
      Select({M(MatchType::kEqual, "job", "api"), M(MatchType::kRegexNoMatch, "code", "2.*")}),
      ElementsAre(1, 5));
  EXPECT_THAT(Select({M(MatchType::kEqual, "__name__", "nope")}), IsEmpty());
  EXPECT_THAT(Select({}), ElementsAre(1, 2, 3, 4, 5));
}

TEST_F(MatchersTest, EmptyValueSemantics) {
  // {job=""}: series without job.
  EXPECT_THAT(Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kEqual, "job", "")}),
              ElementsAre(3));
  // {job=~"db|"}: job=db or no job.
  EXPECT_THAT(
      Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kRegexMatch, "job", "db|")}),
      ElementsAre(2, 3));
  // {job!=""}: job present.
  EXPECT_THAT(Select({M(MatchType::kNotEqual, "job", "")}), ElementsAre(1, 2, 4, 5));
  // {job=~".+"} and {job!~""} mean the same.
  EXPECT_THAT(Select({M(MatchType::kRegexMatch, "job", ".+")}), ElementsAre(1, 2, 4, 5));
  EXPECT_THAT(Select({M(MatchType::kRegexNoMatch, "job", "")}), ElementsAre(1, 2, 4, 5));
  // {job=~".*"} matches everything, with or without job.
  EXPECT_THAT(
      Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kRegexMatch, "job", ".*")}),
      ElementsAre(1, 2, 3));
  // {job!~".*"}: nothing.
  EXPECT_THAT(
      Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kRegexNoMatch, "job", ".*")}),
      IsEmpty());
  // Only empty-matching matchers: subtract from all series.
  EXPECT_THAT(Select({M(MatchType::kNotEqual, "job", "api")}), ElementsAre(2, 3));
  // Contradiction on one label.
  EXPECT_THAT(Select({M(MatchType::kEqual, "job", "api"), M(MatchType::kEqual, "job", "")}),
              IsEmpty());
  // A label no series has: = "" selects everything, != "" nothing.
  EXPECT_THAT(Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kEqual, "zz", "")}),
              ElementsAre(1, 2, 3));
  EXPECT_THAT(Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kNotEqual, "zz", "")}),
              IsEmpty());
}

TEST_F(MatchersTest, LabelNamesAndValues) {
  EXPECT_THAT(*LabelNames(mp_, {}), ElementsAre("__name__", "code", "instance", "job"));
  std::vector<Matcher> up = {M(MatchType::kEqual, "__name__", "up")};
  EXPECT_THAT(*LabelNames(mp_, up), ElementsAre("__name__", "instance", "job"));
  EXPECT_THAT(*LabelValues(mp_, "job", {}), ElementsAre("api", "db"));
  std::vector<Matcher> http = {M(MatchType::kRegexMatch, "__name__", "http_.*")};
  EXPECT_THAT(*LabelValues(mp_, "code", http), ElementsAre("200", "500"));
  EXPECT_THAT(*LabelValues(mp_, "code", up), IsEmpty());
}

TEST(RegexAnalysisTest, LiteralAlternatives) {
  EXPECT_THAT(LiteralAlternatives("a|bc|d"), Optional(ElementsAre("a", "bc", "d")));
  EXPECT_THAT(LiteralAlternatives("x|"), Optional(ElementsAre("x", "")));
  EXPECT_THAT(LiteralAlternatives("foo"), Optional(ElementsAre("foo")));
  EXPECT_THAT(LiteralAlternatives(R"(a\.b|c)"), Optional(ElementsAre("a.b", "c")));
  EXPECT_EQ(LiteralAlternatives("a.b"), std::nullopt);
  EXPECT_EQ(LiteralAlternatives(R"(a\d)"), std::nullopt);
  EXPECT_EQ(LiteralAlternatives("(a|b)"), std::nullopt);
  EXPECT_EQ(LiteralAlternatives("a+"), std::nullopt);
}

TEST(RegexAnalysisTest, LiteralPrefix) {
  EXPECT_EQ(LiteralPrefix("foo.*"), "foo");
  EXPECT_EQ(LiteralPrefix("fo?"), "f");
  EXPECT_EQ(LiteralPrefix("fo*"), "f");
  EXPECT_EQ(LiteralPrefix("fo{0,2}"), "f");
  EXPECT_EQ(LiteralPrefix("fo+x"), "fo");
  EXPECT_EQ(LiteralPrefix(R"(a\.b.*)"), "a.b");
  EXPECT_EQ(LiteralPrefix("(?i)foo"), "");
  EXPECT_EQ(LiteralPrefix("ab|c"), "");
  EXPECT_EQ(LiteralPrefix(".*"), "");
  EXPECT_EQ(LiteralPrefix("abc"), "abc");
}

// Prometheus' semantics written the obvious way: every matcher must match the series' value
// for its label, "" when absent.
bool BruteMatches(const Labels& l, const std::vector<Matcher>& ms) {
  for (const auto& m : ms) {
    if (!m.Matches(l.Get(m.name()))) return false;
  }
  return true;
}

TEST(MatchersRandomTest, AgainstBruteForce) {
  std::mt19937_64 rng(7);
  const std::vector<std::string> names = {"a", "b", "c", "__name__"};
  const std::vector<std::string> values = {"x", "y", "xy", "yx", "z", "x.y"};
  for (int round = 0; round < 40; ++round) {
    MemPostings mp;
    std::vector<Labels> series;
    int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      std::vector<labels::Label> ls;
      for (const auto& name : names) {
        if (rng() % 3 == 0) continue;  // leave the label out
        ls.push_back({name, values[rng() % values.size()]});
      }
      series.emplace_back(std::move(ls));
      mp.Add(static_cast<uint64_t>(i + 1), series.back());
    }
    const std::vector<std::string> patterns = {"",    "x",    "x|",   "x|y", ".*",  ".+",
                                               "x.*", "y?x",  "x\\.y", "(x|)", "[xy]+", "zz",
                                               "xy|yx|", "x+"};
    for (int q = 0; q < 200; ++q) {
      std::vector<Matcher> ms;
      int k = 1 + static_cast<int>(rng() % 3);
      for (int j = 0; j < k; ++j) {
        auto type = static_cast<MatchType>(rng() % 4);
        std::string value;
        if (type == MatchType::kRegexMatch || type == MatchType::kRegexNoMatch) {
          value = patterns[rng() % patterns.size()];
        } else {
          value = rng() % 4 == 0 ? "" : values[rng() % values.size()];
        }
        ms.push_back(M(type, names[rng() % names.size()], value));
      }
      Postings want;
      for (int i = 0; i < n; ++i) {
        if (BruteMatches(series[i], ms)) want.push_back(static_cast<uint64_t>(i + 1));
      }
      auto got = PostingsForMatchers(mp, ms);
      ASSERT_TRUE(got.ok());
      std::string desc;
      for (const auto& m : ms) desc += m.ToString() + " ";
      ASSERT_EQ(*got, want) << desc;

      // Label values of "a" among the selected series, also by brute force.
      std::set<std::string> want_vals;
      for (uint64_t ref : want) {
        auto v = series[ref - 1].Get("a");
        if (!v.empty()) want_vals.emplace(v);
      }
      auto vals = LabelValues(mp, "a", ms);
      ASSERT_TRUE(vals.ok());
      ASSERT_EQ(*vals, std::vector<std::string>(want_vals.begin(), want_vals.end())) << desc;
    }
  }
}

}  // namespace
}  // namespace xscaler::storage::index
