#include "storage/db/tsdb.h"

#include <algorithm>
#include <chrono>
#include <malloc.h>  // malloc_trim (glibc)
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "storage/compact/compact.h"
#include "storage/compact/plan.h"
#include "storage/head/replay.h"
#include "storage/merge/merge.h"
#include "storage/series/series_sets.h"
#include "storage/wal/checkpoint.h"

namespace xscaler::storage {
namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

absl::Status Annotate(const absl::Status& st, const std::string& what) {
  return absl::Status(st.code(), absl::StrCat(what, ": ", st.message()));
}

// Errors that mean "this block's files are damaged or incomplete": the block is quarantined.
// Anything else (no memory, too many open files, permissions) is the machine's problem and
// fails Open instead of hiding data.
bool IsBlockDamage(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

bool IsLeftoverTmp(std::string_view name) {
  return name.ends_with(block::kTmpCreationSuffix) || name.ends_with(block::kTmpDeletionSuffix) ||
         name.ends_with(".tmp");
}

void SortBlocks(std::vector<std::shared_ptr<block::Block>>& blocks) {
  std::sort(blocks.begin(), blocks.end(), [](const auto& a, const auto& b) {
    if (a->meta().min_time != b->meta().min_time) return a->meta().min_time < b->meta().min_time;
    return a->meta().ulid < b->meta().ulid;
  });
}

std::vector<compact::BlockInfo> Infos(const std::vector<std::shared_ptr<block::Block>>& blocks) {
  std::vector<compact::BlockInfo> out;
  out.reserve(blocks.size());
  for (const auto& b : blocks) out.push_back(compact::InfoOf(*b));
  return out;
}

// Bytes of the files under `dir` (one level of subdirectories: checkpoints).
uint64_t DirBytes(base::Env* env, const std::string& dir, int depth = 1) {
  auto children = env->GetChildren(dir);
  if (!children.ok()) return 0;
  uint64_t total = 0;
  for (const std::string& c : *children) {
    const std::string p = base::JoinPath(dir, c);
    if (env->IsDirectory(p)) {
      if (depth > 0) total += DirBytes(env, p, depth - 1);
    } else if (auto sz = env->FileSize(p); sz.ok()) {
      total += *sz;
    }
  }
  return total;
}

// A SeriesSet that owns the queriers its children were selected from (and thereby pins their
// blocks) for as long as it lives.
class OwningSeriesSet final : public SeriesSet {
 public:
  OwningSeriesSet(std::vector<std::unique_ptr<Querier>> queriers, std::unique_ptr<SeriesSet> set)
      : queriers_(std::move(queriers)), set_(std::move(set)) {}
  bool Next() override { return set_->Next(); }
  const Series& At() const override { return set_->At(); }
  absl::Status Err() const override { return set_->Err(); }

 private:
  std::vector<std::unique_ptr<Querier>> queriers_;  // declared first: destroyed after set_
  std::unique_ptr<SeriesSet> set_;
};

constexpr char kPersistedUntilFile[] = "persisted_until";

}  // namespace

// The database's Querier. It binds nothing at creation: every call reads the head FIRST and
// only then copies the block list. A cut publishes its block before it truncates the head, so
// whatever the head no longer had when it was read is in a block published by then; reading
// the blocks first could miss a range cut in between (in no block yet, already gone from the
// head). Blocks come first in the merge (oldest first) and the head last, so for a timestamp
// that is in both (the head read just before the cut truncated it) the block's sample wins;
// both hold the same value.
class Tsdb::TsdbQuerier final : public Querier {
 public:
  TsdbQuerier(Tsdb* db, int64_t mint, int64_t maxt) : db_(db), mint_(mint), maxt_(maxt) {}

  std::unique_ptr<SeriesSet> Select(std::span<const labels::Matcher> matchers) override {
    return DoSelect(matchers, false);
  }

  std::unique_ptr<SeriesSet> SelectLabels(std::span<const labels::Matcher> matchers) override {
    return DoSelect(matchers, true);
  }

  absl::StatusOr<std::vector<std::string>> LabelNames(
      std::span<const labels::Matcher> matchers) override {
    return Union([&](Querier& q) { return q.LabelNames(matchers); });
  }

  absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, std::span<const labels::Matcher> matchers) override {
    return Union([&](Querier& q) { return q.LabelValues(name, matchers); });
  }

 private:
  std::unique_ptr<SeriesSet> DoSelect(std::span<const labels::Matcher> matchers,
                                      bool labels_only) {
    auto select = [&](Querier& q) {
      return labels_only ? q.SelectLabels(matchers) : q.Select(matchers);
    };
    if (auto rejected = series::RejectUnselective(matchers)) return rejected;
    std::vector<std::unique_ptr<Querier>> queriers;
    std::unique_ptr<SeriesSet> head_set;
    std::unique_ptr<Querier> head_q = HeadQuerier();
    // The head first: its set registers as an open reader, so a cut that publishes a block
    // after the block list below was copied waits for the set before truncating the head.
    if (head_q != nullptr) head_set = select(*head_q);
    std::vector<std::unique_ptr<SeriesSet>> sets;
    for (const auto& b : db_->BlocksOverlapping(mint_, maxt_)) {
      queriers.push_back(b->NewQuerier(mint_, maxt_));
      sets.push_back(select(*queriers.back()));
    }
    if (head_q != nullptr) {
      queriers.push_back(std::move(head_q));
      sets.push_back(std::move(head_set));
    }
    if (sets.empty()) return series::NewVectorSeriesSet({});
    return std::make_unique<OwningSeriesSet>(std::move(queriers),
                                             merge::MergeSeriesSets(std::move(sets)));
  }

