// OTLP/HTTP response bodies: ExportMetricsServiceResponse and google.rpc.Status, as binary
// protobuf (hand-encoded: two tiny messages) or protobuf-JSON.
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/otlp/ingester.h"
#include "ingest/otlp/naming.h"

namespace xscaler::ingest::otlp {
namespace {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutLen(std::string& out, uint32_t field, std::string_view bytes) {
  PutVarint(out, (static_cast<uint64_t>(field) << 3) | 2);
  PutVarint(out, bytes.size());
  out.append(bytes);
}

void PutVarintField(std::string& out, uint32_t field, uint64_t v) {
  PutVarint(out, static_cast<uint64_t>(field) << 3);
  PutVarint(out, v);
}

}  // namespace

std::string EncodeExportResponse(Encoding enc, const IngestReport& report) {
  if (report.rejected_points() == 0 && report.warnings().empty() && report.rejections().empty()) {
    return enc == Encoding::kJson ? "{}" : "";
  }
  // The spec recommends keeping responses under 4 MiB and the Collector reads only 64 KiB of
  // them; a few KiB of explanation is plenty.
  std::string message = ToValidUtf8(report.Summary(4096));
  const int64_t rejected = report.rejected_points();
  if (enc == Encoding::kJson) {
    std::string out = "{\"partialSuccess\":{";
    bool comma = false;
    if (rejected != 0) {
      out += Cat("\"rejectedDataPoints\":\"", rejected, "\"");
      comma = true;
    }
    if (!message.empty()) {
      if (comma) out += ',';
      out += "\"errorMessage\":";
      AppendJsonString(out, message);
    }
    out += "}}";
    return out;
  }
  std::string partial;
  if (rejected != 0) PutVarintField(partial, 1, static_cast<uint64_t>(rejected));
  if (!message.empty()) PutLen(partial, 2, message);
  std::string out;
  PutLen(out, 1, partial);
  return out;
}

std::string EncodeStatus(Encoding enc, int grpc_code, std::string_view raw_message) {
  std::string message = ToValidUtf8(raw_message);
  if (enc == Encoding::kJson) {
    std::string out = Cat("{\"code\":", grpc_code, ",\"message\":");
    AppendJsonString(out, message);
    out += '}';
    return out;
  }
  std::string out;
  // int32 is encoded as a sign-extended varint.
  if (grpc_code != 0)
    PutVarintField(out, 1, static_cast<uint64_t>(static_cast<int64_t>(grpc_code)));
  if (!message.empty()) PutLen(out, 2, message);
  return out;
}

}  // namespace xscaler::ingest::otlp
