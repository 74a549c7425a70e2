#include "tenant/ingestion_log.h"

#include <algorithm>
#include <utility>

namespace xscaler::tenant {
namespace {

void Clip(std::string& s) {
  if (s.size() <= IngestionLog::kMaxFieldBytes) return;
  size_t n = IngestionLog::kMaxFieldBytes - 3;
  // Back up to a UTF-8 boundary so the JSON writer downstream never sees half a character.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  s.resize(n);
  s += "...";
}

}  // namespace

void IngestionLog::Record(IngestionError e) {
  if (capacity_ == 0) return;
  Clip(e.client);
  Clip(e.metric);
  Clip(e.reason);
  absl::MutexLock lock(&mu_);
  if (entries_.size() == capacity_) entries_.pop_front();
  entries_.push_back(std::move(e));
}

std::vector<IngestionError> IngestionLog::Recent(size_t limit) const {
  absl::MutexLock lock(&mu_);
  std::vector<IngestionError> out;
  out.reserve(std::min(limit, entries_.size()));
  for (auto it = entries_.rbegin(); it != entries_.rend() && out.size() < limit; ++it) {
    out.push_back(*it);
  }
  return out;
}

void IngestionLog::RecordPush(LastPush push) {
  Clip(push.client);
  absl::MutexLock lock(&mu_);
  last_ = std::move(push);
}

std::optional<LastPush> IngestionLog::Last() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

}  // namespace xscaler::tenant
