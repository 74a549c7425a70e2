#include "http/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <vector>

#include "http/str.h"

namespace xscaler::http {
namespace {

constexpr size_t kChunk = 64 << 10;

absl::Status TooLarge(size_t max_bytes) {
  return absl::ResourceExhaustedError(Cat("request body is larger than the limit of ", max_bytes,
                                          " bytes after decompression; send smaller batches"));
}

// window_bits: 15+16 gzip, 15 zlib, -15 raw deflate.
absl::StatusOr<std::string> Inflate(std::string_view in, int window_bits, size_t max_bytes,
                                    std::string_view name) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) {
    return absl::InternalError("zlib initialisation failed");
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, &inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  while (true) {
    size_t old = out.size();
    if (old >= max_bytes + 1) return TooLarge(max_bytes);
    // Never grow past limit+1: one byte over proves the body is too large.
    size_t grow = std::min(kChunk, max_bytes + 1 - old);
    out.resize(old + grow);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    zs.avail_out = static_cast<uInt>(grow);
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(old + grow - zs.avail_out);
    if (out.size() > max_bytes) return TooLarge(max_bytes);
    if (rc == Z_STREAM_END) {
      // gzip allows concatenated members; continue with the next one if bytes remain.
      if (window_bits > 15 && zs.avail_in > 0) {
        if (inflateReset(&zs) != Z_OK) return absl::InternalError("zlib reset failed");
        continue;
      }
      return out;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      return absl::InvalidArgumentError(
          Cat("truncated ", name, " body: the compressed stream ends early"));
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return absl::InvalidArgumentError(
          Cat("invalid ", name, " body: ", zs.msg != nullptr ? zs.msg : "corrupt stream"));
    }
  }
}

bool LooksLikeZlib(std::string_view in) {
  if (in.size() < 2) return false;
  auto b0 = static_cast<unsigned char>(in[0]);
  auto b1 = static_cast<unsigned char>(in[1]);
  return (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 == 0;
}

absl::StatusOr<std::string> Unzstd(std::string_view in, size_t max_bytes) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(),
                                                              &ZSTD_freeDStream);
  if (!ds) return absl::InternalError("zstd initialisation failed");
  ZSTD_initDStream(ds.get());
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  std::string out;
  size_t last = 1;
  while (true) {
    size_t old = out.size();
    if (old > max_bytes) return TooLarge(max_bytes);
    size_t grow = std::min(kChunk, max_bytes + 1 - old);
    out.resize(old + grow);
    ZSTD_outBuffer output{out.data() + old, grow, 0};
    last = ZSTD_decompressStream(ds.get(), &output, &input);
    out.resize(old + output.pos);
    if (ZSTD_isError(last)) {
      return absl::InvalidArgumentError(Cat("invalid zstd body: ", ZSTD_getErrorName(last)));
    }
    if (out.size() > max_bytes) return TooLarge(max_bytes);
    if (last == 0 && input.pos == input.size) return out;
    if (input.pos == input.size && output.pos < grow) {
      return absl::InvalidArgumentError("truncated zstd body: the compressed stream ends early");
    }
  }
}

}  // namespace

absl::StatusOr<std::string> Decompress(std::string_view content_encoding, std::string body,
                                       size_t max_bytes) {
  std::vector<std::string> codings;
  for (std::string_view c : Split(content_encoding, ',')) {
    std::string lower = Lower(Trim(c));
    if (!lower.empty()) codings.push_back(std::move(lower));
  }
  for (const auto& c : codings) {
    if (c != "identity" && c != "gzip" && c != "x-gzip" && c != "deflate" && c != "zstd") {
      return absl::UnimplementedError(
          Cat("unsupported Content-Encoding \"", c, "\"; supported: ", kSupportedEncodings));
    }
  }
  for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
    const std::string& c = *it;
    absl::StatusOr<std::string> decoded;
    if (c == "identity") {
      continue;
    } else if (c == "gzip" || c == "x-gzip") {
      decoded = Inflate(body, 15 + 16, max_bytes, "gzip");
    } else if (c == "deflate") {
      decoded = LooksLikeZlib(body) ? Inflate(body, 15, max_bytes, "deflate")
                                    : Inflate(body, -15, max_bytes, "deflate");
    } else {
      decoded = Unzstd(body, max_bytes);
    }
    if (!decoded.ok()) return decoded.status();
    body = *std::move(decoded);
  }
  if (body.size() > max_bytes) return TooLarge(max_bytes);
  return body;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  for (std::string_view entry : Split(accept_encoding, ',')) {
    std::vector<std::string_view> parts = Split(entry, ';');
    std::string coding = Lower(Trim(parts[0]));
    if (coding != "gzip" && coding != "*") continue;
    bool refused = false;
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string param = Lower(Trim(parts[i]));
      if (param.starts_with("q=")) {
        std::string_view q = std::string_view(param).substr(2);
        refused = q.find_first_not_of("0.") == std::string_view::npos;
      }
    }
    if (!refused) return true;
  }
  return false;
}

std::string GzipEncode(std::string_view in, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::string();
  }
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

}  // namespace xscaler::http
