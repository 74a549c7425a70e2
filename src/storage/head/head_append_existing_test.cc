// Appender::AppendExisting on the head: the same accept/reject rules and messages as Append
// with labels (it shares the staging code), NotFound for refs that are not live series.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "storage/head/head.h"

namespace xscaler::storage::head {
namespace {

using labels::Labels;

constexpr int64_t kNow = 10'000'000;
int64_t FixedNow() { return kNow; }

HeadOptions Opts() {
  HeadOptions o;
  o.chunk.chunk_range_ms = 3600 * 1000;
  o.chunk.max_samples = 20;
  o.max_future_ms = 60 * 1000;
  o.now_ms = &FixedNow;
  o.stripes = 16;
  o.ooo_window_ms = 10 * 60 * 1000;
  return o;
}

struct Op {
  int64_t t;
  double v;
};

std::string Describe(const absl::StatusOr<SeriesRef>& r) {
  return r.ok() ? "ok ref " + std::to_string(*r) : r.status().ToString();
}

// Runs `batches` against a fresh head, creating the series with its first sample and then
// appending either by labels (Append, ref 0) or by ref (AppendExisting).
enum class Mode { kLabels, kRef, kBatch };

std::vector<std::string> RunScript(const std::vector<std::vector<Op>>& batches, Mode mode,
                                   uint64_t* num_samples) {
  const bool by_ref = mode != Mode::kLabels;
  Head head(Opts());
  head.SetMinValidTime(100);
  const Labels lset{{"__name__", "m"}, {"job", "x"}};
  std::vector<std::string> out;
  SeriesRef ref = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    if (b == 2) head.SetOooWindow(0);
    auto app = head.NewAppender();
    if (mode == Mode::kBatch && ref != 0) {
      // The whole batch in one AppendExistingBatch call.
      std::vector<RefSample> in;
      for (const Op& op : batches[b]) in.push_back({ref, op.t, op.v});
      std::vector<absl::Status> st(in.size());
      app->AppendExistingBatch(in, st);
      for (const absl::Status& one : st) {
        out.push_back(one.ok() ? "ok ref " + std::to_string(ref) : one.ToString());
      }
    }
    for (const Op& op : mode == Mode::kBatch && ref != 0 ? std::vector<Op>{} : batches[b]) {
      absl::StatusOr<SeriesRef> r = (by_ref && ref != 0) ? app->AppendExisting(ref, op.t, op.v)
                                                         : app->Append(0, lset, op.t, op.v);
      if (r.ok()) ref = *r;
      out.push_back(Describe(r));
    }
    EXPECT_TRUE(app->Commit().ok());
    // A spent appender refuses both entry points alike.
    out.push_back(Describe(by_ref ? app->AppendExisting(ref, 9000, 1)
                                  : app->Append(0, lset, 9000, 1)));
  }
  *num_samples = head.Stats().num_samples;
  return out;
}

TEST(HeadAppendExistingTest, SameRulesAndMessagesAsAppend) {
  const std::vector<std::vector<Op>> batches = {
      {{1000, 1},                  // creates the series (by labels in both runs)
       {2000, 2},                  // in order
       {2000, 2},                  // equal duplicate: accepted, nothing stored
       {2000, 3},                  // conflicting duplicate
       {1500, 1},                  // out of order inside the window
       {1500, 9},                  // conflicts with the staged out-of-order sample
       {50, 1},                    // before the minimum valid time
       {kNow + 120 * 1000, 1}},    // too far in the future
      {{1500, 1}, {1500, 5}, {3000, 3}, {2000, 2}, {2000, 7}},
      {{4000, 4}, {2500, 1}, {4000, 4}, {4000, 5}},  // window now 0: out of order rejected
  };
  uint64_t n_labels = 0, n_ref = 0;
  uint64_t n_batch = 0;
  const std::vector<std::string> by_labels = RunScript(batches, Mode::kLabels, &n_labels);
  const std::vector<std::string> by_ref = RunScript(batches, Mode::kRef, &n_ref);
  const std::vector<std::string> by_batch = RunScript(batches, Mode::kBatch, &n_batch);
  EXPECT_EQ(by_ref, by_labels);
  EXPECT_EQ(by_batch, by_labels);
  EXPECT_EQ(n_ref, n_labels);
  EXPECT_EQ(n_batch, n_labels);
  EXPECT_EQ(n_labels, 5u);  // 1000, 1500, 2000, 3000, 4000
  // The script exercises every rule: check a few outcomes so a no-op script cannot pass.
  ASSERT_EQ(by_labels.size(), 20u);
  EXPECT_NE(by_labels[3].find("ALREADY_EXISTS"), std::string::npos);
  EXPECT_NE(by_labels[6].find("minimum time"), std::string::npos);
  EXPECT_NE(by_labels[7].find("too far in the future"), std::string::npos);
  EXPECT_NE(by_labels[8].find("FAILED_PRECONDITION"), std::string::npos);
  EXPECT_NE(by_labels[16].find("out of order"), std::string::npos);
}

TEST(HeadAppendExistingTest, UnknownAndCollectedRefsAreNotFound) {
  Head head(Opts());
  const Labels gone{{"__name__", "gone"}};
  const Labels keep{{"__name__", "keep"}};
  SeriesRef gone_ref = 0, keep_ref = 0;
  {
    auto app = head.NewAppender();
    gone_ref = *app->Append(0, gone, 10, 1);
    keep_ref = *app->Append(0, keep, 5000, 1);
    ASSERT_TRUE(app->Commit().ok());
  }
  auto app = head.NewAppender();
  EXPECT_EQ(app->AppendExisting(0, 6000, 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(app->AppendExisting(keep_ref + 1000, 6000, 1).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(app->Commit().ok());

  ASSERT_EQ(head.Truncate(1000).series_removed, 1u);
  app = head.NewAppender();
  EXPECT_EQ(app->AppendExisting(gone_ref, 2000, 1).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<SeriesRef> k = app->AppendExisting(keep_ref, 6000, 2);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(*k, keep_ref);
  // The fallback: by labels, the collected series comes back under a new ref.
  absl::StatusOr<SeriesRef> g = app->Append(gone_ref, gone, 2000, 1);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_NE(*g, gone_ref);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(head.Stats().num_samples, 3u);
}

// A batch mixing live, unknown and collected refs: each sample gets its own status, and the
// pins taken for the lookups are all released (the series can be collected afterwards).
TEST(HeadAppendExistingTest, BatchMixesLiveUnknownAndCollectedRefs) {
  Head head(Opts());
  std::vector<SeriesRef> refs;
  {
    auto app = head.NewAppender();
    for (int i = 0; i < 40; ++i) {
      const Labels l{{"__name__", "m"}, {"i", std::to_string(i)}};
      refs.push_back(*app->Append(0, l, i < 10 ? 10 : 5000, 1));  // 10 series end before 1000
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  ASSERT_EQ(head.Truncate(1000).series_removed, 10u);
  std::vector<RefSample> in;
  for (int i = 0; i < 40; ++i) in.push_back({refs[i], 6000, 2});
  in.push_back({refs.back() + 1000, 6000, 2});  // never existed
  in.push_back({refs[20], 4000, 2});            // out of order (window 10m: accepted as OOO)
  in.push_back({refs[21], 6000, 3});            // conflicts with the sample staged above
  std::vector<absl::Status> st(in.size());
  {
    auto app = head.NewAppender();
    app->AppendExistingBatch(in, st);
    ASSERT_TRUE(app->Commit().ok());
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(st[i].code(), absl::StatusCode::kNotFound) << i;
  for (int i = 10; i < 40; ++i) EXPECT_TRUE(st[i].ok()) << i << st[i];
  EXPECT_EQ(st[40].code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(st[41].ok()) << st[41];
  EXPECT_EQ(st[42].code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(head.Stats().num_samples, 30u + 30u + 1u);
  // No pin leaked: once their data is past, every series can be collected.
  EXPECT_EQ(head.Truncate(7000).series_removed, 30u);
}

}  // namespace
}  // namespace xscaler::storage::head