  // The head's querier, or null when the head never held a sample at or after mint (a query
  // over old data then reads the blocks alone). The head's max_time never goes down, unlike
  // its min_time, which Truncate recomputes from scratch.
  std::unique_ptr<Querier> HeadQuerier() {
    if (db_->head_->MaxTime() < mint_) return nullptr;
    return db_->head_->NewQuerier(mint_, maxt_);
  }

  template <typename Fn>
  absl::StatusOr<std::vector<std::string>> Union(Fn fn) {
    std::vector<std::vector<std::string>> lists;
    if (std::unique_ptr<Querier> hq = HeadQuerier(); hq != nullptr) {
      auto l = fn(*hq);
      if (!l.ok()) return l.status();
      lists.push_back(*std::move(l));
    }
    for (const auto& b : db_->BlocksOverlapping(mint_, maxt_)) {
      auto l = fn(*b->NewQuerier(mint_, maxt_));
      if (!l.ok()) return l.status();
      lists.push_back(*std::move(l));
    }
    if (lists.empty()) return std::vector<std::string>{};
    return merge::SortedUnion(std::move(lists));
  }

  Tsdb* const db_;
  const int64_t mint_;
  const int64_t maxt_;
};

// Wraps the head's appender: commits hold commit_mu_ shared (see the header) and may wake the
// background compactor; a read-only database refuses to commit.
class Tsdb::TsdbAppender final : public Appender {
 public:
  TsdbAppender(Tsdb* db, std::unique_ptr<Appender> inner) : db_(db), inner_(std::move(inner)) {}

  absl::StatusOr<SeriesRef> Append(SeriesRef ref, const labels::Labels& lset, int64_t t,
                                   double v) override {
    return inner_->Append(ref, lset, t, v);
  }
  absl::StatusOr<SeriesRef> AppendExisting(SeriesRef ref, int64_t t, double v) override {
    return inner_->AppendExisting(ref, t, v);
  }
  void AppendExistingBatch(std::span<const RefSample> samples,
                           std::span<absl::Status> statuses) override {
    inner_->AppendExistingBatch(samples, statuses);
  }
  void UpdateMetadata(const std::string& metric_family, const MetricMetadata& md) override {
    inner_->UpdateMetadata(metric_family, md);
  }
  absl::Status Commit() override {
    if (db_->opts_.read_only) {
      inner_->Rollback();
      return absl::FailedPreconditionError(
          absl::StrCat("database ", db_->dir_, " is open read-only: samples cannot be stored"));
    }
    absl::Status st;
    {
      absl::ReaderMutexLock lock(&db_->commit_mu_);
      st = inner_->Commit();
    }
    if (st.ok()) db_->MaybeWakeCompactor();
    return st;
  }
  void Rollback() override { inner_->Rollback(); }
  std::vector<CommitDrop> DroppedAtCommit() const override { return inner_->DroppedAtCommit(); }

 private:
  Tsdb* const db_;
  std::unique_ptr<Appender> inner_;
};

Tsdb::Tsdb(std::string dir, TsdbOptions opts)
    : dir_(std::move(dir)),
      opts_(opts),
      head_(std::make_unique<head::Head>(opts.head)),
      retention_ms_(opts.retention_ms),
      max_bytes_(opts.max_bytes) {}

Tsdb::~Tsdb() {
  if (auto st = Close(); !st.ok()) spdlog::error("closing tsdb {}: {}", dir_, st.ToString());
}

