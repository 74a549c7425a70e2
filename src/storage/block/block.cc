#include "storage/block/block.h"

#include "absl/strings/str_cat.h"
#include "storage/block/chunks.h"
#include "storage/chunk/xor.h"
#include "storage/index/index_file.h"
#include "storage/index/matchers.h"
#include "storage/series/chunks_iterator.h"
#include "storage/series/series_sets.h"

namespace xscaler::storage::block {
namespace {

std::string BaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// Prefixes `st` with "block <name>: " keeping its code; NotFound of a file inside an existing
// block dir means the block is incomplete, which is data loss.
absl::Status InBlock(std::string_view name, const absl::Status& st) {
  absl::StatusCode code = st.code() == absl::StatusCode::kNotFound ? absl::StatusCode::kDataLoss
                                                                   : st.code();
  return absl::Status(code, absl::StrCat("block ", std::string(name), ": ", st.message()));
}

// Loads the chunks of `metas` overlapping [mint, maxt] into *out, leaving out chunks wholly
// deleted by `deleted` (may be null).
absl::Status LoadChunks(const ChunksReader& cr, std::span<const index::ChunkMeta> metas,
                        int64_t mint, int64_t maxt, const Intervals* deleted,
                        std::vector<chunk::ChunkData>* out) {
  out->clear();
  for (const index::ChunkMeta& m : metas) {
    if (m.max_t < mint || m.min_t > maxt) continue;
    if (deleted != nullptr && CoversRange(*deleted, m.min_t, m.max_t)) continue;
    chunk::ChunkData cd;
    cd.min_t = m.min_t;
    cd.max_t = m.max_t;
    auto bytes = cr.Chunk(m.ref, &cd.owner);
    if (!bytes.ok()) return bytes.status();
    cd.bytes = *bytes;
    // Only a chunk that starts before and ends after the range can hold no sample in it; such
    // a chunk is checked so that series without samples in range are not returned.
    if (m.min_t < mint && m.max_t > maxt) {
      chunk::XorDecoder dec(cd.bytes);
      if (!dec.Seek(mint) ? dec.status().ok() : dec.t() > maxt) continue;
    }
    out->push_back(std::move(cd));
  }
  return absl::OkStatus();
}

// Skips the samples of `inner` that fall in deleted intervals.
class DeletedFilterIterator final : public SampleIterator {
 public:
  DeletedFilterIterator(std::unique_ptr<SampleIterator> inner, const Intervals* deleted)
      : inner_(std::move(inner)), deleted_(deleted) {}
  bool Next() override {
    while (inner_->Next()) {
      if (!IsDeleted(*deleted_, inner_->At().first)) return true;
    }
    return false;
  }
  bool Seek(int64_t t) override {
    if (!inner_->Seek(t)) return false;
    return !IsDeleted(*deleted_, inner_->At().first) || Next();
  }
  std::pair<int64_t, double> At() const override { return inner_->At(); }
  absl::Status Err() const override { return inner_->Err(); }

 private:
  std::unique_ptr<SampleIterator> inner_;
  const Intervals* deleted_;
};

// A series with tombstones: its chunks minus the deleted samples.
class DeletedFilterSeries final : public Series {
 public:
  DeletedFilterSeries(labels::Labels lset, std::vector<chunk::ChunkData> chunks, int64_t mint,
                      int64_t maxt, std::shared_ptr<const Tombstones> tomb,
                      const Intervals* deleted)
      : labels_(std::move(lset)),
        chunks_(std::move(chunks)),
        mint_(mint),
        maxt_(maxt),
        tomb_(std::move(tomb)),
        deleted_(deleted) {}
  const labels::Labels& Labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    return std::make_unique<DeletedFilterIterator>(
        series::NewChunksIterator(chunks_, mint_, maxt_), deleted_);
  }

