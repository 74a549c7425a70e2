#include "storage/block/meta.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <random>

#include "absl/strings/str_cat.h"

namespace xscaler::storage::block {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int CrockfordValue(char c) {
  for (int i = 0; i < 32; ++i) {
    if (kCrockford[i] == c) return i;
  }
  return -1;
}

}  // namespace

std::string NewUlid(int64_t now_ms) {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }());
  uint64_t t = static_cast<uint64_t>(now_ms) & ((uint64_t{1} << 48) - 1);
  uint64_t r_hi = rng() & 0xffff;  // 16 random bits
  uint64_t r_lo = rng();           // 64 random bits
  std::string out(26, '0');
  // Time: 10 chars, 50 bits (top 2 zero).
  for (int i = 9; i >= 0; --i) {
    out[i] = kCrockford[t & 31];
    t >>= 5;
  }
  // Randomness: 16 chars, 80 bits = r_hi:r_lo.
  for (int i = 25; i >= 10; --i) {
    out[i] = kCrockford[r_lo & 31];
    r_lo = (r_lo >> 5) | ((r_hi & 31) << 59);
    r_hi >>= 5;
  }
  return out;
}

bool IsUlid(std::string_view name) {
  if (name.size() != 26) return false;
  for (char c : name) {
    if (CrockfordValue(c) < 0) return false;
  }
  return name[0] <= '7';  // 130 bits encoded, the top 2 must be zero
}

int64_t UlidTime(std::string_view ulid) {
  uint64_t t = 0;
  for (int i = 0; i < 10; ++i) t = (t << 5) | static_cast<uint64_t>(CrockfordValue(ulid[i]));
  return static_cast<int64_t>(t);
}

std::string EncodeMeta(const BlockMeta& meta) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  w.StartObject();
  w.Key("ulid");
  w.String(meta.ulid.data(), static_cast<rapidjson::SizeType>(meta.ulid.size()));
  w.Key("minTime");
  w.Int64(meta.min_time);
  w.Key("maxTime");
  w.Int64(meta.max_time);
  w.Key("stats");
  w.StartObject();
  w.Key("numSamples");
  w.Uint64(meta.num_samples);
  w.Key("numSeries");
  w.Uint64(meta.num_series);
  w.Key("numChunks");
  w.Uint64(meta.num_chunks);
  w.EndObject();
  w.Key("compaction");
  w.StartObject();
  w.Key("level");
  w.Int(meta.level);
  auto list = [&](const char* key, const std::vector<std::string>& v) {
    w.Key(key);
    w.StartArray();
    for (const auto& s : v) w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    w.EndArray();
  };
  list("sources", meta.sources);
  list("parents", meta.parents);
  w.EndObject();
  w.Key("version");
  w.Int(kMetaVersion);
  w.EndObject();
  std::string out(buf.GetString(), buf.GetSize());
  out.push_back('\n');
  return out;
}

absl::StatusOr<BlockMeta> DecodeMeta(std::string_view json, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return absl::DataLossError(absl::StrCat(std::string(what), ": ", std::string(why)));
  };
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return bad(absl::StrCat("offset ", doc.GetErrorOffset(), ": invalid JSON: ",
                            rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsObject()) return bad("not a JSON object");
  BlockMeta m;
  auto get_int = [&](const rapidjson::Value& obj, const char* key, int64_t* out) -> bool {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || !it->value.IsInt64()) return false;
    *out = it->value.GetInt64();
    return true;
  };
  auto get_uint = [&](const rapidjson::Value& obj, const char* key, uint64_t* out) -> bool {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || !it->value.IsUint64()) return false;
    *out = it->value.GetUint64();
    return true;
  };
  auto ulid = doc.FindMember("ulid");
  if (ulid == doc.MemberEnd() || !ulid->value.IsString()) return bad("missing \"ulid\"");
  m.ulid.assign(ulid->value.GetString(), ulid->value.GetStringLength());
  if (!IsUlid(m.ulid)) return bad(absl::StrCat("\"ulid\" ", m.ulid, " is not a ULID"));
  if (!get_int(doc, "minTime", &m.min_time)) return bad("missing or non-integer \"minTime\"");
  if (!get_int(doc, "maxTime", &m.max_time)) return bad("missing or non-integer \"maxTime\"");
  if (m.max_time < m.min_time) return bad("\"maxTime\" is before \"minTime\"");
  int64_t version = 0;
  if (!get_int(doc, "version", &version)) return bad("missing \"version\"");
  if (version != kMetaVersion) return bad(absl::StrCat("unsupported version ", version));
  auto stats = doc.FindMember("stats");
  if (stats == doc.MemberEnd() || !stats->value.IsObject()) return bad("missing \"stats\"");
  if (!get_uint(stats->value, "numSamples", &m.num_samples) ||
      !get_uint(stats->value, "numSeries", &m.num_series) ||
      !get_uint(stats->value, "numChunks", &m.num_chunks)) {
    return bad("\"stats\" needs numSamples, numSeries and numChunks");
  }
  auto comp = doc.FindMember("compaction");
  if (comp == doc.MemberEnd() || !comp->value.IsObject()) return bad("missing \"compaction\"");
  int64_t level = 0;
  if (!get_int(comp->value, "level", &level) || level < 1 || level > 1000) {
    return bad("\"compaction.level\" must be an integer >= 1");
  }
  m.level = static_cast<int>(level);
  auto get_list = [&](const char* key, std::vector<std::string>* out) -> bool {
    auto it = comp->value.FindMember(key);
    if (it == comp->value.MemberEnd()) return true;  // optional
    if (!it->value.IsArray()) return false;
    for (const auto& v : it->value.GetArray()) {
      if (!v.IsString()) return false;
      out->emplace_back(v.GetString(), v.GetStringLength());
    }
    return true;
  };
  if (!get_list("sources", &m.sources) || !get_list("parents", &m.parents)) {
    return bad("\"compaction.sources\"/\"parents\" must be arrays of strings");
  }
  return m;
}

absl::StatusOr<BlockMeta> ReadMeta(base::Env* env, const std::string& block_dir) {
  std::string path = base::JoinPath(block_dir, kMetaFilename);
  auto data = env->ReadFileToString(path);
  if (!data.ok()) return data.status();
  return DecodeMeta(*data, path);
}

}  // namespace xscaler::storage::block
