#include "storage/index/index_file.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "storage/index/index_format.h"

namespace xscaler::storage::index {
namespace {

using format::kSeriesGroup;
using format::kSymbolGroup;

uint64_t Groups(uint64_t n, uint32_t per) { return (n + per - 1) / per; }

bool CrcMatches(std::string_view payload, uint32_t stored_masked) {
  return base::UnmaskCrc(stored_masked) == base::Crc32c(payload);
}

// Decodes symbols of one table, remembering the last decoded one so that ascending lookups
// (a label's values, which are stored in symbol order) cost one entry each.
class SymbolCursor {
 public:
  // `payload` is the whole symbols payload; `n` the number of symbols. The restart table is
  // known (by Open) to fit in the payload.
  SymbolCursor(std::string_view payload, uint32_t n) : n_(n) {
    uint64_t restarts = Groups(n, kSymbolGroup) * 4;
    entries_ = payload.substr(0, payload.size() - restarts);
    restarts_ = payload.substr(payload.size() - restarts);
  }

  // The whole symbol at restart `g` (stored without prefix sharing), borrowed from the file.
  bool RestartSymbol(uint64_t g, std::string_view* out) const {
    uint32_t off = base::DecodeFixed32(restarts_.data() + 4 * g);
    if (off > entries_.size()) return false;
    std::string_view in = entries_.substr(off);
    return base::GetLengthPrefixed(&in, out);
  }

  // *out stays valid until the next call.
  bool Get(uint32_t id, std::string_view* out) {
    if (id >= n_) return false;
    if (!(valid_ && id >= cur_id_ && id / kSymbolGroup == cur_id_ / kSymbolGroup)) {
      valid_ = false;
      uint32_t g = id / kSymbolGroup;
      uint32_t off = base::DecodeFixed32(restarts_.data() + 4 * g);
      if (off > entries_.size()) return false;
      rest_ = entries_.substr(off);
      std::string_view s;
      if (!base::GetLengthPrefixed(&rest_, &s)) return false;
      cur_.assign(s);
      cur_id_ = g * kSymbolGroup;
      valid_ = true;
    }
    while (cur_id_ < id) {
      uint64_t shared;
      std::string_view suffix;
      if (!base::GetVarint64(&rest_, &shared) || shared > cur_.size() ||
          !base::GetLengthPrefixed(&rest_, &suffix)) {
        valid_ = false;
        return false;
      }
      cur_.resize(shared);
      cur_.append(suffix);
      ++cur_id_;
    }
    *out = cur_;
    return true;
  }

  uint64_t groups() const { return restarts_.size() / 4; }
  uint32_t size() const { return n_; }

 private:
  uint32_t n_;
  std::string_view entries_, restarts_, rest_;
  std::string cur_;
  uint32_t cur_id_ = 0;
  bool valid_ = false;
};

}  // namespace

IndexFile::IndexFile(std::unique_ptr<base::MemoryRegion> region, std::string path)
    : region_(std::move(region)), data_(region_->data()), path_(std::move(path)) {}

IndexFile::~IndexFile() = default;

absl::StatusOr<std::unique_ptr<IndexFile>> IndexFile::Open(std::unique_ptr<base::MemoryRegion> data,
                                                           std::string path) {
  if (data == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("index ", path, ": no data"));
  }
  std::unique_ptr<IndexFile> f(new IndexFile(std::move(data), std::move(path)));
  if (absl::Status st = f->Init(); !st.ok()) return st;
  return f;
}

absl::Status IndexFile::Corrupt(uint64_t offset, std::string_view what) const {
  std::string msg = absl::StrCat("index ", path_, " offset ", offset, ": ");
  msg.append(what);
  return absl::DataLossError(msg);
}

