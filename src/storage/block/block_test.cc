#include "storage/block/block.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include <stdlib.h>

#include "base/fault_env.h"
#include "storage/block/chunks.h"
#include "storage/block/test_util.h"
#include "storage/series/series_sets.h"

namespace xscaler::storage::block {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MapChunkSeriesSet;
using testing::Samples;
using testing::SeriesMap;

constexpr int64_t kT0 = 1732500000000;
constexpr int64_t kRange = 2 * 3600 * 1000;

labels::Matcher M(labels::MatchType t, std::string n, std::string v) {
  auto m = labels::Matcher::Create(t, std::move(n), std::move(v));
  EXPECT_TRUE(m.ok());
  return *m;
}
labels::Matcher Eq(std::string n, std::string v) {
  return M(labels::MatchType::kEqual, std::move(n), std::move(v));
}

// Random series: labels from a small vocabulary, random sample counts, irregular intervals.
SeriesMap RandomSeries(uint64_t seed, int n_series) {
  std::mt19937_64 rng(seed);
  SeriesMap out;
  while (static_cast<int>(out.size()) < n_series) {
    std::vector<labels::Label> ls = {{"__name__", "m" + std::to_string(rng() % 5)},
                                     {"a", "a" + std::to_string(rng() % 10)}};
    if (rng() % 2) ls.push_back({"b", "b" + std::to_string(rng() % 7)});
    labels::Labels l(std::move(ls));
    if (out.contains(l)) continue;
    Samples s;
    int n = 1 + static_cast<int>(rng() % 700);
    int64_t t = kT0 + static_cast<int64_t>(rng() % 100000);
    for (int i = 0; i < n && t < kT0 + kRange; ++i) {
      double v;
      switch (rng() % 4) {
        case 0: v = static_cast<double>(rng() % 1000); break;
        case 1: v = static_cast<double>(static_cast<int64_t>(rng() % 100000)) / 100; break;
        case 2: v = std::bit_cast<double>(rng()); break;
        default: v = s.empty() ? 1.5 : s.back().second; break;
      }
      s.emplace_back(t, v);
      t += 1 + static_cast<int64_t>(rng() % 30000);
    }
    out.emplace(std::move(l), std::move(s));
  }
  return out;
}

Samples Drain(const Series& s) {
  Samples out;
  auto it = s.Iterator();
  while (it->Next()) out.push_back(it->At());
  EXPECT_TRUE(it->Err().ok()) << it->Err();
  return out;
}

bool SameBits(const Samples& a, const Samples& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first ||
        std::bit_cast<uint64_t>(a[i].second) != std::bit_cast<uint64_t>(b[i].second)) {
      return false;
    }
  }
  return true;
}

class BlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // tmpfs when there is one: the fault and corruption tests write and remove hundreds of
    // blocks, and every create/rename/remove fsyncs its directory.
    std::string base = env_->IsDirectory("/dev/shm") ? "/dev/shm" : ::testing::TempDir();
    std::string tmpl = base::JoinPath(base, "block_test.XXXXXX");
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)env_->RemoveDirRecursive(dir_); }

  BlockMeta Meta() {
    BlockMeta m;
    m.ulid = NewUlid(kT0);
    m.min_time = kT0;
    m.max_time = kT0 + kRange;
    return m;
  }

  std::shared_ptr<Block> WriteAndOpen(const SeriesMap& data, WriteOptions opts = {}) {
    MapChunkSeriesSet set(data);
    auto meta = WriteBlock(env_, dir_, set, Meta(), opts);
    EXPECT_TRUE(meta.ok()) << meta.status();
    if (!meta.ok()) return nullptr;
    auto b = Block::Open(env_, base::JoinPath(dir_, meta->ulid));
    EXPECT_TRUE(b.ok()) << b.status();
    return b.ok() ? *b : nullptr;
  }

  std::vector<std::string> Children() {
    auto c = env_->GetChildren(dir_);
    EXPECT_TRUE(c.ok());
    std::vector<std::string> v = c.ok() ? *c : std::vector<std::string>{};
    std::sort(v.begin(), v.end());
    return v;
  }

  base::Env* env_ = base::Env::Default();
  std::string dir_;
};

