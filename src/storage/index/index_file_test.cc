#include "storage/index/index_file.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/env.h"
#include "base/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "labels/matcher.h"
#include "storage/index/index_test_util.h"
#include "storage/index/index_writer.h"
#include "storage/index/matchers.h"
#include "storage/index/mem_postings.h"

namespace xscaler::storage::index {
namespace {

using labels::Label;
using labels::Labels;
using labels::MatchType;
using ::testing::HasSubstr;
using testing::StringRegion;

struct TestSeries {
  Labels lset;
  std::vector<ChunkMeta> chunks;
};

std::string TempPath(std::string_view name) {
  return absl::StrCat(::testing::TempDir(), "/index_file_test_", getpid(), "_", std::string(name));
}

// Writes `series` (already in label order) and returns the file bytes.
std::string WriteIndex(base::Env* env, const std::string& path,
                       const std::vector<TestSeries>& series) {
  auto w = IndexWriter::Create(env, path);
  EXPECT_TRUE(w.ok()) << w.status();
  for (const auto& s : series) {
    absl::Status st = (*w)->AddSeries(s.lset, s.chunks);
    EXPECT_TRUE(st.ok()) << st;
  }
  EXPECT_EQ((*w)->num_series(), series.size());
  absl::Status st = (*w)->Finish();
  EXPECT_TRUE(st.ok()) << st;
  auto bytes = env->ReadFileToString(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  env->RemoveFile(path).IgnoreError();
  return bytes.ok() ? *bytes : std::string();
}

absl::StatusOr<std::unique_ptr<IndexFile>> OpenBytes(std::string bytes,
                                                     std::string path = "test/index") {
  return IndexFile::Open(std::make_unique<StringRegion>(std::move(bytes)), std::move(path));
}

// Random series over a small label vocabulary, so pairs are shared and values share prefixes.
std::vector<TestSeries> RandomSeries(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> names = {"__name__", "a",      "instance", "job",
                                          "le",       "method", "zz",       "status"};
  auto value = [&](const std::string& name) -> std::string {
    std::uniform_int_distribution<int> d(0, 1000);
    int v = d(rng);
    if (name == "instance") return absl::StrCat("10.0.", v % 7, ".", v % 31, ":9100");
    if (name == "le") return std::vector<std::string>{"0.1", "0.5", "1", "+Inf"}[v % 4];
    if (name == "__name__") return absl::StrCat("metric_", v % 5);
    if (name == "a") return absl::StrCat("v", v % 200);
    return absl::StrCat(name, "_", v % 3);
  };
  std::set<Labels> sets;
  while (static_cast<int>(sets.size()) < n) {
    std::vector<Label> ls;
    for (const auto& name : names) {
      if (name == "__name__" || rng() % 3 != 0) ls.push_back({name, value(name)});
    }
    sets.insert(Labels(std::move(ls)));
  }
  std::vector<TestSeries> out;
  for (const auto& l : sets) {
    TestSeries s{l, {}};
    int nchunks = static_cast<int>(rng() % 5);
    int64_t t = static_cast<int64_t>(rng() % 100000) - 50000;
    uint64_t ref = rng() % 1000;
    for (int i = 0; i < nchunks; ++i) {
      int64_t len = rng() % 7200;
      s.chunks.push_back({t, t + len, ref});
      t += len + static_cast<int64_t>(rng() % 100) - 20;  // occasionally overlapping
      if (t < s.chunks.back().min_t) t = s.chunks.back().min_t;
      ref = rng() % 3 == 0 ? ref - rng() % 50 : ref + (uint64_t{1} << (rng() % 40));
    }
    out.push_back(std::move(s));
  }
  return out;
}

void ExpectSameAsReference(const IndexFile& f, const std::vector<TestSeries>& series) {
  MemPostings ref;
  for (size_t i = 0; i < series.size(); ++i) ref.Add(i, series[i].lset);
  ASSERT_EQ(f.NumSeries(), series.size());
  EXPECT_EQ(f.AllPostings(), ref.AllPostings());
  EXPECT_EQ(f.LabelNames(), ref.LabelNames());
  for (const auto& name : ref.LabelNames()) {
    auto values = ref.LabelValues(name);
    EXPECT_EQ(f.LabelValues(name), values) << name;
    for (const auto& v : values) {
      EXPECT_EQ(f.PostingsFor(name, v), ref.PostingsFor(name, v)) << name << "=" << v;
    }
    EXPECT_TRUE(f.PostingsFor(name, "no-such-value").empty());
    EXPECT_TRUE(f.PostingsFor(name, "").empty());
    auto even = [](std::string_view v) { return v.size() % 2 == 0; };
    EXPECT_EQ(f.PostingsForValues(name, even), ref.PostingsForValues(name, even)) << name;
    auto none = [](std::string_view) { return false; };
    EXPECT_TRUE(f.PostingsForValues(name, none).empty());
    std::vector<std::string> some;
    for (size_t i = 0; i < values.size(); i += 2) some.push_back(values[i]);
    some.push_back("absent");
    EXPECT_EQ(f.PostingsForValueList(name, some), ref.PostingsForValueList(name, some)) << name;
  }
  EXPECT_TRUE(f.LabelValues("nope").empty());
  EXPECT_TRUE(f.PostingsFor("nope", "x").empty());
  // Label names/values restricted to subsets of series.
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    Postings p;
    for (size_t i = 0; i < series.size(); ++i) {
      if (rng() % (round + 2) == 0) p.push_back(i);
    }
    EXPECT_EQ(f.LabelNamesFor(p), ref.LabelNamesFor(p));
    for (const auto& name : ref.LabelNames()) {
      EXPECT_EQ(f.LabelValuesFor(name, p), ref.LabelValuesFor(name, p)) << name;
    }
  }
}

TEST(IndexFileTest, RoundTripRandomSeries) {
  auto series = RandomSeries(3000, 1);
  std::string bytes = WriteIndex(base::Env::Default(), TempPath("rt"), series);
  auto f = OpenBytes(bytes);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Verify().ok()) << (*f)->Verify();
  EXPECT_EQ((*f)->SizeBytes(), bytes.size());
  int64_t mint = INT64_MAX, maxt = INT64_MIN;
  for (size_t i = 0; i < series.size(); ++i) {
    Labels l;
    std::vector<ChunkMeta> chunks;
    ASSERT_TRUE((*f)->Series(i, &l, &chunks).ok());
    EXPECT_EQ(l, series[i].lset) << i;
    EXPECT_EQ(chunks, series[i].chunks) << i;
    for (const auto& c : chunks) {
      mint = std::min(mint, c.min_t);
      maxt = std::max(maxt, c.max_t);
    }
  }
  EXPECT_EQ((*f)->MinTime(), mint);
  EXPECT_EQ((*f)->MaxTime(), maxt);
  Labels l;
  std::vector<ChunkMeta> chunks;
  EXPECT_TRUE(absl::IsOutOfRange((*f)->Series(series.size(), &l, &chunks)));
  // The cursor, ascending and then jumping around.
  IndexFile::Cursor cur = (*f)->NewCursor();
  for (size_t i = 0; i < series.size(); i += 1 + i % 3) {
    ASSERT_TRUE(cur.Series(i, &l, &chunks).ok());
    EXPECT_EQ(l, series[i].lset) << i;
    EXPECT_EQ(chunks, series[i].chunks) << i;
  }
  for (size_t i : {size_t{17}, size_t{3}, size_t{40}, size_t{39}, size_t{0}, series.size() - 1}) {
    ASSERT_TRUE(cur.Series(i, &l, nullptr).ok());
    EXPECT_EQ(l, series[i].lset) << i;
  }
  EXPECT_TRUE(absl::IsOutOfRange(cur.Series(series.size(), &l, &chunks)));
  ExpectSameAsReference(**f, series);
}

TEST(IndexFileTest, ExtremeChunkValuesRoundTrip) {
  std::vector<TestSeries> series = {
      {Labels{{"a", "1"}}, {{INT64_MIN, INT64_MIN, 0}, {INT64_MIN, INT64_MAX, UINT64_MAX}}},
      {Labels{{"a", "2"}}, {{INT64_MAX, INT64_MAX, 1}}},
      {Labels{{"a", "3"}}, {}},
      {Labels{{"a", std::string(300, 'x')}, {"b", std::string("\0\xff", 2)}},
       {{-5, 5, 1ull << 63}}},
  };
  auto f = OpenBytes(WriteIndex(base::Env::Default(), TempPath("extreme"), series));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Verify().ok()) << (*f)->Verify();
  for (size_t i = 0; i < series.size(); ++i) {
    Labels l;
    std::vector<ChunkMeta> chunks;
    ASSERT_TRUE((*f)->Series(i, &l, &chunks).ok());
    EXPECT_EQ(l, series[i].lset);
    EXPECT_EQ(chunks, series[i].chunks);
  }
  EXPECT_EQ((*f)->MinTime(), INT64_MIN);
  EXPECT_EQ((*f)->MaxTime(), INT64_MAX);
}

