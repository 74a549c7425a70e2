// Page encodings on real chunks: reads every chunk of existing chunk segment dirs (e.g. the
// blocks `bench/compare.sh --keep-data` leaves behind: <tenant>/<ulid>/chunks) or, without
// arguments, of the synthetic test_util.h data, and writes them again as zstd pages and as
// columnar pages. Prints bytes/sample, write speed, page read speed (CRC + decompression (+
// rebuild)) and full read speed (plus XOR decoding of every chunk), and the columnar body's
// per-stream sizes. Not a test. Median of `reps` (default 3) timings.
//
//   [REPS=3] [LEVEL=zstd level] [PAGE=page target bytes] block_page_bench [chunks_dir ...]

#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "base/coding.h"
#include "base/env.h"
#include "storage/block/chunks.h"
#include "storage/block/columnar_page.h"
#include "storage/block/test_util.h"
#include "storage/chunk/xor.h"

using namespace xscaler;
using namespace xscaler::storage::block;

namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  base::Env* env = base::Env::Default();
  std::vector<std::string> chunks;
  uint64_t samples = 0, xor_bytes = 0;
  if (argc > 1) {
    for (int a = 1; a < argc; ++a) {
      auto r = ChunksReader::Open(env, argv[a], argv[a]);
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
        return 1;
      }
      auto st = (*r)->VerifyPages([&](uint64_t, std::string_view b) {
        chunks.emplace_back(b);
        return absl::OkStatus();
      });
      if (!st.ok()) {
        std::fprintf(stderr, "%s\n", st.ToString().c_str());
        return 1;
      }
    }
  } else {
    auto series = testing::RealisticSeries(500, 480, 1732500000000, 7);
    for (const auto& [l, s] : series) {
      for (const auto& c : testing::MakeChunks(s)) chunks.emplace_back(c.bytes);
    }
  }
  for (const auto& c : chunks) {
    storage::chunk::XorDecoder d(c);
    samples += d.NumSamples();
    xor_bytes += c.size();
  }
  std::printf("%zu chunks, %llu samples; XOR chunks alone: %.3f B/sample\n", chunks.size(),
              static_cast<unsigned long long>(samples),
              static_cast<double>(xor_bytes) / static_cast<double>(samples));
  const int reps = std::getenv("REPS") ? std::atoi(std::getenv("REPS")) : 3;
  std::string dir = "/tmp/xs_block_page_bench";
  std::printf("%-10s %10s %9s %11s %13s %13s %9s\n", "encoding", "bytes", "B/sample",
              "write Ms/s", "page read Ms/s", "full read Ms/s", "fallback");
  for (bool columnar : {false, true}) {
    std::vector<double> wt, pt, ft;
    uint64_t bytes = 0, fallbacks = 0;
    for (int rep = 0; rep < reps; ++rep) {
      (void)env->RemoveDirRecursive(dir);
      (void)env->CreateDir(dir);
      ChunksWriterOptions opts;
      opts.columnar = columnar;
      if (const char* pt = std::getenv("PAGE")) opts.page_target_bytes = std::atoi(pt);
      if (const char* lv = std::getenv("LEVEL")) opts.zstd_level = std::atoi(lv);
      auto start = std::chrono::steady_clock::now();
      auto w = ChunksWriter::Create(env, dir, opts);
      for (const auto& c : chunks) {
        if (!(*w)->Add(c).ok()) return 1;
      }
      if (!(*w)->Finish().ok()) return 1;
      wt.push_back(Seconds(start));
      bytes = (*w)->bytes_written();
      fallbacks = (*w)->columnar_fallbacks();
      auto r = ChunksReader::Open(env, dir, "bench");
      if (!r.ok()) return 1;
      start = std::chrono::steady_clock::now();
      if (!(*r)->VerifyPages().ok()) return 1;
      pt.push_back(Seconds(start));
      uint64_t decoded = 0;
      start = std::chrono::steady_clock::now();
      auto st = (*r)->VerifyPages([&](uint64_t, std::string_view b) {
        storage::chunk::XorDecoder d(b);
        while (d.Next()) ++decoded;
        return d.status();
      });
      ft.push_back(Seconds(start));
      if (!st.ok() || decoded != samples) {
        std::fprintf(stderr, "read back %llu samples: %s\n",
                     static_cast<unsigned long long>(decoded), st.ToString().c_str());
        return 1;
      }
    }
    const double s = static_cast<double>(samples);
    std::printf("%-10s %10llu %9.3f %11.1f %13.1f %13.1f %9llu\n", columnar ? "columnar" : "zstd",
                static_cast<unsigned long long>(bytes), static_cast<double>(bytes) / s,
                s / Median(wt) / 1e6, s / Median(pt) / 1e6, s / Median(ft) / 1e6,
                static_cast<unsigned long long>(fallbacks));
  }
  (void)env->RemoveDirRecursive(dir);
  // Where the columnar bytes go (uncompressed stream sizes, 64 KiB raw pages).
  ColumnarStats stats;
  std::string page;
  uint64_t zstream[kColumnarStreams] = {};
  auto flush = [&] {
    if (page.empty()) return;
    auto body = EncodeColumnarPage(page, &stats);
    page.clear();
    if (!body.ok()) return;
    // Each stream compressed alone: roughly what it costs inside the page's frame.
    std::string_view in = *body;
    in.remove_prefix(1);
    uint64_t n, lens[kColumnarStreams];
    base::GetVarint64(&in, &n);
    for (auto& l : lens) base::GetVarint64(&in, &l);
    std::string out;
    for (int i = 0; i < kColumnarStreams; ++i) {
      out.resize(ZSTD_compressBound(lens[i]));
      zstream[i] += lens[i] == 0 ? 0 : ZSTD_compress(out.data(), out.size(), in.data(), lens[i], 5);
      in.remove_prefix(lens[i]);
    }
  };
  for (const auto& c : chunks) {
    if (page.size() >= 65536) flush();
    base::PutVarint64(&page, c.size());
    page.append(c);
  }
  flush();
  static const char* const kNames[kColumnarStreams] = {
      "kinds", "counts", "verbatim", "t_head", "t_dod", "d_head", "d_body", "exceptions",
      "f_first", "plane0", "plane1", "plane2", "plane3", "plane4", "plane5", "plane6", "plane7"};
  std::printf("uncompressed streams:");
  for (int i = 0; i < kColumnarStreams; ++i) {
    std::printf(" %s=%llu", kNames[i], static_cast<unsigned long long>(stats.stream_bytes[i]));
  }
  std::printf("\nstreams zstd-5 alone, B/sample:");
  for (int i = 0; i < kColumnarStreams; ++i) {
    if (zstream[i]) std::printf(" %s=%.4f", kNames[i], static_cast<double>(zstream[i]) / samples);
  }
  std::printf("\nchunks (samples) by kind: verbatim %llu, decimal delta %llu (%llu), decimal dod "
              "%llu (%llu), float %llu (%llu)\n",
              static_cast<unsigned long long>(stats.chunks_by_kind[0]),
              static_cast<unsigned long long>(stats.chunks_by_kind[1]),
              static_cast<unsigned long long>(stats.samples_by_kind[1]),
              static_cast<unsigned long long>(stats.chunks_by_kind[2]),
              static_cast<unsigned long long>(stats.samples_by_kind[2]),
              static_cast<unsigned long long>(stats.chunks_by_kind[3]),
              static_cast<unsigned long long>(stats.samples_by_kind[3]));
  return 0;
}
