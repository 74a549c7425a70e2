// WriteBlock: chunks, then index, then meta.json into <ulid>.tmp-for-creation, synced, renamed.

#include <chrono>

#include "absl/strings/str_cat.h"
#include "storage/block/block.h"
#include "storage/block/chunks.h"
#include "storage/chunk/xor.h"
#include "storage/index/index_writer.h"

namespace xscaler::storage::block {
namespace {

absl::Status WriteFileSynced(base::Env* env, const std::string& path, std::string_view data) {
  auto f = env->NewWritableFile(path);
  if (!f.ok()) return f.status();
  if (absl::Status s = (*f)->Append(data); !s.ok()) return s;
  if (absl::Status s = (*f)->Sync(); !s.ok()) return s;
  return (*f)->Close();
}

// Everything but the final rename; fills meta's stats.
absl::Status BuildTmp(base::Env* env, const std::string& tmp, series::ChunkSeriesSet& set,
                      BlockMeta* meta, const WriteOptions& opts) {
  if (absl::Status s = env->CreateDir(tmp); !s.ok()) return s;
  std::string chunks_dir = base::JoinPath(tmp, kChunksDirname);
  if (absl::Status s = env->CreateDir(chunks_dir); !s.ok()) return s;
  auto cw = ChunksWriter::Create(
      env, chunks_dir,
      ChunksWriterOptions{opts.zstd_level, opts.page_target_bytes, opts.segment_target_bytes,
                          opts.columnar_pages});
  if (!cw.ok()) return cw.status();
  auto iw = index::IndexWriter::Create(env, base::JoinPath(tmp, kIndexFilename));
  if (!iw.ok()) return iw.status();

  std::vector<index::ChunkMeta> metas;
  while (set.Next()) {
    auto chunks = set.Chunks();
    if (chunks.empty()) continue;
    metas.clear();
    for (const chunk::ChunkData& c : chunks) {
      if (c.min_t < meta->min_time || c.max_t >= meta->max_time || c.max_t < c.min_t) {
        return absl::InvalidArgumentError(absl::StrCat(
            "chunk [", c.min_t, ", ", c.max_t, "] of series ", set.Labels().ToString(),
            " is outside the block range [", meta->min_time, ", ", meta->max_time, ")"));
      }
      chunk::XorDecoder dec(c.bytes);
      auto ref = (*cw)->Add(c.bytes);
      if (!ref.ok()) return ref.status();
      metas.push_back(index::ChunkMeta{c.min_t, c.max_t, *ref});
      meta->num_samples += dec.NumSamples();
    }
    if (absl::Status s = (*iw)->AddSeries(set.Labels(), metas); !s.ok()) return s;
    meta->num_series++;
    meta->num_chunks += metas.size();
  }
  if (absl::Status s = set.Err(); !s.ok()) return s;
  if (meta->num_series == 0) return absl::OkStatus();
  if (absl::Status s = (*cw)->Finish(); !s.ok()) return s;
  if (absl::Status s = (*iw)->Finish(); !s.ok()) return s;
  if (absl::Status s = WriteFileSynced(env, base::JoinPath(tmp, kMetaFilename), EncodeMeta(*meta));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = env->SyncDir(chunks_dir); !s.ok()) return s;
  return env->SyncDir(tmp);
}

}  // namespace

absl::StatusOr<BlockMeta> WriteBlock(base::Env* env, const std::string& parent_dir,
                                     series::ChunkSeriesSet& set, BlockMeta meta,
                                     const WriteOptions& opts) {
  if (meta.ulid.empty()) {
    meta.ulid = NewUlid(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
  }
  if (!IsUlid(meta.ulid)) {
    return absl::InvalidArgumentError(absl::StrCat("block name ", meta.ulid, " is not a ULID"));
  }
  if (meta.max_time <= meta.min_time) {
    return absl::InvalidArgumentError(absl::StrCat("empty block range [", meta.min_time, ", ",
                                                   meta.max_time, ")"));
  }
  if (meta.sources.empty()) meta.sources.push_back(meta.ulid);
  meta.num_series = meta.num_samples = meta.num_chunks = 0;

  const std::string final_dir = base::JoinPath(parent_dir, meta.ulid);
  const std::string tmp = final_dir + kTmpCreationSuffix;
  if (env->FileExists(final_dir)) {
    return absl::AlreadyExistsError(absl::StrCat("block ", final_dir, " already exists"));
  }
  // A leftover from an earlier crash with the same name would be mixed in.
  if (absl::Status s = env->RemoveDirRecursive(tmp); !s.ok()) return s;

  absl::Status st = BuildTmp(env, tmp, set, &meta, opts);
  if (st.ok() && meta.num_series == 0) {
    (void)env->RemoveDirRecursive(tmp);
    return meta;
  }
  if (st.ok()) st = env->RenameFile(tmp, final_dir);
  if (!st.ok()) {
    (void)env->RemoveDirRecursive(tmp);
    return st;
  }
  if (absl::Status s = env->SyncDir(parent_dir); !s.ok()) {
    // The block is complete but its name may not be durable; report failure and take it back
    // so the caller's view (no block) matches the disk's after a crash. Renaming it back
    // first means a failed removal leaves a tmp dir, never a half block under the final name.
    if (env->RenameFile(final_dir, tmp).ok()) (void)env->RemoveDirRecursive(tmp);
    return s;
  }
  return meta;
}

}  // namespace xscaler::storage::block
