// Query cost on real blocks: opens the given block dirs and, for a few selectors shaped like
// bench/queries.tsv (all histogram buckets, all request counters, one job's counters), selects
// over each block's whole range and iterates every sample. Prints, per selector, the first run
// (pages not cached yet) and the median of the next runs (the block's page cache as it is),
// in ms and Msamples/s. Not a test: used to compare page encodings on the same data.
//
//   [RUNS=7] [REWRITE=columnar|zstd] block_query_bench <block_dir>...
//   (e.g. <data>/tenants/bench/<ulid>)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "base/env.h"
#include "labels/matcher.h"
#include "storage/block/block.h"

using namespace xscaler;
using namespace xscaler::storage;

int main(int argc, char** argv) {
  base::Env* env = base::Env::Default();
  std::vector<std::shared_ptr<block::Block>> blocks;
  for (int a = 1; a < argc; ++a) {
    auto b = block::Block::Open(env, argv[a]);
    if (!b.ok()) {
      std::fprintf(stderr, "%s\n", b.status().ToString().c_str());
      return 1;
    }
    blocks.push_back(*b);
  }
  // REWRITE=columnar|zstd: first rewrite every block into /tmp/xs_block_query_bench with that
  // page encoding (same series and chunks), then query the copies.
  if (const char* rw = std::getenv("REWRITE")) {
    const std::string out = "/tmp/xs_block_query_bench";
    (void)env->RemoveDirRecursive(out);
    (void)env->CreateDir(out);
    std::vector<std::shared_ptr<block::Block>> copies;
    for (const auto& b : blocks) {
      block::BlockMeta meta;
      meta.min_time = b->meta().min_time;
      meta.max_time = b->meta().max_time;
      block::WriteOptions opts;
      opts.columnar_pages = std::string(rw) == "columnar";
      auto set = b->ChunkSeries();
      auto m = block::WriteBlock(env, out, *set, meta, opts);
      if (!m.ok()) {
        std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
        return 1;
      }
      auto c = block::Block::Open(env, base::JoinPath(out, m->ulid));
      if (!c.ok()) return 1;
      std::printf("rewrote %s as %s: %llu bytes\n", b->dir().c_str(), rw,
                  static_cast<unsigned long long>((*c)->SizeBytes()));
      copies.push_back(*c);
    }
    blocks = std::move(copies);
  }
  const int runs = std::max(2, std::getenv("RUNS") ? std::atoi(std::getenv("RUNS")) : 7);
  struct Sel {
    const char* name;
    std::vector<std::pair<std::string, std::string>> eq;
  };
  const std::vector<Sel> sels = {
      {"buckets", {{"__name__", "http_request_duration_seconds_bucket"}}},
      {"requests", {{"__name__", "http_requests_total"}}},
      {"checkout", {{"__name__", "http_requests_total"}, {"job", "checkout"}}},
  };
  for (const auto& sel : sels) {
    std::vector<labels::Matcher> ms;
    for (const auto& [n, v] : sel.eq) ms.push_back(*labels::Matcher::Create(labels::MatchType::kEqual, n, v));
    std::vector<double> times;
    uint64_t samples = 0, series = 0;
    for (int r = 0; r < runs; ++r) {
      samples = series = 0;
      auto start = std::chrono::steady_clock::now();
      for (const auto& b : blocks) {
        auto q = b->NewQuerier(b->meta().min_time, b->meta().max_time);
        auto set = q->Select(ms);
        while (set->Next()) {
          ++series;
          auto it = set->At().Iterator();
          while (it->Next()) ++samples;
        }
      }
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    double first = times[0];
    std::vector<double> rest(times.begin() + 1, times.end());
    std::sort(rest.begin(), rest.end());
    double med = rest[rest.size() / 2];
    std::printf("%-10s %6llu series %9llu samples: first %7.2f ms (%5.1f Ms/s), then median %7.2f ms (%5.1f Ms/s)\n",
                sel.name, static_cast<unsigned long long>(series / 1),
                static_cast<unsigned long long>(samples), first * 1e3, samples / first / 1e6,
                med * 1e3, samples / med / 1e6);
  }
  return 0;
}