TEST(IndexFileTest, MatchersAgreeWithMemPostings) {
  auto series = RandomSeries(2000, 2);
  auto f = OpenBytes(WriteIndex(base::Env::Default(), TempPath("matchers"), series));
  ASSERT_TRUE(f.ok()) << f.status();
  MemPostings ref;
  for (size_t i = 0; i < series.size(); ++i) ref.Add(i, series[i].lset);
  auto m = [](MatchType t, std::string n, std::string v) {
    return *labels::Matcher::Create(t, std::move(n), std::move(v));
  };
  using MT = MatchType;
  std::vector<std::vector<labels::Matcher>> cases = {
      {},
      {m(MT::kEqual, "job", "job_1")},
      {m(MT::kNotEqual, "job", "job_1")},
      {m(MT::kEqual, "job", "")},
      {m(MT::kRegexMatch, "a", "v1.*")},
      {m(MT::kRegexNoMatch, "a", "v1.*")},
      {m(MT::kRegexMatch, "le", "0.5|1|")},
      {m(MT::kRegexMatch, "instance", "10\\.0\\.3\\..*")},
      {m(MT::kRegexMatch, "job", ".*")},
      {m(MT::kRegexMatch, "job", ".+")},
      {m(MT::kEqual, "missing", "x")},
      {m(MT::kNotEqual, "missing", "x")},
      {m(MT::kEqual, "__name__", "metric_2"), m(MT::kNotEqual, "method", "method_0"),
       m(MT::kRegexMatch, "a", "v(1|2).")},
      {m(MT::kEqual, "__name__", "metric_3"), m(MT::kRegexNoMatch, "le", "\\+Inf|0.1"),
       m(MT::kEqual, "zz", "")},
      {m(MT::kRegexMatch, "__name__", "metric_[0-2]"),
       m(MT::kRegexMatch, "status", "status_(0|2)")},
  };
  for (const auto& ms : cases) {
    std::string desc;
    for (const auto& x : ms) desc += x.ToString() + " ";
    auto got = PostingsForMatchers(**f, ms);
    auto want = PostingsForMatchers(ref, ms);
    ASSERT_TRUE(got.ok() && want.ok()) << desc;
    EXPECT_EQ(*got, *want) << desc;
    auto gn = LabelNames(**f, ms);
    auto wn = LabelNames(ref, ms);
    ASSERT_TRUE(gn.ok() && wn.ok());
    EXPECT_EQ(*gn, *wn) << desc;
    auto gv = LabelValues(**f, "a", ms);
    auto wv = LabelValues(ref, "a", ms);
    ASSERT_TRUE(gv.ok() && wv.ok());
    EXPECT_EQ(*gv, *wv) << desc;
  }
}

