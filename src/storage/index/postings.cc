#include "storage/index/postings.h"

#include <algorithm>
#include <utility>

namespace xscaler::storage::index {

size_t Gallop(std::span<const uint64_t> list, size_t from, uint64_t x) {
  const size_t n = list.size();
  if (from >= n || list[from] >= x) return from;
  // Invariant: list[lo] < x; probe lo+1, lo+2, lo+4, ... until list[hi] >= x or past the end.
  size_t lo = from;
  size_t step = 1;
  size_t hi = from + 1;
  while (hi < n && list[hi] < x) {
    lo = hi;
    step <<= 1;
    hi = lo + step;
  }
  if (hi > n) hi = n;
  return std::lower_bound(list.begin() + lo + 1, list.begin() + hi, x) - list.begin();
}

namespace {

// `small` is walked linearly; `large` galloped.
Postings IntersectInto(std::span<const uint64_t> small, std::span<const uint64_t> large) {
  Postings out;
  out.reserve(std::min(small.size(), large.size()));
  size_t j = 0;
  for (uint64_t x : small) {
    j = Gallop(large, j, x);
    if (j == large.size()) break;
    if (large[j] == x) {
      out.push_back(x);
      ++j;
    }
  }
  return out;
}

}  // namespace

Postings Intersect(const Postings& a, const Postings& b) {
  if (a.size() <= b.size()) return IntersectInto(a, b);
  return IntersectInto(b, a);
}

Postings Intersect(std::span<const Postings> lists) {
  if (lists.empty()) return {};
  std::vector<const Postings*> order;
  order.reserve(lists.size());
  for (const auto& l : lists) {
    if (l.empty()) return {};
    order.push_back(&l);
  }
  std::sort(order.begin(), order.end(),
            [](const Postings* a, const Postings* b) { return a->size() < b->size(); });
  if (order.size() == 1) return *order[0];
  // The two shortest first, straight from the inputs (no copy of the shortest).
  Postings acc = IntersectInto(*order[0], *order[1]);
  for (size_t i = 2; i < order.size() && !acc.empty(); ++i) {
    acc = IntersectInto(acc, *order[i]);
  }
  return acc;
}

Postings Merge(std::span<const Postings> lists) {
  std::vector<std::span<const uint64_t>> spans(lists.begin(), lists.end());
  return Merge(std::span<const std::span<const uint64_t>>(spans));
}

Postings Merge(std::span<const std::span<const uint64_t>> lists) {
  std::vector<std::span<const uint64_t>> in;
  size_t total = 0;
  for (const auto& l : lists) {
    if (l.empty()) continue;
    in.emplace_back(l);
    total += l.size();
  }
  if (in.empty()) return {};
  if (in.size() == 1) return Postings(in[0].begin(), in[0].end());
  Postings out;
  out.reserve(total);
  if (in.size() == 2) {
    std::set_union(in[0].begin(), in[0].end(), in[1].begin(), in[1].end(),
                   std::back_inserter(out));
    return out;
  }
  // Min-heap of cursors keyed by their current head value.
  struct Cursor {
    const uint64_t* p;
    const uint64_t* end;
  };
  std::vector<Cursor> heap;
  heap.reserve(in.size());
  for (auto s : in) heap.push_back({s.data(), s.data() + s.size()});
  auto greater = [](const Cursor& a, const Cursor& b) { return *a.p > *b.p; };
  std::make_heap(heap.begin(), heap.end(), greater);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), greater);
    Cursor& c = heap.back();
    uint64_t v = *c.p++;
    if (out.empty() || out.back() != v) out.push_back(v);
    if (c.p == c.end) {
      heap.pop_back();
    } else {
      std::push_heap(heap.begin(), heap.end(), greater);
    }
  }
  return out;
}

Postings Without(const Postings& a, const Postings& b) {
  if (b.empty()) return a;
  Postings out;
  out.reserve(a.size());
  size_t j = 0;
  std::span<const uint64_t> bs(b);
  for (uint64_t x : a) {
    j = Gallop(bs, j, x);
    if (j < bs.size() && bs[j] == x) {
      ++j;
      continue;
    }
    out.push_back(x);
  }
  return out;
}

bool Intersects(std::span<const uint64_t> a, std::span<const uint64_t> b) {
  if (a.size() > b.size()) std::swap(a, b);
  if (a.empty() || a.back() < b.front() || b.back() < a.front()) return false;
  size_t j = 0;
  for (uint64_t x : a) {
    j = Gallop(b, j, x);
    if (j == b.size()) return false;
    if (b[j] == x) return true;
  }
  return false;
}

}  // namespace xscaler::storage::index