 private:
  labels::Labels labels_;
  std::vector<chunk::ChunkData> chunks_;
  int64_t mint_, maxt_;
  std::shared_ptr<const Tombstones> tomb_;  // keeps *deleted_ alive
  const Intervals* deleted_;
};

// Walks `ids` (ascending = label order), loading each series' chunks in [mint, maxt]; series
// without any are skipped.
class BlockSeriesCursor {
 public:
  // With `labels_only`, a series without tombstones is decided from its chunk metadata where
  // possible (a chunk that starts or ends inside the range has a sample there) and chunks()
  // stays empty for it.
  BlockSeriesCursor(std::shared_ptr<const Block> block, std::shared_ptr<const Tombstones> tomb,
                    std::vector<uint64_t> ids, int64_t mint, int64_t maxt,
                    bool labels_only = false)
      : labels_only_(labels_only),
        block_(std::move(block)),
        tomb_(std::move(tomb)),
        ids_(std::move(ids)),
        mint_(mint),
        maxt_(maxt),
        index_cursor_(block_->index().NewCursor()) {}

  bool Next() {
    while (err_.ok() && pos_ < ids_.size()) {
      uint64_t id = ids_[pos_++];
      // The cursor continues from the previous (smaller) id within a group of entries and
      // reuses the label values the previous series shared, instead of decoding from the
      // group start for every series.
      if (absl::Status s = index_cursor_.Series(id, &lset_, &metas_); !s.ok()) {
        err_ = InBlock(block_->meta().ulid, s);
        return false;
      }
      auto it = tomb_->find(id);
      deleted_ = it == tomb_->end() ? nullptr : &it->second;
      if (labels_only_ && deleted_ == nullptr) {
        auto in_range = HasSampleInRange();
        if (!in_range.ok()) {
          err_ = in_range.status();
          return false;
        }
        chunks_.clear();
        if (*in_range) return true;
        continue;
      }
      if (absl::Status s =
              LoadChunks(block_->chunks(), metas_, mint_, maxt_, deleted_, &chunks_);
          !s.ok()) {
        err_ = s;
        return false;
      }
      if (!chunks_.empty()) return true;
    }
    return false;
  }

  const labels::Labels& labels() const { return lset_; }
  // Moves the current series' labels out (the next Next rebuilds them).
  labels::Labels TakeLabels() { return std::move(lset_); }
  std::vector<chunk::ChunkData>& chunks() { return chunks_; }
  // The current series' deleted intervals, or null.
  const Intervals* deleted() const { return deleted_; }
  const std::shared_ptr<const Tombstones>& tombstones() const { return tomb_; }
  const absl::Status& err() const { return err_; }
  void set_err(absl::Status s) { err_ = std::move(s); }

 private:
  // Whether the current series (metas_) has a sample in [mint_, maxt_]; reads chunk data only
  // for a chunk that spans the whole range, where the metadata cannot tell.
  absl::StatusOr<bool> HasSampleInRange() {
    for (size_t i = 0; i < metas_.size(); ++i) {
      const index::ChunkMeta& m = metas_[i];
      if (m.max_t < mint_ || m.min_t > maxt_) continue;
      if (m.min_t >= mint_ || m.max_t <= maxt_) return true;
      if (absl::Status s = LoadChunks(block_->chunks(), std::span(metas_).subspan(i, 1), mint_,
                                      maxt_, nullptr, &chunks_);
          !s.ok()) {
        return s;
      }
      if (!chunks_.empty()) return true;
    }
    return false;
  }

  const bool labels_only_;
  std::shared_ptr<const Block> block_;
  std::shared_ptr<const Tombstones> tomb_;
  std::vector<uint64_t> ids_;
  int64_t mint_, maxt_;
  index::IndexFile::Cursor index_cursor_;
  size_t pos_ = 0;
  labels::Labels lset_;
  std::vector<index::ChunkMeta> metas_;
  std::vector<chunk::ChunkData> chunks_;
  const Intervals* deleted_ = nullptr;
  absl::Status err_;
};

class BlockSeriesSet final : public SeriesSet {
 public:
  BlockSeriesSet(std::shared_ptr<const Block> block, std::shared_ptr<const Tombstones> tomb,
                 std::vector<uint64_t> ids, int64_t mint, int64_t maxt, bool labels_only = false)
      : cursor_(std::move(block), std::move(tomb), std::move(ids), mint, maxt, labels_only),
        mint_(mint),
        maxt_(maxt) {}

