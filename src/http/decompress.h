// Request-body decompression by Content-Encoding with a hard output limit. Bytes are counted
// while inflating and inflation stops as soon as the limit is passed, so a 10 KiB gzip bomb
// that expands to gigabytes never allocates more than `max_bytes` (+ one chunk).
// Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace xscaler::http {

inline constexpr size_t kDefaultMaxBodyBytes = 64u << 20;

// The encodings Decompress understands, for 415 messages.
inline constexpr std::string_view kSupportedEncodings = "identity, gzip, deflate, zstd";

// Decodes `body` per a Content-Encoding header value (case-insensitive; a comma-separated list
// is undone last-to-first; empty/"identity" = unchanged). "deflate" accepts a zlib stream (what
// HTTP means and Python's exporter sends) or raw deflate (what some clients send).
// Errors: ResourceExhausted when the decoded body exceeds `max_bytes`; Unimplemented for an
// unknown encoding (message names the supported ones); InvalidArgument for corrupt data.
absl::StatusOr<std::string> Decompress(std::string_view content_encoding, std::string body,
                                       size_t max_bytes);

// For responses: true when an Accept-Encoding value allows gzip (a "gzip" or "*" entry
// without q=0).
bool AcceptsGzip(std::string_view accept_encoding);

// gzip-compresses `in` (level 1..9). Used for large responses to clients that accept gzip.
std::string GzipEncode(std::string_view in, int level = 5);

}  // namespace xscaler::http
