#include "storage/compact/compact.h"

#include <stdlib.h>

#include <map>
#include <random>

#include "base/env.h"
#include "base/fault_env.h"
#include "gtest/gtest.h"
#include "storage/merge/merge.h"
#include "storage/merge/test_util.h"

namespace xscaler::storage::compact {
namespace {

using merge::testing::DecodeChunks;
using merge::testing::EncodeChunks;
using merge::testing::Samples;
using merge::testing::VectorChunkSeriesSet;
using Data = std::map<labels::Labels, Samples>;

labels::Labels Series(int i) {
  std::string id = std::to_string(i);
  return labels::Labels{{"__name__", "up"}, {"i", std::string(3 - id.size(), '0') + id}};
}

class CompactTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/compacttest.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)env_->RemoveDirRecursive(dir_); }

  // Writes a level-1 block over [min_t, max_t) holding `data` and opens it.
  std::shared_ptr<block::Block> MakeBlock(const Data& data, int64_t min_t, int64_t max_t,
                                          size_t per_chunk = 120) {
    std::vector<VectorChunkSeriesSet::Entry> entries;
    for (const auto& [lset, samples] : data)
      entries.emplace_back(lset, EncodeChunks(samples, per_chunk));
    VectorChunkSeriesSet set(std::move(entries));
    block::BlockMeta meta;
    meta.ulid = block::NewUlid(1700000000000 + (seq_++));
    meta.min_time = min_t;
    meta.max_time = max_t;
    meta.sources = {meta.ulid};
    auto written = block::WriteBlock(env_, dir_, set, meta);
    EXPECT_TRUE(written.ok()) << written.status();
    auto b = block::Block::Open(env_, base::JoinPath(dir_, meta.ulid));
    EXPECT_TRUE(b.ok()) << b.status();
    return b.ok() ? *b : nullptr;
  }

  static Data ReadChunks(block::Block& b) {
    Data out;
    auto set = b.ChunkSeries();
    while (set->Next()) {
      auto chunks = set->Chunks();
      for (size_t i = 1; i < chunks.size(); ++i) {
        EXPECT_LT(chunks[i - 1].max_t, chunks[i].min_t) << "overlapping chunks in output";
      }
      absl::Status st;
      out[set->Labels()] = DecodeChunks(chunks, &st);
      EXPECT_TRUE(st.ok()) << st;
    }
    EXPECT_TRUE(set->Err().ok()) << set->Err();
    return out;
  }

  std::vector<std::string> BlockDirs() {
    auto names = env_->GetChildren(dir_);
    EXPECT_TRUE(names.ok());
    std::vector<std::string> out = names.ok() ? *names : std::vector<std::string>{};
    std::sort(out.begin(), out.end());
    return out;
  }

  base::Env* env_ = base::Env::Default();
  std::string dir_;
  int seq_ = 0;
};