  bool Next() override {
    while (cursor_.Next()) {
      if (cursor_.deleted() == nullptr) {
        cur_ = std::make_unique<series::ChunkListSeries>(
            cursor_.TakeLabels(), std::move(cursor_.chunks()), mint_, maxt_);
        return true;
      }
      cur_ = std::make_unique<DeletedFilterSeries>(cursor_.TakeLabels(),
                                                   std::move(cursor_.chunks()), mint_, maxt_,
                                                   cursor_.tombstones(), cursor_.deleted());
      // Skip a series whose samples in range are all deleted.
      auto it = cur_->Iterator();
      if (it->Next()) return true;
      if (!it->Err().ok()) return true;  // its iterator reports the corruption
    }
    cur_.reset();
    return false;
  }
  const Series& At() const override { return *cur_; }
  absl::Status Err() const override { return cursor_.err(); }

 private:
  BlockSeriesCursor cursor_;
  int64_t mint_, maxt_;
  std::unique_ptr<Series> cur_;
};

class BlockChunkSeriesSet final : public series::ChunkSeriesSet {
 public:
  BlockChunkSeriesSet(std::shared_ptr<const Block> block, std::vector<uint64_t> ids)
      : cursor_(block, block->tombstones(), std::move(ids), kMinTime, kMaxTime) {}
  bool Next() override {
    while (cursor_.Next()) {
      if (cursor_.deleted() == nullptr) return true;
      if (absl::Status s = Clip(); !s.ok()) {
        cursor_.set_err(std::move(s));
        return false;
      }
      if (!cursor_.chunks().empty()) return true;
    }
    return false;
  }
  const labels::Labels& Labels() const override { return cursor_.labels(); }
  std::span<const chunk::ChunkData> Chunks() const override {
    return const_cast<BlockSeriesCursor&>(cursor_).chunks();
  }
  absl::Status Err() const override { return cursor_.err(); }

 private:
  // Re-encodes the current series' chunks that tombstones touch, without deleted samples.
  absl::Status Clip() {
    const Intervals& del = *cursor_.deleted();
    std::vector<chunk::ChunkData>& chunks = cursor_.chunks();
    std::vector<chunk::ChunkData> out;
    for (chunk::ChunkData& c : chunks) {
      bool touched = false;
      for (const Interval& iv : del) touched |= iv.min_t <= c.max_t && iv.max_t >= c.min_t;
      if (!touched) {
        out.push_back(std::move(c));
        continue;
      }
      chunk::XorDecoder dec(c.bytes);
      chunk::XorEncoder enc;
      while (dec.Next()) {
        if (!IsDeleted(del, dec.t())) enc.Append(dec.t(), dec.v());
      }
      if (!dec.status().ok()) {
        return absl::DataLossError(absl::StrCat("series ", cursor_.labels().ToString(), ": ",
                                                dec.status().message()));
      }
      if (enc.NumSamples() == 0) continue;
      out.push_back(
          chunk::ChunkData::Owning(enc.MinTime(), enc.MaxTime(), std::string(enc.Bytes())));
    }
    chunks = std::move(out);
    return absl::OkStatus();
  }

  BlockSeriesCursor cursor_;
};

class BlockQuerier final : public Querier {
 public:
  BlockQuerier(std::shared_ptr<const Block> block, int64_t mint, int64_t maxt)
      : block_(std::move(block)), tomb_(block_->tombstones()), mint_(mint), maxt_(maxt) {}

  std::unique_ptr<SeriesSet> Select(std::span<const labels::Matcher> matchers) override {
    return DoSelect(matchers, false);
  }

  std::unique_ptr<SeriesSet> SelectLabels(std::span<const labels::Matcher> matchers) override {
    return DoSelect(matchers, true);
  }

  absl::StatusOr<std::vector<std::string>> LabelNames(
      std::span<const labels::Matcher> matchers) override {
    if (!Overlaps()) return std::vector<std::string>{};
    return index::LabelNames(block_->index(), matchers);
  }

  absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, std::span<const labels::Matcher> matchers) override {
    if (!Overlaps()) return std::vector<std::string>{};
    return index::LabelValues(block_->index(), name, matchers);
  }

 private:
  std::unique_ptr<SeriesSet> DoSelect(std::span<const labels::Matcher> matchers,
                                      bool labels_only) {
    if (auto rejected = series::RejectUnselective(matchers)) return rejected;
    if (!Overlaps()) return series::NewVectorSeriesSet({});
    auto ids = index::PostingsForMatchers(block_->index(), matchers);
    if (!ids.ok()) return series::NewErrorSeriesSet(ids.status());
    return std::make_unique<BlockSeriesSet>(block_, tomb_, std::move(*ids), mint_, maxt_,
                                            labels_only);
  }

