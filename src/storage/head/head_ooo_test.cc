// Out-of-order samples in the head: the accept/reject rules of the window, duplicate
// detection against committed and staged samples, query and ChunkSeries merges compared with a
// reference model, WAL replay and checkpoints, truncation, and concurrent in-order +
// out-of-order appends.

#include <stdlib.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/chunk/xor.h"
#include "storage/head/head.h"
#include "storage/head/ooo_merge.h"
#include "storage/head/replay.h"
#include "storage/head/test_util.h"
#include "storage/wal/checkpoint.h"
#include "storage/wal/record.h"
#include "storage/wal/wal.h"

namespace xscaler::storage::head {
namespace {

using labels::Labels;
using ::testing::HasSubstr;
using namespace xscaler::storage::testing;

constexpr int64_t kMin = 60 * 1000;

class HeadStorage final : public Storage {
 public:
  explicit HeadStorage(HeadOptions opts) : head(opts) {}
  std::unique_ptr<Appender> NewAppender() override { return head.NewAppender(); }
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    return head.NewQuerier(mint, maxt);
  }
  std::map<std::string, MetricMetadata> Metadata() const override { return head.Metadata(); }
  Head head;
};

HeadOptions Opts(int64_t window) {
  HeadOptions o;
  o.chunk.chunk_range_ms = 3600 * 1000;
  o.chunk.max_samples = 20;
  o.max_future_ms = 0;
  o.stripes = 16;
  o.ooo_window_ms = window;
  return o;
}

Labels L(const std::string& name, int i = 0) {
  return Labels{{"__name__", name}, {"i", absl::StrCat(i)}};
}

absl::Status AppendOne(Head& h, const Labels& l, int64_t t, double v) {
  auto app = h.NewAppender();
  auto r = app->Append(0, l, t, v);
  if (!r.ok()) {
    app->Rollback();
    return r.status();
  }
  return app->Commit();
}

// Decodes a ChunkSeriesSet, checking chunk order and bounds.
std::map<std::string, Samples> DecodeSet(series::ChunkSeriesSet& set, int64_t mint,
                                         int64_t maxt) {
  std::map<std::string, Samples> out;
  while (set.Next()) {
    Samples& s = out[set.Labels().ToString()];
    int64_t last_max = kMinTime;
    for (const auto& c : set.Chunks()) {
      EXPECT_GE(c.min_t, mint);
      EXPECT_LT(c.max_t, maxt);
      EXPECT_GT(c.min_t, last_max) << set.Labels().ToString();  // ordered, disjoint
      last_max = c.max_t;
      chunk::XorDecoder d(c.bytes);
      while (d.Next()) s.emplace_back(d.t(), d.v());
      EXPECT_TRUE(d.status().ok());
      EXPECT_EQ(s.back().first, c.max_t);
    }
  }
  EXPECT_TRUE(set.Err().ok()) << set.Err();
  return out;
}

TEST(HeadOooTest, WindowOffRejectsAsBefore) {
  HeadStorage db(Opts(0));
  Head& h = db.head;
  ASSERT_TRUE(AppendOne(h, L("m"), 100 * kMin, 1).ok());
  absl::Status st = AppendOne(h, L("m"), 99 * kMin, 1);
  EXPECT_TRUE(absl::IsOutOfRange(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("older than the series' newest sample"));
  EXPECT_THAT(std::string(st.message()), ::testing::Not(HasSubstr("window")));
  // Turned on live (a per-tenant override), then off again.
  h.SetOooWindow(10 * kMin);
  EXPECT_EQ(h.OooWindow(), 10 * kMin);
  EXPECT_TRUE(AppendOne(h, L("m"), 99 * kMin, 2).ok());
  h.SetOooWindow(0);
  EXPECT_TRUE(absl::IsOutOfRange(AppendOne(h, L("m"), 98 * kMin, 3)));
  h.SetOooWindow(-5);  // negative means off
  EXPECT_EQ(h.OooWindow(), 0);
  EXPECT_EQ(ReadMap(db, {Eq("__name__", "m")})[L("m").ToString()],
            (Samples{{99 * kMin, 2}, {100 * kMin, 1}}));
}

TEST(HeadOooTest, AcceptRejectMatrix) {
  HeadStorage db(Opts(10 * kMin));
  Head& h = db.head;
  const Labels a = L("a"), b = L("b");
  // Series a: in-order samples every minute up to 100 min (several sealed chunks).
  {
    auto app = h.NewAppender();
    for (int i = 50; i <= 100; ++i) ASSERT_TRUE(app->Append(0, a, i * kMin, i).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  // Series b's newest sample is older than the head's max_time (100 min): the window is
  // measured from the head's newest sample, not the series'.
  ASSERT_TRUE(AppendOne(h, b, 95 * kMin, 0).ok());
  EXPECT_EQ(h.MaxTime(), 100 * kMin);

  // Inside the window, between existing samples: accepted.
  EXPECT_TRUE(AppendOne(h, a, 95 * kMin + 30000, -1).ok());
  EXPECT_TRUE(AppendOne(h, b, 91 * kMin, 7).ok());
  // Exactly at the lower bound: accepted; one ms older: rejected, naming the window.
  EXPECT_TRUE(AppendOne(h, b, 90 * kMin, 8).ok());
  absl::Status st = AppendOne(h, b, 90 * kMin - 1, 9);
  EXPECT_TRUE(absl::IsOutOfRange(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("outside the out-of-order window of 10m"));
  EXPECT_TRUE(absl::IsOutOfRange(AppendOne(h, a, 50 * kMin + 30000, 1)));

  // Same timestamp as an in-order sample (sealed chunk, open chunk, newest): equal value is
  // an accepted duplicate, another value AlreadyExists.
  for (int i : {92, 99, 100}) {
    EXPECT_TRUE(AppendOne(h, a, i * kMin, i).ok()) << i;
    st = AppendOne(h, a, i * kMin, i + 0.5);
    EXPECT_TRUE(absl::IsAlreadyExists(st)) << i << " " << st;
  }
  // Same timestamp as an out-of-order sample (buffer).
  EXPECT_TRUE(AppendOne(h, a, 95 * kMin + 30000, -1).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(AppendOne(h, a, 95 * kMin + 30000, -2)));
  // NaN payloads compare by bits.
  EXPECT_TRUE(AppendOne(h, a, 96 * kMin + 1, StaleNaN()).ok());
  EXPECT_TRUE(AppendOne(h, a, 96 * kMin + 1, StaleNaN()).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(AppendOne(h, a, 96 * kMin + 1, std::nan(""))));

  // Within one batch: against staged in-order and staged out-of-order samples.
  {
    auto app = h.NewAppender();
    ASSERT_TRUE(app->Append(0, a, 101 * kMin, 101).ok());
    ASSERT_TRUE(app->Append(0, a, 100 * kMin + 1, 5).ok());  // ooo vs the staged 101
    EXPECT_TRUE(app->Append(0, a, 100 * kMin + 1, 5).ok());  // equal duplicate of staged ooo
    EXPECT_TRUE(absl::IsAlreadyExists(app->Append(0, a, 100 * kMin + 1, 6).status()));
    EXPECT_TRUE(app->Append(0, a, 101 * kMin, 101).ok());
    EXPECT_TRUE(absl::IsAlreadyExists(app->Append(0, a, 101 * kMin, 102).status()));
    ASSERT_TRUE(app->Append(0, a, 102 * kMin, 102).ok());
    EXPECT_TRUE(absl::IsAlreadyExists(app->Append(0, a, 101 * kMin, 1).status()));  // ooo path
    // The window follows the batch's own newest sample of the series.
    EXPECT_TRUE(absl::IsOutOfRange(app->Append(0, a, 92 * kMin - 1, 1).status()));
    ASSERT_TRUE(app->Commit().ok());
    EXPECT_TRUE(app->DroppedAtCommit().empty());
  }

  // Below the minimum valid time: rejected even inside the window.
  h.SetMinValidTime(97 * kMin);
  st = AppendOne(h, a, 96 * kMin + 2, 1);
  EXPECT_TRUE(absl::IsOutOfRange(st));
  EXPECT_THAT(st.message(), HasSubstr("minimum time"));

  Samples want_b = {{90 * kMin, 8}, {91 * kMin, 7}, {95 * kMin, 0}};
  EXPECT_EQ(ReadMap(db, {Eq("__name__", "b")})[b.ToString()], want_b);
  Samples got_a = ReadMap(db, {Eq("__name__", "a")})[a.ToString()];
  ASSERT_EQ(got_a.size(), 51u + 5u);  // 50..100, 95.5, 96+1ms, 100+1ms, 101, 102
  EXPECT_EQ(got_a[46], (std::pair<int64_t, double>{95 * kMin + 30000, -1}));
  EXPECT_EQ(h.Stats().ooo_samples, 5u);  // 95.5, 91, 90, 96+1ms, 100+1ms
  EXPECT_EQ(h.Stats().num_samples, 51u + 1u + 5u + 2u);
  EXPECT_EQ(h.Stats().min_time, 50 * kMin);
}

// Random in-order and out-of-order appends on a few series, checked against a model that
// applies the documented rules; queries over random ranges must equal the model.
TEST(HeadOooTest, QueriesAndChunkSeriesMatchAReferenceModel) {
  const int64_t window = 30 * kMin;
  HeadOptions o = Opts(window);
  HeadStorage db(o);
  Head& h = db.head;
  std::mt19937_64 rng(42);
  constexpr int kSeries = 6;
  std::map<std::string, std::map<int64_t, double>> model;
  int64_t head_max = kMinTime;
  uint64_t ooo_accepted = 0;
  for (int batch = 0; batch < 400; ++batch) {
    auto app = h.NewAppender();
    std::map<std::string, std::map<int64_t, double>> staged = model;
    int64_t staged_head_max = head_max;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) {
      const int i = static_cast<int>(rng() % kSeries);
      const Labels l = L("m", i);
      auto& ser = staged[l.ToString()];
      const int64_t newest = ser.empty() ? kMinTime : ser.rbegin()->first;
      int64_t t;
      if (ser.empty() || rng() % 3 == 0) {
        t = (ser.empty() ? batch * 15000 : newest) + static_cast<int64_t>(rng() % 30000);
      } else {
        t = newest - static_cast<int64_t>(rng() % (window + 5 * kMin));  // some too old
      }
      const double v = (rng() % 4 == 0 && ser.contains(t)) ? ser[t] : static_cast<double>(rng() % 50);
      auto r = app->Append(0, l, t, v);
      // The model's verdict.
      const int64_t lower = std::max(head_max, newest) - window;
      if (!ser.empty() && t < newest && t < lower) {
        EXPECT_TRUE(absl::IsOutOfRange(r.status())) << t;
      } else if (auto it = ser.find(t); it != ser.end()) {
        if (std::bit_cast<uint64_t>(it->second) == std::bit_cast<uint64_t>(v)) {
          EXPECT_TRUE(r.ok()) << r.status();
        } else {
          EXPECT_TRUE(absl::IsAlreadyExists(r.status())) << r.status();
        }
      } else {
        ASSERT_TRUE(r.ok()) << r.status() << " t=" << t << " newest=" << newest;
        if (t < newest) ++ooo_accepted;
        ser[t] = v;
        staged_head_max = std::max(staged_head_max, t);
      }
    }
    ASSERT_TRUE(app->Commit().ok());
    EXPECT_TRUE(app->DroppedAtCommit().empty());
    model = std::move(staged);
    head_max = staged_head_max;
  }
  EXPECT_GT(ooo_accepted, 100u);
  EXPECT_EQ(h.Stats().ooo_samples, ooo_accepted);

  auto expect_range = [&](int64_t mint, int64_t maxt) {
    std::map<std::string, Samples> want;
    for (const auto& [name, ser] : model) {
      for (auto it = ser.lower_bound(mint); it != ser.end() && it->first <= maxt; ++it) {
        want[name].emplace_back(it->first, it->second);
      }
    }
    EXPECT_EQ(ReadMap(db, {Eq("__name__", "m")}, mint, maxt), want) << mint << " " << maxt;
  };
  expect_range(kMinTime, kMaxTime);
  for (int i = 0; i < 30; ++i) {
    const int64_t a = static_cast<int64_t>(rng() % static_cast<uint64_t>(head_max));
    expect_range(a, a + static_cast<int64_t>(rng() % (40 * kMin)));
  }
  // Block cutting: ChunkSeries over [mint, maxt) includes the out-of-order samples, merged.
  for (int64_t lo = 0; lo < head_max; lo += 20 * kMin) {
    std::map<std::string, Samples> want;
    for (const auto& [name, ser] : model) {
      for (auto it = ser.lower_bound(lo); it != ser.end() && it->first < lo + 20 * kMin; ++it) {
        want[name].emplace_back(it->first, it->second);
      }
    }
    auto set = h.ChunkSeries(lo, lo + 20 * kMin);
    EXPECT_EQ(DecodeSet(*set, lo, lo + 20 * kMin), want) << lo;
  }

  // Truncate drops out-of-order data below mint too, keeps the rest.
  const int64_t cut = head_max / 2;
  TruncateStats ts = h.Truncate(cut);
  EXPECT_GT(ts.samples_removed, 0u);
  std::map<std::string, Samples> want;
  uint64_t held = 0;
  for (const auto& [name, ser] : model) {
    for (auto it = ser.lower_bound(cut); it != ser.end(); ++it) {
      want[name].emplace_back(it->first, it->second);
      ++held;
    }
  }
  EXPECT_EQ(ReadMap(db, {Eq("__name__", "m")}, cut, kMaxTime), want);
  // Straddling chunks (in-order or out-of-order) stay, readers clip: at least what is >= cut
  // is held, and the out-of-order buffers hold nothing below cut.
  EXPECT_GE(h.Stats().num_samples, held);
  EXPECT_LE(h.Stats().min_time, cut + 30000);
  for (const auto& [name, samples] : ReadMap(db, {Eq("__name__", "m")}, kMinTime, cut - 1)) {
    for (const auto& [t, v] : samples) EXPECT_EQ(model[name].at(t), v);  // leftovers are real
  }
}

TEST(HeadOooTest, SealedOooChunksAndTruncateAll) {
  HeadStorage db(Opts(kMin * 1000));
  Head& h = db.head;
  ASSERT_TRUE(AppendOne(h, L("m"), 1000 * kMin, 0).ok());
  // 100 out-of-order samples in descending order: several sealed OOO chunks plus a buffer.
  for (int i = 1; i <= 100; ++i) ASSERT_TRUE(AppendOne(h, L("m"), 1000 * kMin - i * 1000, i).ok());
  Samples got = ReadMap(db, {Eq("__name__", "m")})[L("m").ToString()];
  ASSERT_EQ(got.size(), 101u);
  for (size_t k = 1; k < got.size(); ++k) ASSERT_LT(got[k - 1].first, got[k].first);
  EXPECT_EQ(got.front(), (std::pair<int64_t, double>{1000 * kMin - 100000, 100}));
  EXPECT_EQ(h.Stats().num_chunks, 1u + 100 / kOooBufferSamples);
  EXPECT_EQ(h.Stats().min_time, 1000 * kMin - 100000);
  const size_t with_ooo = h.MemoryBytes();
  // Everything goes: the series is collected.
  TruncateStats ts = h.Truncate(1001 * kMin);
  EXPECT_EQ(ts.samples_removed, 101u);
  EXPECT_EQ(ts.series_removed, 1u);
  EXPECT_EQ(h.NumSeriesInMemory(), 0u);
  EXPECT_LT(h.MemoryBytes(), with_ooo);
}

TEST(HeadOooTest, MergeOverlappingChunks) {
  auto make = [](Samples s) {
    chunk::XorEncoder enc;
    for (auto [t, v] : s) enc.Append(t, v);
    auto bytes = std::make_shared<const std::string>(enc.Release());
    return chunk::ChunkData{s.front().first, s.back().first, *bytes, bytes};
  };
  std::vector<chunk::ChunkData> cs = {make({{1, 1}, {5, 5}}), make({{10, 10}, {20, 20}}),
                                      make({{30, 30}}), make({{5, 99}, {7, 7}, {12, 12}})};
  const void* untouched = cs[2].owner.get();
  ASSERT_TRUE(MergeOverlappingChunks(&cs).ok());
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[1].owner.get(), untouched);  // no overlap: passed through
  Samples got;
  for (const auto& c : cs) {
    chunk::XorDecoder d(c.bytes);
    while (d.Next()) got.emplace_back(d.t(), d.v());
  }
  // Timestamp 5: the earlier chunk (in-order) wins.
  EXPECT_EQ(got, (Samples{{1, 1}, {5, 5}, {7, 7}, {10, 10}, {12, 12}, {20, 20}, {30, 30}}));
  // Long runs are split into chunks of at most kMergedChunkSamples.
  Samples even, odd;
  for (int i = 0; i < 300; ++i) (i % 2 ? odd : even).emplace_back(i, i);
  cs = {make(even), make(odd)};
  ASSERT_TRUE(MergeOverlappingChunks(&cs).ok());
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].min_t, 0);
  EXPECT_EQ(cs[2].max_t, 299);
  // A corrupt chunk in an overlapping run is DataLoss.
  auto bad = std::make_shared<const std::string>("\x00\x05zz", 4);
  cs = {make({{1, 1}, {9, 9}}), chunk::ChunkData{2, 3, *bad, bad}};
  EXPECT_TRUE(absl::IsDataLoss(MergeOverlappingChunks(&cs)));
}

class HeadOooWalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/ooowal.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/wal";
  }
  void TearDown() override { (void)env_->RemoveDirRecursive(root_); }

  std::map<std::string, Samples> All(Head& h, int64_t mint = kMinTime) {
    auto set = h.ChunkSeries(mint, kMaxTime);
    return DecodeSet(*set, mint, kMaxTime);
  }

  base::Env* env_ = base::Env::Default();
  std::string root_, dir_;
};

