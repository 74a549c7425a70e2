#include "storage/block/tombstones.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"

namespace xscaler::storage::block {
namespace {

constexpr char kMagic[4] = {'X', 'S', 'T', 'B'};
constexpr uint8_t kVersion = 1;

// b - a for a < b, without signed overflow.
uint64_t Gap(int64_t a, int64_t b) { return static_cast<uint64_t>(b) - static_cast<uint64_t>(a); }

}  // namespace

void AddInterval(Intervals* ivs, Interval iv) {
  Intervals out;
  out.reserve(ivs->size() + 1);
  bool placed = false;
  for (const Interval& x : *ivs) {
    // Disjoint and not adjacent (careful with overflow at the int64 ends).
    if (x.max_t < iv.min_t && Gap(x.max_t, iv.min_t) > 1) {
      out.push_back(x);
    } else if (x.min_t > iv.max_t && Gap(iv.max_t, x.min_t) > 1) {
      if (!placed) out.push_back(iv), placed = true;
      out.push_back(x);
    } else {
      iv.min_t = std::min(iv.min_t, x.min_t);
      iv.max_t = std::max(iv.max_t, x.max_t);
    }
  }
  if (!placed) out.push_back(iv);
  *ivs = std::move(out);
}

bool IsDeleted(const Intervals& ivs, int64_t t) {
  auto it = std::upper_bound(ivs.begin(), ivs.end(), t,
                             [](int64_t v, const Interval& x) { return v < x.min_t; });
  return it != ivs.begin() && std::prev(it)->max_t >= t;
}

bool CoversRange(const Intervals& ivs, int64_t min_t, int64_t max_t) {
  for (const Interval& x : ivs) {
    if (x.min_t <= min_t && x.max_t >= max_t) return true;
  }
  return false;
}

std::string EncodeTombstones(const Tombstones& t) {
  std::string out(kMagic, 4);
  out.push_back(static_cast<char>(kVersion));
  base::PutVarint64(&out, t.size());
  uint64_t prev_id = 0;
  for (const auto& [id, ivs] : t) {
    base::PutVarint64(&out, id - prev_id);
    prev_id = id;
    base::PutVarint64(&out, ivs.size());
    for (const Interval& iv : ivs) {
      base::PutVarsint64(&out, iv.min_t);
      base::PutVarint64(&out, static_cast<uint64_t>(iv.max_t) - static_cast<uint64_t>(iv.min_t));
    }
  }
  base::PutFixed32(&out, base::MaskCrc(base::Crc32c(out)));
  return out;
}

absl::StatusOr<Tombstones> DecodeTombstones(std::string_view data, std::string_view what) {
  auto bad = [&](std::string_view in, std::string_view why) {
    return absl::DataLossError(absl::StrCat(std::string(what), " offset ",
                                            data.size() - in.size(), ": ", std::string(why)));
  };
  if (data.size() < 9 || data.substr(0, 4) != std::string_view(kMagic, 4)) {
    return bad(data, "bad tombstones magic");
  }
  std::string_view body = data.substr(0, data.size() - 4);
  if (base::MaskCrc(base::Crc32c(body)) != base::DecodeFixed32(data.data() + data.size() - 4)) {
    return bad(data.substr(data.size() - 4), "tombstones crc mismatch");
  }
  if (static_cast<uint8_t>(data[4]) != kVersion) return bad(data.substr(4), "unsupported version");
  std::string_view in = body.substr(5);
  uint64_t n;
  if (!base::GetVarint64(&in, &n)) return bad(in, "bad series count");
  Tombstones t;
  uint64_t id = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t delta, count;
    if (!base::GetVarint64(&in, &delta) || !base::GetVarint64(&in, &count) ||
        (i > 0 && delta == 0) || count == 0 || count > in.size()) {
      return bad(in, "bad series entry");
    }
    id += delta;
    Intervals& ivs = t[id];
    for (uint64_t j = 0; j < count; ++j) {
      int64_t min_t;
      uint64_t len;
      if (!base::GetVarsint64(&in, &min_t) || !base::GetVarint64(&in, &len)) {
        return bad(in, "bad interval");
      }
      Interval iv{min_t, static_cast<int64_t>(static_cast<uint64_t>(min_t) + len)};
      if (iv.max_t < iv.min_t || (!ivs.empty() && iv.min_t <= ivs.back().max_t)) {
        return bad(in, "intervals not sorted and disjoint");
      }
      ivs.push_back(iv);
    }
  }
  if (!in.empty()) return bad(in, "trailing bytes");
  return t;
}

}  // namespace xscaler::storage::block