  // Label queries answer from the index alone (as Prometheus' block querier does), so only
  // the block's time range is checked, not each series'.
  bool Overlaps() const {
    const BlockMeta& m = block_->meta();
    return mint_ <= maxt_ && m.min_time <= maxt_ && m.max_time > mint_;
  }

  std::shared_ptr<const Block> block_;
  std::shared_ptr<const Tombstones> tomb_;  // as of creation
  int64_t mint_, maxt_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<Block>> Block::Open(base::Env* env, std::string dir) {
  if (!env->IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat("block directory ", dir, " does not exist"));
  }
  std::string name = BaseName(dir);
  std::shared_ptr<Block> b(new Block());
  b->env_ = env;
  b->dir_ = dir;

  std::string meta_path = base::JoinPath(dir, kMetaFilename);
  auto meta_text = env->ReadFileToString(meta_path);
  if (!meta_text.ok()) return InBlock(name, meta_text.status());
  auto meta = DecodeMeta(*meta_text, kMetaFilename);
  if (!meta.ok()) return InBlock(name, meta.status());
  if (IsUlid(name) && meta->ulid != name) {
    return absl::DataLossError(absl::StrCat("block ", name, ": meta.json names block ",
                                            meta->ulid, ", not its directory"));
  }
  b->meta_ = std::move(*meta);
  const std::string& ulid = b->meta_.ulid;

  std::string index_path = base::JoinPath(dir, kIndexFilename);
  auto region = env->NewMemoryRegion(index_path);
  if (!region.ok()) return InBlock(ulid, region.status());
  auto ix = index::IndexFile::Open(std::move(*region), index_path);
  if (!ix.ok()) return InBlock(ulid, ix.status());
  b->index_ = std::move(*ix);
  if (b->index_->NumSeries() != b->meta_.num_series) {
    return absl::DataLossError(absl::StrCat("block ", ulid, ": index holds ",
                                            b->index_->NumSeries(), " series, meta.json says ",
                                            b->meta_.num_series));
  }

  auto cr = ChunksReader::Open(env, base::JoinPath(dir, kChunksDirname), "block " + ulid);
  if (!cr.ok()) {
    // ChunksReader's DataLoss messages already name the block.
    if (cr.status().code() == absl::StatusCode::kDataLoss) return cr.status();
    return InBlock(ulid, cr.status());
  }
  b->chunks_ = std::move(*cr);

  std::string tomb_path = base::JoinPath(dir, kTombstonesFilename);
  auto tomb = std::make_shared<Tombstones>();
  if (env->FileExists(tomb_path)) {
    auto data = env->ReadFileToString(tomb_path);
    if (!data.ok()) return InBlock(ulid, data.status());
    auto t = DecodeTombstones(*data, kTombstonesFilename);
    if (!t.ok()) return InBlock(ulid, t.status());
    if (!t->empty() && t->rbegin()->first >= b->index_->NumSeries()) {
      return absl::DataLossError(absl::StrCat("block ", ulid, ": tombstones name series ",
                                              t->rbegin()->first, ", the index holds ",
                                              b->index_->NumSeries()));
    }
    *tomb = std::move(*t);
  }
  {
    absl::MutexLock lock(&b->mu_);
    b->tombstones_ = std::move(tomb);
  }
  b->size_bytes_ = meta_text->size() + b->index_->SizeBytes() + b->chunks_->SizeBytes();
  return b;
}

Block::~Block() {
  if (!deleted_.load()) return;
  index_.reset();
  chunks_.reset();
  // Rename first so a crash mid-removal leaves a *.tmp-for-deletion dir (garbage by name),
  // never a half block under its ulid.
  std::string doomed = dir_ + kTmpDeletionSuffix;
  if (env_->RenameFile(dir_, doomed).ok()) {
    (void)env_->RemoveDirRecursive(doomed);
  } else {
    (void)env_->RemoveDirRecursive(dir_);
  }
}

std::shared_ptr<const Tombstones> Block::tombstones() const {
  absl::MutexLock lock(&mu_);
  return tombstones_;
}

