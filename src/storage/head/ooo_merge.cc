#include "storage/head/ooo_merge.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/chunk/xor.h"

namespace xscaler::storage::head {
namespace {

struct Sample {
  int64_t t;
  double v;
  size_t order;  // position of its chunk in the input: ties keep the earliest
};

absl::Status EncodeRun(std::vector<chunk::ChunkData>::const_iterator begin,
                       std::vector<chunk::ChunkData>::const_iterator end,
                       const std::vector<size_t>& order, size_t first_index,
                       std::vector<chunk::ChunkData>* out) {
  std::vector<Sample> samples;
  size_t i = first_index;
  for (auto c = begin; c != end; ++c, ++i) {
    chunk::XorDecoder d(c->bytes);
    while (d.Next()) samples.push_back({d.t(), d.v(), order[i]});
    if (!d.status().ok()) {
      return absl::DataLossError(absl::StrCat("head chunk [", c->min_t, ", ", c->max_t,
                                              "]: ", d.status().message()));
    }
  }
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
    return a.t != b.t ? a.t < b.t : a.order < b.order;
  });
  chunk::XorEncoder enc;
  auto flush = [&] {
    if (enc.NumSamples() == 0) return;
    const int64_t lo = enc.MinTime(), hi = enc.MaxTime();
    out->push_back(chunk::ChunkData::Owning(lo, hi, enc.Release()));
  };
  for (size_t k = 0; k < samples.size(); ++k) {
    if (k > 0 && samples[k].t == samples[k - 1].t) continue;
    if (enc.NumSamples() >= kMergedChunkSamples) flush();
    enc.Append(samples[k].t, samples[k].v);
  }
  flush();
  return absl::OkStatus();
}

}  // namespace

absl::Status MergeOverlappingChunks(std::vector<chunk::ChunkData>* chunks) {
  auto& cs = *chunks;
  bool overlap = false;
  bool sorted = true;
  for (size_t i = 1; i < cs.size() && !overlap; ++i) {
    sorted &= cs[i - 1].min_t <= cs[i].min_t;
    overlap |= cs[i].min_t <= cs[i - 1].max_t;
  }
  if (!overlap && sorted) return absl::OkStatus();
  // Sort by min_t, remembering each chunk's input position for tie-breaking.
  std::vector<size_t> idx(cs.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return cs[a].min_t < cs[b].min_t; });
  std::vector<chunk::ChunkData> in;
  in.reserve(cs.size());
  for (size_t i : idx) in.push_back(std::move(cs[i]));
  std::vector<chunk::ChunkData> out;
  out.reserve(in.size());
  size_t run = 0;
  while (run < in.size()) {
    size_t end = run + 1;
    int64_t run_max = in[run].max_t;
    while (end < in.size() && in[end].min_t <= run_max) {
      run_max = std::max(run_max, in[end].max_t);
      ++end;
    }
    if (end == run + 1) {
      out.push_back(std::move(in[run]));
    } else if (auto st = EncodeRun(in.begin() + static_cast<ptrdiff_t>(run),
                                   in.begin() + static_cast<ptrdiff_t>(end), idx, run, &out);
               !st.ok()) {
      return st;
    }
    run = end;
  }
  cs = std::move(out);
  return absl::OkStatus();
}

}  // namespace xscaler::storage::head
