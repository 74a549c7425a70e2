#include "storage/wal/wal.h"

#include <stdlib.h>

#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xscaler::storage::wal {
namespace {

using ::testing::HasSubstr;

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/waltest.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/wal";
  }
  void TearDown() override { (void)base::Env::Default()->RemoveDirRecursive(root_); }

  std::vector<std::string> ReadAll(base::Env* env, const std::string& dir, absl::Status* st,
                                   uint64_t first = 0) {
    auto r = Reader::Open(env, dir, first);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    std::string rec;
    while ((*r)->Next(&rec)) out.push_back(rec);
    *st = (*r)->status();
    return out;
  }

  static std::vector<std::string> Batch(int i, int n) {
    std::vector<std::string> b;
    for (int j = 0; j < n; ++j) b.push_back(absl::StrCat("batch", i, "-rec", j, std::string(i % 7, 'x')));
    return b;
  }

  base::Env* env_ = base::Env::Default();
  std::string root_, dir_;
};

TEST_F(WalTest, SegmentNamesAndListing) {
  EXPECT_EQ(SegmentPath("/a/wal", 3), "/a/wal/00000003");
  auto none = ListSegments(env_, dir_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(env_->CreateDir(dir_).ok());
  for (const char* name : {"00000002", "00000010", "checkpoint.00000001", "0000001", "junk"}) {
    ASSERT_TRUE(env_->WriteStringToFileAtomic(base::JoinPath(dir_, name), "").ok());
  }
  EXPECT_EQ(*ListSegments(env_, dir_), (std::vector<uint64_t>{2, 10}));
  ASSERT_TRUE(RemoveSegmentsBefore(env_, dir_, 10).ok());
  EXPECT_EQ(*ListSegments(env_, dir_), (std::vector<uint64_t>{10}));
}

TEST_F(WalTest, RoundTripWithSegmentRoll) {
  std::vector<std::string> want;
  {
    auto w = Writer::Open(env_, dir_, WriterOptions{.segment_size = 4096});
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_EQ((*w)->Segment(), 1u);
    for (int i = 0; i < 500; ++i) {
      auto b = Batch(i, 1 + i % 5);
      ASSERT_TRUE((*w)->Write(b).ok());
      want.insert(want.end(), b.begin(), b.end());
    }
    std::string big(10000, 'B');  // larger than a segment: gets one of its own
    std::vector<std::string_view> views = {big, "tail"};
    ASSERT_TRUE((*w)->Write(views).ok());
    want.push_back(big);
    want.push_back("tail");
    ASSERT_TRUE((*w)->Write(std::span<const std::string>()).ok());
    EXPECT_GT((*w)->Segment(), 5u);
    ASSERT_TRUE((*w)->Close().ok());
    ASSERT_TRUE((*w)->Close().ok());
    EXPECT_TRUE(absl::IsFailedPrecondition((*w)->Write(Batch(0, 1))));
  }
  auto segs = *ListSegments(env_, dir_);
  ASSERT_GT(segs.size(), 5u);
  for (uint64_t s : segs) {
    if (s != segs.back()) {
      EXPECT_LE(*env_->FileSize(SegmentPath(dir_, s)), 10100u);
    }
  }
  absl::Status st;
  EXPECT_EQ(ReadAll(env_, dir_, &st), want);
  EXPECT_TRUE(st.ok()) << st;
  // A reader from a later segment sees a suffix.
  auto tail = ReadAll(env_, dir_, &st, segs[segs.size() / 2]);
  EXPECT_TRUE(st.ok());
  ASSERT_FALSE(tail.empty());
  EXPECT_LT(tail.size(), want.size());
  EXPECT_TRUE(std::equal(tail.rbegin(), tail.rend(), want.rbegin()));
}

TEST_F(WalTest, OpenStartsANewSegmentAfterExistingOnes) {
  for (int round = 0; round < 3; ++round) {
    auto w = Writer::Open(env_, dir_);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ((*w)->Segment(), static_cast<uint64_t>(round + 1));
    ASSERT_TRUE((*w)->Write(Batch(round, 2)).ok());
  }
  absl::Status st;
  auto got = ReadAll(env_, dir_, &st);
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0], Batch(0, 2)[0]);
  EXPECT_EQ(got[5], Batch(2, 2)[1]);
}