absl::Status IndexFile::Init() {
  const uint64_t size = data_.size();
  if (size < format::kHeaderSize + format::kTocSize) {
    return Corrupt(0, absl::StrCat("file too short for an index (", size, " bytes)"));
  }
  if (data_.substr(0, 4) != std::string_view(format::kMagic, 4)) {
    return Corrupt(0, "bad magic (not an xScaler index file)");
  }
  if (static_cast<uint8_t>(data_[4]) != format::kVersion) {
    return Corrupt(4,
                   absl::StrCat("unsupported index version ", static_cast<int>(data_[4]) & 0xff));
  }
  if (data_[5] != 0 || data_[6] != 0 || data_[7] != 0) {
    return Corrupt(5, "reserved header bytes are not zero");
  }
  const uint64_t toc_start = size - format::kTocSize;
  std::string_view toc = data_.substr(toc_start);
  if (!CrcMatches(toc.substr(0, format::kTocSize - 4),
                  base::DecodeFixed32(toc.data() + format::kTocSize - 4))) {
    return Corrupt(toc_start, "TOC crc mismatch");
  }
  Section* secs[format::kNumSections] = {&symbols_, &series_, &names_sec_, &pairs_, &postings_};
  static constexpr const char* kSecNames[format::kNumSections] = {"symbols", "series", "names",
                                                                  "pairs", "postings"};
  uint64_t prev_end = format::kHeaderSize;
  for (int i = 0; i < format::kNumSections; ++i) {
    uint64_t off = base::DecodeFixed64(toc.data() + 16 * i);
    uint64_t len = base::DecodeFixed64(toc.data() + 16 * i + 8);
    if (off < prev_end || off > toc_start || len > toc_start - off || toc_start - off - len < 4) {
      return Corrupt(toc_start + 16 * i, absl::StrCat(kSecNames[i], " section [", off, ", +", len,
                                                      ") out of bounds or out of order"));
    }
    secs[i]->off = off;
    secs[i]->len = len;
    prev_end = off + len + 4;
  }
  const char* p = toc.data() + 16 * format::kNumSections;
  num_series_ = base::DecodeFixed64(p);
  num_symbols_ = base::DecodeFixed32(p + 8);
  min_time_ = static_cast<int64_t>(base::DecodeFixed64(p + 12));
  max_time_ = static_cast<int64_t>(base::DecodeFixed64(p + 20));
  base_time_ = min_time_;
  if (min_time_ > max_time_) return Corrupt(toc_start, "TOC min_time > max_time");
  for (int i = 0; i < format::kNumSections; ++i) {
    const Section& s = *secs[i];
    if (!CrcMatches(Payload(s), base::DecodeFixed32(data_.data() + s.off + s.len))) {
      return Corrupt(s.off, absl::StrCat(kSecNames[i], " section crc mismatch"));
    }
  }
  // Table shapes.
  if (Groups(num_symbols_, kSymbolGroup) * 4 > symbols_.len) {
    return Corrupt(symbols_.off, "symbol restart table larger than the symbols section");
  }
  if (num_series_ > UINT32_MAX || Groups(num_series_, kSeriesGroup) * 4 > series_.len) {
    return Corrupt(series_.off, absl::StrCat("series group table for ", num_series_,
                                             " series larger than the series section"));
  }
  if (names_sec_.len % format::kNameEntrySize != 0) {
    return Corrupt(names_sec_.off, "names section is not a whole number of entries");
  }
  if (pairs_.len % format::kPairEntrySize != 0 || pairs_.len < format::kPairEntrySize ||
      pairs_.len / format::kPairEntrySize - 1 > UINT32_MAX) {
    return Corrupt(pairs_.off, "pairs section is not a whole number of entries plus sentinel");
  }
  num_pairs_ = static_cast<uint32_t>(pairs_.len / format::kPairEntrySize - 1);
  uint32_t sentinel_off = base::DecodeFixed32(data_.data() + pairs_.off + pairs_.len - 4);
  if (sentinel_off != postings_.len) {
    return Corrupt(pairs_.off + pairs_.len - 4,
                   "pairs sentinel does not match the postings section length");
  }
  // Names table, kept in memory.
  const uint64_t num_names = names_sec_.len / format::kNameEntrySize;
  if (num_names > num_pairs_ || (num_names == 0 && num_pairs_ != 0)) {
    return Corrupt(names_sec_.off, "names table does not match the pairs table");
  }
  names_.resize(num_names);
  SymbolCursor cur(Payload(symbols_), num_symbols_);
  for (uint64_t i = 0; i < num_names; ++i) {
    const uint64_t at = names_sec_.off + i * format::kNameEntrySize;
    uint32_t sym = base::DecodeFixed32(data_.data() + at);
    uint32_t first = base::DecodeFixed32(data_.data() + at + 4);
    std::string_view name;
    if (!cur.Get(sym, &name)) return Corrupt(at, absl::StrCat("bad label name symbol ", sym));
    if (i > 0 && name <= names_[i - 1].name) return Corrupt(at, "label names not ascending");
    if (i == 0 ? first != 0 : first <= names_[i - 1].first_pair) {
      return Corrupt(at + 4, "label name pair ranges not ascending");
    }
    if (first >= num_pairs_) return Corrupt(at + 4, "label name pair range out of bounds");
    names_[i].name.assign(name);
    names_[i].first_pair = first;
    if (i > 0) names_[i - 1].end_pair = first;
  }
  if (num_names > 0) names_.back().end_pair = num_pairs_;
  return absl::OkStatus();
}