// Three adjacent 2h-like blocks (and series that come and go between them) compact into one
// block holding exactly the union.
TEST_F(CompactTest, ThreeAdjacentBlocksIntoOne) {
  const int64_t r = 7200;
  std::mt19937 rng(7);
  std::vector<Data> parts(3);
  Data want;
  for (int i = 0; i < 50; ++i) {
    for (int b = 0; b < 3; ++b) {
      if ((i + b) % 4 == 0) continue;  // series absent from some blocks
      Samples s;
      for (int64_t t = b * r + (i % 7); t < (b + 1) * r; t += 15 + (rng() % 3)) {
        s.emplace_back(t, static_cast<double>(rng() % 1000) / 10);
      }
      parts[b][Series(i)] = s;
      auto& w = want[Series(i)];
      w.insert(w.end(), s.begin(), s.end());
    }
  }
  std::vector<std::shared_ptr<block::Block>> sources;
  for (int b = 0; b < 3; ++b) sources.push_back(MakeBlock(parts[b], b * r, (b + 1) * r));
  ASSERT_TRUE(sources[0] && sources[1] && sources[2]);

  auto meta = Compact(env_, dir_, sources);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_TRUE(block::IsUlid(meta->ulid));
  EXPECT_EQ(meta->min_time, 0);
  EXPECT_EQ(meta->max_time, 3 * r);
  EXPECT_EQ(meta->level, 2);
  EXPECT_EQ(meta->num_series, want.size());
  uint64_t samples = 0;
  for (const auto& [l, s] : want) samples += s.size();
  EXPECT_EQ(meta->num_samples, samples);
  std::vector<std::string> src_ulids;
  for (const auto& b : sources) src_ulids.push_back(b->meta().ulid);
  EXPECT_EQ(meta->parents, src_ulids);
  std::vector<std::string> sorted_ulids = src_ulids;
  std::sort(sorted_ulids.begin(), sorted_ulids.end());
  EXPECT_EQ(meta->sources, sorted_ulids);

  auto out = block::Block::Open(env_, base::JoinPath(dir_, meta->ulid));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)->meta(), *meta);
  EXPECT_TRUE((*out)->Verify().ok()) << (*out)->Verify();
  EXPECT_EQ(ReadChunks(**out), want);

  // The sources are untouched; the parent dir holds the three sources and the new block only.
  EXPECT_EQ(BlockDirs().size(), 4u);
  for (int b = 0; b < 3; ++b) EXPECT_EQ(ReadChunks(*sources[b]), parts[b]);

  // Through the querier too.
  auto q = (*out)->NewQuerier(kMinTime, kMaxTime);
  auto m = *labels::Matcher::Create(labels::MatchType::kEqual, "__name__", "up");
  auto set = q->Select(std::span(&m, 1));
  size_t n = 0;
  while (set->Next()) {
    auto it = set->At().Iterator();
    Samples got;
    while (it->Next()) got.push_back(it->At());
    EXPECT_EQ(got, want.at(set->At().Labels()));
    ++n;
  }
  EXPECT_TRUE(set->Err().ok()) << set->Err();
  EXPECT_EQ(n, want.size());
}

// Overlapping blocks (vertical compaction): duplicates are dropped, the oldest block's value
// wins, and the result's sources/level follow the inputs (levels 2 and 1 -> 3).
TEST_F(CompactTest, OverlappingBlocksAreDeduplicated) {
  Data a{{Series(1), {{0, 1}, {10, 1}, {20, 1}}}, {Series(2), {{5, 1}}}};
  Data b{{Series(1), {{10, 2}, {15, 2}, {30, 2}}}, {Series(3), {{40, 2}}}};
  Data c{{Series(1), {{100, 3}}}};
  auto ba = MakeBlock(a, 0, 50);
  auto bb = MakeBlock(b, 10, 60);
  auto bc = MakeBlock(c, 100, 120);
  ASSERT_TRUE(ba && bb && bc);
  auto first = Compact(env_, dir_, std::vector<std::shared_ptr<block::Block>>{bb, ba});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->level, 2);
  EXPECT_EQ(first->min_time, 0);
  EXPECT_EQ(first->max_time, 60);
  auto ab = block::Block::Open(env_, base::JoinPath(dir_, first->ulid));
  ASSERT_TRUE(ab.ok()) << ab.status();
  // Passed newest first, still merged oldest (by min time) first: block a wins at t=10.
  Data want{{Series(1), {{0, 1}, {10, 1}, {15, 2}, {20, 1}, {30, 2}}},
            {Series(2), {{5, 1}}},
            {Series(3), {{40, 2}}}};
  EXPECT_EQ(ReadChunks(**ab), want);

  auto second = Compact(env_, dir_, std::vector<std::shared_ptr<block::Block>>{*ab, bc});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->level, 3);
  std::vector<std::string> all{ba->meta().ulid, bb->meta().ulid, bc->meta().ulid};
  std::sort(all.begin(), all.end());
  EXPECT_EQ(second->sources, all);
  EXPECT_EQ(second->parents, (std::vector<std::string>{first->ulid, bc->meta().ulid}));
  auto abc = block::Block::Open(env_, base::JoinPath(dir_, second->ulid));
  ASSERT_TRUE(abc.ok()) << abc.status();
  want[Series(1)].emplace_back(100, 3);
  EXPECT_EQ(ReadChunks(**abc), want);
}