TEST_F(WalTest, NextSegmentForCheckpoints) {
  auto w = Writer::Open(env_, dir_);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(Batch(1, 1)).ok());
  auto n = (*w)->NextSegment();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ((*w)->Segment(), 2u);
  ASSERT_TRUE((*w)->Write(Batch(2, 1)).ok());
  ASSERT_TRUE(RemoveSegmentsBefore(env_, dir_, *n).ok());
  absl::Status st;
  EXPECT_EQ(ReadAll(env_, dir_, &st), Batch(2, 1));
  EXPECT_TRUE(st.ok());
}

TEST_F(WalTest, ConcurrentWritersLoseNothingAndKeepBatchesWhole) {
  base::FaultInjectionEnv fenv(env_);
  constexpr int kThreads = 8, kWrites = 150;
  {
    auto w = Writer::Open(&fenv, dir_, WriterOptions{.segment_size = 64 * 1024});
    ASSERT_TRUE(w.ok());
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kWrites; ++i) {
          std::vector<std::string> b = {absl::StrCat(t, ":", i, ":a"), absl::StrCat(t, ":", i, ":b")};
          if (!(*w)->Write(b).ok()) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    // Group commit: never more syncs than writes (usually far fewer).
    EXPECT_LE(fenv.Count(base::FaultOp::kSync), kThreads * kWrites + 20);
  }
  ASSERT_TRUE(fenv.DropUnsyncedData().ok());
  absl::Status st;
  auto got = ReadAll(env_, dir_, &st);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(got.size(), static_cast<size_t>(kThreads * kWrites * 2));
  std::map<int, int> next;  // per thread, writes appear in order
  for (size_t i = 0; i < got.size(); i += 2) {
    int t, n;
    char c;
    ASSERT_EQ(sscanf(got[i].c_str(), "%d:%d:%c", &t, &n, &c), 3);
    EXPECT_EQ(c, 'a');
    EXPECT_EQ(got[i + 1], absl::StrCat(t, ":", n, ":b"));
    EXPECT_EQ(n, next[t]++);
  }
}

TEST_F(WalTest, TornTailAtEveryOffsetKeepsEarlierBatches) {
  std::vector<std::string> earlier;
  uint64_t good_size;
  {
    // No preallocation, so that the file's size is where the next frame goes.
    auto w = Writer::Open(env_, dir_, WriterOptions{.preallocate_bytes = 0});
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE((*w)->Write(Batch(i, 3)).ok());
      auto b = Batch(i, 3);
      earlier.insert(earlier.end(), b.begin(), b.end());
    }
    good_size = *env_->FileSize(SegmentPath(dir_, 1));
    ASSERT_TRUE((*w)->Write(Batch(9, 4)).ok());
  }
  std::string full = *env_->ReadFileToString(SegmentPath(dir_, 1));
  ASSERT_GT(full.size(), good_size);
  // Torn at every offset, and so with preallocated zeros after the torn frame.
  for (uint64_t cut = good_size; cut < 2 * full.size() - good_size; ++cut) {
    const bool zeros = cut >= full.size();
    const uint64_t at = zeros ? cut - (full.size() - good_size) : cut;
    SCOPED_TRACE(zeros ? "zero tail" : "no zero tail");
    std::string d = absl::StrCat(root_, "/torn", cut);
    ASSERT_TRUE(env_->CreateDir(d).ok());
    ASSERT_TRUE(env_->WriteStringToFileAtomic(
                        SegmentPath(d, 1), full.substr(0, at) + std::string(zeros ? 5000 : 0, '\0'))
                    .ok());
    auto r = Reader::Open(env_, d);
    ASSERT_TRUE(r.ok());
    std::vector<std::string> got;
    std::string rec;
    while ((*r)->Next(&rec)) got.push_back(rec);
    EXPECT_EQ(got, earlier) << cut;
    if (at == good_size) {
      EXPECT_TRUE((*r)->status().ok());
    } else {
      EXPECT_TRUE(absl::IsDataLoss((*r)->status())) << cut;
      EXPECT_THAT((*r)->status().message(),
                  HasSubstr(absl::StrCat("wal segment 00000001 offset ", good_size)));
    }
    ASSERT_TRUE((*r)->Repair().ok());
    EXPECT_EQ(*env_->FileSize(SegmentPath(d, 1)),
              at == good_size && zeros ? good_size + 5000 : good_size);
    if (at == good_size + 3) {
      // After repair, a writer continues in a new segment and everything reads cleanly.
      auto w = Writer::Open(env_, d);
      ASSERT_TRUE(w.ok());
      EXPECT_EQ((*w)->Segment(), 2u);
      ASSERT_TRUE((*w)->Write(Batch(20, 1)).ok());
      absl::Status st;
      auto all = ReadAll(env_, d, &st);
      EXPECT_TRUE(st.ok()) << st;
      EXPECT_EQ(all.size(), earlier.size() + 1);
    }
    ASSERT_TRUE(env_->RemoveDirRecursive(d).ok());
  }
}

