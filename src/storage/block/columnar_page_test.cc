#include "storage/block/columnar_page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "base/coding.h"
#include "base/crc32c.h"
#include "base/env.h"
#include "storage/block/chunks.h"
#include "storage/block/test_util.h"
#include "storage/chunk/xor.h"

namespace xscaler::storage::block {
namespace {

using ::testing::HasSubstr;
using Samples = testing::Samples;

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kStale = std::bit_cast<double>(uint64_t{0x7ff0000000000002});

std::string Chunk(const Samples& s) {
  chunk::XorEncoder enc;
  for (const auto& [t, v] : s) enc.Append(t, v);
  return std::string(enc.Bytes());
}

std::string Page(const std::vector<std::string>& chunks) {
  std::string raw;
  for (const auto& c : chunks) {
    base::PutVarint64(&raw, c.size());
    raw.append(c);
  }
  return raw;
}

// Encodes, decodes and expects the exact raw bytes back; returns the body.
std::string RoundTrip(const std::string& raw, ColumnarStats* stats = nullptr) {
  auto body = EncodeColumnarPage(raw, stats);
  EXPECT_TRUE(body.ok()) << body.status();
  if (!body.ok()) return "";
  std::string back;
  absl::Status st = DecodeColumnarPage(*body, raw.size(), &back);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_TRUE(back == raw) << "rebuilt page differs";
  return *body;
}

Samples Series(int n, int64_t t0, const std::function<double(int)>& v) {
  Samples s;
  for (int i = 0; i < n; ++i) s.emplace_back(t0 + int64_t{i} * 15000, v(i));
  return s;
}

TEST(ColumnarPageTest, RealisticCountersGaugesHistogramsRoundTripAsDecimals) {
  auto series = testing::RealisticSeries(20, 480, 1732500000000, 3);
  std::vector<std::string> chunks;
  size_t xor_bytes = 0;
  for (const auto& [l, s] : series) {
    for (const auto& c : testing::MakeChunks(s)) {
      chunks.emplace_back(c.bytes);
      xor_bytes += c.bytes.size();
    }
  }
  ColumnarStats stats;
  RoundTrip(Page(chunks), &stats);
  EXPECT_EQ(stats.chunks_by_kind[0], 0u);  // nothing verbatim
  // Counters, buckets and 2-decimal gauges are decimal; only the histogram _sum (3 decimals
  // summed up, still decimal) may not be.
  EXPECT_GT(stats.chunks_by_kind[1] + stats.chunks_by_kind[2], chunks.size() * 9 / 10);
}

TEST(ColumnarPageTest, SpecialValuesRoundTrip) {
  const std::vector<double> specials = {kStale,
                                        std::numeric_limits<double>::quiet_NaN(),
                                        kInf,
                                        -kInf,
                                        -0.0,
                                        0.0,
                                        std::numeric_limits<double>::max(),
                                        std::numeric_limits<double>::lowest(),
                                        std::numeric_limits<double>::denorm_min(),
                                        std::numeric_limits<double>::min(),
                                        1e300,
                                        -1e-300,
                                        9007199254740993.0,  // 2^53 + 1 rounds; not decimal
                                        1e15 + 0.5,
                                        0.1 + 0.2};
  std::vector<std::string> chunks;
  // Each special alone, among integers (decimal chunk with exceptions), among floats, and
  // chunks made only of specials.
  for (double sp : specials) {
    chunks.push_back(Chunk(Series(1, 1000, [&](int) { return sp; })));
    chunks.push_back(Chunk(Series(40, 1000, [&](int i) { return i == 17 ? sp : double(i * 3); })));
    chunks.push_back(
        Chunk(Series(40, 1000, [&](int i) { return i == 0 ? sp : std::sqrt(double(i)); })));
    chunks.push_back(Chunk(Series(40, 1000, [&](int i) { return i % 2 ? sp : -0.0; })));
  }
  chunks.push_back(Chunk(Series(120, 0, [](int i) { return i == 119 ? kStale : i * 0.25; })));
  ColumnarStats stats;
  RoundTrip(Page(chunks), &stats);
  EXPECT_GT(stats.chunks_by_kind[1] + stats.chunks_by_kind[2], 0u);
  EXPECT_GT(stats.chunks_by_kind[3], 0u);
}

TEST(ColumnarPageTest, TimestampsAndSizesAtTheEdges) {
  std::vector<std::string> chunks;
  chunks.push_back(Chunk({{std::numeric_limits<int64_t>::min(), 1.0}}));
  chunks.push_back(
      Chunk({{std::numeric_limits<int64_t>::min(), 1.0}, {std::numeric_limits<int64_t>::max(), 2.0}}));
  chunks.push_back(Chunk({{-5, 1.5}, {-4, 2.5}, {1000000000000, 3.5}}));
  chunks.push_back(Chunk({{7, 1.0}}));  // single samples
  chunks.push_back(Chunk({{8, 1e-7}}));
  Samples jitter;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 65535; ++i) {  // a full chunk, jittery timestamps, big mantissas
    jitter.emplace_back(int64_t{i} * 15000 + static_cast<int64_t>(rng() % 7),
                        static_cast<double>(static_cast<int64_t>(rng() >> 12)) / 1000);
  }
  chunks.push_back(Chunk(jitter));
  RoundTrip(Page(chunks));
}

TEST(ColumnarPageTest, EmptyPageAndEmptyChunk) {
  std::string body = RoundTrip("");
  EXPECT_FALSE(body.empty());
  RoundTrip(Page({std::string("\0\0", 2)}));  // a chunk of zero samples is kept verbatim
}

TEST(ColumnarPageTest, ChunksThatDoNotReEncodeAreKeptVerbatim) {
  std::string good = Chunk(Series(50, 0, [](int i) { return double(i); }));
  std::string trailing = good + std::string(1, '\x5a');  // bytes after the last sample
  std::string truncated = good.substr(0, good.size() / 2);
  std::string random(300, '\0');
  std::mt19937_64 rng(9);
  for (char& c : random) c = static_cast<char>(rng());
  ColumnarStats stats;
  RoundTrip(Page({good, trailing, truncated, random, "", good}), &stats);
  EXPECT_EQ(stats.chunks_by_kind[0], 4u);
}

TEST(ColumnarPageTest, MalformedRawPageIsRejected) {
  EXPECT_EQ(EncodeColumnarPage("\x05" "ab").status().code(), absl::StatusCode::kInvalidArgument);
  // Length 2 as a two-byte varint: valid LEB128, but the rebuild would write one byte.
  EXPECT_EQ(EncodeColumnarPage(std::string("\x82\x00" "ab", 4)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ColumnarPageTest, CorruptBodiesAreDataLossNeverCrashes) {
  auto series = testing::RealisticSeries(2, 150, 1732500000000, 4);
  std::vector<std::string> chunks;
  for (const auto& [l, s] : series) {
    for (const auto& c : testing::MakeChunks(s)) chunks.emplace_back(c.bytes);
  }
  chunks.push_back(Chunk(Series(30, 5, [](int i) { return std::sqrt(double(i)); })));
  chunks.push_back("verbatim bytes");
  std::string raw = Page(chunks);
  std::string body = RoundTrip(raw);
  std::string out;
  // Wrong raw length, every truncation, every single-byte change.
  EXPECT_EQ(DecodeColumnarPage(body, raw.size() - 1, &out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeColumnarPage(body, raw.size() + 1, &out).code(), absl::StatusCode::kDataLoss);
  for (size_t n = 0; n < body.size(); ++n) {
    absl::Status st = DecodeColumnarPage(body.substr(0, n), raw.size(), &out);
    ASSERT_EQ(st.code(), absl::StatusCode::kDataLoss) << n;
    EXPECT_THAT(st.message(), HasSubstr("columnar page: "));
  }
  std::mt19937_64 rng(11);
  int detected = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    std::string bad = body;
    bad[i] = static_cast<char>(bad[i] ^ (1 + rng() % 255));
    absl::Status st = DecodeColumnarPage(bad, raw.size(), &out);
    if (!st.ok()) {
      EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
      ++detected;
    } else {
      EXPECT_EQ(out.size(), raw.size());  // undetected here; the page CRC catches it on disk
    }
  }
  EXPECT_GT(detected, 0);
  EXPECT_EQ(DecodeColumnarPage(std::string(1, '\x02'), 0, &out).code(),
            absl::StatusCode::kDataLoss);  // unknown version
}

// Through ChunksWriter/ChunksReader: columnar pages, fallback pages and old pages side by side.
class ColumnarChunksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/columnar_chunks_test_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(env_->RemoveDirRecursive(dir_).ok());
    ASSERT_TRUE(env_->CreateDir(dir_).ok());
  }
  void TearDown() override { (void)env_->RemoveDirRecursive(dir_); }

  std::vector<uint64_t> Write(const std::vector<std::string>& chunks, ChunksWriterOptions opts,
                              uint64_t* columnar_pages = nullptr, uint64_t* fallbacks = nullptr) {
    auto w = ChunksWriter::Create(env_, dir_, opts);
    EXPECT_TRUE(w.ok());
    std::vector<uint64_t> refs;
    for (const auto& c : chunks) refs.push_back(*(*w)->Add(c));
    EXPECT_TRUE((*w)->Finish().ok());
    if (columnar_pages) *columnar_pages = (*w)->columnar_pages();
    if (fallbacks) *fallbacks = (*w)->columnar_fallbacks();
    return refs;
  }

  void ExpectReadsBack(const std::vector<std::string>& chunks, const std::vector<uint64_t>& refs) {
    auto r = ChunksReader::Open(env_, dir_, "block X");
    ASSERT_TRUE(r.ok()) << r.status();
    for (size_t i = 0; i < chunks.size(); ++i) {
      std::shared_ptr<const void> owner;
      auto got = (*r)->Chunk(refs[i], &owner);
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(*got, chunks[i]) << i;
    }
    ASSERT_TRUE((*r)->VerifyPages().ok());
  }

  std::vector<std::string> RealisticChunks() {
    std::vector<std::string> chunks;
    for (const auto& [l, s] : testing::RealisticSeries(30, 240, 1732500000000, 8)) {
      for (const auto& c : testing::MakeChunks(s)) chunks.emplace_back(c.bytes);
    }
    return chunks;
  }

  base::Env* env_ = base::Env::Default();
  std::string dir_;
};

TEST_F(ColumnarChunksTest, ColumnarPagesAreSmallerAndReadBack) {
  auto chunks = RealisticChunks();
  ChunksWriterOptions opts;
  opts.page_target_bytes = 8192;
  opts.columnar = false;
  Write(chunks, opts);
  uint64_t zstd_bytes = *env_->FileSize(dir_ + "/000001");
  ASSERT_TRUE(env_->RemoveFile(dir_ + "/000001").ok());
  opts.columnar = true;
  uint64_t columnar_pages = 0, fallbacks = 0;
  auto refs = Write(chunks, opts, &columnar_pages, &fallbacks);
  EXPECT_GT(columnar_pages, 3u);
  EXPECT_EQ(fallbacks, 0u);
  EXPECT_LT(*env_->FileSize(dir_ + "/000001"), zstd_bytes);
  ExpectReadsBack(chunks, refs);
}

TEST_F(ColumnarChunksTest, PagesThatDoNotFitFallBackToZstdInTheSameSegment) {
  // A page of constant non-decimal floats: 2 bits per sample as XOR, 9 bytes columnar, beyond
  // the body limit, so it is written as a zstd page between columnar ones.
  std::vector<std::string> chunks = RealisticChunks();
  chunks.resize(100);
  for (int i = 0; i < 40; ++i) {
    chunks.push_back(Chunk(Series(2000, 0, [](int) { return 0.1 + 0.2; })));
  }
  auto more = RealisticChunks();
  chunks.insert(chunks.end(), more.begin(), more.begin() + 100);
  ChunksWriterOptions opts;
  opts.page_target_bytes = 4096;
  uint64_t columnar_pages = 0, fallbacks = 0;
  auto refs = Write(chunks, opts, &columnar_pages, &fallbacks);
  EXPECT_GT(columnar_pages, 0u);
  EXPECT_GT(fallbacks, 0u);
  ExpectReadsBack(chunks, refs);
}

TEST_F(ColumnarChunksTest, OldEncodingsStillRead) {
  auto chunks = RealisticChunks();
  for (int level : {0, 5}) {
    ChunksWriterOptions opts;
    opts.zstd_level = level;
    opts.columnar = false;
    opts.page_target_bytes = 8192;
    auto refs = Write(chunks, opts);
    std::string seg = *env_->ReadFileToString(dir_ + "/000001");
    EXPECT_EQ(static_cast<uint8_t>(seg[kSegmentHeaderSize]), level == 0 ? kPageRaw : kPageZstd);
    ExpectReadsBack(chunks, refs);
    ASSERT_TRUE(env_->RemoveFile(dir_ + "/000001").ok());
  }
}

TEST_F(ColumnarChunksTest, CorruptColumnarPageIsDataLossNamingFileAndOffset) {
  auto chunks = RealisticChunks();
  ChunksWriterOptions opts;
  opts.page_target_bytes = 8192;
  auto refs = Write(chunks, opts);
  const std::string path = dir_ + "/000001";
  const std::string good = *env_->ReadFileToString(path);
  ASSERT_EQ(static_cast<uint8_t>(good[kSegmentHeaderSize]), kPageColumnar);
  auto rewrite = [&](const std::string& data) {
    ASSERT_TRUE(env_->RemoveFile(path).ok());
    auto f = env_->NewWritableFile(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(data).ok());
    ASSERT_TRUE((*f)->Close().ok());
  };
  auto fix_crc = [](std::string* seg, size_t off) {
    uint32_t stored = base::DecodeFixed32(seg->data() + off + 1);
    uint32_t crc = base::Crc32c(std::string_view(seg->data() + off + kPageHeaderSize, stored),
                                base::Crc32c(std::string_view(seg->data() + off, 9)));
    base::EncodeFixed32(seg->data() + off + 9, base::MaskCrc(crc));
  };
  // A flipped byte: CRC mismatch.
  std::string bad = good;
  bad[kSegmentHeaderSize + kPageHeaderSize + 20] ^= 0x10;
  rewrite(bad);
  auto r = ChunksReader::Open(env_, dir_, "block X");
  ASSERT_TRUE(r.ok());
  std::shared_ptr<const void> owner;
  auto got = (*r)->Chunk(refs[0], &owner);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("block X: chunks/000001 offset 8: page crc"));
  // A wrong raw length with a valid CRC: the rebuild notices.
  bad = good;
  base::EncodeFixed32(bad.data() + kSegmentHeaderSize + 5,
                      base::DecodeFixed32(bad.data() + kSegmentHeaderSize + 5) - 1);
  fix_crc(&bad, kSegmentHeaderSize);
  rewrite(bad);
  r = ChunksReader::Open(env_, dir_, "block X");
  ASSERT_TRUE(r.ok());
  got = (*r)->Chunk(refs[0], &owner);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("block X: chunks/000001 offset 8: columnar page"));
  EXPECT_EQ((*r)->VerifyPages().code(), absl::StatusCode::kDataLoss);
  // A huge body announced by the frame is refused before allocating: raw length 1.
  bad = good;
  base::EncodeFixed32(bad.data() + kSegmentHeaderSize + 5, 1);
  fix_crc(&bad, kSegmentHeaderSize);
  rewrite(bad);
  r = ChunksReader::Open(env_, dir_, "block X");
  ASSERT_TRUE(r.ok());
  got = (*r)->Chunk(refs[0], &owner);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace xscaler::storage::block
