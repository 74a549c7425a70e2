#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "server/commands.h"
#include "server/tsdb_status.h"
#include "storage/db/tsdb.h"

namespace xscaler::server {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

class TsdbCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("xs_tsdb_cmd_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<storage::Tsdb> Open() {
    storage::TsdbOptions o;
    o.background = false;
    o.block_range_ms = kHour;
    o.wal.sync = false;
    auto db = storage::Tsdb::Open(dir_, o);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? *std::move(db) : nullptr;
  }

  // Two series with one sample a minute over [from, to); values t/1000 + 0.5 for job="a".
  void Write(storage::Tsdb& db, int64_t from, int64_t to) {
    auto app = db.NewAppender();
    labels::Labels a{{"__name__", "m"}, {"job", "a"}};
    labels::Labels b{{"__name__", "m"}, {"job", "b"}};
    for (int64_t t = from; t < to; t += 60000) {
      ASSERT_TRUE(app->Append(0, a, t, static_cast<double>(t / 1000) + 0.5).ok());
      ASSERT_TRUE(app->Append(0, b, t, 1e6).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }

  // A database with blocks (the first 3 h) and samples only in the WAL (the last hour).
  void MakeDb() {
    auto db = Open();
    ASSERT_NE(db, nullptr);
    Write(*db, 0, 3 * kHour);
    ASSERT_TRUE(db->Flush().ok());
    Write(*db, 3 * kHour, 4 * kHour);
    ASSERT_FALSE(db->Blocks().empty());
    block_ = db->Blocks().front()->dir();
  }

  static std::string Verify(const std::string& dir, int* code) {
    ::testing::internal::CaptureStdout();
    *code = RunTsdbVerify(dir);
    return ::testing::internal::GetCapturedStdout();
  }
  static std::string Dump(const std::string& dir, const std::string& match, int64_t mint,
                          int64_t maxt, int* code) {
    ::testing::internal::CaptureStdout();
    *code = RunTsdbDump(dir, match, mint, maxt);
    return ::testing::internal::GetCapturedStdout();
  }

  std::string WalSegment() const {
    std::string last;
    for (const auto& e : fs::directory_iterator(fs::path(dir_) / "wal")) {
      if (e.is_regular_file() && fs::file_size(e.path()) > 0)
        last = std::max(last, e.path().string());
    }
    return last;
  }

  static void FlipByte(const std::string& path, size_t at) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0xff);
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&c, 1);
  }

  // Every file under `dir` with its size and contents, to prove a command changed nothing.
  std::map<std::string, std::string> Snapshot() const {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      std::string content;
      if (e.is_regular_file()) {
        std::ifstream in(e.path(), std::ios::binary);
        content.assign(std::istreambuf_iterator<char>(in), {});
      }
      out[e.path().string()] = content;
    }
    return out;
  }

  std::string dir_;
  std::string block_;
};

TEST_F(TsdbCommandsTest, VerifyReportsEveryItemAndChangesNothing) {
  MakeDb();
  auto before = Snapshot();
  int code = -1;
  std::string out = Verify(dir_, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("OK       block " + block_ + ": [0, "));
  EXPECT_THAT(out, HasSubstr("OK       wal segment "));
  EXPECT_THAT(out, HasSubstr(" 0 corrupt"));
  EXPECT_THAT(out, Not(HasSubstr("CORRUPT")));
  EXPECT_EQ(Snapshot(), before);

  out = Verify(block_, &code);  // one block dir
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("verified 1 item(s): 1 OK"));
}

// Out-of-order samples have their own WAL record type; verify must read them as samples, not
// report the segment corrupt.
TEST_F(TsdbCommandsTest, VerifyReadsOutOfOrderSampleRecords) {
  {
    auto db = Open();
    ASSERT_NE(db, nullptr);
    db->SetOooWindow(kHour);
    Write(*db, 0, 10 * 60000);
    auto app = db->NewAppender();
    ASSERT_TRUE(app->Append(0, labels::Labels{{"__name__", "m"}, {"job", "a"}}, 30000, 7).ok());
    ASSERT_TRUE(app->Commit().ok());
    ASSERT_EQ(db->head().Stats().ooo_samples, 1u);
  }
  int code = -1;
  const std::string out = Verify(dir_, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("21 samples")) << out;
  EXPECT_THAT(out, Not(HasSubstr("CORRUPT")));
}

TEST_F(TsdbCommandsTest, VerifyNamesFileAndOffsetOfACorruptChunk) {
  MakeDb();
  const std::string chunks = block_ + "/chunks/000001";
  FlipByte(chunks, fs::file_size(chunks) / 2);
  int code = -1;
  std::string out = Verify(dir_, &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("CORRUPT  block " + block_ + ": "));
  EXPECT_THAT(out, HasSubstr("chunks/000001 offset "));
  EXPECT_THAT(out, HasSubstr("OK       wal segment"));  // the rest is still checked
}

