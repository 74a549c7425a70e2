// Decoders from the two OTLP/HTTP body encodings into the flat Request model (model.h).
// Both validate the whole body before returning: an error means the body is unusable and the
// caller must not translate anything (HTTP 400). Attribute values are rendered to text here so
// both encodings give byte-identical labels:
//   string as is; bool true/false; int decimal; double shortest (FormatAttrDouble);
//   bytes base64; array / kvlist compact JSON (kvlist keys sorted; nested bytes base64);
//   empty AnyValue "".
// Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ingest/otlp/model.h"

namespace xscaler::ingest::otlp {

// Nested attribute values (arrays in arrays ...) deeper than this are refused, so hostile input
// cannot exhaust the stack.
inline constexpr int kMaxAnyValueDepth = 32;

// Decodes a binary ExportMetricsServiceRequest. `body` must outlive `out`. Unknown fields are
// skipped; exemplars and Metric.metadata are skipped without being decoded.
absl::Status DecodeProto(std::string_view body, Request& out);

// Decodes a protobuf-JSON ExportMetricsServiceRequest, parsing `body` in place (it is modified
// and must outlive `out`). Errors name the JSON path or byte offset.
absl::Status DecodeJson(std::string& body, Request& out);

}  // namespace xscaler::ingest::otlp
