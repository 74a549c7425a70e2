// MemPostings: the head's in-memory inverted index. For every label pair (name, value) it keeps
// the ascending list of refs of the series carrying it, plus the list of all series (the
// reserved key ("", "")), and answers IndexReader queries.
//
// Thread-safety: safe for concurrent use. One reader-writer lock guards the maps: queries take
// it shared (and copy what they return), Add/Delete take it exclusively. Series creation is
// rare next to sample appends, so a single lock is not the ingest bottleneck.
//
// Invariants: every list is strictly ascending; a (name, value) key exists iff its list is
// non-empty; label values are never empty (labels::Labels drops empty values).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "labels/labels.h"
#include "storage/index/index_reader.h"
#include "storage/index/ref_list.h"

namespace xscaler::storage::index {

class MemPostings final : public IndexReader {
 public:
  MemPostings() = default;
  MemPostings(const MemPostings&) = delete;
  MemPostings& operator=(const MemPostings&) = delete;

  // Adds series `ref` under each of its label pairs and to the all-series list. Refs usually
  // arrive in ascending order (appending is O(1)); out-of-order refs are inserted in place.
  // REQUIRES: `ref` was not added before (or was deleted since).
  void Add(uint64_t ref, const labels::Labels& lset);
  // Removes series `ref` (with the label set it was added with).
  void Delete(uint64_t ref, const labels::Labels& lset);
  // Removes many series at once (head garbage collection): one pass over each touched list,
  // so deleting n series from a list of m costs O(n log n + m), not O(n * m).
  void DeleteBatch(std::span<const std::pair<uint64_t, labels::Labels>> series);

  // Number of distinct (name, value) pairs, and of series.
  size_t NumLabelPairs() const;
  size_t NumSeries() const;

  // IndexReader:
  Postings PostingsFor(std::string_view name, std::string_view value) const override;
  Postings AllPostings() const override;
  Postings PostingsForValues(std::string_view name,
                             absl::FunctionRef<bool(std::string_view)> pred) const override;
  Postings PostingsForValueList(std::string_view name,
                                std::span<const std::string> values) const override;
  std::vector<std::string> LabelNames() const override;
  std::vector<std::string> LabelValues(std::string_view name) const override;
  std::vector<std::string> LabelNamesFor(std::span<const uint64_t> p) const override;
  std::vector<std::string> LabelValuesFor(std::string_view name,
                                          std::span<const uint64_t> p) const override;

 private:
  using ValueMap = absl::flat_hash_map<std::string, RefList>;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, ValueMap> by_name_ ABSL_GUARDED_BY(mu_);
  RefList all_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xscaler::storage::index