TEST(IndexFileTest, EmptyIndex) {
  std::string bytes = WriteIndex(base::Env::Default(), TempPath("empty"), {});
  auto f = OpenBytes(bytes);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE((*f)->Verify().ok());
  EXPECT_EQ((*f)->NumSeries(), 0u);
  EXPECT_TRUE((*f)->AllPostings().empty());
  EXPECT_TRUE((*f)->LabelNames().empty());
  EXPECT_TRUE((*f)->LabelValues("a").empty());
  EXPECT_TRUE((*f)->PostingsFor("a", "b").empty());
  EXPECT_TRUE((*f)->LabelNamesFor(Postings{0, 1}).empty());
  Labels l;
  std::vector<ChunkMeta> c;
  EXPECT_TRUE(absl::IsOutOfRange((*f)->Series(0, &l, &c)));
  auto m = *labels::Matcher::Create(MatchType::kNotEqual, "a", "x");
  auto p = PostingsForMatchers(**f, std::span<const labels::Matcher>(&m, 1));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->empty());
}

TEST(IndexFileTest, OpenThroughEnvMemoryRegion) {
  base::Env* env = base::Env::Default();
  auto series = RandomSeries(50, 3);
  std::string path = TempPath("mmap");
  auto w = IndexWriter::Create(env, path);
  ASSERT_TRUE(w.ok());
  for (const auto& s : series) ASSERT_TRUE((*w)->AddSeries(s.lset, s.chunks).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  auto region = env->NewMemoryRegion(path);
  ASSERT_TRUE(region.ok()) << region.status();
  auto f = IndexFile::Open(std::move(*region), path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE((*f)->Verify().ok());
  ExpectSameAsReference(**f, series);
  env->RemoveFile(path).IgnoreError();
}

TEST(IndexWriterTest, RejectsBadInput) {
  base::Env* env = base::Env::Default();
  std::string path = TempPath("bad");
  auto w = IndexWriter::Create(env, path);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(absl::IsInvalidArgument((*w)->AddSeries(Labels{}, {})));
  ASSERT_TRUE((*w)->AddSeries(Labels{{"a", "2"}}, {}).ok());
  EXPECT_TRUE(absl::IsInvalidArgument((*w)->AddSeries(Labels{{"a", "2"}}, {})));  // duplicate
  EXPECT_TRUE(absl::IsInvalidArgument((*w)->AddSeries(Labels{{"a", "1"}}, {})));  // descending
  std::vector<ChunkMeta> unordered = {{10, 20, 1}, {5, 6, 2}};
  EXPECT_TRUE(absl::IsInvalidArgument((*w)->AddSeries(Labels{{"a", "3"}}, unordered)));
  std::vector<ChunkMeta> inverted = {{10, 5, 1}};
  EXPECT_TRUE(absl::IsInvalidArgument((*w)->AddSeries(Labels{{"a", "3"}}, inverted)));
  EXPECT_EQ((*w)->num_series(), 1u);
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_FALSE((*w)->Finish().ok());
  EXPECT_FALSE((*w)->AddSeries(Labels{{"a", "4"}}, {}).ok());
  env->RemoveFile(path).IgnoreError();
}

TEST(IndexWriterTest, DiskFullIsReported) {
  base::FaultInjectionEnv env(base::Env::Default());
  std::string path = TempPath("full");
  auto w = IndexWriter::Create(&env, path);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->AddSeries(Labels{{"a", "1"}}, {}).ok());
  env.SetDiskFull(true);
  absl::Status st = (*w)->Finish();
  EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
  env.SetDiskFull(false);
  env.RemoveFile(path).IgnoreError();
}

// A small index with every kind of content, for byte-level corruption.
std::vector<TestSeries> SmallSeries() { return RandomSeries(40, 4); }

TEST(IndexFileTest, EveryByteFlipIsDetectedAtOpen) {
  std::string good = WriteIndex(base::Env::Default(), TempPath("flip"), SmallSeries());
  ASSERT_FALSE(good.empty());
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t x : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ x);
      auto f = OpenBytes(bad, "blk/index");
      ASSERT_FALSE(f.ok()) << "flip at " << i;
      EXPECT_TRUE(absl::IsDataLoss(f.status())) << f.status();
      EXPECT_THAT(std::string(f.status().message()), HasSubstr("index blk/index offset "));
    }
  }
  for (size_t len = 0; len < good.size(); len += 7) {
    auto f = OpenBytes(good.substr(0, len));
    EXPECT_TRUE(absl::IsDataLoss(f.status())) << len;
  }
}

