// Fuzzes the remote-write decoder end to end (snappy + protobuf + label checks) against an
// Appender that accepts everything. The first input byte picks whether the rest is treated as
// a snappy body or as an already-decoded WriteRequest, so both layers get explored.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/remote_write/remote_write.h"

namespace {

class NullAppender final : public xscaler::storage::Appender {
 public:
  absl::StatusOr<xscaler::storage::SeriesRef> Append(xscaler::storage::SeriesRef ref,
                                                     const xscaler::labels::Labels& lset,
                                                     int64_t, double) override {
    if (lset.MetricName().empty()) __builtin_trap();  // the decoder must never pass these on
    return ref == 0 ? 1 : ref;
  }
  void UpdateMetadata(const std::string&, const xscaler::storage::MetricMetadata&) override {}
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  NullAppender app;
  xscaler::ingest::IngestReport report;
  if (data[0] & 1) {
    (void)xscaler::ingest::remote_write::IngestSnappy(in, 1 << 20, app, report);
  } else {
    (void)xscaler::ingest::remote_write::IngestProto(in, app, report);
  }
  return 0;
}
