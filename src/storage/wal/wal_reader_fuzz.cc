// Fuzzes the WAL reader with a segment made of arbitrary bytes (plain and zstd frames, zero
// tails), checking that Repair leaves a log that reads cleanly with the same records, and feeds
// every record (and the raw input) to the record decoders, checking that decoded samples
// survive re-encoding in both layouts.
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "storage/wal/record.h"
#include "storage/wal/wal.h"

namespace wal = xscaler::storage::wal;
using xscaler::base::Env;

namespace {

void DecodeAll(std::string_view rec) {
  std::vector<wal::SeriesRecord> series;
  std::vector<wal::SampleRecord> samples;
  std::vector<wal::MetadataRecord> metadata;
  (void)wal::PeekType(rec);
  (void)wal::DecodeSeries(rec, &series);
  (void)wal::DecodeSamples(rec, &samples);
  (void)wal::DecodeMetadata(rec, &metadata);
  // What decodes must re-encode to something that decodes to the same thing.
  // Both sample layouts must hold the same samples.
  if (wal::DecodeSamples(rec, &samples).ok()) {
    for (bool columnar : {true, false}) {
      std::string again;
      if (columnar) {
        wal::EncodeSamples(samples, &again);
      } else {
        wal::EncodeSamplesRowLayout(samples, &again);
      }
      std::vector<wal::SampleRecord> back;
      if (!wal::DecodeSamples(again, &back).ok() || back.size() != samples.size()) std::abort();
      for (size_t i = 0; i < back.size(); ++i) {
        if (back[i].ref != samples[i].ref || back[i].t != samples[i].t ||
            std::memcmp(&back[i].v, &samples[i].v, sizeof(double)) != 0) {
          std::abort();
        }
      }
    }
  }
}

std::vector<std::string> ReadAll(const std::string& dir, bool* clean, bool repair) {
  auto r = wal::Reader::Open(Env::Default(), dir);
  if (!r.ok()) std::abort();
  std::vector<std::string> out;
  std::string rec;
  while ((*r)->Next(&rec)) out.push_back(rec);
  *clean = (*r)->status().ok();
  if (repair && !(*r)->Repair().ok()) std::abort();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string t = std::string(tmp != nullptr ? tmp : "/tmp") + "/wal_reader_fuzz.XXXXXX";
    if (::mkdtemp(t.data()) == nullptr) std::abort();
    return t;
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] { (void)Env::Default()->RemoveDirRecursive(dir); });
    return true;
  }();
  (void)cleanup_registered;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  DecodeAll(input);

  Env* env = Env::Default();
  std::string seg = wal::SegmentPath(dir, 1);
  auto f = env->NewWritableFile(seg);
  if (!f.ok() || !(*f)->Append(input).ok() || !(*f)->Close().ok()) std::abort();

  bool clean = false;
  std::vector<std::string> first = ReadAll(dir, &clean, /*repair=*/true);
  for (const std::string& rec : first) DecodeAll(rec);
  bool clean_after = false;
  std::vector<std::string> second = ReadAll(dir, &clean_after, /*repair=*/false);
  if (!clean_after || second != first) std::abort();
  (void)env->RemoveFile(seg);
  return 0;
}
