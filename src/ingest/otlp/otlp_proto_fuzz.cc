// Fuzzes the OTLP protobuf path end to end (decode + translate) into a recording appender.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ingest/otlp/fake_appender.h"
#include "ingest/otlp/ingester.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static xscaler::ingest::otlp::Ingester ingester(nullptr, {});
  std::string body(reinterpret_cast<const char*>(data), size);
  xscaler::ingest::otlp::FakeAppender app;
  xscaler::ingest::IngestReport report;
  absl::Status st = ingester.Ingest(body, xscaler::ingest::otlp::Encoding::kProtobuf, app, report);
  if (!st.ok() && !app.samples.empty()) __builtin_trap();  // a failed decode must append nothing
  (void)xscaler::ingest::otlp::EncodeExportResponse(xscaler::ingest::otlp::Encoding::kProtobuf,
                                                    report);
  return 0;
}