bool IndexFile::Symbol(uint32_t id, std::string* out) const {
  SymbolCursor cur(Payload(symbols_), num_symbols_);
  std::string_view s;
  if (!cur.Get(id, &s)) return false;
  out->assign(s);
  return true;
}

int64_t IndexFile::FindSymbol(std::string_view s) const {
  SymbolCursor cur(Payload(symbols_), num_symbols_);
  // Last restart whose symbol is <= s.
  uint64_t lo = 0, hi = cur.groups();
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    std::string_view r;
    if (!cur.RestartSymbol(mid, &r)) return -1;
    if (r <= s) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return -1;
  const uint64_t g = lo - 1;
  const uint64_t end = std::min<uint64_t>(num_symbols_, (g + 1) * kSymbolGroup);
  for (uint64_t id = g * kSymbolGroup; id < end; ++id) {
    std::string_view v;
    if (!cur.Get(static_cast<uint32_t>(id), &v)) return -1;
    if (v == s) return static_cast<int64_t>(id);
    if (v > s) return -1;
  }
  return -1;
}

const IndexFile::Name* IndexFile::FindName(std::string_view name) const {
  auto it = std::lower_bound(names_.begin(), names_.end(), name,
                             [](const Name& n, std::string_view v) { return n.name < v; });
  if (it == names_.end() || it->name != name) return nullptr;
  return &*it;
}

uint32_t IndexFile::PairSymbol(uint32_t pair) const {
  return base::DecodeFixed32(data_.data() + pairs_.off + uint64_t{pair} * format::kPairEntrySize);
}

bool IndexFile::DecodePostings(uint32_t pair, Postings* out) const {
  if (pair >= num_pairs_) return false;
  const char* e = data_.data() + pairs_.off + uint64_t{pair} * format::kPairEntrySize;
  uint32_t begin = base::DecodeFixed32(e + 4);
  uint32_t end = base::DecodeFixed32(e + format::kPairEntrySize + 4);
  if (begin > end || end > postings_.len) return false;
  std::string_view in = data_.substr(postings_.off + begin, end - begin);
  const size_t restore = out->size();
  uint64_t count;
  if (!base::GetVarint64(&in, &count) || count > in.size() || count > num_series_) return false;
  out->reserve(restore + count);
  uint64_t prev = 0;
  for (uint64_t k = 0; k < count; ++k) {
    uint64_t v;
    if (!base::GetVarint64(&in, &v) || v >= num_series_) {
      out->resize(restore);
      return false;
    }
    uint64_t id = k == 0 ? v : prev + 1 + v;
    if (id >= num_series_) {
      out->resize(restore);
      return false;
    }
    out->push_back(id);
    prev = id;
  }
  if (!in.empty()) {
    out->resize(restore);
    return false;
  }
  return true;
}

