// IndexReader: the read side of an inverted index (label pair -> postings), as the query path
// sees it. The head's MemPostings implements it today; on-disk block indexes will implement it
// too, so PostingsForMatchers and the label APIs work unchanged over both.
//
// Thread-safety: implementations are safe for concurrent use. Returned postings are copies (or
// freshly decoded lists) owned by the caller, so a concurrent writer never invalidates them.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "storage/index/postings.h"

namespace xscaler::storage::index {

class IndexReader {
 public:
  virtual ~IndexReader() = default;

  // Series with label name=value; empty when there are none.
  virtual Postings PostingsFor(std::string_view name, std::string_view value) const = 0;
  // Every series in the index.
  virtual Postings AllPostings() const = 0;
  // Union of the postings of every value `v` of label `name` for which pred(v) holds. `pred`
  // may run while the index holds a read lock: it must not call back into the index.
  virtual Postings PostingsForValues(std::string_view name,
                                     absl::FunctionRef<bool(std::string_view)> pred) const = 0;
  // Union of the postings of the listed values of `name` (absent values are skipped).
  virtual Postings PostingsForValueList(std::string_view name,
                                        std::span<const std::string> values) const = 0;

  // Sorted label names / values of `name` over all series.
  virtual std::vector<std::string> LabelNames() const = 0;
  virtual std::vector<std::string> LabelValues(std::string_view name) const = 0;
  // Sorted label names / values of `name` carried by at least one series in `p` (sorted refs).
  virtual std::vector<std::string> LabelNamesFor(std::span<const uint64_t> p) const = 0;
  virtual std::vector<std::string> LabelValuesFor(std::string_view name,
                                                  std::span<const uint64_t> p) const = 0;
};

}  // namespace xscaler::storage::index
