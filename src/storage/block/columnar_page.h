// The columnar body of a block chunk page (docs/format/block.md, "Columnar pages"): the XOR
// chunks of one raw page (`entry*`) decoded into their samples and stored as byte-aligned
// streams (timestamp delta-of-deltas, decimal mantissa deltas, XOR byte planes) that zstd
// compresses far better than XOR bit streams. Decoding re-encodes every chunk with
// chunk::XorEncoder, so it re-creates the raw page byte for byte; chunks that would not
// (undecodable, or produced by a different encoder) are kept verbatim.
//
// The caller (ChunksWriter) must still check DecodeColumnarPage(EncodeColumnarPage(raw)) == raw
// before trusting a body: this module guarantees it for well-formed XOR chunks, the writer
// makes sure a bug here costs bytes and never data.
//
// Thread-safety: stateless functions; safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace xscaler::storage::block {

inline constexpr uint8_t kColumnarVersion = 1;
inline constexpr int kColumnarStreams = 17;

// The largest body a page of `raw_len` raw bytes may have (a reader rejects bigger frames
// before allocating; a writer falls back to zstd pages above it).
inline constexpr size_t MaxColumnarBodyBytes(size_t raw_len) { return 16 * raw_len + 1024; }

// Per-stream byte counts of the bodies encoded so far (for benchmarks and tuning).
struct ColumnarStats {
  uint64_t stream_bytes[kColumnarStreams] = {};
  uint64_t chunks_by_kind[4] = {};
  uint64_t samples_by_kind[4] = {};
};

// The columnar body of the raw page `raw` (entry*). InvalidArgument when `raw` is not a
// sequence of well-formed entries. `stats` (optional) accumulates stream sizes.
absl::StatusOr<std::string> EncodeColumnarPage(std::string_view raw,
                                               ColumnarStats* stats = nullptr);

// Rebuilds the raw page from `body` into *raw (replacing its contents). `raw_len` is the raw
// length the page header announces: the result must have exactly that many bytes. Never reads
// out of bounds or allocates more than ~raw_len on corrupt input; reports DataLoss
// "columnar page: ...".
absl::Status DecodeColumnarPage(std::string_view body, size_t raw_len, std::string* raw);

}  // namespace xscaler::storage::block
