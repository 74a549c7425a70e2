#include "http/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include "gtest/gtest.h"

namespace xscaler::http {
namespace {

// window_bits: 15+16 gzip, 15 zlib, -15 raw deflate.
std::string Deflate(std::string_view in, int window_bits) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = in.size();
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = out.size();
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Zstd(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  out.resize(n);
  return out;
}

const std::string kPayload = [] {
  std::string s;
  for (int i = 0; i < 5000; ++i) s += "metric_" + std::to_string(i) + " ";
  return s;
}();

TEST(Decompress, IdentityAndEmpty) {
  EXPECT_EQ(*Decompress("", "abc", 10), "abc");
  EXPECT_EQ(*Decompress("identity", "abc", 10), "abc");
  EXPECT_EQ(Decompress("", "abcdef", 3).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(Decompress, AllVariants) {
  EXPECT_EQ(*Decompress("gzip", Deflate(kPayload, 15 + 16), 1 << 20), kPayload);
  EXPECT_EQ(*Decompress("GZIP", Deflate(kPayload, 15 + 16), 1 << 20), kPayload);
  EXPECT_EQ(*Decompress("deflate", Deflate(kPayload, 15), 1 << 20), kPayload);
  EXPECT_EQ(*Decompress("deflate", Deflate(kPayload, -15), 1 << 20), kPayload);
  EXPECT_EQ(*Decompress("zstd", Zstd(kPayload), 1 << 20), kPayload);
  // Listed encodings are undone last to first.
  EXPECT_EQ(*Decompress("gzip, zstd", Zstd(Deflate(kPayload, 31)), 1 << 20), kPayload);
}

TEST(Decompress, ConcatenatedGzipMembers) {
  std::string body = Deflate("hello ", 31) + Deflate("world", 31);
  EXPECT_EQ(*Decompress("gzip", body, 100), "hello world");
}

TEST(Decompress, ExactLimitPassesOneMoreByteFails) {
  std::string body = Deflate(kPayload, 31);
  EXPECT_TRUE(Decompress("gzip", body, kPayload.size()).ok());
  auto over = Decompress("gzip", body, kPayload.size() - 1);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.status().message().find("after decompression"), std::string::npos);
  EXPECT_EQ(Decompress("zstd", Zstd(kPayload), kPayload.size() - 1).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(Decompress, GzipBombStopsAtLimit) {
  // 64 MiB of zeros compress to ~64 KiB; with a 1 MiB limit inflation must stop early.
  std::string zeros(64u << 20, '\0');
  std::string bomb = Deflate(zeros, 31);
  zeros.clear();
  zeros.shrink_to_fit();
  ASSERT_LT(bomb.size(), 1u << 20);
  auto r = Decompress("gzip", bomb, 1 << 20);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(Decompress, UnknownEncodingNamesSupportedOnes) {
  auto r = Decompress("br", "x", 10);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(r.status().message().find("\"br\""), std::string::npos);
  EXPECT_NE(r.status().message().find("gzip, deflate, zstd"), std::string::npos);
}

TEST(Decompress, CorruptAndTruncated) {
  EXPECT_EQ(Decompress("gzip", "not gzip at all", 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string body = Deflate(kPayload, 31);
  body.resize(body.size() / 2);
  auto r = Decompress("gzip", body, 1 << 20);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos);
  std::string z = Zstd(kPayload);
  z.resize(z.size() / 2);
  EXPECT_EQ(Decompress("zstd", z, 1 << 20).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decompress("zstd", "garbage", 1 << 20).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AcceptsGzip, ParsesAcceptEncoding) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, GZIP;q=0.5, br"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity, br"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip; q=0.000"));
}

TEST(GzipEncode, RoundTrips) {
  std::string gz = GzipEncode(kPayload);
  EXPECT_LT(gz.size(), kPayload.size());
  EXPECT_EQ(*Decompress("gzip", gz, 1 << 20), kPayload);
  EXPECT_EQ(*Decompress("gzip", GzipEncode(""), 10), "");
}

}  // namespace
}  // namespace xscaler::http
