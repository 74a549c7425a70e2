#include "storage/index/index_writer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "storage/index/index_format.h"

namespace xscaler::storage::index {
namespace {

void PutSection(std::string* file, std::string_view payload) {
  file->append(payload);
  base::PutFixed32(file, base::MaskCrc(base::Crc32c(payload)));
}

size_t SharedPrefix(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

absl::StatusOr<std::unique_ptr<IndexWriter>> IndexWriter::Create(base::Env* env, std::string path) {
  auto file = env->NewWritableFile(path);
  if (!file.ok()) return file.status();
  return std::unique_ptr<IndexWriter>(new IndexWriter(env, std::move(path), std::move(*file)));
}

IndexWriter::IndexWriter(base::Env* env, std::string path, std::unique_ptr<base::WritableFile> file)
    : path_(std::move(path)), file_(std::move(file)) {
  (void)env;
}

IndexWriter::~IndexWriter() = default;

uint32_t IndexWriter::Intern(const std::string& s) {
  auto it = interned_.find(std::string_view(s));
  if (it != interned_.end()) return it->second;
  const uint32_t id = static_cast<uint32_t>(strings_.size());
  strings_.push_back(s);
  interned_.emplace(std::string_view(strings_.back()), id);
  return id;
}

absl::Status IndexWriter::AddSeries(const labels::Labels& lset, std::span<const ChunkMeta> chunks) {
  if (finished_ || failed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("index ", path_, ": AddSeries after Finish or a failed call"));
  }
  if (lset.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("index ", path_, ": series ", series_.size(), " has no labels"));
  }
  if (!series_.empty() && !(last_ < lset)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "index ", path_, ": series ", lset.ToString(), " is not after ", last_.ToString(),
        " (series must be added in strictly ascending label order)"));
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (chunks[i].min_t > chunks[i].max_t || (i > 0 && chunks[i].min_t < chunks[i - 1].min_t)) {
      return absl::InvalidArgumentError(
          absl::StrCat("index ", path_, ": series ", lset.ToString(), " chunk ", i,
                       " has min_t > max_t or is not ordered by min_t"));
    }
  }
  if (series_.size() >= UINT32_MAX || chunks_.size() + chunks.size() >= UINT32_MAX) {
    return absl::ResourceExhaustedError(absl::StrCat("index ", path_, ": too many series"));
  }
  PendingSeries s;
  s.refs.reserve(lset.size() * 2);
  for (const auto& l : lset) {
    s.refs.push_back(Intern(l.name));
    s.refs.push_back(Intern(l.value));
  }
  s.chunks_begin = static_cast<uint32_t>(chunks_.size());
  chunks_.insert(chunks_.end(), chunks.begin(), chunks.end());
  s.chunks_end = static_cast<uint32_t>(chunks_.size());
  series_.push_back(std::move(s));
  ++num_series_;
  last_ = lset;
  return absl::OkStatus();
}

