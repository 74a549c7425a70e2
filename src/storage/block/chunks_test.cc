#include "storage/block/chunks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "base/env.h"
#include "storage/block/test_util.h"

namespace xscaler::storage::block {
namespace {

using ::testing::HasSubstr;

class ChunksTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    dir_ = ::testing::TempDir() + "/chunks_test_" + name;
    ASSERT_TRUE(env_->RemoveDirRecursive(dir_).ok());
    ASSERT_TRUE(env_->CreateDir(dir_).ok());
  }
  void TearDown() override { (void)env_->RemoveDirRecursive(dir_); }

  // Random chunk-like blobs (compressible and not), written then read back.
  std::vector<std::string> Blobs(int n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      size_t len = rng() % 400;
      if (i % 97 == 0) len = 70000 + rng() % 5000;  // bigger than a page target
      std::string s(len, '\0');
      bool random = rng() % 2;
      for (size_t j = 0; j < len; ++j) s[j] = random ? static_cast<char>(rng()) : static_cast<char>(j % 7);
      out.push_back(std::move(s));
    }
    return out;
  }

  base::Env* env_ = base::Env::Default();
  std::string dir_;
};

TEST_P(ChunksTest, RoundTripAcrossPagesAndSegments) {
  auto blobs = Blobs(1500, 42);
  ChunksWriterOptions opts;
  opts.zstd_level = GetParam();
  opts.segment_target_bytes = 200 * 1024;  // several segments
  auto w = ChunksWriter::Create(env_, dir_, opts);
  ASSERT_TRUE(w.ok());
  std::vector<uint64_t> refs;
  for (const auto& b : blobs) {
    auto ref = (*w)->Add(b);
    ASSERT_TRUE(ref.ok()) << ref.status();
    EXPECT_LE(RefInPage(*ref), kMaxPageStartOffset);
    refs.push_back(*ref);
  }
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_GT(RefSegment(refs.back()), 2u);
  EXPECT_GT((*w)->num_pages(), 10u);

  auto r = ChunksReader::Open(env_, dir_, "block X");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->NumPages(), (*w)->num_pages());
  EXPECT_EQ((*r)->SizeBytes(), (*w)->bytes_written());
  for (size_t i = 0; i < blobs.size(); ++i) {
    std::shared_ptr<const void> owner;
    auto got = (*r)->Chunk(refs[i], &owner);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, blobs[i]) << i;
    EXPECT_NE(owner, nullptr);
  }
  size_t seen = 0;
  ASSERT_TRUE((*r)->VerifyPages([&](uint64_t ref, std::string_view b) {
                  EXPECT_EQ(ref, refs[seen]);
                  EXPECT_EQ(b, blobs[seen]);
                  ++seen;
                  return absl::OkStatus();
                }).ok());
  EXPECT_EQ(seen, blobs.size());
}

INSTANTIATE_TEST_SUITE_P(Levels, ChunksTest, ::testing::Values(0, 1, 3));

TEST_F(ChunksTest, ChunksOfOnePageShareTheDecompressedPage) {
  auto w = ChunksWriter::Create(env_, dir_, {});
  ASSERT_TRUE(w.ok());
  std::string a(300, 'a'), b(300, 'b');
  auto ra = (*w)->Add(a), rb = (*w)->Add(b);
  ASSERT_TRUE(ra.ok() && rb.ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ(RefPageOffset(*ra), RefPageOffset(*rb));
  auto r = ChunksReader::Open(env_, dir_, "block X");
  ASSERT_TRUE(r.ok());
  std::shared_ptr<const void> oa, ob;
  auto ga = (*r)->Chunk(*ra, &oa);
  auto gb = (*r)->Chunk(*rb, &ob);
  ASSERT_TRUE(ga.ok() && gb.ok());
  EXPECT_EQ(*ga, a);
  EXPECT_EQ(*gb, b);
  EXPECT_EQ(oa, ob);  // decompressed once, shared
  // The bytes outlive the reader while the owner is held.
  r->reset();
  EXPECT_EQ(*ga, a);
}

TEST_F(ChunksTest, CorruptionIsDataLossNamingFileAndOffset) {
  auto w = ChunksWriter::Create(env_, dir_, {});
  ASSERT_TRUE(w.ok());
  std::vector<uint64_t> refs;
  for (int i = 0; i < 2000; ++i) refs.push_back(*(*w)->Add(std::string(100, static_cast<char>(i))));
  ASSERT_TRUE((*w)->Finish().ok());
  std::string path = dir_ + "/000001";
  std::string good = *env_->ReadFileToString(path);

  auto rewrite = [&](std::string data) {
    ASSERT_TRUE(env_->RemoveFile(path).ok());
    auto f = env_->NewWritableFile(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(data).ok());
    ASSERT_TRUE((*f)->Close().ok());
  };

  // Payload byte flipped: Open (headers only) passes; reading the chunk and VerifyPages fail.
  std::string bad = good;
  bad[kSegmentHeaderSize + kPageHeaderSize + 5] ^= 0x40;
  rewrite(bad);
  auto r = ChunksReader::Open(env_, dir_, "block X");
  ASSERT_TRUE(r.ok()) << r.status();
  std::shared_ptr<const void> owner;
  auto got = (*r)->Chunk(refs[0], &owner);
  ASSERT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("block X: chunks/000001 offset 8: page crc"));
  EXPECT_EQ((*r)->VerifyPages().code(), absl::StatusCode::kDataLoss);

  // Truncated: Open fails on the header walk.
  rewrite(good.substr(0, good.size() - 3));
  r = ChunksReader::Open(env_, dir_, "block X");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("chunks/000001 offset"));

  // Bad magic.
  bad = good;
  bad[0] = 'Y';
  rewrite(bad);
  r = ChunksReader::Open(env_, dir_, "block X");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);

  // Refs that do not point at a page, a segment or inside a page.
  rewrite(good);
  r = ChunksReader::Open(env_, dir_, "block X");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->Chunk(MakeChunkRef(2, 8, 0), &owner).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ((*r)->Chunk(MakeChunkRef(1, 9, 0), &owner).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ((*r)->Chunk(MakeChunkRef(1, 8, 65000), &owner).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ((*r)->Chunk(MakeChunkRef(0, 8, 0), &owner).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(ChunksTest, UnexpectedFileInChunksDirIsDataLoss) {
  auto w = ChunksWriter::Create(env_, dir_, {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add("x").ok());
  ASSERT_TRUE((*w)->Finish().ok());
  ASSERT_TRUE(env_->RenameFile(dir_ + "/000001", dir_ + "/000002").ok());
  auto r = ChunksReader::Open(env_, dir_, "block X");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace xscaler::storage::block
