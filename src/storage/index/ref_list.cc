#include "storage/index/ref_list.h"

#include <algorithm>

namespace xscaler::storage::index {
namespace {

// Grows `v` by about an eighth (at least 4) when it is full, instead of the library's doubling.
template <typename T>
void ReserveForOneMore(std::vector<T>& v) {
  if (v.size() == v.capacity()) v.reserve(v.size() + v.size() / 8 + 4);
}

template <typename T>
void InsertSorted(std::vector<T>& list, T x) {
  if (!list.empty() && list.back() >= x) {
    auto it = std::lower_bound(list.begin(), list.end(), x);
    if (it != list.end() && *it == x) return;
    ReserveForOneMore(list);
    list.insert(std::lower_bound(list.begin(), list.end(), x), x);
    return;
  }
  ReserveForOneMore(list);
  list.push_back(x);
}

template <typename T>
void EraseSorted(std::vector<T>& list, T x) {
  auto it = std::lower_bound(list.begin(), list.end(), x);
  if (it != list.end() && *it == x) list.erase(it);
}

// Keeps the elements of `list` not in `dead`; both ascending. Frees the capacity of a list
// that shrank to under half of it, so lists emptied by churn do not keep their peak size.
template <typename T>
void EraseAllSorted(std::vector<T>& list, std::span<const uint64_t> dead) {
  size_t d = 0, w = 0;
  for (size_t r = 0; r < list.size(); ++r) {
    const uint64_t x = list[r];
    while (d < dead.size() && dead[d] < x) ++d;
    if (d < dead.size() && dead[d] == x) continue;
    list[w++] = list[r];
  }
  list.resize(w);
  if (list.capacity() > 2 * list.size() + 4) list.shrink_to_fit();
}

}  // namespace

void RefList::Insert(uint64_t ref) {
  if (ref < kLoLimit) {
    InsertSorted(lo_, static_cast<uint32_t>(ref));
  } else {
    InsertSorted(hi_, ref);
  }
}

void RefList::Erase(uint64_t ref) {
  if (ref < kLoLimit) {
    EraseSorted(lo_, static_cast<uint32_t>(ref));
  } else {
    EraseSorted(hi_, ref);
  }
}

void RefList::EraseAll(std::span<const uint64_t> dead) {
  const auto split = std::lower_bound(dead.begin(), dead.end(), kLoLimit);
  const size_t n_lo = static_cast<size_t>(split - dead.begin());
  if (n_lo > 0) EraseAllSorted(lo_, dead.first(n_lo));
  if (n_lo < dead.size()) EraseAllSorted(hi_, dead.subspan(n_lo));
}

void RefList::AppendTo(Postings* out) const {
  out->reserve(out->size() + size());
  out->insert(out->end(), lo_.begin(), lo_.end());
  out->insert(out->end(), hi_.begin(), hi_.end());
}

bool RefList::Intersects(std::span<const uint64_t> p) const {
  // Walks the shorter side, binary-searching the longer one from where the last hit left off.
  size_t i = 0, j = 0;
  while (i < lo_.size() && j < p.size()) {
    if (lo_[i] == p[j]) return true;
    if (lo_[i] < p[j]) {
      i = static_cast<size_t>(std::lower_bound(lo_.begin() + static_cast<ptrdiff_t>(i), lo_.end(),
                                               p[j]) - lo_.begin());
    } else {
      j = Gallop(p, j, lo_[i]);
    }
  }
  return index::Intersects(std::span<const uint64_t>(hi_), p.subspan(std::min(j, p.size())));
}

}  // namespace xscaler::storage::index
