// What a tenant recently sent and what was refused: a bounded ring of rejected requests/points
// (newest first when read) and the outcome of the tenant's last push. Backs
// GET /api/v1/ingestion/errors, the "why are my metrics not appearing" answer.
//
// Thread-safety: all methods are safe to call concurrently. Memory is bounded by `capacity`
// entries (and each entry's strings are clipped to a few hundred bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace xscaler::tenant {

struct IngestionError {
  int64_t time_unix_ms = 0;
  std::string protocol;  // "otlp" | "remote_write"
  std::string client;    // remote address + User-Agent
  int http_status = 0;   // what the request was answered with (200 for partial success)
  std::string metric;    // empty when the whole request was refused
  std::string reason;
  int64_t points = 0;
  friend bool operator==(const IngestionError&, const IngestionError&) = default;
};

// The outcome of the most recent push, accepted or not.
struct LastPush {
  int64_t time_unix_ms = 0;
  std::string protocol;
  std::string client;
  int64_t accepted = 0;
  int64_t rejected = 0;
  int http_status = 0;
  friend bool operator==(const LastPush&, const LastPush&) = default;
};

class IngestionLog {
 public:
  static constexpr size_t kDefaultCapacity = 100;
  // Longest client/metric/reason kept; longer text is clipped with "...".
  static constexpr size_t kMaxFieldBytes = 512;

  explicit IngestionLog(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // Remembers `e`, dropping the oldest entry when full.
  void Record(IngestionError e);
  // Up to `limit` entries, newest first.
  std::vector<IngestionError> Recent(size_t limit) const;

  void RecordPush(LastPush push);
  std::optional<LastPush> Last() const;

  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<IngestionError> entries_ ABSL_GUARDED_BY(mu_);  // oldest at front
  std::optional<LastPush> last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xscaler::tenant