// Writes segment 1 with five 2-record frames and segment 2 with one; returns the frame
// offsets of segment 1.
std::vector<uint64_t> WriteTwoSegments(base::Env* env, const std::string& dir) {
  std::vector<uint64_t> frame_starts;
  auto w = Writer::Open(env, dir, WriterOptions{.preallocate_bytes = 0});
  EXPECT_TRUE(w.ok());
  for (int i = 0; i < 5; ++i) {
    frame_starts.push_back(*env->FileSize(SegmentPath(dir, 1)));
    EXPECT_TRUE((*w)->Write(std::vector<std::string>{absl::StrCat("a", i), absl::StrCat("b", i)})
                    .ok());
  }
  EXPECT_TRUE((*w)->NextSegment().ok());
  EXPECT_TRUE((*w)->Write(std::vector<std::string>{"c0", "c1"}).ok());
  return frame_starts;
}

void FlipByte(base::Env* env, const std::string& path, uint64_t offset) {
  std::string seg = *env->ReadFileToString(path);
  seg[offset] ^= 0x10;
  ASSERT_TRUE(env->WriteStringToFileAtomic(path, seg).ok());
}

TEST_F(WalTest, BitFlipInTheLastSegmentIsDataLossAndRepairTruncatesThere) {
  std::vector<uint64_t> frame_starts;
  {
    auto w = Writer::Open(env_, dir_, WriterOptions{.preallocate_bytes = 0});
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 5; ++i) {
      frame_starts.push_back(*env_->FileSize(SegmentPath(dir_, 1)));
      ASSERT_TRUE((*w)->Write(Batch(i, 2)).ok());
    }
  }
  FlipByte(env_, SegmentPath(dir_, 1), frame_starts[3] + 12);  // inside the 4th frame's payload

  absl::Status st;
  auto got = ReadAll(env_, dir_, &st);
  EXPECT_EQ(got.size(), 6u);
  EXPECT_TRUE(absl::IsDataLoss(st));
  EXPECT_EQ(st.message(),
            absl::StrCat("wal segment 00000001 offset ", frame_starts[3], ": crc mismatch"));

  auto r = Reader::Open(env_, dir_);
  std::string rec;
  while ((*r)->Next(&rec)) {
  }
  EXPECT_EQ((*r)->skipped_corruptions(), 0u);
  ASSERT_TRUE((*r)->Repair().ok());
  EXPECT_EQ(*ListSegments(env_, dir_), (std::vector<uint64_t>{1}));
  EXPECT_EQ(*env_->FileSize(SegmentPath(dir_, 1)), frame_starts[3]);
  got = ReadAll(env_, dir_, &st);
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(got.size(), 6u);
}

