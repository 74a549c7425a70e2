// IndexFile: a read-only view of one on-disk index file (docs/format/index.md) through a
// base::MemoryRegion (normally an mmap). Implements IndexReader, so PostingsForMatchers and the
// label APIs run over a block exactly as over the head, plus per-series access (labels and chunk
// metas) by series id. Series ids are dense 0..NumSeries()-1 in label order, so postings are
// ascending ids.
//
// Thread-safety: immutable after Open; every method is safe for concurrent use.
// Robustness: never reads outside the region whatever the bytes are. Open checks magic, version,
// TOC and the CRC of every section, so later reads see checksummed bytes; decoding still bounds-
// checks everything. Query methods of IndexReader cannot return errors: an entry that fails to
// decode is skipped (it cannot happen for a file that passed Open unless the bytes were crafted
// to match the CRCs); Series() and Verify() report it as DataLoss
// "index <path> offset <N>: <what>".
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/env.h"
#include "labels/labels.h"
#include "storage/index/index_reader.h"
#include "storage/index/index_writer.h"

namespace xscaler::storage::index {

class IndexFile final : public IndexReader {
 public:
  // Checks magic/version/TOC and the CRC of every section; DataLoss
  // "index <path> offset N: ..." otherwise.
  static absl::StatusOr<std::unique_ptr<IndexFile>> Open(std::unique_ptr<base::MemoryRegion> data,
                                                         std::string path);
  ~IndexFile() override;

  // Labels and chunk metas of series `id`. OutOfRange when id >= NumSeries(); DataLoss when the
  // entry is corrupt (CRC or decoding).
  absl::Status Series(uint64_t id, labels::Labels* lset, std::vector<ChunkMeta>* chunks) const;
  uint64_t NumSeries() const { return num_series_; }
  // Deep check: every series entry decodes with a good CRC, series strictly ascending by labels,
  // chunk metas ordered, symbols sorted, postings sorted, in range and exactly the series that
  // carry each label pair.
  absl::Status Verify() const;
  size_t SizeBytes() const { return data_.size(); }
  const std::string& path() const { return path_; }
  // Smallest min_t / largest max_t over all chunk metas (0/0 for an index without chunks).
  int64_t MinTime() const { return min_time_; }
  int64_t MaxTime() const { return max_time_; }

  // Reads series in ascending id order: each call continues decoding from the previous one
  // within a group of 16, where Series() restarts at the group's first entry (up to 15 extra
  // entries). Not thread-safe (one per thread); borrows the IndexFile.
  class Cursor;
  Cursor NewCursor() const;

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
  struct Section {
    uint64_t off = 0;  // payload start in the file
    uint64_t len = 0;  // payload length (the masked CRC32C follows it)
  };
  struct Name {
    std::string name;
    uint32_t first_pair = 0;  // index of its first (value, postings) entry
    uint32_t end_pair = 0;
  };
  // Decoding position in the series section. An entry shares its leading labels and its first
  // chunk ref base with the previous entry of its group of 16, so reaching a series walks from
  // its group start (or continues from the previous call when ids ascend).
  struct SeriesWalk {
    bool valid = false;
    uint64_t next_id = 0;        // the entry `rest` starts at
    std::string_view rest;       // entries bytes from next_id on
    uint64_t entry_at = 0;       // file offset of the last decoded entry
    uint64_t end = 0;            // payload offset just after it
    std::vector<uint32_t> name;  // its labels as indices: (names_[name[i]], pair pair[i])
    std::vector<uint32_t> pair;
    std::vector<ChunkMeta> chunks;
    uint64_t group_ref = 0;  // chunk ref base for the next entry
    // The labels last built by ToLabels and their pairs: consecutive series share most label
    // values, which are then copied instead of decoded from the symbol table again.
    std::vector<uint32_t> built_pair;
    std::vector<labels::Label> built;
  };

  IndexFile(std::unique_ptr<base::MemoryRegion> region, std::string path);
  absl::Status Init();
  absl::Status Corrupt(uint64_t offset, std::string_view what) const;

  std::string_view Payload(const Section& s) const { return data_.substr(s.off, s.len); }
  // Symbol `id` into *out; false when corrupt or out of range.
  bool Symbol(uint32_t id, std::string* out) const;
  // The id of symbol `s`, or -1 when absent (or the table is corrupt).
  int64_t FindSymbol(std::string_view s) const;
  const Name* FindName(std::string_view name) const;
  uint32_t PairSymbol(uint32_t pair) const;
  // Appends the postings list of pair `pair` (< num_pairs_) to *out; false (with *out restored)
  // when the list is corrupt.
  bool DecodePostings(uint32_t pair, Postings* out) const;
  // Decodes series `id` into *w (CRC of every entry walked is checked).
  absl::Status Walk(SeriesWalk* w, uint64_t id) const;
  absl::Status ToLabels(SeriesWalk* w, labels::Labels* lset) const;
  absl::Status VerifySymbols() const;
  absl::Status VerifySeriesAndPostings() const;

  std::unique_ptr<base::MemoryRegion> region_;
  std::string_view data_;
  std::string path_;
  Section symbols_, series_, names_sec_, pairs_, postings_;
  uint64_t num_series_ = 0;
  uint32_t num_symbols_ = 0;
  uint32_t num_pairs_ = 0;
  int64_t base_time_ = 0;
  int64_t min_time_ = 0;
  int64_t max_time_ = 0;
  std::vector<Name> names_;
};

class IndexFile::Cursor {
 public:
  // Same contract as IndexFile::Series; any id order works, ascending is the fast one.
  absl::Status Series(uint64_t id, labels::Labels* lset, std::vector<ChunkMeta>* chunks);

 private:
  friend class IndexFile;
  explicit Cursor(const IndexFile* f) : f_(f) {}
  const IndexFile* f_;
  SeriesWalk w_;
};

}  // namespace xscaler::storage::index