// Out-of-order samples survive a restart (parallel and serial replay) and a checkpoint, even
// when the window is smaller (or off) in the replaying head: replay does not re-decide.
TEST_F(HeadOooWalTest, ReplayAndCheckpointKeepOooSamples) {
  HeadOptions o = Opts(60 * kMin);
  Head live(o);
  auto w = wal::Writer::Open(env_, dir_, wal::WriterOptions{.segment_size = 16 << 10});
  ASSERT_TRUE(w.ok());
  live.SetWal(w->get());
  std::mt19937_64 rng(3);
  auto round = [&](int r) {
    auto app = live.NewAppender();
    for (int i = 0; i < 20; ++i) {
      const Labels l = L("m", i);
      ASSERT_TRUE(app->Append(0, l, int64_t{r} * 60000, r).ok());
      // Behind by up to 50 min; some collide with existing samples (rejected or duplicates).
      const int64_t back = int64_t{r} * 60000 - 1000 * static_cast<int64_t>(rng() % 3000);
      (void)app->Append(0, l, back, static_cast<double>(rng() % 3));
    }
    ASSERT_TRUE(app->Commit().ok());
  };
  for (int r = 0; r < 150; ++r) round(r);
  EXPECT_GT(live.Stats().ooo_samples, 1000u);
  const auto before = All(live);

  Head serial(Opts(0));
  {
    auto rd = wal::Reader::Open(env_, dir_);
    ASSERT_TRUE(rd.ok());
    std::string_view rec;
    while ((*rd)->Next(&rec)) serial.ReplayRecord(rec);
    serial.FinishReplay();
  }
  EXPECT_EQ(All(serial), before);
  EXPECT_EQ(serial.Stats().num_samples, live.Stats().num_samples);
  EXPECT_EQ(serial.Stats().ooo_samples, live.Stats().ooo_samples);
  Head parallel(Opts(0));
  ASSERT_TRUE(ReplayWal(env_, dir_, &parallel, ReplayOptions{3}).ok());
  EXPECT_EQ(All(parallel), before);
  EXPECT_EQ(parallel.Stats().num_samples, live.Stats().num_samples);
  EXPECT_EQ(parallel.Stats().num_chunks, live.Stats().num_chunks);
  EXPECT_EQ(parallel.Stats().ooo_samples, live.Stats().ooo_samples);

  // Truncate + checkpoint, more appends, replay: equal from mint on.
  const int64_t mint = 100 * 60000;
  live.Truncate(mint);
  auto next = (*w)->NextSegment();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(wal::Checkpoint(env_, dir_, *next - 1,
                              [&](uint64_t ref) { return live.HasSeries(ref); }, mint)
                  .ok());
  for (int r = 150; r < 170; ++r) round(r);
  ASSERT_TRUE((*w)->Close().ok());
  Head replayed(Opts(0));
  replayed.SetMinValidTime(mint);
  ASSERT_TRUE(ReplayWal(env_, dir_, &replayed, ReplayOptions{2}).ok());
  const auto want = All(live, mint);
  ASSERT_EQ(want.size(), 20u);
  EXPECT_EQ(All(replayed, mint), want);
  EXPECT_GT(replayed.Stats().ooo_samples, 100u);
}

