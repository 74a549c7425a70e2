#include "ingest/report.h"

#include <string>

namespace xscaler::ingest {

void IngestReport::Reject(std::string_view metric, std::string_view reason, int64_t points) {
  rejected_points_ += points;
  for (auto& r : rejections_) {
    if (r.metric == metric && r.reason == reason) {
      r.points += points;
      return;
    }
  }
  rejections_.push_back({std::string(metric), std::string(reason), points});
}

void IngestReport::Warn(std::string_view message) {
  for (const auto& w : warnings_) {
    if (w == message) return;
  }
  warnings_.emplace_back(message);
}

std::string IngestReport::Summary(size_t max_bytes) const {
  std::string out;
  if (rejected_points_ > 0) {
    out = "rejected " + std::to_string(rejected_points_) + " data point" +
          (rejected_points_ == 1 ? "" : "s") + ":";
    for (size_t i = 0; i < rejections_.size(); ++i) {
      const auto& r = rejections_[i];
      out += i == 0 ? " " : "; ";
      out += "metric \"" + r.metric + "\": " + r.reason;
      if (r.points > 1) out += " (" + std::to_string(r.points) + " points)";
    }
  }
  for (const auto& w : warnings_) {
    if (!out.empty()) out += "; ";
    out += w;
  }
  if (out.size() > max_bytes) {
    static constexpr std::string_view kEllipsis = " ... (truncated)";
    out.resize(max_bytes > kEllipsis.size() ? max_bytes - kEllipsis.size() : 0);
    out += kEllipsis;
  }
  return out;
}

}  // namespace xscaler::ingest
