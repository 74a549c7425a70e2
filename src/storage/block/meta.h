// BlockMeta: what a block's meta.json says about it (docs/format/block.md), plus ULIDs, the
// block directory names. A block covers [min_time, max_time) (max exclusive, as Prometheus).
//
// Thread-safety: plain values and pure functions; NewUlid is safe for concurrent use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/env.h"

namespace xscaler::storage::block {

inline constexpr int kMetaVersion = 1;
inline constexpr char kMetaFilename[] = "meta.json";

struct BlockMeta {
  std::string ulid;
  int64_t min_time = 0;  // inclusive
  int64_t max_time = 0;  // exclusive
  uint64_t num_series = 0, num_samples = 0, num_chunks = 0;
  int level = 1;                      // 1 = cut from the head; compaction: max(sources)+1
  std::vector<std::string> sources;   // level-1 ulids this block's data came from
  std::vector<std::string> parents;   // ulids directly compacted into this block

  friend bool operator==(const BlockMeta&, const BlockMeta&) = default;
};

// A new ULID: 48-bit millisecond time + 80 random bits, 26 chars Crockford base32, so names
// sort by creation time.
std::string NewUlid(int64_t now_ms);
// True when `name` is 26 Crockford base32 chars (upper case) with a valid time prefix.
bool IsUlid(std::string_view name);
// Milliseconds encoded in a ULID. REQUIRES: IsUlid(ulid).
int64_t UlidTime(std::string_view ulid);

// meta.json text for `meta`, and back. DecodeMeta returns DataLoss naming `what` (the path)
// on malformed JSON or missing/ill-typed fields.
std::string EncodeMeta(const BlockMeta& meta);
absl::StatusOr<BlockMeta> DecodeMeta(std::string_view json, std::string_view what);

// Reads and parses block_dir/meta.json.
absl::StatusOr<BlockMeta> ReadMeta(base::Env* env, const std::string& block_dir);

}  // namespace xscaler::storage::block