// In-order writers and out-of-order writers on the same series, with queriers: everything
// acknowledged and not reported dropped is readable, exactly once, in order; replay equals.
TEST_F(HeadOooWalTest, ConcurrentInOrderAndOooAppends) {
  Head h(Opts(1000 * kMin));
  auto w = wal::Writer::Open(env_, dir_, wal::WriterOptions{.sync = false});
  ASSERT_TRUE(w.ok());
  h.SetWal(w->get());
  constexpr int kSeries = 8, kSteps = 1500;
  std::atomic<int64_t> progress{0};
  std::atomic<uint64_t> acked{0}, dropped{0};
  std::atomic<bool> stop{false};
  // Values are a function of the timestamp, so duplicates across writers are equal.
  auto value = [](int64_t t) { return static_cast<double>(t % 977); };
  auto writer = [&](int phase, bool behind) {
    std::mt19937_64 rng(phase);
    std::vector<std::set<int64_t>> used(kSeries);  // each timestamp once per writer
    for (int k = 0; k < kSteps; ++k) {
      auto app = h.NewAppender();
      uint64_t staged = 0;
      for (int i = 0; i < kSeries; ++i) {
        int64_t t;
        if (!behind) {
          t = int64_t{k} * 100 + phase;
        } else {
          const int64_t p = progress.load();
          t = std::max<int64_t>(0, p - static_cast<int64_t>(rng() % 5000)) / 100 * 100 + phase;
          if (!used[i].insert(t).second) continue;
        }
        if (app->Append(0, L("s", i), t, value(t)).ok()) ++staged;
      }
      if (!behind) progress.store(int64_t{k} * 100);
      ASSERT_TRUE(app->Commit().ok());
      acked += staged;
      for (const auto& d : app->DroppedAtCommit()) dropped += static_cast<uint64_t>(d.samples);
    }
  };
  std::thread reader([&] {
    while (!stop.load()) {
      auto q = h.NewQuerier(kMinTime, kMaxTime);
      auto set = q->Select(std::vector<labels::Matcher>{Eq("__name__", "s")});
      while (set->Next()) {
        auto it = set->At().Iterator();
        int64_t last = kMinTime;
        while (it->Next()) {
          ASSERT_GT(it->At().first, last);
          last = it->At().first;
        }
        ASSERT_TRUE(it->Err().ok());
      }
    }
  });
  std::vector<std::thread> ws;
  ws.emplace_back(writer, 0, false);
  ws.emplace_back(writer, 1, false);  // races the first on the same series (drops happen)
  ws.emplace_back(writer, 50, true);
  ws.emplace_back(writer, 51, true);
  for (auto& t : ws) t.join();
  stop = true;
  reader.join();

  // Timestamps are unique per writer and writers use distinct residues mod 100, so nothing
  // is a duplicate: what is stored is exactly what was acknowledged minus reported drops.
  uint64_t stored = 0;
  auto set = h.ChunkSeries(kMinTime, kMaxTime);
  auto all = DecodeSet(*set, kMinTime, kMaxTime);
  for (const auto& [_, s] : all) {
    stored += s.size();
    for (const auto& [t, v] : s) ASSERT_EQ(v, value(t));
  }
  EXPECT_EQ(stored, h.Stats().num_samples);
  EXPECT_EQ(stored + dropped.load(), acked.load());
  EXPECT_GT(h.Stats().ooo_samples, 0u);
  ASSERT_TRUE((*w)->Close().ok());
  Head replayed(Opts(0));
  ASSERT_TRUE(ReplayWal(env_, dir_, &replayed, ReplayOptions{2}).ok());
  EXPECT_EQ(All(replayed), all);
  EXPECT_EQ(replayed.Stats().dropped_samples, h.Stats().dropped_samples);
}

}  // namespace
}  // namespace xscaler::storage::head