// Exercises every query on a file that Open accepted; must not crash whatever the bytes.
void PokeEverything(const IndexFile& f) {
  (void)f.Verify();
  auto names = f.LabelNames();
  names.push_back("zzz");
  Postings all = f.AllPostings();
  Labels l;
  std::vector<ChunkMeta> c;
  for (uint64_t id = 0; id < std::min<uint64_t>(f.NumSeries() + 1, 64); ++id) {
    (void)f.Series(id, &l, &c);
  }
  Postings some = {0, 1, 3, 5, 1000000};
  (void)f.LabelNamesFor(some);
  for (const auto& n : names) {
    auto values = f.LabelValues(n);
    values.push_back("v1");
    for (const auto& v : values) (void)f.PostingsFor(n, v);
    (void)f.PostingsForValues(n, [](std::string_view) { return true; });
    (void)f.PostingsForValueList(n, values);
    (void)f.LabelValuesFor(n, all);
    (void)f.LabelValuesFor(n, some);
  }
}

TEST(IndexFileTest, ResealedCorruptionNeverCrashes) {
  auto series = SmallSeries();
  std::string good = WriteIndex(base::Env::Default(), TempPath("reseal"), series);
  int opened = 0, verified = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    {
      // One flip per byte, cycling through bit patterns, keeps the test fast under ASan.
      const uint8_t x = std::vector<uint8_t>{0x01, 0x80, 0xff, 0x7f, 0x10}[i % 5];
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ x);
      testing::ResealChecksums(&bad);
      auto f = OpenBytes(bad);
      if (!f.ok()) {
        EXPECT_TRUE(absl::IsDataLoss(f.status())) << f.status();
        continue;
      }
      ++opened;
      if ((*f)->Verify().ok()) ++verified;
      PokeEverything(**f);
    }
  }
  // Most flips land in series/postings/symbol bytes that Open alone does not decode.
  EXPECT_GT(opened, 0);
  EXPECT_LT(verified, opened);
}