TEST_F(WalTest, CorruptionInAnEarlierSegmentSkipsOnlyTheRestOfThatSegment) {
  const std::vector<uint64_t> frame_starts = WriteTwoSegments(env_, dir_);
  FlipByte(env_, SegmentPath(dir_, 1), frame_starts[3] + 12);
  const uint64_t size1 = *env_->FileSize(SegmentPath(dir_, 1));
  const uint64_t size2 = *env_->FileSize(SegmentPath(dir_, 2));

  auto r = Reader::Open(env_, dir_);
  ASSERT_TRUE(r.ok());
  std::vector<std::string> got;
  std::string rec;
  while ((*r)->Next(&rec)) got.push_back(rec);
  // Frames 0-2 of segment 1, then segment 2: the acknowledged data after the damage survives.
  EXPECT_EQ(got, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2", "c0", "c1"}));
  // Reported at the end (so a checkpoint does not fold the damage away unnoticed).
  EXPECT_TRUE(absl::IsDataLoss((*r)->status())) << (*r)->status();
  EXPECT_EQ((*r)->status().message(),
            absl::StrCat("wal segment 00000001 offset ", frame_starts[3], ": crc mismatch"));
  EXPECT_EQ((*r)->skipped_corruptions(), 1u);
  ASSERT_EQ((*r)->skipped().size(), 1u);
  EXPECT_TRUE(absl::IsDataLoss((*r)->skipped()[0]));
  EXPECT_EQ((*r)->skipped()[0].message(),
            absl::StrCat("wal segment 00000001 offset ", frame_starts[3], ": crc mismatch"));

  // Nothing to repair: no segment is truncated or deleted.
  ASSERT_TRUE((*r)->Repair().ok());
  EXPECT_EQ(*ListSegments(env_, dir_), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(*env_->FileSize(SegmentPath(dir_, 1)), size1);
  EXPECT_EQ(*env_->FileSize(SegmentPath(dir_, 2)), size2);
}

TEST_F(WalTest, TornEarlierSegmentAndTornTailAreHandledApart) {
  const std::vector<uint64_t> frame_starts = WriteTwoSegments(env_, dir_);
  {
    auto w = Writer::Open(env_, dir_);  // segment 3
    ASSERT_TRUE((*w)->Write(std::vector<std::string>{"d0"}).ok());
    ASSERT_TRUE((*w)->Write(std::vector<std::string>{"d1"}).ok());
  }
  // Segment 1 ends inside its last frame (a writer that crashed and was not repaired);
  // segment 3's last frame is torn too.
  ASSERT_TRUE(env_->Truncate(SegmentPath(dir_, 1), frame_starts[4] + 5).ok());
  const uint64_t size3 = *env_->FileSize(SegmentPath(dir_, 3));
  ASSERT_TRUE(env_->Truncate(SegmentPath(dir_, 3), size3 - 1).ok());

  auto r = Reader::Open(env_, dir_);
  std::vector<std::string> got;
  std::string rec;
  while ((*r)->Next(&rec)) got.push_back(rec);
  EXPECT_EQ(got, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3", "c0",
                                           "c1", "d0"}));
  EXPECT_EQ((*r)->skipped_corruptions(), 1u);
  EXPECT_THAT((*r)->skipped()[0].message(),
              HasSubstr(absl::StrCat("wal segment 00000001 offset ", frame_starts[4])));
  EXPECT_TRUE(absl::IsDataLoss((*r)->status()));
  EXPECT_THAT((*r)->status().message(), HasSubstr("wal segment 00000003 offset "));
  ASSERT_TRUE((*r)->Repair().ok());
  EXPECT_EQ(*ListSegments(env_, dir_), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(*env_->FileSize(SegmentPath(dir_, 1)), frame_starts[4] + 5);  // left as it was

  absl::Status st;
  EXPECT_EQ(ReadAll(env_, dir_, &st).size(), got.size());
  EXPECT_THAT(st.message(), HasSubstr("wal segment 00000001 offset ")) << "still skipped";
}

TEST_F(WalTest, RangeReaderNeverTruncatesASegmentBeforeTheLogsLastOne) {
  // A checkpoint reads segments [first, n] while the writer is already in n+1: damage in
  // segment n is not a torn tail, so Repair must not cut it (the writer's segment follows).
  WriteTwoSegments(env_, dir_);
  FlipByte(env_, SegmentPath(dir_, 1), 12);
  const uint64_t size1 = *env_->FileSize(SegmentPath(dir_, 1));
  auto r = Reader::Open(env_, dir_, 0, 1);
  ASSERT_TRUE(r.ok());
  std::string rec;
  int n = 0;
  while ((*r)->Next(&rec)) ++n;
  EXPECT_EQ(n, 0);
  EXPECT_TRUE(absl::IsDataLoss((*r)->status())) << (*r)->status();
  EXPECT_EQ((*r)->skipped_corruptions(), 1u);
  ASSERT_TRUE((*r)->Repair().ok());
  EXPECT_EQ(*env_->FileSize(SegmentPath(dir_, 1)), size1);
  EXPECT_EQ(*ListSegments(env_, dir_), (std::vector<uint64_t>{1, 2}));
}

void AppendBytes(base::Env* env, const std::string& path, std::string_view bytes) {
  auto f = env->NewAppendableFile(path);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Append(bytes).ok());
  ASSERT_TRUE((*f)->Close().ok());
}