absl::StatusOr<std::unique_ptr<Tsdb>> Tsdb::Open(std::string dir, TsdbOptions opts) {
  if (opts.env == nullptr) opts.env = base::Env::Default();
  if (opts.block_range_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("block range must be positive, got ", opts.block_range_ms, " ms"));
  }
  opts.head.chunk.chunk_range_ms = opts.block_range_ms;
  opts.head.ooo_window_ms = std::max<int64_t>(opts.ooo_window_ms, 0);
  if (opts.read_only) opts.background = false;
  if (opts.compaction_interval_ms <= 0) opts.compaction_interval_ms = 60 * 1000;
  base::Env* env = opts.env;

  std::unique_ptr<base::FileLock> lock;
  if (opts.read_only) {
    if (!env->IsDirectory(dir)) {
      return absl::NotFoundError(absl::StrCat("data directory ", dir, " does not exist"));
    }
  } else {
    if (auto st = env->CreateDir(dir); !st.ok()) return st;
    auto l = env->LockFile(base::JoinPath(dir, "LOCK"));
    if (!l.ok()) {
      return absl::Status(l.status().code(),
                          absl::StrCat("data directory ", dir,
                                       " is in use by another xscaler process or database (",
                                       l.status().message(), ")"));
    }
    lock = std::move(*l);
  }

  std::unique_ptr<Tsdb> db(new Tsdb(dir, opts));
  db->lock_ = std::move(lock);
  if (auto st = db->OpenBlocks(); !st.ok()) return st;

  // P: the newest block's max_time, or what the file says if more (the newest block was
  // deleted by retention / a size cap, or the last cut was of an empty range).
  int64_t persisted = kMinTime;
  {
    absl::MutexLock l(&db->blocks_mu_);
    for (const auto& b : db->blocks_) persisted = std::max(persisted, b->meta().max_time);
  }
  const int64_t persisted_file = db->ReadPersistedUntilFile();
  persisted = std::max(persisted, persisted_file);
  db->persisted_until_.store(persisted);
  {
    absl::MutexLock l(&db->compact_mu_);
    db->persisted_file_ = persisted_file;
    db->truncated_until_ = persisted;
  }
  db->head_->SetMinValidTime(persisted);

  if (!opts.read_only && opts.head_chunks_on_disk) {
    // Before replay, which re-writes full chunks through it. Without it the head works the
    // same with every chunk on the heap, so a failure costs memory, not availability.
    const std::string chunks_dir = base::JoinPath(dir, "chunks_head");
    if (auto st = db->head_->EnableChunkMapper(env, chunks_dir); !st.ok()) {
      spdlog::error("tsdb {}: cannot keep head chunks in {}, keeping them in memory: {}", dir,
                    chunks_dir, st.ToString());
    }
  }

  const std::string wal_dir = base::JoinPath(dir, "wal");
  const auto start = std::chrono::steady_clock::now();
  if (opts.read_only) {
    // No repair: a read-only open must not change the directory. Reads what is readable.
    uint64_t first = 0;
    if (auto cp = wal::LatestCheckpoint(env, wal_dir); cp.ok()) {
      auto r = wal::Reader::Open(env, cp->dir);
      if (!r.ok()) return r.status();
      std::string_view rec;
      while ((*r)->Next(&rec)) db->head_->ReplayRecord(rec);
      if (!(*r)->status().ok()) {
        spdlog::warn("tsdb {}: checkpoint {} is corrupt: {}", dir, cp->dir,
                     (*r)->status().ToString());
      }
      first = cp->segment + 1;
    }
    if (env->IsDirectory(wal_dir)) {
      auto r = wal::Reader::Open(env, wal_dir, first);
      if (!r.ok()) return r.status();
      std::string_view rec;
      while ((*r)->Next(&rec)) db->head_->ReplayRecord(rec);
      if ((*r)->skipped_corruptions() > 0) {
        spdlog::warn("tsdb {}: skipped the damaged rest of {} wal segment(s) ({})", dir,
                     (*r)->skipped_corruptions(), (*r)->skipped().front().ToString());
      }
      const bool only_skipped =
          (*r)->skipped_corruptions() > 0 && (*r)->status() == (*r)->skipped().front();
      if (!(*r)->status().ok() && !only_skipped) {
        spdlog::warn("tsdb {}: wal is corrupt after the last good record ({}); a read-write "
                     "open will truncate it there",
                     dir, (*r)->status().ToString());
      }
    }
    db->head_->FinishReplay();
  } else {
    head::ReplayOptions ro;
    ro.threads = opts.replay_threads;
    if (auto st = head::ReplayWal(env, wal_dir, db->head_.get(), ro); !st.ok()) {
      return Annotate(st, absl::StrCat("replaying the write-ahead log of ", dir));
    }
  }
  const auto& rs = db->head_->replay_stats();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t nblocks;
  {
    absl::MutexLock l(&db->blocks_mu_);
    nblocks = db->blocks_.size();
  }
  spdlog::info(
      "tsdb {}: {} blocks; replayed {} records / {} series / {} samples in {:.3f} s ({} skipped "
      "as already in blocks, {} unknown refs, {} dropped, {} bad records)",
      dir, nblocks, rs.records, rs.series, rs.samples, secs, rs.too_old, rs.unknown_refs,
      rs.dropped_samples, rs.bad_records);

  if (!opts.read_only) {
    auto writer = wal::Writer::Open(env, wal_dir, opts.wal);
    if (!writer.ok()) return writer.status();
    db->wal_ = std::move(*writer);
    db->head_->SetWal(db->wal_.get());
  }
  if (opts.background) db->bg_ = std::thread([p = db.get()] { p->BackgroundLoop(); });
  return db;
}

// Where a damaged block named `name` goes: qdir/<name>, or with a timestamp suffix when an
// earlier run already quarantined a block of that name.
std::string Tsdb::QuarantineTarget(const std::string& qdir, const std::string& name) const {
  std::string to = base::JoinPath(qdir, name);
  if (opts_.env->FileExists(to)) to = absl::StrCat(to, ".", NowUnixMs());
  return to;
}

std::vector<BadBlock> Tsdb::bad_blocks() const {
  absl::MutexLock l(&bad_mu_);
  return bad_blocks_;
}

absl::Status Tsdb::Quarantine(const std::string& name, const absl::Status& why) {
  const std::string from = base::JoinPath(dir_, name);
  {
    absl::MutexLock l(&bad_mu_);
    bad_blocks_.push_back({from, why});
  }
  {
    absl::MutexLock l(&stats_mu_);
    ++counters_.quarantined_blocks;
  }
  if (opts_.read_only) {
    spdlog::error("tsdb {}: block {} cannot be opened and is skipped: {}", dir_, name,
                  why.ToString());
    return absl::OkStatus();
  }
  base::Env* env = opts_.env;
  const std::string qdir = base::JoinPath(dir_, "quarantine");
  const std::string to = QuarantineTarget(qdir, name);
  spdlog::error("tsdb {}: block {} cannot be opened and is moved to {}; serving the other "
                "blocks: {}",
                dir_, name, to, why.ToString());
  if (auto st = env->CreateDir(qdir); !st.ok()) return st;
  return env->RenameFile(from, to);
}

