// WAL replay speed: writes a log of S series x N samples (scrape-like: every series gets one
// sample per 15 s step, committed in batches of 1000 series) and replays it single-threaded
// (Head::ReplayRecord) and with ReplayWal at several thread counts. Not a test; run by hand:
//   replay_bench [series=200000] [samples=240] [dir=/tmp/xs_replay_bench]

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "spdlog/spdlog.h"
#include "storage/head/head.h"
#include "storage/head/replay.h"
#include "storage/wal/record.h"
#include "storage/wal/wal.h"

using namespace xscaler;
using namespace xscaler::storage;

namespace {

// Process CPU seconds (all threads): on this shared machine wall time mostly measures the
// other tenants of the CPU; CPU time is what the replay itself costs.
double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

head::HeadOptions Opts() {
  head::HeadOptions o;
  o.max_future_ms = 0;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const int series = argc > 1 ? std::atoi(argv[1]) : 200000;
  const int samples = argc > 2 ? std::atoi(argv[2]) : 240;
  const std::string dir = argc > 3 ? argv[3] : "/tmp/xs_replay_bench";
  // Which replays to run: "s" serial, digits = ReplayWal thread counts (e.g. "s124").
  const std::string modes = argc > 4 ? argv[4] : "s124";
  base::Env* env = base::Env::Default();
  (void)env->RemoveDirRecursive(dir);
  spdlog::set_level(spdlog::level::warn);
  // As the server does (main.cc): Debian's Abseil checks lock order on every acquisition.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  auto start = std::chrono::steady_clock::now();
  {
    auto w = wal::Writer::Open(env, dir, wal::WriterOptions{.sync = false});
    if (!w.ok()) return 1;
    constexpr int kBatch = 1000;
    for (int step = 0; step < samples; ++step) {
      for (int b = 0; b < series; b += kBatch) {
        std::vector<std::string> recs;
        const int n = std::min(kBatch, series - b);
        if (step == 0) {
          std::vector<wal::SeriesRecord> s;
          for (int i = b; i < b + n; ++i) {
            s.push_back({static_cast<uint64_t>(i + 1),
                         labels::Labels{{"__name__", absl::StrCat("metric_", i % 100)},
                                        {"instance", absl::StrCat("host-", i / 100, ":9100")},
                                        {"job", "node"}}});
          }
          wal::EncodeSeries(s, &recs.emplace_back());
        }
        std::vector<wal::SampleRecord> s;
        for (int i = b; i < b + n; ++i) {
          // Counters and gauges: mostly small integers, some floats.
          double v = i % 4 == 0 ? step * 0.25 + i : static_cast<double>(step * (i % 50));
          s.push_back({static_cast<uint64_t>(i + 1), int64_t{step} * 15000 + i % 1000, v});
        }
        wal::EncodeSamples(s, &recs.emplace_back());
        if (!(*w)->Write(std::span<const std::string>(recs)).ok()) return 1;
      }
    }
    if (!(*w)->Close().ok()) return 1;
  }
  uint64_t bytes = 0;
  auto segs = wal::ListSegments(env, dir);
  if (!segs.ok()) return 1;
  for (uint64_t s : *segs) bytes += env->FileSize(wal::SegmentPath(dir, s)).value_or(0);
  const double total = static_cast<double>(series) * samples;
  std::printf("wrote %d series x %d samples = %.0f samples, %.1f MiB wal (%.2f B/sample) in %.1f s\n",
              series, samples, total, bytes / 1048576.0, bytes / total, Seconds(start));

  if (modes.find('s') != std::string::npos) {
    head::Head h(Opts());
    start = std::chrono::steady_clock::now();
    const double cpu0 = CpuSeconds();
    auto r = wal::Reader::Open(env, dir);
    std::string_view rec;
    while ((*r)->Next(&rec)) h.ReplayRecord(rec);
    h.FinishReplay();
    const double secs = Seconds(start);
    const double cpu = CpuSeconds() - cpu0;
    std::printf("serial ReplayRecord:  wall %.2f s (%.2f M samples/s), cpu %.2f s (%.2f M/cpu-s), "
                "head %.1f MiB\n",
                secs, total / secs / 1e6, cpu, total / cpu / 1e6, h.MemoryBytes() / 1048576.0);
  }
  for (char c : modes) {
    if (c < '1' || c > '9') continue;
    const int threads = c - '0';
    head::Head h(Opts());
    start = std::chrono::steady_clock::now();
    const double cpu0 = CpuSeconds();
    if (!head::ReplayWal(env, dir, &h, head::ReplayOptions{threads}).ok()) return 1;
    const double secs = Seconds(start);
    const double cpu = CpuSeconds() - cpu0;
    std::printf("ReplayWal threads=%d:  wall %.2f s (%.2f M samples/s), cpu %.2f s (%.2f M/cpu-s), "
                "%lu samples applied\n",
                threads, secs, total / secs / 1e6, cpu, total / cpu / 1e6,
                static_cast<unsigned long>(h.Stats().num_samples));
  }
  (void)env->RemoveDirRecursive(dir);
  return 0;
}