absl::Status IndexFile::Walk(SeriesWalk* w, uint64_t id) const {
  if (id >= num_series_) {
    return absl::OutOfRangeError(
        absl::StrCat("index ", path_, ": series id ", id, " >= number of series ", num_series_));
  }
  std::string_view sec = Payload(series_);
  const uint64_t entries_end = sec.size() - Groups(num_series_, kSeriesGroup) * 4;
  const uint64_t g = id / kSeriesGroup;
  if (!(w->valid && w->next_id <= id && w->next_id / kSeriesGroup == g &&
        w->next_id % kSeriesGroup != 0)) {
    w->valid = false;
    const uint64_t gat = entries_end + 4 * g;
    uint32_t off = base::DecodeFixed32(sec.data() + gat);
    if (off > entries_end) return Corrupt(series_.off + gat, "series group offset out of range");
    w->rest = sec.substr(off, entries_end - off);
    w->next_id = g * kSeriesGroup;
    w->name.clear();
    w->pair.clear();
    w->group_ref = 0;
    w->valid = true;
  }
  while (w->next_id <= id) {
    const uint64_t cur = w->next_id;
    const uint64_t at = series_.off + (entries_end - w->rest.size());
    w->valid = false;  // until this entry decodes
    std::string_view& rest = w->rest;
    uint64_t len;
    if (!base::GetVarint64(&rest, &len) || len > rest.size() || rest.size() - len < 4) {
      return Corrupt(at, absl::StrCat("series ", cur, " entry truncated"));
    }
    std::string_view in = rest.substr(0, len);
    if (!CrcMatches(in, base::DecodeFixed32(rest.data() + len))) {
      return Corrupt(at, absl::StrCat("series ", cur, " crc mismatch"));
    }
    rest.remove_prefix(len + 4);
    uint64_t shared, nnew;
    if (!base::GetVarint64(&in, &shared) || shared > w->name.size() ||
        !base::GetVarint64(&in, &nnew) || nnew > in.size() / 2 || nnew > names_.size() - shared ||
        shared + nnew == 0) {
      return Corrupt(at, absl::StrCat("series ", cur, ": bad label count"));
    }
    w->name.resize(shared);
    w->pair.resize(shared);
    uint64_t next_name = shared == 0 ? 0 : uint64_t{w->name.back()} + 1;
    for (uint64_t i = 0; i < nnew; ++i) {
      uint64_t nd, vi;
      if (!base::GetVarint64(&in, &nd) || !base::GetVarint64(&in, &vi) ||
          next_name > names_.size() || nd >= names_.size() - next_name) {
        return Corrupt(at, absl::StrCat("series ", cur, ": label name out of range"));
      }
      const uint64_t ni = next_name + nd;
      const Name& n = names_[ni];
      if (vi >= n.end_pair - n.first_pair) {
        return Corrupt(at, absl::StrCat("series ", cur, ": label ", n.name, " value out of range"));
      }
      w->name.push_back(static_cast<uint32_t>(ni));
      w->pair.push_back(static_cast<uint32_t>(n.first_pair + vi));
      next_name = ni + 1;
    }
    uint64_t nchunks;
    if (!base::GetVarint64(&in, &nchunks) || nchunks > in.size() / 3) {
      return Corrupt(at, absl::StrCat("series ", cur, ": bad chunk count"));
    }
    w->chunks.clear();
    w->chunks.reserve(nchunks);
    for (uint64_t k = 0; k < nchunks; ++k) {
      uint64_t a, d, r;
      if (!base::GetVarint64(&in, &a) || !base::GetVarint64(&in, &d) ||
          !base::GetVarint64(&in, &r)) {
        return Corrupt(at, absl::StrCat("series ", cur, ": chunk ", k, " truncated"));
      }
      ChunkMeta m;
      if (k == 0) {
        m.min_t = static_cast<int64_t>(static_cast<uint64_t>(base_time_) + a);
        m.ref = w->group_ref + static_cast<uint64_t>(base::ZigZagDecode(r));
      } else {
        const ChunkMeta& prev = w->chunks.back();
        m.min_t = static_cast<int64_t>(static_cast<uint64_t>(prev.max_t) +
                                       static_cast<uint64_t>(base::ZigZagDecode(a)));
        m.ref = prev.ref + static_cast<uint64_t>(base::ZigZagDecode(r));
      }
      m.max_t = static_cast<int64_t>(static_cast<uint64_t>(m.min_t) + d);
      if (m.max_t < m.min_t) {
        return Corrupt(at, absl::StrCat("series ", cur, ": chunk ", k, " max_t < min_t"));
      }
      w->chunks.push_back(m);
    }
    if (!in.empty()) return Corrupt(at, absl::StrCat("series ", cur, ": trailing bytes"));
    if (!w->chunks.empty()) w->group_ref = w->chunks.back().ref;
    w->entry_at = at;
    w->end = entries_end - rest.size();
    w->next_id = cur + 1;
    w->valid = true;
  }
  return absl::OkStatus();
}