void Tsdb::QuarantinePublished(const std::shared_ptr<block::Block>& b, const absl::Status& why) {
  {
    absl::MutexLock l(&blocks_mu_);
    std::erase(blocks_, b);
  }
  {
    absl::MutexLock l(&stats_mu_);
    ++counters_.quarantined_blocks;
  }
  {
    absl::MutexLock l(&bad_mu_);
    bad_blocks_.push_back({b->dir(), why});
  }
  base::Env* env = opts_.env;
  const std::string name = b->meta().ulid;
  const std::string qdir = base::JoinPath(dir_, "quarantine");
  const std::string to = QuarantineTarget(qdir, name);
  spdlog::error("tsdb {}: block {} is corrupt and is moved to {}; its data is no longer served, "
                "the other blocks are: {}",
                dir_, name, to, why.ToString());
  absl::Status st = env->CreateDir(qdir);
  if (st.ok()) st = env->RenameFile(b->dir(), to);
  if (!st.ok()) {
    // Unpublished anyway; the next Open finds it again (and quarantines it if Open sees the
    // damage, or compaction does).
    spdlog::error("tsdb {}: cannot move corrupt block {} to {}: {}", dir_, name, to,
                  st.ToString());
  }
}

int64_t Tsdb::ReadPersistedUntilFile() const {
  const std::string path = base::JoinPath(dir_, kPersistedUntilFile);
  if (!opts_.env->FileExists(path)) return kMinTime;
  auto data = opts_.env->ReadFileToString(path);
  int64_t v = 0;
  if (!data.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*data), &v)) {
    // Only a lower bound is lost: the newest block's max_time still applies.
    spdlog::warn("tsdb {}: ignoring unreadable {}: {}", dir_, path,
                 data.ok() ? std::string("not a decimal integer") : data.status().ToString());
    return kMinTime;
  }
  return v;
}

absl::Status Tsdb::PersistAndTruncate(int64_t p) {
  if (p > persisted_file_) {
    // Before the head (and with the next checkpoint, the WAL) forgets what is below p: a
    // restart must not accept samples below p again, and if the newest block goes (retention,
    // size cap) or the range held nothing, no block tells it.
    const std::string path = base::JoinPath(dir_, kPersistedUntilFile);
    absl::Status st = opts_.env->WriteStringToFileAtomic(path, absl::StrCat(p, "\n"));
    if (st.ok()) st = opts_.env->SyncDir(dir_);
    if (!st.ok()) return Annotate(st, absl::StrCat("recording persisted-until time in ", path));
    persisted_file_ = p;
  }
  const auto start = std::chrono::steady_clock::now();
  // Queries that selected from the head before the block covering p was published read that
  // range from the head alone: let them finish first.
  head_->WaitForReadersBelow(p);
  const head::TruncateStats ts = head_->Truncate(p);
  truncated_until_ = p;
  spdlog::info("tsdb {}: head truncated at {} in {:.3f} s ({} series, {} chunks removed)", dir_,
               p, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
               ts.series_removed, ts.chunks_removed);
  return absl::OkStatus();
}

absl::Status Tsdb::OpenBlocks() {
  base::Env* env = opts_.env;
  auto children = env->GetChildren(dir_);
  if (!children.ok()) return children.status();
  std::sort(children->begin(), children->end());
  std::vector<std::shared_ptr<block::Block>> blocks;
  for (const std::string& name : *children) {
    const std::string path = base::JoinPath(dir_, name);
    if (IsLeftoverTmp(name) && env->IsDirectory(path)) {
      if (opts_.read_only) continue;
      spdlog::info("tsdb {}: removing {}, left over by an interrupted block write or delete",
                   dir_, name);
      if (auto st = env->RemoveDirRecursive(path); !st.ok()) return st;
      continue;
    }
    if (!block::IsUlid(name) || !env->IsDirectory(path)) continue;
    auto b = block::Block::Open(env, path);
    if (!b.ok()) {
      if (!IsBlockDamage(b.status().code())) {
        return Annotate(b.status(), absl::StrCat("opening block ", path));
      }
      if (auto st = Quarantine(name, b.status()); !st.ok()) {
        spdlog::error("tsdb {}: cannot quarantine block {}: {}", dir_, name, st.ToString());
      }
      continue;
    }
    blocks.push_back(std::move(*b));
  }
  // A compaction publishes its result before deleting its sources; a crash in between leaves
  // both. Only blocks that opened fine vouch for their parents, and only for blocks that can
  // really be their parents (a lower level, inside the child's range), so a damaged or
  // hand-edited meta.json cannot make us delete data the child does not hold.
  std::map<std::string, const block::Block*> by_ulid;
  for (const auto& b : blocks) by_ulid[b->meta().ulid] = b.get();
  std::set<std::string> compacted;
  for (const auto& b : blocks) {
    const block::BlockMeta& child = b->meta();
    for (const std::string& p : child.parents) {
      auto it = by_ulid.find(p);
      if (it == by_ulid.end()) continue;
      const block::BlockMeta& parent = it->second->meta();
      if (it->second == b.get() || parent.level >= child.level ||
          parent.min_time < child.min_time || parent.max_time > child.max_time) {
        spdlog::warn("tsdb {}: block {} names block {} as a parent, but it cannot be one (level "
                     "{} vs {}, range [{}, {}) vs [{}, {})); keeping both",
                     dir_, child.ulid, p, parent.level, child.level, parent.min_time,
                     parent.max_time, child.min_time, child.max_time);
        continue;
      }
      compacted.insert(p);
    }
  }
  std::vector<std::shared_ptr<block::Block>> live;
  for (auto& b : blocks) {
    if (compacted.count(b->meta().ulid) != 0) {
      if (!opts_.read_only) {
        spdlog::info("tsdb {}: removing block {}, already compacted into a newer block", dir_,
                     b->meta().ulid);
        b->MarkDeleted();
      }
      continue;
    }
    live.push_back(std::move(b));
  }
  SortBlocks(live);
  {
    absl::MutexLock c(&compact_mu_);
    unscrubbed_.assign(live.begin(), live.end());
  }
  absl::MutexLock l(&blocks_mu_);
  blocks_ = std::move(live);
  return absl::OkStatus();
}