// A frame with the given type and stored payload and a valid CRC.
std::string RawFrame(uint8_t type, std::string_view payload) {
  std::string f(9, '\0');
  f[0] = static_cast<char>(type);
  base::EncodeFixed32(f.data() + 1, static_cast<uint32_t>(payload.size()));
  f.append(payload);
  uint32_t crc = base::Crc32c(std::string_view(f).substr(0, 5));
  crc = base::Crc32c(std::string_view(f).substr(9), crc);
  base::EncodeFixed32(f.data() + 5, base::MaskCrc(crc));
  return f;
}

// Preallocated zeros a crash left after the last frame (WriterOptions::preallocate_bytes) are
// the clean end of the log: no DataLoss, nothing for Repair to do.
TEST_F(WalTest, ZeroFilledTailIsTheCleanEnd) {
  for (size_t zeros : {1, 8, 9, 4096, 200000}) {
    SCOPED_TRACE(zeros);
    ASSERT_TRUE(env_->RemoveDirRecursive(dir_).ok());
    {
      auto w = Writer::Open(env_, dir_);
      ASSERT_TRUE((*w)->Write(Batch(1, 1)).ok());
    }
    const std::string seg = SegmentPath(dir_, 1);
    const uint64_t size = *env_->FileSize(seg);
    ASSERT_NO_FATAL_FAILURE(AppendBytes(env_, seg, std::string(zeros, '\0')));
    auto r = Reader::Open(env_, dir_);
    std::string rec;
    std::vector<std::string> got;
    while ((*r)->Next(&rec)) got.push_back(rec);
    EXPECT_EQ(got, Batch(1, 1));
    EXPECT_TRUE((*r)->status().ok()) << (*r)->status();
    EXPECT_EQ((*r)->offset(), size);  // the end of the last frame, not of the zeros
    ASSERT_TRUE((*r)->Repair().ok());
    EXPECT_EQ(*env_->FileSize(seg), size + zeros);
  }
}

TEST_F(WalTest, SegmentOfOnlyZerosIsEmpty) {
  // A crash after a segment was created and preallocated, before its first frame.
  ASSERT_TRUE(env_->CreateDir(dir_).ok());
  ASSERT_NO_FATAL_FAILURE(AppendBytes(env_, SegmentPath(dir_, 1), std::string(1 << 16, '\0')));
  absl::Status st;
  EXPECT_TRUE(ReadAll(env_, dir_, &st).empty());
  EXPECT_TRUE(st.ok()) << st;
  // ... and the log goes on in the next segment.
  {
    auto w = Writer::Open(env_, dir_);
    EXPECT_EQ((*w)->Segment(), 2u);
    ASSERT_TRUE((*w)->Write(Batch(2, 2)).ok());
  }
  EXPECT_EQ(ReadAll(env_, dir_, &st), Batch(2, 2));
  EXPECT_TRUE(st.ok()) << st;
}

TEST_F(WalTest, ZeroTailOfAnEarlierSegmentIsNotDamage) {
  // A crash left segment 1 preallocated; the restarted writer went on in segment 2.
  {
    auto w = Writer::Open(env_, dir_);
    ASSERT_TRUE((*w)->Write(Batch(1, 2)).ok());
  }
  ASSERT_NO_FATAL_FAILURE(AppendBytes(env_, SegmentPath(dir_, 1), std::string(70000, '\0')));
  {
    auto w = Writer::Open(env_, dir_);
    ASSERT_TRUE((*w)->Write(Batch(2, 2)).ok());
  }
  auto r = Reader::Open(env_, dir_);
  std::string rec;
  std::vector<std::string> got;
  while ((*r)->Next(&rec)) got.push_back(rec);
  auto want = Batch(1, 2);
  for (const auto& b : Batch(2, 2)) want.push_back(b);
  EXPECT_EQ(got, want);
  EXPECT_TRUE((*r)->status().ok()) << (*r)->status();
  EXPECT_EQ((*r)->skipped_corruptions(), 0u);
}