TEST(UlidTest, FormatAndOrder) {
  std::string a = NewUlid(kT0), b = NewUlid(kT0 + 1);
  EXPECT_EQ(a.size(), 26u);
  EXPECT_TRUE(IsUlid(a));
  EXPECT_LT(a, b);
  EXPECT_NE(NewUlid(kT0), NewUlid(kT0));
  EXPECT_EQ(UlidTime(a), kT0);
  EXPECT_FALSE(IsUlid("01JDQ0Z3N8V5W1K8Q3ZB7H2M4"));     // 25 chars
  EXPECT_FALSE(IsUlid("01JDQ0Z3N8V5W1K8Q3ZB7H2M4U"));    // U is not Crockford
  EXPECT_FALSE(IsUlid("81JDQ0Z3N8V5W1K8Q3ZB7H2M4X"));    // overflows 128 bits
  EXPECT_FALSE(IsUlid(a + ".tmp-for-creation"));
}

TEST(MetaTest, RoundTripAndErrors) {
  BlockMeta m;
  m.ulid = NewUlid(kT0);
  m.min_time = -5;
  m.max_time = kT0;
  m.num_series = 3;
  m.num_samples = 1ull << 40;
  m.num_chunks = 7;
  m.level = 3;
  m.sources = {NewUlid(1), NewUlid(2)};
  m.parents = {NewUlid(3)};
  auto back = DecodeMeta(EncodeMeta(m), "meta.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, m);

  for (std::string bad : {std::string("{"), std::string("[]"), std::string(""),
                          EncodeMeta(m).substr(0, 40)}) {
    auto r = DecodeMeta(bad, "x/meta.json");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("x/meta.json"));
  }
  std::string no_stats = EncodeMeta(m);
  no_stats.replace(no_stats.find("numSeries"), 9, "numSerieX");
  EXPECT_EQ(DecodeMeta(no_stats, "m").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(BlockTest, QueriesReturnExactlyWhatWasWritten) {
  SeriesMap data = RandomSeries(1, 300);
  auto block = WriteAndOpen(data, WriteOptions{.zstd_level = 5, .page_target_bytes = 4096,
                                               .segment_target_bytes = 64 * 1024});
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->meta().num_series, data.size());
  uint64_t samples = 0;
  for (const auto& [l, s] : data) samples += s.size();
  EXPECT_EQ(block->meta().num_samples, samples);
  EXPECT_GT(block->SizeBytes(), 0u);
  ASSERT_TRUE(block->Verify().ok()) << block->Verify();
  EXPECT_TRUE(env_->FileExists(base::JoinPath(block->dir(), "chunks/000002")));

  std::mt19937_64 rng(99);
  std::vector<std::vector<labels::Matcher>> selectors = {
      {Eq("__name__", "m1")},
      {Eq("a", "a3")},
      {M(labels::MatchType::kRegexMatch, "__name__", "m[12]"), Eq("b", "")},
      {M(labels::MatchType::kRegexMatch, "a", ".+"), M(labels::MatchType::kNotEqual, "b", "b2")},
      {Eq("__name__", "m4"), M(labels::MatchType::kRegexNoMatch, "a", "a[0-4]")},
      {Eq("__name__", "nope")},
  };
  for (int round = 0; round < 30; ++round) {
    int64_t mint = kT0 - 1000 + static_cast<int64_t>(rng() % (kRange + 2000));
    int64_t maxt = mint + static_cast<int64_t>(rng() % (kRange / 3));
    if (round == 0) mint = kMinTime, maxt = kMaxTime;
    auto q = block->NewQuerier(mint, maxt);
    for (const auto& sel : selectors) {
      SeriesMap want;
      for (const auto& [l, s] : data) {
        bool match = true;
        for (const auto& m : sel) match &= m.Matches(l.Get(m.name()));
        if (!match) continue;
        Samples in;
        for (const auto& p : s) {
          if (p.first >= mint && p.first <= maxt) in.push_back(p);
        }
        if (!in.empty()) want.emplace(l, std::move(in));
      }
      auto set = q->Select(sel);
      auto it = want.begin();
      while (set->Next()) {
        ASSERT_NE(it, want.end()) << "extra series " << set->At().Labels().ToString();
        EXPECT_EQ(set->At().Labels(), it->first);
        EXPECT_TRUE(SameBits(Drain(set->At()), it->second)) << it->first.ToString();
        ++it;
      }
      ASSERT_TRUE(set->Err().ok()) << set->Err();
      EXPECT_EQ(it, want.end()) << "round " << round << ": missing series";
      // The labels-only select decides from chunk metadata where it can: same series.
      auto labels_set = q->SelectLabels(sel);
      it = want.begin();
      while (labels_set->Next()) {
        ASSERT_NE(it, want.end()) << "extra series " << labels_set->At().Labels().ToString();
        EXPECT_EQ(labels_set->At().Labels(), it->first);
        ++it;
      }
      ASSERT_TRUE(labels_set->Err().ok()) << labels_set->Err();
      EXPECT_EQ(it, want.end()) << "round " << round << ": SelectLabels missed series";
    }
  }
}

TEST_F(BlockTest, ChunkSeriesReturnsEveryChunkInLabelOrder) {
  SeriesMap data = RandomSeries(2, 100);
  MapChunkSeriesSet input(data);
  std::vector<std::pair<labels::Labels, std::vector<std::string>>> want;
  for (const auto& [l, s] : data) {
    std::vector<std::string> bytes;
    for (const auto& c : testing::MakeChunks(s)) bytes.emplace_back(c.bytes);
    want.emplace_back(l, std::move(bytes));
  }
  auto block = WriteAndOpen(data);
  ASSERT_NE(block, nullptr);
  auto cs = block->ChunkSeries();
  size_t i = 0;
  while (cs->Next()) {
    ASSERT_LT(i, want.size());
    EXPECT_EQ(cs->Labels(), want[i].first);
    auto chunks = cs->Chunks();
    ASSERT_EQ(chunks.size(), want[i].second.size());
    for (size_t j = 0; j < chunks.size(); ++j) EXPECT_EQ(chunks[j].bytes, want[i].second[j]);
    ++i;
  }
  EXPECT_TRUE(cs->Err().ok());
  EXPECT_EQ(i, want.size());
  EXPECT_EQ(block->meta().num_chunks, [&] {
    size_t n = 0;
    for (const auto& w : want) n += w.second.size();
    return n;
  }());
}

TEST_F(BlockTest, ConsecutiveSeriesShareADecompressedPage) {
  SeriesMap data = RandomSeries(3, 20);
  auto block = WriteAndOpen(data);
  ASSERT_NE(block, nullptr);
  auto q = block->NewQuerier(kMinTime, kMaxTime);
  auto set = q->Select(std::vector<labels::Matcher>{M(labels::MatchType::kRegexMatch, "a", ".+")});
  std::set<const void*> owners;
  int n = 0;
  while (set->Next()) {
    for (const auto& c : static_cast<const series::ChunkListSeries&>(set->At()).chunks()) {
      owners.insert(c.owner.get());
    }
    ++n;
  }
  EXPECT_EQ(n, 20);
  EXPECT_LT(owners.size(), 10u);
}

TEST_F(BlockTest, ConcurrentQueriersShareThePageCacheSafely) {
  SeriesMap data = RandomSeries(8, 200);
  auto block = WriteAndOpen(data, WriteOptions{.zstd_level = 5, .page_target_bytes = 4096});
  ASSERT_NE(block, nullptr);
  auto all = std::vector<labels::Matcher>{M(labels::MatchType::kRegexMatch, "a", ".+")};
  auto count = [&](int64_t mint, int64_t maxt) {
    size_t n = 0;
    auto set = block->NewQuerier(mint, maxt)->Select(all);
    while (set->Next()) n += Drain(set->At()).size();
    EXPECT_TRUE(set->Err().ok());
    return n;
  };
  std::vector<size_t> want;
  for (int i = 0; i < 4; ++i) want.push_back(count(kT0 + i * kRange / 4, kT0 + (i + 1) * kRange / 4));
  std::vector<std::thread> threads;
  std::vector<size_t> got(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 5; ++rep) {
        got[i] = count(kT0 + i * kRange / 4, kT0 + (i + 1) * kRange / 4);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(got, want);
}

TEST_F(BlockTest, LabelNamesAndValues) {
  SeriesMap data;
  data[labels::Labels{{"__name__", "up"}, {"job", "a"}}] = {{kT0, 1}};
  data[labels::Labels{{"__name__", "up"}, {"job", "b"}, {"zone", "z1"}}] = {{kT0 + 10, 1}};
  data[labels::Labels{{"__name__", "rps"}, {"job", "b"}}] = {{kT0 + 20, 5}};
  auto block = WriteAndOpen(data);
  ASSERT_NE(block, nullptr);
  auto q = block->NewQuerier(kMinTime, kMaxTime);
  EXPECT_THAT(*q->LabelNames({}), ElementsAre("__name__", "job", "zone"));
  EXPECT_THAT(*q->LabelValues("job", {}), ElementsAre("a", "b"));
  std::vector<labels::Matcher> rps = {Eq("__name__", "rps")};
  EXPECT_THAT(*q->LabelNames(rps), ElementsAre("__name__", "job"));
  EXPECT_THAT(*q->LabelValues("job", std::vector<labels::Matcher>{Eq("zone", "z1")}),
              ElementsAre("b"));
  EXPECT_THAT(*q->LabelValues("__name__", std::vector<labels::Matcher>{Eq("job", "b")}),
              ElementsAre("rps", "up"));
  // A range outside the block sees nothing.
  auto outside = block->NewQuerier(kT0 + kRange, kT0 + 2 * kRange);
  EXPECT_TRUE(outside->LabelNames({})->empty());
  auto set = outside->Select(rps);
  EXPECT_FALSE(set->Next());
  // Prometheus' rule: some matcher must not match "".
  auto bad = q->Select(std::vector<labels::Matcher>{Eq("job", "")});
  EXPECT_FALSE(bad->Next());
  EXPECT_EQ(bad->Err().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(BlockTest, ChunkSpanningTheRangeWithoutSamplesInItIsSkipped) {
  SeriesMap data;
  data[labels::Labels{{"__name__", "x"}}] = {{kT0, 1}, {kT0 + 1000, 2}};
  auto block = WriteAndOpen(data);
  ASSERT_NE(block, nullptr);
  std::vector<labels::Matcher> sel = {Eq("__name__", "x")};
  EXPECT_FALSE(block->NewQuerier(kT0 + 1, kT0 + 999)->Select(sel)->Next());
  EXPECT_TRUE(block->NewQuerier(kT0 + 1, kT0 + 1000)->Select(sel)->Next());
  // Chunk metadata alone cannot tell here; SelectLabels reads the chunk.
  EXPECT_FALSE(block->NewQuerier(kT0 + 1, kT0 + 999)->SelectLabels(sel)->Next());
  EXPECT_TRUE(block->NewQuerier(kT0 + 1, kT0 + 1000)->SelectLabels(sel)->Next());
  EXPECT_TRUE(block->NewQuerier(kT0, kT0 + 1)->SelectLabels(sel)->Next());
  EXPECT_FALSE(block->NewQuerier(kT0 + 1001, kT0 + 5000)->SelectLabels(sel)->Next());
}

TEST_F(BlockTest, MarkDeletedRemovesTheDirWhenTheLastPinGoes) {
  auto block = WriteAndOpen(RandomSeries(4, 10));
  ASSERT_NE(block, nullptr);
  std::string dir = block->dir();
  auto q = block->NewQuerier(kMinTime, kMaxTime);
  auto cs = block->ChunkSeries();
  block->MarkDeleted();
  block.reset();
  EXPECT_TRUE(env_->IsDirectory(dir));
  auto set = q->Select(std::vector<labels::Matcher>{M(labels::MatchType::kRegexMatch, "a", ".+")});
  int n = 0;
  while (set->Next()) n += !Drain(set->At()).empty();
  EXPECT_EQ(n, 10);
  q.reset();
  set.reset();
  EXPECT_TRUE(env_->IsDirectory(dir));
  ASSERT_TRUE(cs->Next());
  cs.reset();
  EXPECT_FALSE(env_->FileExists(dir));
  EXPECT_TRUE(Children().empty());
}

TEST_F(BlockTest, EmptySetWritesNothing) {
  MapChunkSeriesSet set(SeriesMap{});
  auto meta = WriteBlock(env_, dir_, set, Meta());
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->num_series, 0u);
  EXPECT_TRUE(Children().empty());
}

TEST_F(BlockTest, ChunkOutsideTheRangeIsInvalidArgument) {
  SeriesMap data;
  data[labels::Labels{{"__name__", "x"}}] = {{kT0, 1}};
  data[labels::Labels{{"__name__", "y"}}] = {{kT0 + kRange, 1}};  // max is exclusive
  MapChunkSeriesSet set(data);
  auto meta = WriteBlock(env_, dir_, set, Meta());
  EXPECT_EQ(meta.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(meta.status().message(), HasSubstr("outside the block range"));
  EXPECT_TRUE(Children().empty());
}

TEST_F(BlockTest, SyncedBlockSurvivesPowerLoss) {
  base::FaultInjectionEnv fenv(env_);
  SeriesMap data = RandomSeries(5, 50);
  MapChunkSeriesSet set(data);
  auto meta = WriteBlock(&fenv, dir_, set, Meta());
  ASSERT_TRUE(meta.ok());
  ASSERT_TRUE(fenv.DropUnsyncedData().ok());
  auto b = Block::Open(env_, base::JoinPath(dir_, meta->ulid));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE((*b)->Verify().ok());
}

// Fails the Nth operation of each kind, for every N until the write succeeds: every failure
// returns the injected error and leaves the parent dir exactly as it was (no block, no tmp dir).
TEST_F(BlockTest, FailureAtEveryStepLeavesNothingBehind) {
  SeriesMap data = RandomSeries(6, 60);
  WriteOptions opts{.zstd_level = 5, .page_target_bytes = 2048, .segment_target_bytes = 16384};
  for (auto [op, sticky] : std::vector<std::pair<base::FaultOp, bool>>{
           {base::FaultOp::kAppend, false}, {base::FaultOp::kSync, false},
           {base::FaultOp::kRename, false}, {base::FaultOp::kCreate, false},
           {base::FaultOp::kAppend, true}, {base::FaultOp::kSync, true},
           {base::FaultOp::kRename, true}, {base::FaultOp::kCreate, true}}) {
    int failures = 0;
    for (int nth = 1;; ++nth) {
      ASSERT_LT(nth, 10000);
      base::FaultInjectionEnv fenv(env_);
      fenv.FailNth(op, nth, absl::ResourceExhaustedError("no space left on device"), sticky);
      MapChunkSeriesSet set(data);
      BlockMeta m = Meta();
      auto meta = WriteBlock(&fenv, dir_, set, m, opts);
      if (meta.ok()) {
        EXPECT_EQ(Children(), std::vector<std::string>{m.ulid});
        auto b = Block::Open(env_, base::JoinPath(dir_, m.ulid));
        ASSERT_TRUE(b.ok()) << b.status();
        EXPECT_TRUE((*b)->Verify().ok());
        ASSERT_TRUE(env_->RemoveDirRecursive(base::JoinPath(dir_, m.ulid)).ok());
        break;
      }
      ++failures;
      EXPECT_EQ(meta.status().code(), absl::StatusCode::kResourceExhausted)
          << "op " << static_cast<int>(op) << " nth " << nth << ": " << meta.status();
      EXPECT_TRUE(Children().empty()) << "op " << static_cast<int>(op) << " nth " << nth << ": "
                                      << ::testing::PrintToString(Children());
    }
    EXPECT_GT(failures, 0) << static_cast<int>(op);
    if (op == base::FaultOp::kSync) {
      EXPECT_GE(failures, 5);  // segments, index, meta, dirs
    }
  }
}

class CorruptionTest : public BlockTest {
 protected:
  void SetUp() override {
    BlockTest::SetUp();
    auto b = WriteAndOpen(RandomSeries(7, 40), WriteOptions{.zstd_level = 5,
                                                            .page_target_bytes = 2048});
    ASSERT_NE(b, nullptr);
    block_dir_ = b->dir();
  }

  // Flips one byte of `file` at `off`, opens (and verifies) the block and restores the byte.
  absl::Status FlipAndCheck(const std::string& file, size_t off) {
    std::string path = base::JoinPath(block_dir_, file);
    std::string good = *env_->ReadFileToString(path);
    std::string bad = good;
    bad[off] ^= 0x5a;
    Rewrite(path, bad);
    absl::Status st;
    {
      auto b = Block::Open(env_, block_dir_);
      st = b.ok() ? (*b)->Verify() : b.status();
    }
    Rewrite(path, good);
    return st;
  }
  void Rewrite(const std::string& path, const std::string& data) {
    ASSERT_TRUE(env_->RemoveFile(path).ok());
    auto f = env_->NewWritableFile(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(data).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }

  std::string block_dir_;
};

TEST_F(CorruptionTest, EveryChunkByteFlipIsDetected) {
  std::string file = "chunks/000001";
  size_t size = *env_->FileSize(base::JoinPath(block_dir_, file));
  for (size_t off = 0; off < size; off += 1 + off / 50) {
    absl::Status st = FlipAndCheck(file, off);
    ASSERT_EQ(st.code(), absl::StatusCode::kDataLoss) << off << ": " << st;
    EXPECT_THAT(st.message(), HasSubstr("chunks/000001 offset")) << st;
  }
}

TEST_F(CorruptionTest, IndexByteFlipsAreDetected) {
  size_t size = *env_->FileSize(base::JoinPath(block_dir_, "index"));
  for (size_t off = 0; off < size; off += 1 + off / 40) {
    absl::Status st = FlipAndCheck("index", off);
    ASSERT_EQ(st.code(), absl::StatusCode::kDataLoss) << off << ": " << st;
    EXPECT_THAT(st.message(), HasSubstr("index")) << st;
  }
}

TEST_F(CorruptionTest, BadMetaIsDataLossNamingIt) {
  std::string path = base::JoinPath(block_dir_, "meta.json");
  std::string good = *env_->ReadFileToString(path);
  for (std::string bad : {good.substr(0, good.size() / 2), std::string("not json"),
                          std::string("{}")}) {
    Rewrite(path, bad);
    auto b = Block::Open(env_, block_dir_);
    ASSERT_EQ(b.status().code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_THAT(b.status().message(), HasSubstr("meta.json"));
  }
  // A meta whose series count disagrees with the index.
  std::string lie = good;
  size_t pos = lie.find("\"numSeries\": ") + 13;
  lie.replace(pos, 2, "99");
  Rewrite(path, lie);
  EXPECT_EQ(Block::Open(env_, block_dir_).status().code(), absl::StatusCode::kDataLoss);
  Rewrite(path, good);
  ASSERT_TRUE(env_->RemoveFile(base::JoinPath(block_dir_, "index")).ok());
  auto b = Block::Open(env_, block_dir_);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(b.status().message(), HasSubstr("index"));
}

}  // namespace
}  // namespace xscaler::storage::block
