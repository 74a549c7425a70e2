// What one ingest request did: how many samples were stored and which points were rejected
// and why. Decoders fill it; the HTTP layer turns it into a partial-success answer and the
// tenant's ingestion-error log. Not thread-safe; one per request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xscaler::ingest {

struct Rejection {
  std::string metric;  // the metric as the client named it (OTLP name or __name__)
  std::string reason;  // a sentence a user can act on, e.g. "out of order sample: ..."
  int64_t points = 0;  // data points rejected for this (metric, reason)
};

class IngestReport {
 public:
  // Counts `points` rejected data points of `metric` for `reason`; equal (metric, reason)
  // pairs are merged so a batch with 10k identical failures stays small.
  void Reject(std::string_view metric, std::string_view reason, int64_t points = 1);
  void AddAccepted(int64_t samples) { accepted_samples_ += samples; }
  // A note that is not a rejection (e.g. "exponential histogram converted ..."); shown in the
  // partial-success message with rejected_data_points = 0 when nothing was rejected.
  void Warn(std::string_view message);

  int64_t accepted_samples() const { return accepted_samples_; }
  int64_t rejected_points() const { return rejected_points_; }
  const std::vector<Rejection>& rejections() const { return rejections_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // One human-readable English message for OTLP's partial_success.error_message, at most
  // `max_bytes` long, e.g. `rejected 3 data points: metric "x": out of order sample (2 points);
  // ...`. Empty when there is nothing to say.
  std::string Summary(size_t max_bytes = 4096) const;

 private:
  int64_t accepted_samples_ = 0;
  int64_t rejected_points_ = 0;
  std::vector<Rejection> rejections_;
  std::vector<std::string> warnings_;
};

}  // namespace xscaler::ingest