TEST_F(WalTest, ZerosFollowedByDataAreCorruption) {
  // E.g. a page of a frame reached the disk but the page with its header did not: the frame
  // was never acknowledged, but it is not a clean end either.
  for (bool last : {true, false}) {
    SCOPED_TRACE(last);
    ASSERT_TRUE(env_->RemoveDirRecursive(dir_).ok());
    {
      auto w = Writer::Open(env_, dir_);
      ASSERT_TRUE((*w)->Write(Batch(1, 1)).ok());
    }
    const uint64_t size = *env_->FileSize(SegmentPath(dir_, 1));
    std::string tail(100000, '\0');
    tail[99000] = 'x';
    ASSERT_NO_FATAL_FAILURE(AppendBytes(env_, SegmentPath(dir_, 1), tail));
    if (!last) {
      auto w = Writer::Open(env_, dir_);
      ASSERT_TRUE((*w)->Write(Batch(2, 1)).ok());
    }
    auto r = Reader::Open(env_, dir_);
    std::string rec;
    int n = 0;
    while ((*r)->Next(&rec)) ++n;
    EXPECT_EQ(n, last ? 1 : 2);
    EXPECT_TRUE(absl::IsDataLoss((*r)->status())) << (*r)->status();
    EXPECT_THAT((*r)->status().message(), HasSubstr("invalid frame type 0"));
    EXPECT_EQ((*r)->skipped_corruptions(), last ? 0u : 1u);
    ASSERT_TRUE((*r)->Repair().ok());
    if (last) {
      EXPECT_EQ(*env_->FileSize(SegmentPath(dir_, 1)), size);
    }
  }
}

// Sizes of every segment, and the offset a reader of just that segment ends at.
std::vector<std::pair<uint64_t, uint64_t>> SegmentSizesAndEnds(base::Env* env,
                                                               const std::string& dir) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  const std::vector<uint64_t> segs = ListSegments(env, dir).value();
  for (uint64_t n : segs) {
    auto r = Reader::Open(env, dir, n, n);
    std::string rec;
    while ((*r)->Next(&rec)) {
    }
    EXPECT_TRUE((*r)->status().ok()) << (*r)->status();
    out.emplace_back(*env->FileSize(SegmentPath(dir, n)), (*r)->offset());
  }
  return out;
}

TEST_F(WalTest, PreallocatedZerosAreCutOnRollAndCloseAndSurviveAKill) {
  const WriterOptions opts{.segment_size = 64 << 10, .preallocate_bytes = 16 << 10};
  std::vector<std::string> want;
  const std::string copy = root_ + "/killed";
  {
    auto w = Writer::Open(env_, dir_, opts);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 2000; ++i) {
      auto b = Batch(i, 3);
      ASSERT_TRUE((*w)->Write(b).ok());
      want.insert(want.end(), b.begin(), b.end());
    }
    ASSERT_GT((*w)->Segment(), 1u);
    // The open segment is ahead of its frames by preallocated zeros.
    auto open = SegmentSizesAndEnds(env_, dir_).back();
    EXPECT_GT(open.first, open.second);
    EXPECT_LE(open.first, open.second + (16 << 10) + 4096);
    // What a kill -9 leaves now (the page cache holds every written byte).
    ASSERT_TRUE(env_->CreateDir(copy).ok());
    const std::vector<uint64_t> segs = ListSegments(env_, dir_).value();
    for (uint64_t n : segs) {
      AppendBytes(env_, SegmentPath(copy, n), *env_->ReadFileToString(SegmentPath(dir_, n)));
    }
    ASSERT_TRUE((*w)->NextSegment().ok());
    auto b = Batch(5000, 1);
    ASSERT_TRUE((*w)->Write(b).ok());
    want.insert(want.end(), b.begin(), b.end());
  }
  absl::Status st;
  auto killed = ReadAll(env_, copy, &st);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(killed, std::vector<std::string>(want.begin(), want.end() - 1));
  EXPECT_EQ(ReadAll(env_, dir_, &st), want);
  EXPECT_TRUE(st.ok()) << st;
  // Rolled and closed segments are cut to their frames.
  for (const auto& [size, end] : SegmentSizesAndEnds(env_, dir_)) EXPECT_EQ(size, end);
}

TEST_F(WalTest, CompressedFramesAreSmallerAndMixWithPlainOnes) {
  std::vector<std::string> big;
  for (int i = 0; i < 100; ++i)
    big.push_back(absl::StrCat("metric{job=\"api\",i=\"", i % 10, "\"} 1"));
  size_t raw = 0;
  for (const auto& b : big) raw += b.size() + 1;
  std::vector<std::string> want;
  for (int level : {0, 1, 3, 0}) {
    auto w = Writer::Open(env_, dir_, WriterOptions{.zstd_level = level});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(big).ok());
    ASSERT_TRUE((*w)->Write(Batch(level, 1)).ok());  // too small to compress
    want.insert(want.end(), big.begin(), big.end());
    auto b = Batch(level, 1);
    want.insert(want.end(), b.begin(), b.end());
    ASSERT_TRUE((*w)->Close().ok());
    const uint64_t size = *env_->FileSize(SegmentPath(dir_, (*w)->Segment()));
    if (level == 0) {
      EXPECT_GT(size, raw);
    } else {
      EXPECT_LT(size, raw / 3);
    }
  }
  absl::Status st;
  EXPECT_EQ(ReadAll(env_, dir_, &st), want);
  EXPECT_TRUE(st.ok()) << st;
}