absl::Status IndexFile::ToLabels(SeriesWalk* w, labels::Labels* lset) const {
  SymbolCursor cur(Payload(symbols_), num_symbols_);
  const size_t n = w->name.size();
  w->built.resize(n);
  w->built_pair.resize(n, UINT32_MAX);
  for (size_t i = 0; i < n; ++i) {
    if (w->built_pair[i] == w->pair[i]) continue;  // same pair => same name and value
    w->built_pair[i] = UINT32_MAX;
    std::string_view v;
    const uint64_t pat = pairs_.off + uint64_t{w->pair[i]} * format::kPairEntrySize;
    if (!cur.Get(PairSymbol(w->pair[i]), &v)) return Corrupt(pat, "bad label value symbol");
    if (v.empty()) return Corrupt(pat, "empty label value");
    w->built[i].name = names_[w->name[i]].name;
    w->built[i].value.assign(v);
    w->built_pair[i] = w->pair[i];
  }
  *lset = labels::Labels::FromSorted(w->built);
  return absl::OkStatus();
}

absl::Status IndexFile::Series(uint64_t id, labels::Labels* lset,
                               std::vector<ChunkMeta>* chunks) const {
  SeriesWalk w;
  if (absl::Status st = Walk(&w, id); !st.ok()) return st;
  if (chunks != nullptr) *chunks = std::move(w.chunks);
  if (lset == nullptr) return absl::OkStatus();
  return ToLabels(&w, lset);
}

IndexFile::Cursor IndexFile::NewCursor() const { return Cursor(this); }

absl::Status IndexFile::Cursor::Series(uint64_t id, labels::Labels* lset,
                                       std::vector<ChunkMeta>* chunks) {
  if (absl::Status st = f_->Walk(&w_, id); !st.ok()) return st;
  if (chunks != nullptr) *chunks = w_.chunks;
  if (lset == nullptr) return absl::OkStatus();
  return f_->ToLabels(&w_, lset);
}

Postings IndexFile::PostingsFor(std::string_view name, std::string_view value) const {
  const Name* n = FindName(name);
  if (n == nullptr) return {};
  int64_t sym = FindSymbol(value);
  if (sym < 0) return {};
  uint32_t lo = n->first_pair, hi = n->end_pair;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (PairSymbol(mid) < sym) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  Postings out;
  if (lo < n->end_pair && PairSymbol(lo) == sym) DecodePostings(lo, &out);
  return out;
}

