// Postings: sorted, duplicate-free lists of series refs, and the set operations the query path
// runs over them (intersect, union, subtract). Lists are plain vectors: an index hands out a
// copy (or a block's decoded list), so the operations never race a writer.
//
// All functions are pure and thread-safe. REQUIRES: every input list is strictly ascending;
// every output list is too.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace xscaler::storage::index {

using Postings = std::vector<uint64_t>;

// Refs present in every list; empty for no lists. Walks lists from the shortest, galloping
// (exponential then binary search) through the longer ones, so a short list against a huge
// one costs O(short * log(huge)).
Postings Intersect(std::span<const Postings> lists);
Postings Intersect(const Postings& a, const Postings& b);

// Refs present in at least one list (k-way merge through a heap).
Postings Merge(std::span<const Postings> lists);
Postings Merge(std::span<const std::span<const uint64_t>> lists);

// Refs in `a` that are not in `b`.
Postings Without(const Postings& a, const Postings& b);

// True when the two lists share at least one ref (no allocation).
bool Intersects(std::span<const uint64_t> a, std::span<const uint64_t> b);

// Index of the first element >= `x` in `list[from..]`, searching exponentially from `from`.
size_t Gallop(std::span<const uint64_t> list, size_t from, uint64_t x);

}  // namespace xscaler::storage::index