absl::Status Block::Delete(std::span<const labels::Matcher> matchers, int64_t mint,
                           int64_t maxt) {
  if (mint > maxt) return absl::OkStatus();
  absl::MutexLock serialize(&delete_mu_);
  auto ids = index::PostingsForMatchers(*index_, matchers);
  if (!ids.ok()) return ids.status();
  auto next = std::make_shared<Tombstones>(*tombstones());
  bool changed = false;
  labels::Labels lset;
  std::vector<index::ChunkMeta> metas;
  for (uint64_t id : *ids) {
    if (absl::Status s = index_->Series(id, &lset, &metas); !s.ok()) return InBlock(meta_.ulid, s);
    bool overlaps = false;
    for (const auto& m : metas) overlaps |= m.min_t <= maxt && m.max_t >= mint;
    if (!overlaps) continue;
    Intervals& ivs = (*next)[id];
    Intervals before = ivs;
    AddInterval(&ivs, Interval{mint, maxt});
    changed |= ivs != before;
  }
  if (!changed) return absl::OkStatus();
  if (absl::Status s = env_->WriteStringToFileAtomic(base::JoinPath(dir_, kTombstonesFilename),
                                                     EncodeTombstones(*next));
      !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&mu_);
  tombstones_ = std::move(next);
  return absl::OkStatus();
}

std::unique_ptr<Querier> Block::NewQuerier(int64_t mint, int64_t maxt) const {
  return std::make_unique<BlockQuerier>(shared_from_this(), mint, maxt);
}

std::unique_ptr<series::ChunkSeriesSet> Block::ChunkSeries() const {
  return std::make_unique<BlockChunkSeriesSet>(shared_from_this(), index_->AllPostings());
}

absl::Status Block::Verify() const {
  const std::string& ulid = meta_.ulid;
  if (absl::Status s = chunks_->VerifyPages(); !s.ok()) return s;
  if (absl::Status s = index_->Verify(); !s.ok()) return InBlock(ulid, s);
  labels::Labels lset;
  std::vector<index::ChunkMeta> metas;
  uint64_t samples = 0, num_chunks = 0;
  for (uint64_t id = 0; id < index_->NumSeries(); ++id) {
    if (absl::Status s = index_->Series(id, &lset, &metas); !s.ok()) return InBlock(ulid, s);
    for (const index::ChunkMeta& m : metas) {
      auto where = [&] {
        return absl::StrCat("block ", ulid, ": chunks/", SegmentName(RefSegment(m.ref)),
                            " offset ", RefPageOffset(m.ref), ": chunk at page offset ",
                            RefInPage(m.ref), " of series ", lset.ToString(), ": ");
      };
      if (m.min_t < meta_.min_time || m.max_t >= meta_.max_time) {
        return absl::DataLossError(absl::StrCat(where(), "time range [", m.min_t, ", ", m.max_t,
                                                "] outside the block's"));
      }
      std::shared_ptr<const void> owner;
      auto bytes = chunks_->Chunk(m.ref, &owner);
      if (!bytes.ok()) return bytes.status();
      chunk::XorDecoder dec(*bytes);
      uint32_t n = 0;
      int64_t first = 0, last = 0;
      while (dec.Next()) {
        if (n == 0) first = dec.t();
        last = dec.t();
        ++n;
      }
      if (!dec.status().ok()) {
        return absl::DataLossError(absl::StrCat(where(), dec.status().message()));
      }
      if (n == 0 || n != dec.NumSamples() || first != m.min_t || last != m.max_t) {
        return absl::DataLossError(absl::StrCat(where(), "holds ", n, " samples in [", first,
                                                ", ", last, "], index says [", m.min_t, ", ",
                                                m.max_t, "]"));
      }
      samples += n;
      ++num_chunks;
    }
  }
  if (samples != meta_.num_samples || num_chunks != meta_.num_chunks) {
    return absl::DataLossError(absl::StrCat("block ", ulid, ": meta.json says ",
                                            meta_.num_samples, " samples in ", meta_.num_chunks,
                                            " chunks, the block holds ", samples, " in ",
                                            num_chunks));
  }
  return absl::OkStatus();
}

}  // namespace xscaler::storage::block