Postings IndexFile::AllPostings() const {
  Postings out(num_series_);
  std::iota(out.begin(), out.end(), uint64_t{0});
  return out;
}

Postings IndexFile::PostingsForValues(std::string_view name,
                                      absl::FunctionRef<bool(std::string_view)> pred) const {
  const Name* n = FindName(name);
  if (n == nullptr) return {};
  SymbolCursor cur(Payload(symbols_), num_symbols_);
  std::vector<Postings> lists;
  for (uint32_t j = n->first_pair; j < n->end_pair; ++j) {
    std::string_view v;
    if (!cur.Get(PairSymbol(j), &v) || !pred(v)) continue;
    Postings p;
    if (DecodePostings(j, &p)) lists.push_back(std::move(p));
  }
  if (lists.size() == 1) return std::move(lists[0]);
  return Merge(lists);
}

Postings IndexFile::PostingsForValueList(std::string_view name,
                                         std::span<const std::string> values) const {
  if (FindName(name) == nullptr) return {};
  std::vector<Postings> lists;
  for (const auto& v : values) {
    Postings p = PostingsFor(name, v);
    if (!p.empty()) lists.push_back(std::move(p));
  }
  if (lists.size() == 1) return std::move(lists[0]);
  return Merge(lists);
}

std::vector<std::string> IndexFile::LabelNames() const {
  std::vector<std::string> out;
  out.reserve(names_.size());
  for (const auto& n : names_) out.push_back(n.name);
  return out;
}

std::vector<std::string> IndexFile::LabelValues(std::string_view name) const {
  const Name* n = FindName(name);
  if (n == nullptr) return {};
  std::vector<std::string> out;
  out.reserve(n->end_pair - n->first_pair);
  SymbolCursor cur(Payload(symbols_), num_symbols_);
  for (uint32_t j = n->first_pair; j < n->end_pair; ++j) {
    std::string_view v;
    if (cur.Get(PairSymbol(j), &v)) out.emplace_back(v);
  }
  return out;
}

std::vector<std::string> IndexFile::LabelNamesFor(std::span<const uint64_t> p) const {
  std::vector<bool> seen(names_.size());
  SeriesWalk w;
  for (uint64_t id : p) {
    if (!Walk(&w, id).ok()) continue;
    for (uint32_t ni : w.name) seen[ni] = true;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (seen[i]) out.push_back(names_[i].name);
  }
  return out;
}

std::vector<std::string> IndexFile::LabelValuesFor(std::string_view name,
                                                   std::span<const uint64_t> p) const {
  const Name* n = FindName(name);
  if (n == nullptr) return {};
  const uint32_t ni = static_cast<uint32_t>(n - names_.data());
  std::vector<bool> seen(n->end_pair - n->first_pair);
  SeriesWalk w;
  for (uint64_t id : p) {
    if (!Walk(&w, id).ok()) continue;
    for (size_t i = 0; i < w.name.size(); ++i) {
      if (w.name[i] == ni) seen[w.pair[i] - n->first_pair] = true;
    }
  }
  std::vector<std::string> out;
  SymbolCursor cur(Payload(symbols_), num_symbols_);
  for (uint32_t k = 0; k < seen.size(); ++k) {
    std::string_view v;
    if (seen[k] && cur.Get(PairSymbol(n->first_pair + k), &v)) out.emplace_back(v);
  }
  return out;
}