void Tsdb::ScrubOpenedBlocks() {
  if (opts_.read_only) return;
  CompactionLimiter::Slot slot(opts_.compaction_limiter.get());
  absl::MutexLock l(&compact_mu_);
  size_t checked = 0, bad = 0;
  const auto start = std::chrono::steady_clock::now();
  while (!unscrubbed_.empty() && !closing_.load()) {
    std::shared_ptr<block::Block> b = unscrubbed_.back().lock();
    unscrubbed_.pop_back();
    if (b == nullptr) continue;
    {
      absl::MutexLock bl(&blocks_mu_);
      if (std::find(blocks_.begin(), blocks_.end(), b) == blocks_.end()) continue;  // gone
    }
    ++checked;
    const absl::Status v = b->Verify();
    if (v.ok()) continue;
    if (!IsBlockDamage(v.code())) {
      spdlog::error("tsdb {}: cannot check block {}: {}", dir_, b->meta().ulid, v.ToString());
      continue;
    }
    QuarantinePublished(b, v);
    ++bad;
  }
  if (checked > 0) {
    spdlog::info("tsdb {}: checked every chunk page of {} block(s) found at start-up in {:.3f} s; "
                 "{} quarantined",
                 dir_, checked,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                 bad);
  }
}

absl::Status Tsdb::Close() {
  {
    absl::MutexLock lock(&close_mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
  }
  closing_.store(true);
  {
    absl::MutexLock l(&bg_mu_);
    stop_ = true;
  }
  if (bg_.joinable()) bg_.join();
  { absl::MutexLock l(&compact_mu_); }  // a Compact() running on another thread ends
  absl::Status st;
  if (wal_ != nullptr) st = wal_->Close();
  lock_.reset();
  return st;
}

std::unique_ptr<Appender> Tsdb::NewAppender() {
  return std::make_unique<TsdbAppender>(this, head_->NewAppender());
}

std::unique_ptr<Querier> Tsdb::NewQuerier(int64_t mint, int64_t maxt) {
  return std::make_unique<TsdbQuerier>(this, mint, maxt);
}

std::vector<std::shared_ptr<block::Block>> Tsdb::BlocksOverlapping(int64_t mint,
                                                                   int64_t maxt) const {
  std::vector<std::shared_ptr<block::Block>> sel;
  absl::ReaderMutexLock l(&blocks_mu_);
  for (const auto& b : blocks_) {
    if (b->meta().min_time <= maxt && b->meta().max_time > mint) sel.push_back(b);
  }
  return sel;
}

absl::Status Tsdb::Compact() { return RunRound(/*flush=*/false); }
absl::Status Tsdb::Flush() { return RunRound(/*flush=*/true); }

absl::Status Tsdb::RunRound(bool flush) {
  if (opts_.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", dir_, " is open read-only: cannot compact"));
  }
  CompactionLimiter::Slot slot(opts_.compaction_limiter.get());
  absl::MutexLock l(&compact_mu_);
  if (closing_.load()) {
    return absl::FailedPreconditionError(absl::StrCat("database ", dir_, " is closed"));
  }
  const auto start = std::chrono::steady_clock::now();
  bool cut_any = false;
  const absl::Status cut = CutHead(flush, &cut_any);
  absl::Status st = cut;
  if (cut_any || checkpoint_pending_) {
    // Samples below the truncation point are in blocks; the checkpoint drops them.
    absl::Status cp = CheckpointWal(truncated_until_);
    checkpoint_pending_ = !cp.ok();
    if (!cp.ok()) {
      // Not fatal for the rest of the round: the segments stay and the next round retries.
      spdlog::error("tsdb {}: wal checkpoint failed, will retry: {}", dir_, cp.ToString());
    }
    if (st.ok()) st = cp;
  }
  // A failed cut is typically a full or failing disk, on which merging blocks would fail too;
  // retention still runs, since it frees space.
  if (cut.ok()) {
    absl::Status cst = CompactBlocks();
    if (st.ok()) st = cst;
  }
  absl::Status rst = ApplyRetention();
  if (st.ok()) st = rst;
  if (cut_any) {
    // A cut frees a whole block range of head chunks and series at once, and writing the
    // block allocated its index and pages: hand the freed memory back to the OS now rather
    // than keep it in the allocator's free lists, which count as resident memory.
    malloc_trim(0);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!st.ok()) {
    spdlog::error("tsdb {}: compaction failed, will retry: {}", dir_, st.ToString());
  }
  absl::MutexLock sl(&stats_mu_);
  counters_.last_compaction_unix_ms = NowUnixMs();
  counters_.last_compaction_seconds = secs;
  counters_.last_compaction_error = st.ok() ? "" : st.ToString();
  if (!st.ok()) ++counters_.compaction_failures;
  return st;
}

absl::Status Tsdb::CutHead(bool flush, bool* cut_any) {
  base::Env* env = opts_.env;
  const int64_t range = opts_.block_range_ms;
  int64_t persisted = persisted_until_.load();
  if (truncated_until_ < persisted) {
    // An earlier round published a range but failed to record P: finish that first.
    if (auto st = PersistAndTruncate(persisted); !st.ok()) return st;
    *cut_any = true;
  }
  // The block range holding `m` (its start clipped at P); false when there is nothing to cut.
  auto range_for = [&](const HeadStats& hs, block::BlockMeta* meta) {
    const int64_t m = std::max(hs.min_time, persisted);
    const int64_t range_start = FloorDiv(m, range) * range;
    if (range_start > kMaxTime - range) return false;
    const int64_t range_end = range_start + range;
    meta->min_time = std::max(range_start, persisted);
    meta->max_time = flush ? std::min(range_end, hs.max_time + 1) : range_end;
    return meta->max_time > meta->min_time;
  };
  while (!closing_.load()) {
    const HeadStats hs = head_->Stats();
    if (hs.min_time == kMaxTime || hs.max_time == kMinTime) break;  // empty
    const int64_t m = std::max(hs.min_time, persisted);
    if (hs.max_time < m) break;
    if (!flush && hs.max_time - m <= range / 2 * 3) break;
    block::BlockMeta meta;
    if (!range_for(hs, &meta)) break;
    meta.level = 1;
    meta.ulid = block::NewUlid(NowUnixMs());
    meta.sources = {meta.ulid};
    if (opts_.cut_hook_for_testing) opts_.cut_hook_for_testing(meta.min_time, meta.max_time);

    // From here on nothing can enter [.., max_time) of the head: new appends are rejected,
    // and commits staged earlier drop such samples when applied. The barrier waits for
    // commits already applying (new series reach the postings at the end of a commit).
    head_->SetMinValidTime(meta.max_time);
    { absl::WriterMutexLock barrier(&commit_mu_); }
    // A commit that finished before the barrier may have applied a sample below the range
    // (an out-of-order sample older than the head's min_time read above): cut the range
    // holding it first, or truncating at max_time would drop it. No new sample can go below
    // max_time any more, so this settles after one step; later ranges follow in the loop.
    for (;;) {
      const HeadStats now = head_->Stats();
      if (now.min_time == kMaxTime || std::max(now.min_time, persisted) >= meta.min_time) break;
      block::BlockMeta lower = meta;
      if (!range_for(now, &lower) || lower.min_time >= meta.min_time) break;
      spdlog::info("tsdb {}: a late sample at {} arrived while cutting [{}, {}); cutting [{}, {}) "
                   "first",
                   dir_, now.min_time, meta.min_time, meta.max_time, lower.min_time,
                   lower.max_time);
      meta.min_time = lower.min_time;
      meta.max_time = lower.max_time;
    }

    const auto start = std::chrono::steady_clock::now();
    std::unique_ptr<series::ChunkSeriesSet> set = head_->ChunkSeries(meta.min_time, meta.max_time);
    auto written = block::WriteBlock(env, dir_, *set, meta, opts_.block);
    set.reset();
    if (!written.ok()) {
      // The head keeps the range and the next round retries it. Meanwhile the head's minimum
      // valid time stays raised (Head cannot lower it), so late samples for the range are
      // rejected as too old (see tsdb.h, "Disk full").
      return Annotate(written.status(), absl::StrCat("writing head range [", meta.min_time, ", ",
                                                     meta.max_time, ") to a block"));
    }
    if (written->num_series > 0) {
      const std::string path = base::JoinPath(dir_, written->ulid);
      auto b = block::Block::Open(env, path);
      if (!b.ok()) {
        // Not published: remove it, the head still has the data and the next round retries.
        env->RemoveDirRecursive(path).IgnoreError();
        return Annotate(b.status(), absl::StrCat("opening the block just cut from the head"));
      }
      {
        absl::MutexLock l(&blocks_mu_);
        blocks_.push_back(std::move(*b));
        SortBlocks(blocks_);
      }
      absl::MutexLock sl(&stats_mu_);
      ++counters_.head_cuts;
    }
    // Published (or empty): from now on P covers the range, also if recording it fails below
    // (then the truncation waits for the next round, and the range is not cut again).
    persisted = meta.max_time;
    persisted_until_.store(persisted);
    spdlog::info(
        "tsdb {}: cut head range [{}, {}) into block {} ({} series, {} samples, {} chunks) in "
        "{:.3f} s",
        dir_, meta.min_time, meta.max_time, written->num_series > 0 ? written->ulid : "(empty)",
        written->num_series, written->num_samples, written->num_chunks,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (auto st = PersistAndTruncate(persisted); !st.ok()) return st;
    *cut_any = true;
  }
  return absl::OkStatus();
}

absl::Status Tsdb::CheckpointWal(int64_t mint) {
  auto next = wal_->NextSegment();
  if (!next.ok()) return Annotate(next.status(), "starting a new wal segment for a checkpoint");
  if (*next <= 1) return absl::OkStatus();
  const std::string wal_dir = base::JoinPath(dir_, "wal");
  wal::CheckpointStats cs;
  absl::Status st = wal::Checkpoint(
      opts_.env, wal_dir, *next - 1, [this](uint64_t ref) { return head_->HasSeries(ref); }, mint,
      &cs);
  if (!st.ok()) return Annotate(st, "checkpointing the wal");
  spdlog::info("tsdb {}: wal checkpoint up to segment {}: kept {} series / {} samples, dropped "
               "{} series / {} samples",
               dir_, *next - 1, cs.series_kept, cs.samples_kept, cs.series_dropped,
               cs.samples_dropped);
  absl::MutexLock sl(&stats_mu_);
  ++counters_.checkpoints;
  return absl::OkStatus();
}

std::vector<int64_t> Tsdb::CompactionRanges() const {
  const int64_t range = opts_.block_range_ms;
  int64_t max_range = opts_.max_block_range_ms;
  if (max_range <= 0) {
    const int64_t ret = retention_ms_.load(std::memory_order_relaxed);
    max_range = ret > 0 ? std::min(ret / 10, 31 * kDayMs) : 31 * kDayMs;
  }
  max_range = std::max(max_range, range);
  std::vector<int64_t> out;
  for (int64_t r : compact::ExponentialRanges(range, 10, 3)) {
    if (r <= max_range) out.push_back(r);
  }
  if (out.empty()) out.push_back(range);
  return out;
}

absl::Status Tsdb::CompactBlocks() {
  base::Env* env = opts_.env;
  // Bounded so that a planner that keeps proposing work cannot hold the round forever.
  for (int round = 0; round < 64 && !closing_.load(); ++round) {
    const std::vector<std::shared_ptr<block::Block>> blocks = Blocks();
    const std::vector<compact::BlockInfo> infos = Infos(blocks);
    const std::vector<int64_t> ranges = CompactionRanges();
    const std::vector<std::string> group = compact::Plan(infos, ranges);
    if (group.empty()) return absl::OkStatus();
    std::vector<std::shared_ptr<block::Block>> sources;
    for (const auto& b : blocks) {
      if (std::find(group.begin(), group.end(), b->meta().ulid) != group.end()) {
        sources.push_back(b);
      }
    }
    if (sources.size() != group.size()) {
      return absl::InternalError("compaction planner named a block that is not published");
    }
    const auto start = std::chrono::steady_clock::now();
    auto meta = compact::Compact(env, dir_, sources);
    if (!meta.ok() && absl::IsDataLoss(meta.status())) {
      // A damaged source would fail this merge in every round, and with it all compaction:
      // find it (deep check), take it out, and go on with the rest.
      size_t bad = 0;
      for (const auto& b : sources) {
        if (absl::Status v = b->Verify(); !v.ok()) {
          QuarantinePublished(b, v);
          ++bad;
        }
      }
      if (bad > 0) continue;
    }
    if (!meta.ok()) {
      return Annotate(meta.status(), absl::StrCat("compacting ", sources.size(), " blocks"));
    }
    std::shared_ptr<block::Block> merged;
    if (meta->num_series > 0) {
      const std::string path = base::JoinPath(dir_, meta->ulid);
      auto b = block::Block::Open(env, path);
      if (!b.ok()) {
        env->RemoveDirRecursive(path).IgnoreError();
        return Annotate(b.status(), "opening the block just compacted");
      }
      merged = std::move(*b);
    }
    bool published = true;
    {
      absl::MutexLock l(&blocks_mu_);
      for (const auto& s : sources) {
        if (std::find(blocks_.begin(), blocks_.end(), s) == blocks_.end()) published = false;
      }
      if (published) {
        std::erase_if(blocks_, [&](const auto& b) {
          return std::find(sources.begin(), sources.end(), b) != sources.end();
        });
        if (merged != nullptr) blocks_.push_back(merged);
        SortBlocks(blocks_);
      }
    }
    if (!published) {
      // A source was deleted (retention, DeleteBlock) while we merged: publishing the merge
      // would bring its data back.
      spdlog::info("tsdb {}: discarding compacted block {}: a source block was deleted meanwhile",
                   dir_, meta->ulid);
      if (merged != nullptr) merged->MarkDeleted();
      continue;
    }
    for (const auto& s : sources) s->MarkDeleted();
    spdlog::info("tsdb {}: compacted {} blocks into {} [{}, {}) level {} ({} series, {} samples) "
                 "in {:.3f} s",
                 dir_, sources.size(), meta->num_series > 0 ? meta->ulid : "(empty)",
                 meta->min_time, meta->max_time, meta->level, meta->num_series, meta->num_samples,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    absl::MutexLock sl(&stats_mu_);
    ++counters_.compactions;
  }
  return absl::OkStatus();
}

absl::Status Tsdb::ApplyRetention() {
  const std::vector<compact::BlockInfo> infos = Infos(Blocks());
  const std::vector<std::string> drop = compact::BlocksBeyondRetention(
      infos, retention_ms_.load(std::memory_order_relaxed),
      max_bytes_.load(std::memory_order_relaxed));
  if (drop.empty()) return absl::OkStatus();
  const size_t n = Unpublish(drop);
  spdlog::info("tsdb {}: retention deleted {} blocks", dir_, n);
  return absl::OkStatus();
}

size_t Tsdb::Unpublish(const std::vector<std::string>& ulids) {
  std::vector<std::shared_ptr<block::Block>> gone;
  {
    absl::MutexLock l(&blocks_mu_);
    std::erase_if(blocks_, [&](const std::shared_ptr<block::Block>& b) {
      if (std::find(ulids.begin(), ulids.end(), b->meta().ulid) == ulids.end()) return false;
      gone.push_back(b);
      return true;
    });
  }
  for (const auto& b : gone) b->MarkDeleted();
  absl::MutexLock sl(&stats_mu_);
  counters_.blocks_deleted += gone.size();
  return gone.size();
}

void Tsdb::SetRetention(int64_t retention_ms) {
  retention_ms_.store(std::max<int64_t>(retention_ms, 0), std::memory_order_relaxed);
}

void Tsdb::SetMaxBytes(uint64_t max_bytes) {
  max_bytes_.store(max_bytes, std::memory_order_relaxed);
}

std::vector<std::shared_ptr<block::Block>> Tsdb::Blocks() const {
  absl::ReaderMutexLock l(&blocks_mu_);
  return blocks_;
}

uint64_t Tsdb::BlocksSizeBytes() const {
  absl::ReaderMutexLock l(&blocks_mu_);
  uint64_t total = 0;
  for (const auto& b : blocks_) total += b->SizeBytes();
  return total;
}

absl::Status Tsdb::DeleteBlock(const std::string& ulid) {
  if (opts_.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", dir_, " is open read-only: cannot delete blocks"));
  }
  if (Unpublish({ulid}) == 0) {
    return absl::NotFoundError(absl::StrCat("no block ", ulid, " in ", dir_));
  }
  return absl::OkStatus();
}

uint64_t Tsdb::DeleteOldestBlock() {
  if (opts_.read_only) return 0;
  std::string ulid;
  uint64_t size = 0;
  {
    absl::ReaderMutexLock l(&blocks_mu_);
    if (blocks_.empty()) return 0;
    ulid = blocks_.front()->meta().ulid;
    size = blocks_.front()->SizeBytes();
  }
  return Unpublish({ulid}) > 0 ? size : 0;
}

TsdbStats Tsdb::Stats() const {
  TsdbStats s;
  {
    absl::MutexLock l(&stats_mu_);
    s = counters_;
  }
  static_cast<HeadStats&>(s) = head_->Stats();
  {
    absl::ReaderMutexLock l(&blocks_mu_);
    s.num_blocks = blocks_.size();
    for (const auto& b : blocks_) {
      const block::BlockMeta& m = b->meta();
      s.blocks_bytes += b->SizeBytes();
      s.blocks_series += m.num_series;
      s.blocks_samples += m.num_samples;
      s.blocks_min_time = std::min(s.blocks_min_time, m.min_time);
      s.blocks_max_time = std::max(s.blocks_max_time, m.max_time);
    }
  }
  s.wal_bytes = DirBytes(opts_.env, base::JoinPath(dir_, "wal"));
  s.persisted_until = persisted_until_.load();
  return s;
}

bool Tsdb::HeadNeedsCut() const {
  const HeadStats hs = head_->Stats();
  if (hs.min_time == kMaxTime || hs.max_time == kMinTime) return false;
  const int64_t m = std::max(hs.min_time, persisted_until_.load(std::memory_order_relaxed));
  return hs.max_time > m && hs.max_time - m > opts_.block_range_ms / 2 * 3;
}

void Tsdb::MaybeWakeCompactor() {
  if (!opts_.background || wake_requested_.load(std::memory_order_relaxed)) return;
  if (!HeadNeedsCut()) return;
  if (wake_requested_.exchange(true)) return;
  absl::MutexLock l(&bg_mu_);
  wake_ = true;
}

bool Tsdb::BgShouldRun() const { return stop_ || (wake_ && !backoff_); }

void Tsdb::BackgroundLoop() {
  ScrubOpenedBlocks();
  for (;;) {
    {
      absl::MutexLock l(&bg_mu_);
      bg_mu_.AwaitWithTimeout(absl::Condition(this, &Tsdb::BgShouldRun),
                              absl::Milliseconds(opts_.compaction_interval_ms));
      if (stop_) return;
      wake_ = false;
      backoff_ = false;
    }
    wake_requested_.store(false);
    const absl::Status st = RunRound(/*flush=*/false);
    if (!st.ok()) {
      // Don't let commits re-trigger a failing round (e.g. a full disk) in a tight loop: the
      // next attempt waits for the interval.
      absl::MutexLock l(&bg_mu_);
      backoff_ = true;
    }
  }
}

}  // namespace xscaler::storage
