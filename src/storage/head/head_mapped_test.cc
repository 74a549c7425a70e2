// Full head chunks on disk (Head::EnableChunkMapper): a head with a chunk mapper behaves
// exactly like one keeping every chunk on the heap (appends, out-of-order duplicates against
// mapped chunks, queries, ChunkSeries, Truncate, replay), holds less memory, survives failed
// writes (chunks stay on the heap and are written later) and reports read errors.

#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/chunk/xor.h"
#include "storage/head/head.h"
#include "storage/head/replay.h"
#include "storage/head/test_util.h"
#include "storage/wal/wal.h"

namespace xscaler::storage::head {
namespace {

using labels::Labels;
using ::testing::HasSubstr;
using namespace xscaler::storage::testing;

class HeadStorage final : public Storage {
 public:
  explicit HeadStorage(Head* h) : head(h) {}
  std::unique_ptr<Appender> NewAppender() override { return head->NewAppender(); }
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    return head->NewQuerier(mint, maxt);
  }
  std::map<std::string, MetricMetadata> Metadata() const override { return head->Metadata(); }
  Head* head;
};

HeadOptions Opts() {
  HeadOptions o;
  o.chunk.chunk_range_ms = 3600 * 1000;
  o.chunk.max_samples = 30;
  o.max_future_ms = 0;
  o.stripes = 16;
  o.ooo_window_ms = 20 * 60 * 1000;
  return o;
}

Labels L(int i) { return Labels{{"__name__", "m"}, {"i", absl::StrCat(i)}}; }

absl::Status AppendOne(Head& h, int64_t t, double v) {
  auto app = h.NewAppender();
  if (auto r = app->Append(0, L(0), t, v); !r.ok()) return r.status();
  return app->Commit();
}

std::map<std::string, Samples> DecodeSet(series::ChunkSeriesSet& set) {
  std::map<std::string, Samples> out;
  while (set.Next()) {
    Samples& s = out[set.Labels().ToString()];
    int64_t last = kMinTime;
    for (const auto& c : set.Chunks()) {
      EXPECT_GT(c.min_t, last);
      last = c.max_t;
      chunk::XorDecoder d(c.bytes);
      while (d.Next()) s.emplace_back(d.t(), d.v());
      EXPECT_TRUE(d.status().ok());
    }
  }
  EXPECT_TRUE(set.Err().ok()) << set.Err();
  return out;
}

class HeadMappedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/headmapped.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { (void)base::Env::Default()->RemoveDirRecursive(root_); }

  size_t FilesIn(const std::string& dir) {
    auto c = base::Env::Default()->GetChildren(dir);
    return c.ok() ? c->size() : 0;
  }

  std::string root_;
};

// The same random operations on a heap-only head and a mapped head give the same answers.
TEST_F(HeadMappedTest, BehavesLikeTheHeapOnlyHead) {
  Head heap(Opts()), mapped(Opts());
  const std::string dir = root_ + "/chunks_head";
  ASSERT_TRUE(mapped.EnableChunkMapper(base::Env::Default(), dir,
                                       ChunkMapperOptions{.max_file_size = 8 << 10})
                  .ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(mapped.EnableChunkMapper(base::Env::Default(), dir)));
  HeadStorage hs(&heap), ms(&mapped);
  std::mt19937_64 rng(5);
  std::vector<int64_t> newest(40, 0);
  for (int round = 0; round < 300; ++round) {
    auto a1 = heap.NewAppender();
    auto a2 = mapped.NewAppender();
    for (int k = 0; k < 60; ++k) {
      const int i = static_cast<int>(rng() % newest.size());
      int64_t t;
      if (rng() % 5 == 0 && newest[i] > 0) {
        t = newest[i] - static_cast<int64_t>(rng() % (25 * 60 * 1000));  // ooo, dup or too old
      } else {
        t = newest[i] + 1000 + static_cast<int64_t>(rng() % 30000);
      }
      const double v = static_cast<double>(t % 7 == 0 ? 1 : rng() % 3);
      auto r1 = a1->Append(0, L(i), t, v);
      auto r2 = a2->Append(0, L(i), t, v);
      ASSERT_EQ(r1.status().code(), r2.status().code()) << r1.status() << " vs " << r2.status();
      if (r1.ok()) newest[i] = std::max(newest[i], t);
    }
    ASSERT_TRUE(a1->Commit().ok());
    ASSERT_TRUE(a2->Commit().ok());
  }
  const HeadStats s1 = heap.Stats(), s2 = mapped.Stats();
  EXPECT_EQ(s1.num_samples, s2.num_samples);
  EXPECT_EQ(s1.num_chunks, s2.num_chunks);
  EXPECT_EQ(s1.ooo_samples, s2.ooo_samples);
  EXPECT_GT(s2.ooo_samples, 100u);
  EXPECT_EQ(s2.chunk_write_failures, 0u);
  EXPECT_GT(FilesIn(dir), 3u);
  const std::vector<labels::Matcher> all = {Eq("__name__", "m")};
  EXPECT_EQ(ReadMap(ms, all), ReadMap(hs, all));
  const int64_t max_t = s1.max_time;
  for (int q = 0; q < 20; ++q) {
    const int64_t a = static_cast<int64_t>(rng() % static_cast<uint64_t>(max_t));
    const int64_t b = a + static_cast<int64_t>(rng() % 3600000);
    EXPECT_EQ(ReadMap(ms, all, a, b), ReadMap(hs, all, a, b));
    auto c1 = heap.ChunkSeries(a, b), c2 = mapped.ChunkSeries(a, b);
    EXPECT_EQ(DecodeSet(*c2), DecodeSet(*c1));
  }
  // Full chunks left the heap: each costs 24 bytes instead of its bytes plus a shared string.
  EXPECT_LT(mapped.MemoryBytes() * 2, heap.MemoryBytes());

  // Truncate drops the same data and removes chunk files that only held dropped chunks.
  const size_t files_before = FilesIn(dir);
  const TruncateStats t1 = heap.Truncate(max_t / 2), t2 = mapped.Truncate(max_t / 2);
  EXPECT_EQ(t1.samples_removed, t2.samples_removed);
  EXPECT_EQ(t1.chunks_removed, t2.chunks_removed);
  EXPECT_LT(FilesIn(dir), files_before);
  EXPECT_EQ(ReadMap(ms, all), ReadMap(hs, all));
  auto c1 = heap.ChunkSeries(kMinTime, kMaxTime), c2 = mapped.ChunkSeries(kMinTime, kMaxTime);
  EXPECT_EQ(DecodeSet(*c2), DecodeSet(*c1));
}