std::map<std::string, Samples> SelectAll(Querier& q) {
  auto m = *labels::Matcher::Create(labels::MatchType::kEqual, "__name__", "up");
  auto set = q.Select(std::span(&m, 1));
  std::map<std::string, Samples> out;
  while (set->Next()) {
    auto it = set->At().Iterator();
    Samples& s = out[set->At().Labels().ToString()];
    while (it->Next()) s.push_back(it->At());
    EXPECT_TRUE(it->Err().ok()) << it->Err();
  }
  EXPECT_TRUE(set->Err().ok()) << set->Err();
  return out;
}

// Property: for random overlapping blocks, the compacted block answers every range query
// exactly like the merge querier over its sources.
TEST_F(CompactTest, CompactedBlockAnswersLikeMergedSources) {
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    std::mt19937 rng(seed);
    std::vector<std::shared_ptr<block::Block>> sources;
    for (int b = 0; b < 3; ++b) {
      int64_t lo = b * 500 + static_cast<int64_t>(rng() % 400);
      int64_t hi = lo + 300 + static_cast<int64_t>(rng() % 900);
      Data d;
      for (int i = 0; i < 30; ++i) {
        if (rng() % 3 == 0) continue;
        Samples s;
        for (int64_t t = lo + static_cast<int64_t>(rng() % 5); t < hi; t += 1 + rng() % 9) {
          s.emplace_back(t, b * 1000 + static_cast<double>(rng() % 100));
        }
        if (!s.empty()) d[Series(i)] = std::move(s);
      }
      sources.push_back(MakeBlock(d, lo, hi, 1 + rng() % 130));
      ASSERT_TRUE(sources.back());
    }
    auto meta = Compact(env_, dir_, sources);
    ASSERT_TRUE(meta.ok()) << meta.status();
    auto out = block::Block::Open(env_, base::JoinPath(dir_, meta->ulid));
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE((*out)->Verify().ok()) << (*out)->Verify();
    // Sources by min time, as Compact orders them.
    std::vector<std::shared_ptr<block::Block>> ordered = sources;
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
      return a->meta().min_time < b->meta().min_time;
    });
    for (int k = 0; k < 10; ++k) {
      int64_t mint = static_cast<int64_t>(rng() % 2500) - 100;
      int64_t maxt = k == 0 ? kMaxTime : mint + static_cast<int64_t>(rng() % 800);
      if (k == 0) mint = kMinTime;
      std::vector<std::unique_ptr<Querier>> qs;
      for (const auto& b : ordered) qs.push_back(b->NewQuerier(mint, maxt));
      auto merged = merge::NewMergeQuerier(std::move(qs));
      auto compacted = (*out)->NewQuerier(mint, maxt);
      auto want = SelectAll(*merged);
      ASSERT_EQ(SelectAll(*compacted), want)
          << "seed " << seed << " [" << mint << "," << maxt << "]";
      if (k == 0) {
        ASSERT_FALSE(want.empty());
      }
    }
  }
}

