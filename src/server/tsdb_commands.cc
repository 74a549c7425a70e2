// `xscaler tsdb verify DIR` and `xscaler tsdb dump DIR`: offline inspection of a data dir, a
// tenant dir or one block dir. Neither writes anything under DIR: verify reads files through
// the readers' own checks (Block::Verify, wal::Reader), and dump opens the database read-only
// (no lock, no WAL repair, no quarantine moves), so both are safe next to a running server.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/env.h"
#include "base/format.h"
#include "promql/parser.h"
#include "server/commands.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"
#include "storage/block/block.h"
#include "storage/block/meta.h"
#include "storage/db/tsdb.h"
#include "storage/wal/checkpoint.h"
#include "storage/wal/record.h"
#include "storage/wal/wal.h"
#include "tenant/units.h"

namespace xscaler::server {
namespace {

using base::JoinPath;

std::string Msg(const absl::Status& st) { return std::string(st.message()); }

std::string Basename(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

bool IsDataDir(base::Env* env, const std::string& dir) {
  return env->IsDirectory(JoinPath(dir, "tenants"));
}
bool IsBlockDir(base::Env* env, const std::string& dir) {
  return env->FileExists(JoinPath(dir, storage::block::kMetaFilename));
}
bool IsLeftoverTmp(const std::string& name) {
  return absl::EndsWith(name, storage::block::kTmpCreationSuffix) ||
         absl::EndsWith(name, storage::block::kTmpDeletionSuffix);
}

// Walks a directory tree and checks every item, printing one line per item.
class Verifier {
 public:
  explicit Verifier(base::Env* env) : env_(env) {}

  void Block(const std::string& dir, std::string_view what = "block") {
    auto meta = storage::block::ReadMeta(env_, dir);
    if (!meta.ok()) return Corrupt(what, dir, Msg(meta.status()));
    // A copy under another name (for inspection) is fine; a ULID-named dir must hold its block.
    if (storage::block::IsUlid(Basename(dir)) && meta->ulid != Basename(dir)) {
      return Corrupt(what, dir,
                     absl::StrCat(JoinPath(dir, storage::block::kMetaFilename), ": ulid ",
                                  meta->ulid, " does not match the directory name"));
    }
    if (meta->min_time >= meta->max_time) {
      return Corrupt(what, dir,
                     absl::StrCat(JoinPath(dir, storage::block::kMetaFilename), ": min_time ",
                                  meta->min_time, " is not below max_time ", meta->max_time));
    }
    auto block = storage::block::Block::Open(env_, dir);
    if (!block.ok()) return Corrupt(what, dir, Msg(block.status()));
    if (absl::Status st = (*block)->Verify(); !st.ok()) return Corrupt(what, dir, Msg(st));
    Ok(what, dir,
       absl::StrCat("[", meta->min_time, ", ", meta->max_time, ") level ", meta->level, ", ",
                    meta->num_series, " series, ", meta->num_samples, " samples, ",
                    meta->num_chunks, " chunks, ", tenant::FormatBytes((*block)->SizeBytes())));
  }

  void Wal(const std::string& wal_dir) {
    auto children = env_->GetChildren(wal_dir);
    if (!children.ok()) return Corrupt("wal", wal_dir, Msg(children.status()));
    std::sort(children->begin(), children->end());
    for (const std::string& name : *children) {
      const std::string path = JoinPath(wal_dir, name);
      if (!absl::StartsWith(name, "checkpoint.") || !env_->IsDirectory(path)) continue;
      if (absl::EndsWith(name, ".tmp")) {
        Warn("checkpoint", path, "unfinished checkpoint, removed by the next start");
        continue;
      }
      Records("checkpoint", path, 0, /*whole_dir=*/true, /*last=*/false);
    }
    auto segments = storage::wal::ListSegments(env_, wal_dir);
    if (!segments.ok()) return Corrupt("wal", wal_dir, Msg(segments.status()));
    for (size_t i = 0; i < segments->size(); ++i) {
      Records("wal segment", storage::wal::SegmentPath(wal_dir, (*segments)[i]), (*segments)[i],
              /*whole_dir=*/false, /*last=*/i + 1 == segments->size());
    }
  }

  void Tenant(const std::string& dir) {
    auto children = env_->GetChildren(dir);
    if (!children.ok()) return Corrupt("tenant", dir, Msg(children.status()));
    std::sort(children->begin(), children->end());
    bool any = false;
    for (const std::string& name : *children) {
      const std::string path = JoinPath(dir, name);
      if (!env_->IsDirectory(path)) continue;
      if (IsLeftoverTmp(name)) {
        Warn("block", path, "unfinished block write or delete, removed by the next start");
      } else if (storage::block::IsUlid(name)) {
        Block(path);
        any = true;
      } else if (name == "wal") {
        Wal(path);
        any = true;
      } else if (name == "quarantine") {
        auto q = env_->GetChildren(path);
        if (!q.ok()) continue;
        std::sort(q->begin(), q->end());
        for (const std::string& b : *q) Block(JoinPath(path, b), "quarantined block");
      }
    }
    if (!any) Warn("tenant", dir, "no blocks and no write-ahead log");
  }

  void DataDir(const std::string& dir) {
    const std::string root = JoinPath(dir, "tenants");
    auto children = env_->GetChildren(root);
    if (!children.ok()) return Corrupt("data dir", dir, Msg(children.status()));
    std::sort(children->begin(), children->end());
    for (const std::string& name : *children) {
      const std::string path = JoinPath(root, name);
      if (env_->IsDirectory(path)) Tenant(path);
    }
  }

  int Summary() const {
    std::cout << "verified " << ok_ + corrupt_ << " item(s): " << ok_ << " OK, " << corrupt_
              << " corrupt, " << warnings_ << " warning(s)\n";
    return corrupt_ > 0 ? 1 : 0;
  }

 private:
  // Reads every frame (CRC-checked by the reader) and decodes every record of one WAL segment
  // or of a whole checkpoint directory.
  void Records(std::string_view what, const std::string& path, uint64_t segment, bool whole_dir,
               bool last) {
    const std::string dir = whole_dir ? path : path.substr(0, path.find_last_of('/'));
    auto reader = storage::wal::Reader::Open(env_, dir, segment);
    if (!reader.ok()) return Corrupt(what, path, Msg(reader.status()));
    uint64_t records = 0, series = 0, samples = 0;
    std::vector<storage::wal::SeriesRecord> sr;
    std::vector<storage::wal::SampleRecord> sa;
    std::vector<storage::wal::MetadataRecord> md;
    std::string_view rec;
    bool ended = false;
    while ((*reader)->Next(&rec)) {
      if (!whole_dir && (*reader)->segment() != segment) {
        ended = true;
        break;
      }
      ++records;
      absl::Status st;
      auto type = storage::wal::PeekType(rec);
      if (!type.ok()) {
        st = type.status();
      } else if (*type == storage::wal::RecordType::kSeries) {
        sr.clear();
        st = storage::wal::DecodeSeries(rec, &sr);
        series += sr.size();
      } else if (*type == storage::wal::RecordType::kSamples ||
                 *type == storage::wal::RecordType::kOooSamples) {
        sa.clear();
        st = storage::wal::DecodeSamples(rec, &sa);
        samples += sa.size();
      } else {
        md.clear();
        st = storage::wal::DecodeMetadata(rec, &md);
      }
      if (!st.ok()) {
        return Corrupt(what, path,
                       absl::StrCat("record ", records, " (frame ending before offset ",
                                    (*reader)->offset(), "): ", Msg(st)));
      }
    }
    // An error found in a later segment is that segment's to report.
    if (!ended && !(*reader)->status().ok() && (whole_dir || (*reader)->segment() == segment)) {
      const std::string err = Msg((*reader)->status());
      // A frame cut off at the end of the newest segment is what a crash mid-write leaves;
      // it was never acknowledged and the next start truncates it.
      if (last && (absl::StrContains(err, "torn") || absl::StrContains(err, "cut short"))) {
        Warn(what, path,
             absl::StrCat(err,
                          " (an unacknowledged write cut off by a crash; the next start "
                          "truncates it) after ",
                          records, " good records"));
        return;
      }
      return Corrupt(what, path, err);
    }
    Ok(what, path, absl::StrCat(records, " records, ", series, " series, ", samples, " samples"));
  }

  void Ok(std::string_view what, const std::string& path, const std::string& detail) {
    ++ok_;
    std::cout << "OK       " << what << " " << path << ": " << detail << "\n";
  }
  void Corrupt(std::string_view what, const std::string& path, const std::string& err) {
    // Next to a running server, compaction, retention and checkpoints delete files at any time.
    if (!env_->FileExists(path)) {
      return Warn(what, path,
                  "removed while being verified (compaction, retention or a WAL "
                  "checkpoint of a running server)");
    }
    ++corrupt_;
    std::cout << "CORRUPT  " << what << " " << path << ": " << err << "\n";
  }
  void Warn(std::string_view what, const std::string& path, const std::string& detail) {
    ++warnings_;
    std::cout << "WARNING  " << what << " " << path << ": " << detail << "\n";
  }

  base::Env* const env_;
  int ok_ = 0, corrupt_ = 0, warnings_ = 0;
};

// promtool's line: {a="1", b="2"} <value %g> <timestamp ms>.
void AppendSeriesLabels(std::string& out, const labels::Labels& lset) {
  out += '{';
  bool first = true;
  for (const auto& l : lset) {
    if (!first) out += ", ";
    first = false;
    out += l.name;
    out += "=\"";
    for (char c : l.value) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += '}';
}

absl::Status DumpQuerier(storage::Querier& q, std::span<const labels::Matcher> matchers) {
  std::unique_ptr<storage::SeriesSet> set = q.Select(matchers);
  std::string line;
  while (set->Next()) {
    const storage::Series& s = set->At();
    std::string prefix;
    AppendSeriesLabels(prefix, s.Labels());
    auto it = s.Iterator();
    while (it->Next()) {
      auto [t, v] = it->At();
      line = prefix;
      line += ' ';
      line += base::FormatFloatG(v);
      line += ' ';
      line += std::to_string(t);
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
    if (absl::Status st = it->Err(); !st.ok()) return st;
  }
  return set->Err();
}

absl::Status DumpTenant(const std::string& dir, std::span<const labels::Matcher> matchers,
                        int64_t min_t, int64_t max_t) {
  storage::TsdbOptions opts;
  opts.read_only = true;
  opts.background = false;
  auto db = storage::Tsdb::Open(dir, opts);
  if (!db.ok()) return db.status();
  for (const storage::BadBlock& bad : (*db)->bad_blocks()) {
    std::cerr << "xscaler: skipping unreadable block " << bad.dir << ": " << bad.error.message()
              << "\n";
  }
  auto q = (*db)->NewQuerier(min_t, max_t);
  return DumpQuerier(*q, matchers);
}

// Offline commands print results on stdout; the storage engine's logs go to stderr, and only
// warnings and errors, so `tsdb dump > file` holds samples only.
void LogToStderr() {
  auto logger = std::make_shared<spdlog::logger>(
      "tsdb-cli", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace

int RunTsdbVerify(const std::string& dir) {
  LogToStderr();
  base::Env* env = base::Env::Default();
  if (!env->IsDirectory(dir)) {
    std::cerr << "xscaler: " << dir << " is not a directory\n";
    return 2;
  }
  Verifier v(env);
  if (IsBlockDir(env, dir)) {
    v.Block(dir);
  } else if (IsDataDir(env, dir)) {
    v.DataDir(dir);
  } else if (Basename(dir) == "wal") {
    v.Wal(dir);
  } else {
    v.Tenant(dir);
  }
  std::cout.flush();
  return v.Summary();
}

int RunTsdbDump(const std::string& dir, const std::string& match, int64_t min_t, int64_t max_t) {
  LogToStderr();
  base::Env* env = base::Env::Default();
  if (!env->IsDirectory(dir)) {
    std::cerr << "xscaler: " << dir << " is not a directory\n";
    return 2;
  }
  auto matchers = promql::ParseMetricSelector(match);
  if (!matchers.ok()) {
    std::cerr << "xscaler: --match \"" << match << "\": " << matchers.status().message() << "\n";
    return 2;
  }
  bool selective = false;
  for (const labels::Matcher& m : *matchers) selective |= !m.Matches("");
  if (!selective) {
    std::cerr << "xscaler: --match \"" << match
              << "\" must have a matcher that does not match the empty string, e.g. "
                 "{__name__=~\".+\"}\n";
    return 2;
  }
  absl::Status st;
  if (IsBlockDir(env, dir)) {
    auto block = storage::block::Block::Open(env, dir);
    if (!block.ok()) {
      st = block.status();
    } else {
      auto q = (*block)->NewQuerier(min_t, max_t);
      st = DumpQuerier(*q, *matchers);
    }
  } else if (IsDataDir(env, dir)) {
    const std::string root = JoinPath(dir, "tenants");
    auto children = env->GetChildren(root);
    if (!children.ok()) {
      st = children.status();
    } else {
      std::sort(children->begin(), children->end());
      for (const std::string& name : *children) {
        if (!env->IsDirectory(JoinPath(root, name))) continue;
        std::fflush(stdout);
        std::printf("# tenant %s\n", name.c_str());
        st = DumpTenant(JoinPath(root, name), *matchers, min_t, max_t);
        if (!st.ok()) break;
      }
    }
  } else {
    st = DumpTenant(dir, *matchers, min_t, max_t);
  }
  std::fflush(stdout);
  if (!st.ok()) {
    std::cerr << "xscaler: dump of " << dir << " failed: " << st.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace xscaler::server