TEST(IndexFileTest, VerifyCatchesWhatOpenCannot) {
  auto series = SmallSeries();
  std::string good = WriteIndex(base::Env::Default(), TempPath("verify"), series);
  // Swap two label values' postings lists by rewriting postings offsets: CRCs resealed, so Open
  // succeeds, but postings no longer match the series.
  auto f0 = OpenBytes(good);
  ASSERT_TRUE(f0.ok());
  ASSERT_TRUE((*f0)->Verify().ok());
  // Find a postings byte (last section before the TOC) and change an id delta.
  const size_t toc = good.size() - format::kTocSize;
  uint64_t post_off = base::DecodeFixed64(good.data() + toc + 16 * 4);
  std::string bad = good;
  bad[post_off + 1] = static_cast<char>(bad[post_off + 1] ^ 0x01);
  testing::ResealChecksums(&bad);
  auto f = OpenBytes(bad, "b/index");
  ASSERT_TRUE(f.ok()) << f.status();
  absl::Status st = (*f)->Verify();
  EXPECT_TRUE(absl::IsDataLoss(st)) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("index b/index offset "));
}

TEST(IndexFileTest, ConcurrentReaders) {
  auto series = RandomSeries(500, 5);
  auto f = OpenBytes(WriteIndex(base::Env::Default(), TempPath("conc"), series));
  ASSERT_TRUE(f.ok());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < series.size(); i += 2) {
        Labels l;
        std::vector<ChunkMeta> c;
        if (!(*f)->Series(i, &l, &c).ok() || l != series[i].lset) ++mismatches;
        if ((*f)->PostingsFor("job", "job_1").empty()) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Realistic label sets: reports the index size per series (see docs/format/index.md).
TEST(IndexFileTest, SizePerSeries) {
  constexpr int kSeries = 100000;
  std::mt19937 rng(42);
  std::vector<std::string> routes;
  for (int i = 0; i < 50; ++i) routes.push_back(absl::StrCat("/api/v1/resource", i, "/{id}"));
  const std::vector<std::string> les = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                        "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
  std::set<Labels> sets;
  while (static_cast<int>(sets.size()) < kSeries) {
    int inst = static_cast<int>(rng() % 200);
    sets.insert(Labels{
        {"__name__", absl::StrCat("http_request_duration_seconds_", rng() % 20)},
        {"job", absl::StrCat("service-", inst % 5)},
        {"instance", absl::StrCat("10.0.", inst / 50, ".", inst, ":9100")},
        {"pod", absl::StrCat("api-", inst % 5, "-7d9f8b", inst, "-x", rng() % 4)},
        {"env", std::vector<std::string>{"prod", "staging", "dev"}[inst % 3]},
        {"method", std::vector<std::string>{"GET", "POST", "PUT", "DELETE"}[rng() % 4]},
        {"status", std::vector<std::string>{"200", "201", "400", "404", "500", "503"}[rng() % 6]},
        {"route", routes[rng() % routes.size()]},
        {"le", les[rng() % les.size()]},
    });
  }
  std::vector<TestSeries> series;
  series.reserve(kSeries);
  uint64_t ref = 0;
  const int64_t t0 = 1764000000000;
  for (const auto& l : sets) {
    series.push_back({l,
                      {{t0 + static_cast<int64_t>(rng() % 15000),
                        t0 + 7199000 - static_cast<int64_t>(rng() % 15000), ref}}});
    ref += 150 + rng() % 100;
  }
  auto t0w = std::chrono::steady_clock::now();
  std::string bytes = WriteIndex(base::Env::Default(), TempPath("size"), series);
  auto t1w = std::chrono::steady_clock::now();
  auto f = OpenBytes(bytes);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Verify().ok());
  const size_t toc = bytes.size() - format::kTocSize;
  static constexpr const char* kNames[] = {"symbols", "series", "names", "pairs", "postings"};
  std::printf("index for %d series: %zu bytes, %.2f bytes/series\n", kSeries, bytes.size(),
              static_cast<double>(bytes.size()) / kSeries);
  for (int i = 0; i < format::kNumSections; ++i) {
    uint64_t len = base::DecodeFixed64(bytes.data() + toc + 16 * i + 8);
    std::printf("  %-9s %10llu bytes  %6.2f bytes/series\n", kNames[i],
                static_cast<unsigned long long>(len), static_cast<double>(len) / kSeries);
  }
  // Informational timings (not asserted).
  auto t2 = std::chrono::steady_clock::now();
  IndexFile::Cursor cur = (*f)->NewCursor();
  Labels cl;
  std::vector<ChunkMeta> cc;
  for (uint64_t id = 0; id < kSeries; ++id) ASSERT_TRUE(cur.Series(id, &cl, &cc).ok());
  auto t3 = std::chrono::steady_clock::now();
  auto q =
      (*f)->PostingsForValues("route", [](std::string_view v) { return v.ends_with("7/{id}"); });
  auto t4 = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf(
      "write %.1f ms; decode all series (cursor) %.1f ms = %.0f ns/series; "
      "route=~\".*7/{id}\" %zu ids in %.2f ms\n",
      ms(t1w - t0w), ms(t3 - t2), ms(t3 - t2) * 1e6 / kSeries, q.size(), ms(t4 - t3));
  // Spot-check a query against the source data.
  Labels l;
  std::vector<ChunkMeta> c;
  ASSERT_TRUE((*f)->Series(kSeries / 2, &l, &c).ok());
  EXPECT_EQ(l, series[kSeries / 2].lset);
  EXPECT_EQ(c, series[kSeries / 2].chunks);
  EXPECT_LT(bytes.size(), static_cast<size_t>(kSeries) * 64);  // well under Prometheus' ~100 B
}

}  // namespace
}  // namespace xscaler::storage::index