// ENOSPC on the chunk files: appends keep working, the chunks stay on the heap, and once space
// returns the next seals write them (oldest first), leaving nothing on the heap.
TEST_F(HeadMappedTest, FailedWritesKeepChunksOnTheHeapAndAreRetried) {
  base::FaultInjectionEnv env(base::Env::Default());
  Head h(Opts());
  ASSERT_TRUE(h.EnableChunkMapper(&env, root_ + "/chunks_head").ok());
  HeadStorage hs(&h);
  Samples want;
  int64_t t = 0;
  auto append = [&](int n) {
    for (int k = 0; k < n; ++k) {
      t += 15000;
      ASSERT_TRUE(AppendOne(h, t, static_cast<double>(k)).ok());
      want.emplace_back(t, static_cast<double>(k));
    }
  };
  append(100);  // 3 sealed chunks, mapped
  const size_t mem_ok = h.MemoryBytes();
  env.SetDiskFull(true);
  append(150);  // 5 more seals: all fail
  EXPECT_EQ(h.Stats().chunk_write_failures, 5u);
  EXPECT_EQ(ReadMap(hs, {Eq("__name__", "m")})[L(0).ToString()], want);
  const size_t mem_failing = h.MemoryBytes();
  EXPECT_GT(mem_failing, mem_ok + 5 * 100);
  ASSERT_NE(h.GetByRef(1), nullptr);
  EXPECT_EQ(h.GetByRef(1)->num_mapped_chunks(), 3u);
  EXPECT_EQ(h.GetByRef(1)->num_chunks(), 9u);
  env.SetDiskFull(false);
  append(30);  // one seal: writes the 5 waiting chunks, then the new one
  EXPECT_EQ(h.Stats().chunk_write_failures, 5u);
  EXPECT_EQ(ReadMap(hs, {Eq("__name__", "m")})[L(0).ToString()], want);
  EXPECT_EQ(h.GetByRef(1)->num_mapped_chunks(), 9u);  // 3 + 5 retried + 1 new
  EXPECT_LT(h.MemoryBytes() + 5 * 100, mem_failing);
  auto set = h.ChunkSeries(kMinTime, kMaxTime);
  EXPECT_EQ(DecodeSet(*set)[L(0).ToString()], want);
}

