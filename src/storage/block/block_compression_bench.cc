// Bytes per sample of block chunk segments on synthetic but realistic data (test_util.h:
// counters, 2-decimal gauges, histogram buckets; 15 s interval; 120 samples per chunk),
// stored raw and with zstd levels 1..19, the write speed and the time to read everything back
// (CRC + decompression + XOR decoding), then the size of a whole block (index included). Not a
// test: prints the table in docs/format/block.md.
//
//   [PAGE=page_target_bytes] block_compression_bench [targets=500] [samples_per_series=480]

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "base/env.h"
#include "storage/block/block.h"
#include "storage/block/chunks.h"
#include "storage/block/test_util.h"
#include "storage/chunk/xor.h"

using namespace xscaler;
using namespace xscaler::storage::block;

int main(int argc, char** argv) {
  int targets = argc > 1 ? std::atoi(argv[1]) : 500;
  int n = argc > 2 ? std::atoi(argv[2]) : 480;
  auto series = testing::RealisticSeries(targets, n, 1732500000000, 7);
  std::vector<std::string> chunks;
  uint64_t samples = 0, xor_bytes = 0;
  for (const auto& [l, s] : series) {
    for (const auto& c : testing::MakeChunks(s)) {
      chunks.emplace_back(c.bytes);
      xor_bytes += c.bytes.size();
    }
    samples += s.size();
  }
  std::printf("%zu series, %llu samples, %zu chunks; XOR chunks alone: %.3f B/sample\n",
              series.size(), static_cast<unsigned long long>(samples), chunks.size(),
              static_cast<double>(xor_bytes) / static_cast<double>(samples));
  base::Env* env = base::Env::Default();
  std::string dir = "/tmp/xs_block_compression_bench";
  std::printf("%-6s %12s %10s %15s %14s\n", "level", "bytes", "B/sample", "write Msample/s",
              "read Msample/s");
  for (int level : {0, 1, 3, 5, 7, 9, 19}) {
    (void)env->RemoveDirRecursive(dir);
    (void)env->CreateDir(dir);
    ChunksWriterOptions opts;
    opts.zstd_level = level;
    if (const char* pt = std::getenv("PAGE")) opts.page_target_bytes = std::atoi(pt);
    auto wstart = std::chrono::steady_clock::now();
    auto w = ChunksWriter::Create(env, dir, opts);
    for (const auto& c : chunks) {
      if (!(*w)->Add(c).ok()) return 1;
    }
    if (!(*w)->Finish().ok()) return 1;
    double wsecs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wstart).count();
    auto r = ChunksReader::Open(env, dir, "bench");
    if (!r.ok()) return 1;
    uint64_t decoded = 0;
    auto start = std::chrono::steady_clock::now();
    for (int rep = 0; rep < 3; ++rep) {
      auto st = (*r)->VerifyPages([&](uint64_t, std::string_view b) {
        storage::chunk::XorDecoder d(b);
        while (d.Next()) ++decoded;
        return d.status();
      });
      if (!st.ok()) return 1;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%-6d %12llu %10.3f %15.1f %14.1f\n", level,
                static_cast<unsigned long long>((*w)->bytes_written()),
                static_cast<double>((*w)->bytes_written()) / static_cast<double>(samples),
                static_cast<double>(samples) / wsecs / 1e6,
                static_cast<double>(decoded) / secs / 1e6);
  }
  // A whole block (index and meta.json included) with the default options.
  (void)env->RemoveDirRecursive(dir);
  (void)env->CreateDir(dir);
  testing::MapChunkSeriesSet set(series);
  BlockMeta meta;
  meta.min_time = 1732500000000 - 1000;
  meta.max_time = 1732500000000 + int64_t{n} * 15000 + 1000;
  auto wstart = std::chrono::steady_clock::now();
  auto m = WriteBlock(env, dir, set, meta);
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
    return 1;
  }
  double wsecs = std::chrono::duration<double>(std::chrono::steady_clock::now() - wstart).count();
  auto b = Block::Open(env, base::JoinPath(dir, m->ulid));
  if (!b.ok()) return 1;
  auto index_size = env->FileSize(base::JoinPath((*b)->dir(), "index"));
  std::printf("whole block (default zstd level %d): %llu bytes (index %llu) = %.3f B/sample, "
              "written in %.2f s (incl. fsync)\n",
              WriteOptions{}.zstd_level, static_cast<unsigned long long>((*b)->SizeBytes()),
              static_cast<unsigned long long>(index_size.ok() ? *index_size : 0),
              static_cast<double>((*b)->SizeBytes()) / static_cast<double>(samples), wsecs);
  b->reset();
  (void)env->RemoveDirRecursive(dir);
  return 0;
}