namespace xscaler::storage::index {
namespace {

// Regenerates tests/fuzz/corpus/index_file_fuzz: run with
// XS_INDEX_FUZZ_SEED_DIR=<dir> index_file_test --gtest_also_run_disabled_tests
// --gtest_filter=*WriteFuzzSeeds.
TEST(IndexFileTest, DISABLED_WriteFuzzSeeds) {
  const char* dir = std::getenv("XS_INDEX_FUZZ_SEED_DIR");
  ASSERT_NE(dir, nullptr);
  base::Env* env = base::Env::Default();
  std::vector<std::pair<std::string, std::vector<TestSeries>>> seeds = {
      {"empty", {}},
      {"one", {{Labels{{"__name__", "up"}, {"job", "node"}}, {{1000, 2000, 8}}}}},
      {"small", RandomSeries(20, 11)},
      {"groups", RandomSeries(70, 12)},
  };
  for (const auto& [name, series] : seeds) {
    std::string bytes = WriteIndex(env, TempPath("seed"), series);
    for (char mode : {'\0', '\1'}) {
      std::string path = absl::StrCat(dir, "/", name, mode == '\0' ? "_raw" : "_reseal");
      ASSERT_TRUE(env->WriteStringToFileAtomic(path, std::string(1, mode) + bytes).ok());
    }
  }
}

}  // namespace
}  // namespace xscaler::storage::index
