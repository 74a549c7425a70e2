// Test helpers for blocks: synthetic series (realistic counters, 2-decimal gauges, histogram
// buckets at a 15 s interval) and an in-memory ChunkSeriesSet that cuts them into XOR chunks.
// Test-only; not thread-safe.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "labels/labels.h"
#include "storage/chunk/chunk_data.h"
#include "storage/chunk/xor.h"
#include "storage/series/chunk_series.h"

namespace xscaler::storage::block::testing {

using Samples = std::vector<std::pair<int64_t, double>>;
using SeriesMap = std::map<labels::Labels, Samples>;

// Chunks of `per_chunk` samples each, owning their bytes.
inline std::vector<chunk::ChunkData> MakeChunks(const Samples& s, size_t per_chunk = 120) {
  std::vector<chunk::ChunkData> out;
  for (size_t i = 0; i < s.size(); i += per_chunk) {
    chunk::XorEncoder enc;
    size_t end = std::min(s.size(), i + per_chunk);
    for (size_t j = i; j < end; ++j) enc.Append(s[j].first, s[j].second);
    out.push_back(chunk::ChunkData::Owning(s[i].first, s[end - 1].first, std::string(enc.Bytes())));
  }
  return out;
}

// A ChunkSeriesSet over a SeriesMap (already in label order).
class MapChunkSeriesSet final : public series::ChunkSeriesSet {
 public:
  explicit MapChunkSeriesSet(const SeriesMap& m, size_t per_chunk = 120) {
    for (const auto& [l, s] : m) items_.emplace_back(l, MakeChunks(s, per_chunk));
  }
  MapChunkSeriesSet(std::vector<std::pair<labels::Labels, std::vector<chunk::ChunkData>>> items)
      : items_(std::move(items)) {}
  bool Next() override { return ++pos_ < static_cast<int64_t>(items_.size()); }
  const labels::Labels& Labels() const override { return items_[pos_].first; }
  std::span<const chunk::ChunkData> Chunks() const override { return items_[pos_].second; }

 private:
  std::vector<std::pair<labels::Labels, std::vector<chunk::ChunkData>>> items_;
  int64_t pos_ = -1;
};

inline double Round2(double v) { return std::round(v * 100) / 100; }

// `n_targets` scrape targets, each exposing counters, 2-decimal gauges and a 10-bucket
// histogram, `n_samples` samples from t0 every 15 s (+-3 ms jitter).
inline SeriesMap RealisticSeries(int n_targets, int n_samples, int64_t t0, uint64_t seed) {
  std::mt19937_64 rng(seed);
  SeriesMap out;
  // Scrape timestamps: mostly exactly 15 s apart, sometimes a few ms of jitter (as seen
  // from a busy Prometheus-style scraper). One timeline per target, shared by its series.
  std::vector<int64_t> timeline(n_samples);
  for (int target = 0; target < n_targets; ++target) {
    std::string inst = "host-" + std::to_string(target) + ":9100";
    for (int i = 0; i < n_samples; ++i) {
      timeline[i] = t0 + int64_t{i} * 15000 + (rng() % 5 == 0 ? static_cast<int64_t>(rng() % 5) - 2 : 0);
    }
    auto ts = [&](int i) { return timeline[i]; };
    for (int c = 0; c < 4; ++c) {  // counters increasing by small integers
      labels::Labels l({{"__name__", "http_requests_total"},
                        {"code", std::to_string(200 + c)},
                        {"instance", inst},
                        {"job", "node"}});
      Samples s;
      // Error-code counters rarely move; busy ones move by small integers every scrape.
      double v = static_cast<double>(rng() % 100000);
      int rate = c == 0 ? static_cast<int>(rng() % 20) : (c == 1 ? 1 : 0);
      for (int i = 0; i < n_samples; ++i) {
        if (rate > 0 && rng() % 4 != 0) v += static_cast<double>(rng() % (rate + 1));
        if (c >= 2 && rng() % 40 == 0) v += 1;
        s.emplace_back(ts(i), v);
      }
      out.emplace(std::move(l), std::move(s));
    }
    for (int g = 0; g < 4; ++g) {  // gauges with 2 decimals, random walk
      labels::Labels l({{"__name__", "node_temperature_celsius"},
                        {"instance", inst},
                        {"job", "node"},
                        {"sensor", std::to_string(g)}});
      Samples s;
      double v = 40 + static_cast<double>(rng() % 2000) / 100;
      for (int i = 0; i < n_samples; ++i) {
        if (rng() % 3 == 0) v = Round2(v + (static_cast<double>(rng() % 21) - 10) / 100);
        s.emplace_back(ts(i), v);
      }
      out.emplace(std::move(l), std::move(s));
    }
    {  // histogram: 10 cumulative buckets + _sum + _count
      static const char* kLe[] = {"0.005", "0.01", "0.025", "0.05", "0.1",
                                  "0.25",  "0.5",  "1",     "2.5",  "+Inf"};
      std::vector<Samples> buckets(10);
      Samples sum, count;
      std::vector<double> cum(10, 0);
      double total_sum = 0;
      for (int i = 0; i < n_samples; ++i) {
        int64_t t = ts(i);
        int n = static_cast<int>(rng() % 6);
        for (int k = 0; k < n; ++k) {
          int b = static_cast<int>(rng() % 10);
          for (int j = b; j < 10; ++j) cum[j] += 1;
          total_sum += 0.001 * static_cast<double>(rng() % 3000);
        }
        for (int j = 0; j < 10; ++j) buckets[j].emplace_back(t, cum[j]);
        sum.emplace_back(t, total_sum);
        count.emplace_back(t, cum[9]);
      }
      for (int j = 0; j < 10; ++j) {
        out.emplace(labels::Labels({{"__name__", "http_request_duration_seconds_bucket"},
                                    {"instance", inst},
                                    {"job", "node"},
                                    {"le", kLe[j]}}),
                    std::move(buckets[j]));
      }
      out.emplace(labels::Labels({{"__name__", "http_request_duration_seconds_sum"},
                                  {"instance", inst},
                                  {"job", "node"}}),
                  std::move(sum));
      out.emplace(labels::Labels({{"__name__", "http_request_duration_seconds_count"},
                                  {"instance", inst},
                                  {"job", "node"}}),
                  std::move(count));
    }
  }
  return out;
}

}  // namespace xscaler::storage::block::testing