TEST_F(WalTest, MalformedCompressedFrameIsDataLoss) {
  // A frame whose CRC is right but whose compressed payload is not (a writer bug, or damage
  // that happens to keep the CRC): DataLoss like any other bad frame, never a crash.
  std::string good_payload = std::string("\x01\x03", 2) + "abc";
  std::string ok_frame = RawFrame(1, good_payload);
  for (const std::string& payload :
       {std::string("\x05garbage"), std::string("\xff\xff\xff\xff\x7f"), std::string(),
        std::string("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80x")}) {
    ASSERT_TRUE(env_->RemoveDirRecursive(dir_).ok());
    ASSERT_TRUE(env_->CreateDir(dir_).ok());
    ASSERT_NO_FATAL_FAILURE(
        AppendBytes(env_, SegmentPath(dir_, 1), ok_frame + RawFrame(2, payload)));
    absl::Status st;
    EXPECT_EQ(ReadAll(env_, dir_, &st), std::vector<std::string>{"abc"});
    EXPECT_TRUE(absl::IsDataLoss(st)) << st;
    EXPECT_THAT(st.message(), HasSubstr("compressed frame"));
  }
}

TEST_F(WalTest, PowerLossAfterWriteReturnedLosesNothingAcknowledged) {
  base::FaultInjectionEnv fenv(env_);
  std::vector<std::string> want;
  {
    auto w = Writer::Open(&fenv, dir_, WriterOptions{.segment_size = 2048});
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE((*w)->Write(Batch(i, 2)).ok());
      auto b = Batch(i, 2);
      want.insert(want.end(), b.begin(), b.end());
    }
    ASSERT_TRUE(fenv.DropUnsyncedData().ok());  // crash while the writer is still open
  }
  absl::Status st;
  EXPECT_EQ(ReadAll(&fenv, dir_, &st), want);
  EXPECT_TRUE(st.ok()) << st;
}

TEST_F(WalTest, PowerLossWithoutSyncLosesData) {
  // Shows the test above can fail: with sync off, unsynced frames vanish.
  base::FaultInjectionEnv fenv(env_);
  {
    auto w = Writer::Open(&fenv, dir_, WriterOptions{.sync = false});
    ASSERT_TRUE((*w)->Write(Batch(1, 2)).ok());
    ASSERT_TRUE(fenv.DropUnsyncedData().ok());
  }
  absl::Status st;
  EXPECT_TRUE(ReadAll(&fenv, dir_, &st).empty());
}

TEST_F(WalTest, FailedSyncIsReportedAndTheTailIsCut) {
  base::FaultInjectionEnv fenv(env_);
  auto w = Writer::Open(&fenv, dir_);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(Batch(1, 1)).ok());
  fenv.FailNth(base::FaultOp::kSync, 1, absl::InternalError("fsync: Input/output error"));
  absl::Status s = (*w)->Write(Batch(2, 1));
  EXPECT_TRUE(absl::IsInternal(s)) << s;
  ASSERT_TRUE((*w)->Write(Batch(3, 1)).ok());
  ASSERT_TRUE((*w)->Close().ok());
  ASSERT_TRUE(fenv.DropUnsyncedData().ok());
  absl::Status st;
  auto got = ReadAll(&fenv, dir_, &st);
  EXPECT_TRUE(st.ok()) << st;
  std::vector<std::string> want = Batch(1, 1);
  want.push_back(Batch(3, 1)[0]);
  EXPECT_EQ(got, want);
}

TEST_F(WalTest, DiskFullFailsWritesUntilSpaceReturns) {
  base::FaultInjectionEnv fenv(env_);
  auto w = Writer::Open(&fenv, dir_);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(Batch(1, 1)).ok());
  fenv.SetDiskFull(true);
  absl::Status s = (*w)->Write(Batch(2, 1));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_TRUE(absl::IsResourceExhausted((*w)->Write(Batch(3, 1))));
  fenv.SetDiskFull(false);
  ASSERT_TRUE((*w)->Write(Batch(4, 1)).ok());
  ASSERT_TRUE((*w)->Close().ok());
  absl::Status st;
  auto got = ReadAll(&fenv, dir_, &st);
  EXPECT_TRUE(st.ok()) << st;
  std::vector<std::string> want = Batch(1, 1);
  want.push_back(Batch(4, 1)[0]);
  EXPECT_EQ(got, want);
}

