// Merging of several sources of the same series: blocks and the head at query time (a merge
// Querier / SeriesSet) and blocks being compacted (a merge ChunkSeriesSet).
//
// Source order matters: callers pass sources oldest first (blocks by min time, the head last).
// When two sources hold a sample with the same timestamp, the FIRST source's value is kept and
// the others are dropped. For a given timestamp the values should be identical (the same
// sample reached two blocks, e.g. through an overlapping head cut or a re-ingested backfill);
// like Prometheus we keep exactly one so that a series never has two samples at one time.
// Preferring the oldest source makes the answer stable: compacting the sources, or adding a
// newer overlapping block, never changes which value an already-stored timestamp reads back.
//
// Invariants of every set returned here: series in strictly ascending label order, each label
// set at most once; a series' samples (or chunks) in strictly ascending time order.
//
// Errors: an error from any child (Select error set, series set Err, sample iterator Err, chunk
// decode failure) ends the merged iteration, which then reports it from Err().
//
// Thread-safety: one thread at a time per returned object, as for the children.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/series/chunk_series.h"
#include "storage/storage.h"

namespace xscaler::storage::merge {

// Most samples a re-encoded chunk holds (Prometheus' target, a good size for XOR chunks).
inline constexpr int kMaxSamplesPerChunk = 120;

// Sorted, duplicate-free union of sorted, duplicate-free lists (label names or values of
// several sources).
std::vector<std::string> SortedUnion(std::vector<std::vector<std::string>> lists);

// A Querier over all `queriers` (oldest first). A single querier is returned unchanged; none
// gives a querier that selects nothing. Select checks Prometheus' rule (at least one matcher
// that does not match "") once, answering with the same InvalidArgument error set as the head,
// and then streams a k-way merge of the children's sets. LabelNames / LabelValues return the
// sorted union of the children's answers (the first child error is returned as is).
std::unique_ptr<Querier> NewMergeQuerier(std::vector<std::unique_ptr<Querier>> queriers);

// K-way merge of `sets` (oldest first) by label set. A series present in one set is handed
// through as the child's own Series (no overhead); series with equal labels in several sets
// become one whose iterator merges the children's samples by time (equal timestamps: first
// set wins). Seek seeks every child. A single set is returned unchanged.
//
// A merged series borrows the children's current Series, so it is valid until the next call
// to Next (the SeriesSet contract); its iterators live as long as the children's iterators do.
std::unique_ptr<SeriesSet> MergeSeriesSets(std::vector<std::unique_ptr<SeriesSet>> sets);

// For compaction: k-way merge of `sets` (oldest first) by label set. A series' chunks from all
// sets are ordered by min_t (ties: earlier set first). Chunks that overlap no other chunk are
// passed through untouched (same bytes, same owner). Each run of overlapping chunks is decoded,
// merged with timestamps deduplicated (earlier set wins; within one set, the earlier chunk),
// and re-encoded into chunks of at most kMaxSamplesPerChunk samples, each owned by a
// shared_ptr<const std::string>. A corrupt chunk in an overlapping run ends the iteration with
// its DataLoss error, naming the series. Series without any chunk are skipped. Always wraps
// (also one set), so that a lone source with overlapping chunks is repaired too.
std::unique_ptr<series::ChunkSeriesSet> MergeChunkSeriesSets(
    std::vector<std::unique_ptr<series::ChunkSeriesSet>> sets);

}  // namespace xscaler::storage::merge