// A chunk file damaged under the head: queries and ChunkSeries report DataLoss naming the file
// instead of returning wrong data.
TEST_F(HeadMappedTest, ReadErrorsReachTheReader) {
  Head h(Opts());
  const std::string dir = root_ + "/chunks_head";
  ASSERT_TRUE(h.EnableChunkMapper(base::Env::Default(), dir).ok());
  HeadStorage hs(&h);
  for (int k = 1; k <= 100; ++k) ASSERT_TRUE(AppendOne(h, k * 15000, k).ok());
  ASSERT_EQ(FilesIn(dir), 1u);
  {
    std::fstream f(dir + "/000001", std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekp(8 + 28 + 5);  // inside the first chunk's bytes
    f.put('\x55');
  }
  auto q = h.NewQuerier(kMinTime, kMaxTime);
  auto set = q->Select(std::vector<labels::Matcher>{Eq("__name__", "m")});
  EXPECT_FALSE(set->Next());
  EXPECT_TRUE(absl::IsDataLoss(set->Err())) << set->Err();
  EXPECT_THAT(set->Err().message(), HasSubstr("000001"));
  auto cs = h.ChunkSeries(kMinTime, kMaxTime);
  EXPECT_FALSE(cs->Next());
  EXPECT_TRUE(absl::IsDataLoss(cs->Err())) << cs->Err();
  // A range after the damaged chunk still reads.
  EXPECT_EQ(ReadMap(hs, {Eq("__name__", "m")}, 40 * 15000, kMaxTime)[L(0).ToString()].size(),
            61u);
}

// Replay into a mapped head (which starts with an empty chunk dir) equals the live head.
TEST_F(HeadMappedTest, ReplayRewritesChunks) {
  const std::string wal_dir = root_ + "/wal";
  Head live(Opts());
  ASSERT_TRUE(live.EnableChunkMapper(base::Env::Default(), root_ + "/live_chunks").ok());
  auto w = wal::Writer::Open(base::Env::Default(), wal_dir, wal::WriterOptions{.sync = false});
  ASSERT_TRUE(w.ok());
  live.SetWal(w->get());
  std::mt19937_64 rng(9);
  for (int r = 0; r < 200; ++r) {
    auto app = live.NewAppender();
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(app->Append(0, L(i), int64_t{r} * 15000, r).ok());
      (void)app->Append(0, L(i), int64_t{r} * 15000 - 1000 * static_cast<int64_t>(rng() % 600),
                        1);
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  ASSERT_TRUE((*w)->Close().ok());
  Head replayed(Opts());
  // Leftovers of an earlier process are removed: the WAL is the durable copy.
  ASSERT_TRUE(base::Env::Default()->CreateDir(root_ + "/chunks").ok());
  { std::ofstream(root_ + "/chunks/000007") << "stale"; }
  ASSERT_TRUE(replayed.EnableChunkMapper(base::Env::Default(), root_ + "/chunks").ok());
  EXPECT_FALSE(base::Env::Default()->FileExists(root_ + "/chunks/000007"));
  ASSERT_TRUE(ReplayWal(base::Env::Default(), wal_dir, &replayed, ReplayOptions{2}).ok());
  auto c1 = live.ChunkSeries(kMinTime, kMaxTime), c2 = replayed.ChunkSeries(kMinTime, kMaxTime);
  const auto want = DecodeSet(*c1);
  ASSERT_EQ(want.size(), 30u);
  EXPECT_EQ(DecodeSet(*c2), want);
  EXPECT_EQ(replayed.Stats().num_chunks, live.Stats().num_chunks);
  EXPECT_GT(FilesIn(root_ + "/chunks"), 0u);
}

// Appends (sealing chunks), queries (reading them) and truncations at once.
TEST_F(HeadMappedTest, ConcurrentAppendQueryTruncate) {
  Head h(Opts());
  ASSERT_TRUE(h.EnableChunkMapper(base::Env::Default(), root_ + "/chunks_head",
                                  ChunkMapperOptions{.max_file_size = 16 << 10})
                  .ok());
  std::atomic<bool> stop{false};
  std::atomic<int64_t> progress{0};
  std::thread writer([&] {
    for (int r = 1; r <= 2000; ++r) {
      auto app = h.NewAppender();
      for (int i = 0; i < 20; ++i) (void)app->Append(0, L(i), int64_t{r} * 1000, r);
      ASSERT_TRUE(app->Commit().ok());
      progress = r;
    }
    stop = true;
  });
  std::thread truncator([&] {
    while (!stop.load()) {
      h.Truncate(std::max<int64_t>(0, progress.load() - 300) * 1000);
      std::this_thread::yield();
    }
  });
  while (!stop.load()) {
    auto q = h.NewQuerier(kMinTime, kMaxTime);
    auto set = q->Select(std::vector<labels::Matcher>{Eq("__name__", "m")});
    while (set->Next()) {
      auto it = set->At().Iterator();
      int64_t last = kMinTime;
      while (it->Next()) {
        ASSERT_GT(it->At().first, last);
        ASSERT_EQ(it->At().second, static_cast<double>(it->At().first / 1000));
        last = it->At().first;
      }
      ASSERT_TRUE(it->Err().ok()) << it->Err();
    }
    ASSERT_TRUE(set->Err().ok()) << set->Err();
  }
  writer.join();
  truncator.join();
  EXPECT_EQ(h.Stats().chunk_write_failures, 0u);
  // ~130 KiB of chunks were written in 16 KiB files; truncation removed all but the newest.
  EXPECT_LE(h.chunk_store()->mapper().NumFiles(), 4u);
}

}  // namespace
}  // namespace xscaler::storage::head