TEST_F(WalTest, FailedTruncateKeepsRetrying) {
  base::FaultInjectionEnv fenv(env_);
  auto w = Writer::Open(&fenv, dir_);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(Batch(1, 1)).ok());
  fenv.FailNth(base::FaultOp::kSync, 1, absl::InternalError("sync"));
  fenv.FailNth(base::FaultOp::kTruncate, 1, absl::InternalError("truncate"), /*sticky=*/true);
  EXPECT_FALSE((*w)->Write(Batch(2, 1)).ok());
  EXPECT_FALSE((*w)->Write(Batch(3, 1)).ok());  // the damaged tail blocks further writes
  fenv.ClearFaults();
  ASSERT_TRUE((*w)->Write(Batch(4, 1)).ok());
  ASSERT_TRUE((*w)->Close().ok());
  absl::Status st;
  auto got = ReadAll(&fenv, dir_, &st);
  EXPECT_TRUE(st.ok()) << st;
  std::vector<std::string> want = Batch(1, 1);
  want.push_back(Batch(4, 1)[0]);
  EXPECT_EQ(got, want);
}

TEST_F(WalTest, FailedSegmentCreationIsRetried) {
  base::FaultInjectionEnv fenv(env_);
  auto w = Writer::Open(&fenv, dir_, WriterOptions{.segment_size = 100});
  ASSERT_TRUE(w.ok());
  std::vector<std::string> want;
  ASSERT_TRUE((*w)->Write(Batch(1, 4)).ok());  // fills segment 1 past 100 bytes
  for (auto& r : Batch(1, 4)) want.push_back(r);
  fenv.FailNth(base::FaultOp::kCreate, 1, absl::InternalError("create"));
  EXPECT_FALSE((*w)->Write(Batch(2, 4)).ok());  // needs segment 2
  ASSERT_TRUE((*w)->Write(Batch(3, 4)).ok());
  for (auto& r : Batch(3, 4)) want.push_back(r);
  EXPECT_EQ((*w)->Segment(), 2u);
  ASSERT_TRUE((*w)->Close().ok());
  ASSERT_TRUE(fenv.DropUnsyncedData().ok());
  absl::Status st;
  EXPECT_EQ(ReadAll(&fenv, dir_, &st), want);
  EXPECT_TRUE(st.ok()) << st;
}

TEST_F(WalTest, ReaderReportsProgress) {
  {
    auto w = Writer::Open(env_, dir_);
    ASSERT_TRUE((*w)->Write(Batch(1, 2)).ok());
    ASSERT_TRUE((*w)->NextSegment().ok());
    ASSERT_TRUE((*w)->Write(Batch(2, 1)).ok());
  }
  auto r = Reader::Open(env_, dir_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->segments(), (std::vector<uint64_t>{1, 2}));
  std::string_view rec;
  ASSERT_TRUE((*r)->Next(&rec));
  EXPECT_EQ(rec, Batch(1, 2)[0]);
  EXPECT_EQ((*r)->segment(), 1u);
  ASSERT_TRUE((*r)->Next(&rec));
  ASSERT_TRUE((*r)->Next(&rec));
  EXPECT_EQ((*r)->segment(), 2u);
  EXPECT_EQ((*r)->offset(), *env_->FileSize(SegmentPath(dir_, 2)));
  EXPECT_FALSE((*r)->Next(&rec));
  EXPECT_TRUE((*r)->status().ok());
}

TEST_F(WalTest, EmptyAndMissingLogsReadCleanly) {
  absl::Status st;
  EXPECT_TRUE(ReadAll(env_, dir_, &st).empty());
  EXPECT_TRUE(st.ok());
  { auto w = Writer::Open(env_, dir_); }  // an empty segment
  EXPECT_TRUE(ReadAll(env_, dir_, &st).empty());
  EXPECT_TRUE(st.ok());
  auto r = Reader::Open(env_, dir_);
  EXPECT_TRUE((*r)->Repair().ok());  // nothing to repair
}

}  // namespace
}  // namespace xscaler::storage::wal
