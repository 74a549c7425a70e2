// Fuzzes WAL replay into the head: the input is a sequence of records, each prefixed by a
// 2-byte little-endian length, replayed as Tsdb::Open would. Replay must never crash, and the
// resulting head must answer queries with time-ordered samples.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/head/head.h"

using namespace xscaler;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  storage::head::HeadOptions opts;
  opts.stripes = 16;
  storage::head::Head head(opts);
  while (in.size() >= 2) {
    size_t len = static_cast<uint8_t>(in[0]) | (static_cast<size_t>(static_cast<uint8_t>(in[1])) << 8);
    in.remove_prefix(2);
    len = std::min(len, in.size());
    head.ReplayRecord(in.substr(0, len));
    in.remove_prefix(len);
  }
  head.FinishReplay();
  auto q = head.NewQuerier(storage::kMinTime, storage::kMaxTime);
  auto m = labels::Matcher::Create(labels::MatchType::kRegexMatch, "__name__", ".+");
  if (!m.ok()) std::abort();
  std::vector<labels::Matcher> ms = {*m};
  auto set = q->Select(ms);
  while (set->Next()) {
    auto it = set->At().Iterator();
    bool first = true;
    int64_t prev = 0;
    while (it->Next()) {
      if (!first && it->At().first <= prev) std::abort();
      prev = it->At().first;
      first = false;
    }
    if (!it->Err().ok()) std::abort();
  }
  (void)q->LabelNames({});
  return 0;
}