// Deletions (tombstones) are applied by compaction: the new block no longer holds the deleted
// samples, and has no tombstones of its own.
TEST_F(CompactTest, DeletionsAreApplied) {
  Data d;
  for (int i = 0; i < 4; ++i) {
    for (int64_t t = 0; t < 1000; t += 10) d[Series(i)].emplace_back(t, t);
  }
  auto b = MakeBlock(d, 0, 1000);
  ASSERT_TRUE(b);
  auto m = *labels::Matcher::Create(labels::MatchType::kEqual, "i", "001");
  ASSERT_TRUE(b->Delete(std::span(&m, 1), 100, 499).ok());
  auto all = *labels::Matcher::Create(labels::MatchType::kEqual, "i", "003");
  ASSERT_TRUE(b->Delete(std::span(&all, 1), kMinTime, kMaxTime).ok());
  BlockInfo info = InfoOf(*b);
  EXPECT_EQ(info.num_series, 4u);
  EXPECT_EQ(info.num_tombstones, 2u);

  auto meta = Compact(env_, dir_, std::vector<std::shared_ptr<block::Block>>{b});
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->num_series, 3u);
  auto out = block::Block::Open(env_, base::JoinPath(dir_, meta->ulid));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(InfoOf(**out).num_tombstones, 0u);
  Data want = d;
  want.erase(Series(3));
  std::erase_if(want[Series(1)], [](const auto& s) { return s.first >= 100 && s.first <= 499; });
  EXPECT_EQ(ReadChunks(**out), want);
}

TEST_F(CompactTest, NoSourcesIsInvalidArgument) {
  auto meta = Compact(env_, dir_, {});
  EXPECT_EQ(meta.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CompactTest, InfoOfDescribesTheBlock) {
  auto b = MakeBlock(Data{{Series(1), {{1, 1}}}}, 0, 10);
  ASSERT_TRUE(b);
  BlockInfo info = InfoOf(*b);
  EXPECT_EQ(info.ulid, b->meta().ulid);
  EXPECT_EQ(info.min_time, 0);
  EXPECT_EQ(info.max_time, 10);
  EXPECT_EQ(info.level, 1);
  EXPECT_EQ(info.size_bytes, b->SizeBytes());
  EXPECT_GT(info.size_bytes, 0u);
}

// A full disk at any append or a failing sync/rename during the compaction leaves no new
// directory behind (not even the temp one) and the sources readable.
TEST_F(CompactTest, FailuresLeaveNothingBehind) {
  Data a, b;
  for (int i = 0; i < 20; ++i) {
    for (int64_t t = 0; t < 2000; t += 10) a[Series(i)].emplace_back(t, t);
    for (int64_t t = 2000; t < 4000; t += 10) b[Series(i)].emplace_back(t, t);
  }
  auto ba = MakeBlock(a, 0, 2000);
  auto bb = MakeBlock(b, 2000, 4000);
  ASSERT_TRUE(ba && bb);
  const std::vector<std::string> before = BlockDirs();
  base::FaultInjectionEnv fenv(env_);
  for (base::FaultOp op : {base::FaultOp::kAppend, base::FaultOp::kSync, base::FaultOp::kRename,
                           base::FaultOp::kCreate}) {
    int failures = 0;
    for (int nth = 1; nth <= 30; ++nth) {
      fenv.ClearFaults();
      int64_t count_before = fenv.Count(op);
      fenv.FailNth(op, nth, absl::ResourceExhaustedError("no space left on device"), true);
      auto meta = Compact(&fenv, dir_, std::vector<std::shared_ptr<block::Block>>{ba, bb});
      fenv.ClearFaults();
      int64_t used = fenv.Count(op) - count_before;
      if (meta.ok()) {
        // The fault was never reached: the compaction needs fewer than nth such operations.
        ASSERT_LT(used, nth) << "op " << static_cast<int>(op) << " nth " << nth;
        ASSERT_TRUE(env_->RemoveDirRecursive(base::JoinPath(dir_, meta->ulid)).ok());
        break;
      }
      ++failures;
      EXPECT_EQ(meta.status().code(), absl::StatusCode::kResourceExhausted) << meta.status();
      EXPECT_EQ(BlockDirs(), before) << "op " << static_cast<int>(op) << " nth " << nth;
    }
    EXPECT_GT(failures, 0) << "op " << static_cast<int>(op) << " never failed a compaction";
  }
  EXPECT_EQ(ReadChunks(*ba), a);
  EXPECT_EQ(ReadChunks(*bb), b);
}

}  // namespace
}  // namespace xscaler::storage::compact
