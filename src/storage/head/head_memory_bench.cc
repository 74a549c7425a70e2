// Head memory per series, with full chunks on the heap or in a ChunkMapper: appends S series x
// N samples (one sample per series every 15 s, one commit per scrape, 2 h chunk range) and
// prints Head::MemoryBytes and the process' anonymous RSS per series. Not a test; run by hand:
//   head_memory_bench [series=100000] [samples=720] [mapper dir, or "-" for heap only]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/env.h"
#include "storage/head/head.h"

using namespace xscaler;
using namespace xscaler::storage;

namespace {

// Anonymous resident memory (heap; excludes file-backed pages such as mmapped chunk files).
long RssAnonKiB() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("RssAnon:", 0) == 0) return std::atol(line.c_str() + 8);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  const int series = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int samples = argc > 2 ? std::atoi(argv[2]) : 720;
  const std::string dir = argc > 3 ? argv[3] : "-";
  head::HeadOptions o;
  o.max_future_ms = 0;
  head::Head h(o);
  if (dir != "-") {
    (void)base::Env::Default()->RemoveDirRecursive(dir);
    if (auto st = h.EnableChunkMapper(base::Env::Default(), dir); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
  }
  std::vector<labels::Labels> ls;
  ls.reserve(series);
  for (int i = 0; i < series; ++i) {
    ls.push_back(labels::Labels{{"__name__", absl::StrCat("metric_", i % 200)},
                                {"instance", absl::StrCat("host-", i / 200, ":9100")},
                                {"job", "node"}});
  }
  const long rss0 = RssAnonKiB();
  std::mt19937_64 rng(1);
  std::vector<double> value(series, 0);
  std::vector<storage::SeriesRef> refs(series, 0);
  const auto start = std::chrono::steady_clock::now();
  const int64_t t0 = 1700000000000 / 7200000 * 7200000;  // aligned to a 2 h chunk window
  for (int k = 0; k < samples; ++k) {
    auto app = h.NewAppender();
    for (int i = 0; i < series; ++i) {
      // Half counters (small increments), half gauges with two decimals.
      value[i] = i % 2 == 0 ? value[i] + static_cast<double>(rng() % 100)
                            : static_cast<double>(rng() % 10000) / 100;
      auto r = app->Append(refs[i], ls[i], t0 + int64_t{k} * 15000 + static_cast<int64_t>(rng() % 20), value[i]);
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
        return 1;
      }
      refs[i] = *r;
    }
    if (auto st = app->Commit(); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const head::HeadStats st = h.Stats();
  const size_t mem = h.MemoryBytes();
  const long rss = RssAnonKiB();
  std::printf("%s: %d series x %d samples (%.1f s, %.2f M samples/s): %lu chunks, "
              "MemoryBytes %.1f MiB = %.0f B/series; RssAnon +%.1f MiB = %.0f B/series; "
              "chunk files %.1f MiB; write failures %lu\n",
              dir == "-" ? "heap only" : "chunk mapper", series, samples, secs,
              double(series) * samples / secs / 1e6, static_cast<unsigned long>(st.num_chunks),
              mem / 1048576.0, double(mem) / series, (rss - rss0) / 1024.0,
              (rss - rss0) * 1024.0 / series,
              h.chunk_store() != nullptr ? h.chunk_store()->mapper().SizeBytes() / 1048576.0 : 0.0,
              static_cast<unsigned long>(st.chunk_write_failures));
  if (dir != "-") (void)base::Env::Default()->RemoveDirRecursive(dir);
  return 0;
}
