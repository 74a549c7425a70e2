// Fuzzes the remote-write decoder end to end (snappy + protobuf + label checks) against an
// Appender that accepts everything. Bit 0 of the first input byte picks whether the rest is
// treated as a snappy body or as an already-decoded WriteRequest, so both layers get explored;
// bit 1 ingests it twice through a series-ref cache, so the cached path (label-bytes keys,
// batched appends by ref, the fallback for refs the storage forgot) is explored too.
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
    return ref == 0 ? ++last_ref_ : ref;
  }
  // Refs it handed out are live, except every third one (as if garbage-collected).
  absl::StatusOr<xscaler::storage::SeriesRef> AppendExisting(xscaler::storage::SeriesRef ref,
                                                             int64_t t, double v) override {
    if (ref == 0 || ref > last_ref_ || ref % 3 == 0) return Appender::AppendExisting(ref, t, v);
    return ref;
  }
  void UpdateMetadata(const std::string&, const xscaler::storage::MetricMetadata&) override {}
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}

 private:
  xscaler::storage::SeriesRef last_ref_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  NullAppender app;
  xscaler::ingest::remote_write::SeriesRefCache cache(1 << 10);
  xscaler::ingest::remote_write::SeriesRefCache* c = (data[0] & 2) ? &cache : nullptr;
  for (int round = 0; round < (c != nullptr ? 2 : 1); ++round) {
    xscaler::ingest::IngestReport report;
    if (data[0] & 1) {
      (void)xscaler::ingest::remote_write::IngestSnappy(in, 1 << 20, app, report, c);
    } else {
      (void)xscaler::ingest::remote_write::IngestProto(in, app, report, c);
    }
  }
  return 0;
}