TEST_F(TsdbCommandsTest, VerifyCorruptWalFrameIsCorruptButATornTailOnlyAWarning) {
  MakeDb();
  const std::string seg = WalSegment();
  ASSERT_FALSE(seg.empty());
  const auto size = fs::file_size(seg);
  std::string original;
  {
    std::ifstream in(seg, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  fs::resize_file(seg, size - 3);  // a frame cut off, as a crash mid-write leaves it
  int code = -1;
  std::string out = Verify(dir_, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("WARNING  wal segment " + seg));

  std::ofstream(seg, std::ios::binary | std::ios::trunc) << original;
  FlipByte(seg, size - 2);  // inside the last frame: a CRC mismatch, not a torn write
  out = Verify(dir_, &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("CORRUPT  wal segment " + seg + ": wal segment"));
  EXPECT_THAT(out, HasSubstr("crc mismatch"));
}

TEST_F(TsdbCommandsTest, VerifyRejectsAMissingDir) {
  int code = -1;
  Verify(dir_ + "/nope", &code);
  EXPECT_EQ(code, 2);
}

TEST_F(TsdbCommandsTest, DumpPrintsPromtoolLinesFromBlocksAndWal) {
  MakeDb();
  auto before = Snapshot();
  int code = -1;
  std::string out = Dump(dir_, "m{job=\"a\"}", kMin, kMax, &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 240);  // 3 h in blocks + 1 h in the WAL
  EXPECT_THAT(out, ::testing::StartsWith("{__name__=\"m\", job=\"a\"} 0.5 0\n"));
  EXPECT_THAT(out, HasSubstr("{__name__=\"m\", job=\"a\"} 14340.5 14340000\n"));  // WAL only
  EXPECT_THAT(out, Not(HasSubstr("job=\"b\"")));
  EXPECT_EQ(Snapshot(), before);

  out = Dump(dir_, "{job=\"b\"}", 60000, 120000, &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out,
            "{__name__=\"m\", job=\"b\"} 1e+06 60000\n{__name__=\"m\", job=\"b\"} 1e+06 120000\n");

  out = Dump(block_, "m", kMin, kMax, &code);  // one block
  EXPECT_EQ(code, 0);
  EXPECT_GT(std::count(out.begin(), out.end(), '\n'), 0);
  EXPECT_THAT(out, Not(HasSubstr("14340000")));

  Dump(dir_, "m{", kMin, kMax, &code);
  EXPECT_EQ(code, 2);
  Dump(dir_, "{job=~\".*\"}", kMin, kMax, &code);  // matches everything, even nothing
  EXPECT_EQ(code, 2);
}

TEST_F(TsdbCommandsTest, StatusCountsTheHeadAndListsBlocks) {
  auto db = Open();
  ASSERT_NE(db, nullptr);
  auto app = db->NewAppender();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        app->Append(0, labels::Labels{{"__name__", "big"}, {"i", std::to_string(i)}}, 1000, 1)
            .ok());
  }
  ASSERT_TRUE(app->Append(0, labels::Labels{{"__name__", "small"}, {"i", "0"}}, 1000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());

  api::TsdbStatus st = BuildTsdbStatus(*db, 1);
  EXPECT_EQ(st.num_series, 6u);
  EXPECT_EQ(st.min_time, 1000);
  EXPECT_EQ(st.num_label_pairs, 7u);                     // __name__ x2, i x5
  ASSERT_EQ(st.series_count_by_metric_name.size(), 1u);  // limit
  EXPECT_EQ(st.series_count_by_metric_name[0].name, "big");
  EXPECT_EQ(st.series_count_by_metric_name[0].value, 5u);
  ASSERT_EQ(st.label_value_count_by_label_name.size(), 1u);
  EXPECT_EQ(st.label_value_count_by_label_name[0].name, "i");
  EXPECT_EQ(st.label_value_count_by_label_name[0].value, 5u);
  ASSERT_EQ(st.memory_in_bytes_by_label_name.size(), 1u);
  EXPECT_EQ(st.memory_in_bytes_by_label_name[0].name, "__name__");
  EXPECT_EQ(st.memory_in_bytes_by_label_name[0].value, 5u * 3 + 5);
  EXPECT_EQ(st.series_count_by_label_value_pair[0].name, "__name__=big");
  EXPECT_TRUE(st.blocks.empty());
  EXPECT_EQ(st.retention_ms, 15 * 24 * kHour);

  ASSERT_TRUE(db->Flush().ok());
  st = BuildTsdbStatus(*db, 10);
  ASSERT_EQ(st.blocks.size(), 1u);
  EXPECT_EQ(st.blocks[0].num_series, 6u);
  EXPECT_EQ(st.blocks[0].num_samples, 6u);
  EXPECT_GT(st.blocks[0].size_bytes, 0u);
  EXPECT_EQ(st.blocks_bytes, st.blocks[0].size_bytes);
  EXPECT_GT(st.persisted_until, 1000);
  EXPECT_EQ(st.head_cuts, 1u);
  EXPECT_EQ(st.quarantined_blocks, 0u);
}

}  // namespace
}  // namespace xscaler::server