absl::Status IndexWriter::Finish() {
  if (finished_ || failed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("index ", path_, ": Finish called twice or after a failed call"));
  }
  finished_ = true;
  failed_ = true;  // until proven otherwise

  // Symbols: sorted; old interned id -> symbol id.
  const uint32_t nsym = static_cast<uint32_t>(strings_.size());
  std::vector<uint32_t> order(nsym);
  for (uint32_t i = 0; i < nsym; ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return strings_[a] < strings_[b]; });
  std::vector<uint32_t> sym_of(nsym);
  for (uint32_t i = 0; i < nsym; ++i) sym_of[order[i]] = i;

  // Label pairs: (name sym, value sym) sorted, grouped by name.
  std::vector<uint64_t> pairs;  // name_sym << 32 | value_sym
  {
    absl::flat_hash_map<uint64_t, bool> seen;
    for (const auto& s : series_) {
      for (size_t i = 0; i < s.refs.size(); i += 2) {
        uint64_t key = uint64_t{sym_of[s.refs[i]]} << 32 | sym_of[s.refs[i + 1]];
        if (seen.try_emplace(key, true).second) pairs.push_back(key);
      }
    }
  }
  std::sort(pairs.begin(), pairs.end());
  absl::flat_hash_map<uint64_t, uint32_t> pair_index;
  pair_index.reserve(pairs.size());
  for (uint32_t i = 0; i < pairs.size(); ++i) pair_index[pairs[i]] = i;
  // Names table.
  std::vector<uint32_t> name_syms, name_first;
  absl::flat_hash_map<uint32_t, uint32_t> name_index;  // name sym -> name index
  for (uint32_t i = 0; i < pairs.size(); ++i) {
    uint32_t ns = static_cast<uint32_t>(pairs[i] >> 32);
    if (name_syms.empty() || name_syms.back() != ns) {
      name_index[ns] = static_cast<uint32_t>(name_syms.size());
      name_syms.push_back(ns);
      name_first.push_back(i);
    }
  }

  int64_t min_time = 0, max_time = 0;
  if (!chunks_.empty()) {
    min_time = chunks_[0].min_t;
    max_time = chunks_[0].max_t;
    for (const auto& c : chunks_) {
      min_time = std::min(min_time, c.min_t);
      max_time = std::max(max_time, c.max_t);
    }
  }

  std::string out;
  out.append(format::kMagic, 4);
  out.push_back(static_cast<char>(format::kVersion));
  out.append(3, '\0');
  uint64_t offs[format::kNumSections], lens[format::kNumSections];
  int sec = 0;
  auto add_section = [&](std::string_view payload) {
    offs[sec] = out.size();
    lens[sec] = payload.size();
    ++sec;
    PutSection(&out, payload);
  };

  {  // symbols
    std::string p, restarts;
    std::string_view prev;
    for (uint32_t i = 0; i < nsym; ++i) {
      std::string_view s = strings_[order[i]];
      if (i % format::kSymbolGroup == 0) {
        base::PutFixed32(&restarts, static_cast<uint32_t>(p.size()));
        base::PutLengthPrefixed(&p, s);
      } else {
        size_t shared = SharedPrefix(prev, s);
        base::PutVarint64(&p, shared);
        base::PutLengthPrefixed(&p, s.substr(shared));
      }
      prev = s;
    }
    if (p.size() > UINT32_MAX) {
      return absl::ResourceExhaustedError(absl::StrCat("index ", path_, ": symbols exceed 4 GiB"));
    }
    p.append(restarts);
    add_section(p);
  }
  {  // series
    std::string p, groups, body;
    // (name index, pair index) of this and the previous series in the group.
    std::vector<std::pair<uint32_t, uint32_t>> labs, prev_labels;
    uint64_t group_ref = 0;
    for (uint32_t id = 0; id < series_.size(); ++id) {
      const auto& s = series_[id];
      if (id % format::kSeriesGroup == 0) {
        if (p.size() > UINT32_MAX) {
          return absl::ResourceExhaustedError(
              absl::StrCat("index ", path_, ": series section exceeds 4 GiB"));
        }
        base::PutFixed32(&groups, static_cast<uint32_t>(p.size()));
      }
      body.clear();
      if (id % format::kSeriesGroup == 0) {
        prev_labels.clear();
        group_ref = 0;
      }
      labs.clear();
      for (size_t i = 0; i < s.refs.size(); i += 2) {
        uint32_t ns = sym_of[s.refs[i]];
        uint32_t ni = name_index.at(ns);
        labs.emplace_back(ni, pair_index.at(uint64_t{ns} << 32 | sym_of[s.refs[i + 1]]));
      }
      size_t shared = 0;
      while (shared < labs.size() && shared < prev_labels.size() &&
             labs[shared] == prev_labels[shared]) {
        ++shared;
      }
      base::PutVarint64(&body, shared);
      base::PutVarint64(&body, labs.size() - shared);
      int64_t prev_name = shared == 0 ? -1 : static_cast<int64_t>(labs[shared - 1].first);
      for (size_t i = shared; i < labs.size(); ++i) {
        auto [ni, pi] = labs[i];
        base::PutVarint64(&body, static_cast<uint64_t>(ni - prev_name - 1));
        base::PutVarint64(&body, pi - name_first[ni]);
        prev_name = ni;
      }
      std::swap(prev_labels, labs);
      base::PutVarint64(&body, s.chunks_end - s.chunks_begin);
      for (uint32_t c = s.chunks_begin; c < s.chunks_end; ++c) {
        const ChunkMeta& m = chunks_[c];
        if (c == s.chunks_begin) {
          base::PutVarint64(&body,
                            static_cast<uint64_t>(m.min_t) - static_cast<uint64_t>(min_time));
          base::PutVarint64(&body, static_cast<uint64_t>(m.max_t) - static_cast<uint64_t>(m.min_t));
          base::PutVarint64(&body, base::ZigZagEncode(static_cast<int64_t>(m.ref - group_ref)));
        } else {
          const ChunkMeta& prev = chunks_[c - 1];
          base::PutVarint64(
              &body, base::ZigZagEncode(static_cast<int64_t>(static_cast<uint64_t>(m.min_t) -
                                                             static_cast<uint64_t>(prev.max_t))));
          base::PutVarint64(&body, static_cast<uint64_t>(m.max_t) - static_cast<uint64_t>(m.min_t));
          base::PutVarint64(&body, base::ZigZagEncode(static_cast<int64_t>(m.ref - prev.ref)));
        }
      }
      if (s.chunks_end > s.chunks_begin) group_ref = chunks_[s.chunks_end - 1].ref;
      base::PutLengthPrefixed(&p, body);
      base::PutFixed32(&p, base::MaskCrc(base::Crc32c(body)));
    }
    p.append(groups);
    add_section(p);
  }
  {  // names
    std::string p;
    for (size_t i = 0; i < name_syms.size(); ++i) {
      base::PutFixed32(&p, name_syms[i]);
      base::PutFixed32(&p, name_first[i]);
    }
    add_section(p);
  }
  // Postings lists, then the pairs table pointing into them.
  std::string postings, pairs_table;
  {
    std::vector<std::vector<uint32_t>> lists(pairs.size());
    for (uint32_t id = 0; id < series_.size(); ++id) {
      const auto& s = series_[id];
      for (size_t i = 0; i < s.refs.size(); i += 2) {
        uint64_t key = uint64_t{sym_of[s.refs[i]]} << 32 | sym_of[s.refs[i + 1]];
        lists[pair_index.at(key)].push_back(id);
      }
    }
    for (size_t j = 0; j < pairs.size(); ++j) {
      if (postings.size() > UINT32_MAX) {
        return absl::ResourceExhaustedError(
            absl::StrCat("index ", path_, ": postings exceed 4 GiB"));
      }
      base::PutFixed32(&pairs_table, static_cast<uint32_t>(pairs[j]));
      base::PutFixed32(&pairs_table, static_cast<uint32_t>(postings.size()));
      const auto& l = lists[j];
      base::PutVarint64(&postings, l.size());
      for (size_t k = 0; k < l.size(); ++k) {
        base::PutVarint64(&postings, k == 0 ? l[0] : l[k] - l[k - 1] - 1);
      }
      std::vector<uint32_t>().swap(lists[j]);
    }
    if (postings.size() > UINT32_MAX) {
      return absl::ResourceExhaustedError(absl::StrCat("index ", path_, ": postings exceed 4 GiB"));
    }
    base::PutFixed32(&pairs_table, 0);
    base::PutFixed32(&pairs_table, static_cast<uint32_t>(postings.size()));
  }
  add_section(pairs_table);
  add_section(postings);

  size_t toc_start = out.size();
  for (int i = 0; i < format::kNumSections; ++i) {
    base::PutFixed64(&out, offs[i]);
    base::PutFixed64(&out, lens[i]);
  }
  base::PutFixed64(&out, series_.size());
  base::PutFixed32(&out, nsym);
  base::PutFixed64(&out, static_cast<uint64_t>(min_time));
  base::PutFixed64(&out, static_cast<uint64_t>(max_time));
  base::PutFixed32(&out, base::MaskCrc(base::Crc32c(std::string_view(out).substr(toc_start))));

  // Release the buffered series before writing: the file buffer is the peak.
  std::vector<PendingSeries>().swap(series_);
  std::vector<ChunkMeta>().swap(chunks_);

  constexpr size_t kWriteChunk = 1 << 20;
  for (size_t off = 0; off < out.size(); off += kWriteChunk) {
    absl::Status st = file_->Append(std::string_view(out).substr(off, kWriteChunk));
    if (!st.ok()) return st;
  }
  if (absl::Status st = file_->Sync(); !st.ok()) return st;
  if (absl::Status st = file_->Close(); !st.ok()) return st;
  failed_ = false;
  return absl::OkStatus();
}

}  // namespace xscaler::storage::index