absl::Status IndexFile::VerifySymbols() const {
  SymbolCursor cur(Payload(symbols_), num_symbols_);
  std::string prev;
  for (uint32_t id = 0; id < num_symbols_; ++id) {
    std::string_view s;
    if (!cur.Get(id, &s)) return Corrupt(symbols_.off, absl::StrCat("symbol ", id, " undecodable"));
    if (id > 0 && s <= prev) {
      return Corrupt(symbols_.off, absl::StrCat("symbol ", id, " not ascending"));
    }
    prev.assign(s);
  }
  // Every pair's value: a valid, non-empty symbol, strictly ascending within its name.
  for (const Name& n : names_) {
    for (uint32_t j = n.first_pair; j < n.end_pair; ++j) {
      const uint64_t at = pairs_.off + uint64_t{j} * format::kPairEntrySize;
      uint32_t sym = PairSymbol(j);
      std::string_view v;
      if (!cur.Get(sym, &v) || v.empty()) {
        return Corrupt(at, absl::StrCat("label ", n.name, " value symbol ", sym, " invalid"));
      }
      if (j > n.first_pair && sym <= PairSymbol(j - 1)) {
        return Corrupt(at, absl::StrCat("label ", n.name, " values not ascending"));
      }
      if (base::DecodeFixed32(data_.data() + at + 4) >
          base::DecodeFixed32(data_.data() + at + 4 + format::kPairEntrySize)) {
        return Corrupt(at + 4, "postings offsets not ascending");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status IndexFile::VerifySeriesAndPostings() const {
  std::vector<std::vector<uint32_t>> expect(num_pairs_);
  std::string_view sec = Payload(series_);
  const uint64_t entries_end = sec.size() - Groups(num_series_, kSeriesGroup) * 4;
  uint64_t pos = 0;  // payload offset of the next entry when entries are walked in order
  labels::Labels prev, cur;
  SeriesWalk w;
  for (uint64_t id = 0; id < num_series_; ++id) {
    if (id % kSeriesGroup == 0) {
      const uint64_t gat = entries_end + 4 * (id / kSeriesGroup);
      if (base::DecodeFixed32(sec.data() + gat) != pos) {
        return Corrupt(series_.off + gat, absl::StrCat("series group offset for ", id, " wrong"));
      }
    }
    if (absl::Status st = Walk(&w, id); !st.ok()) return st;
    if (w.entry_at != series_.off + pos) return Corrupt(w.entry_at, "series entries overlap");
    pos = w.end;
    const uint64_t at = w.entry_at;
    if (absl::Status st = ToLabels(&w, &cur); !st.ok()) return st;
    if (id > 0 && !(prev < cur)) {
      return Corrupt(at, absl::StrCat("series ", id, " ", cur.ToString(), " not after series ",
                                      id - 1, " ", prev.ToString()));
    }
    const auto& chunks = w.chunks;
    for (size_t k = 0; k < chunks.size(); ++k) {
      if (chunks[k].min_t < min_time_ || chunks[k].max_t > max_time_ ||
          (k > 0 && chunks[k].min_t < chunks[k - 1].min_t)) {
        return Corrupt(at, absl::StrCat("series ", id, ": chunk ", k,
                                        " outside the index time range or out of order"));
      }
    }
    for (uint32_t pair : w.pair) expect[pair].push_back(static_cast<uint32_t>(id));
    std::swap(prev, cur);
  }
  if (pos != entries_end) return Corrupt(series_.off + pos, "trailing bytes after the last series");
  Postings got;
  for (uint32_t j = 0; j < num_pairs_; ++j) {
    const uint64_t at = pairs_.off + uint64_t{j} * format::kPairEntrySize;
    got.clear();
    if (!DecodePostings(j, &got)) return Corrupt(at, absl::StrCat("postings list ", j, " corrupt"));
    if (!std::equal(got.begin(), got.end(), expect[j].begin(), expect[j].end())) {
      return Corrupt(at, absl::StrCat("postings list ", j,
                                      " does not match the series carrying its label pair"));
    }
  }
  return absl::OkStatus();
}

absl::Status IndexFile::Verify() const {
  if (absl::Status st = VerifySymbols(); !st.ok()) return st;
  return VerifySeriesAndPostings();
}

}  // namespace xscaler::storage::index
