// Fuzzes the head chunk file decoder: the input is a head chunk file (its first byte's low bit
// asks for a valid file header to be put in front, so the fuzzer reaches the records) and every
// offset in it is read as a chunk reference. Each read must fail cleanly or return a record that
// lies inside the file and re-encodes to exactly the bytes it was read from. Then the same bytes
// are put on disk as a head chunk file and reopened by a ChunkMapper (keep_existing), which must
// agree with the decoder: every ref it lists reads back, every plausible ref reads or fails
// cleanly.
#include <cstdint>
#include <cstdlib>
#include <stdlib.h>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include "base/coding.h"
#include "base/env.h"
#include "storage/head/chunk_mapper.h"

using xscaler::storage::head::ChunkMapper;
using xscaler::storage::head::ChunkMapperOptions;
using xscaler::storage::head::ChunkRecord;
using xscaler::storage::head::MakeChunkRef;
using xscaler::storage::head::DecodeChunkRecord;
using xscaler::storage::head::EncodeChunkRecord;
using xscaler::storage::head::kChunkRecordHeaderSize;
using xscaler::storage::head::kChunkRecordOverhead;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string file(reinterpret_cast<const char*>(data), size);
  if (size > 0 && (data[0] & 1) != 0) {
    std::string header;
    xscaler::base::PutFixed32(&header, 0x43485358);
    header.append("\x01\0\0\0", 4);
    file = header + file.substr(1);
  }
  for (uint64_t off = 0; off <= file.size() + 1; ++off) {
    auto r = DecodeChunkRecord(file, off, "fuzz");
    if (!r.ok()) {
      if (r.status().code() != absl::StatusCode::kDataLoss) std::abort();
      continue;
    }
    const ChunkRecord& rec = *r;
    const char* lo = file.data();
    const char* hi = file.data() + file.size();
    if (rec.bytes.data() < lo || rec.bytes.data() + rec.bytes.size() > hi) std::abort();
    if (rec.bytes.data() != file.data() + off + kChunkRecordHeaderSize) std::abort();
    if (rec.min_t > rec.max_t) std::abort();
    std::string again;
    EncodeChunkRecord(&again, rec.series_ref, rec.min_t, rec.max_t, rec.bytes);
    if (again.size() != kChunkRecordOverhead + rec.bytes.size()) std::abort();
    if (std::string_view(file).substr(off, again.size()) != again) std::abort();
  }
  static const std::string dir = [] {
    std::string tmpl = "/tmp/chunk_mapper_fuzz.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    return tmpl;
  }();
  {
    std::ofstream out(dir + "/000001", std::ios::binary | std::ios::trunc);
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
  }
  auto m = ChunkMapper::Open(xscaler::base::Env::Default(), dir,
                             ChunkMapperOptions{1 << 20, /*keep_existing=*/true});
  if (!m.ok()) std::abort();
  std::set<uint64_t> listed;
  absl::Status s = (*m)->ForEachChunk([&](uint64_t ref, const ChunkRecord& rec) {
    auto c = (*m)->Read(ref);
    if (!c.ok() || c->bytes != rec.bytes || c->min_t != rec.min_t) std::abort();
    listed.insert(ref);
    return absl::OkStatus();
  });
  if (!s.ok()) std::abort();
  for (uint64_t off = 0; off <= file.size() + 1; ++off) {
    auto c = (*m)->Read(MakeChunkRef(1, static_cast<uint32_t>(off)));
    if (c.ok() && c->min_t > c->max_t) std::abort();
    if (!c.ok() && listed.count(MakeChunkRef(1, static_cast<uint32_t>(off))) != 0) std::abort();
  }
  return 0;
}
