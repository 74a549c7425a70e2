#include "storage/head/chunk_mapper.h"

#include <malloc.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "base/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xscaler::storage::head {
namespace {

using ::testing::HasSubstr;

// Deterministic chunk contents for (series, i), so any reader can check what it got.
std::string Payload(uint64_t series, uint64_t i) {
  std::string s((series * 7 + i * 13) % 300, '\0');
  for (size_t k = 0; k < s.size(); ++k) s[k] = static_cast<char>(series * 31 + i * 17 + k);
  return s;
}

struct Written {
  uint64_t series;
  uint64_t i;
  uint64_t ref;
};

class ChunkMapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/chunkmapper.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/chunks_head";
  }
  void TearDown() override { (void)base::Env::Default()->RemoveDirRecursive(root_); }

  std::unique_ptr<ChunkMapper> OpenMapper(base::Env* env, uint64_t max_file_size) {
    auto m = ChunkMapper::Open(env, dir_, ChunkMapperOptions{max_file_size});
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? std::move(*m) : nullptr;
  }

  static uint64_t MustWrite(ChunkMapper& m, uint64_t series, uint64_t i) {
    auto ref = m.Write(series, static_cast<int64_t>(i * 1000), static_cast<int64_t>(i * 1000 + 999),
                       Payload(series, i));
    EXPECT_TRUE(ref.ok()) << ref.status();
    return ref.ok() ? *ref : 0;
  }

  static void ExpectChunk(const ChunkMapper& m, const Written& w) {
    auto c = m.Read(w.ref);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->min_t, static_cast<int64_t>(w.i * 1000));
    EXPECT_EQ(c->max_t, static_cast<int64_t>(w.i * 1000 + 999));
    EXPECT_EQ(c->bytes, Payload(w.series, w.i));
    EXPECT_NE(c->owner, nullptr);
  }

  // Decodes a whole file front to back; returns the number of records (-1 on any error).
  static int CountRecords(const std::string& path) {
    auto data = base::Env::Default()->ReadFileToString(path);
    if (!data.ok()) return -1;
    uint64_t off = kChunkFileHeaderSize;
    int n = 0;
    while (off < data->size()) {
      auto r = DecodeChunkRecord(*data, off, path);
      if (!r.ok()) return -1;
      off += kChunkRecordOverhead + r->bytes.size();
      ++n;
    }
    return n;
  }

  static void FlipByte(const std::string& path, uint64_t offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.read(&c, 1);
    c ^= 0x5a;
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
  }

  std::string root_;
  std::string dir_;
};

// An Env whose files cannot be mapped while they grow, so the current file is read with pread.
class NoGrowingMapEnv final : public base::FaultInjectionEnv {
 public:
  NoGrowingMapEnv() : base::FaultInjectionEnv(base::Env::Default()) {}
  absl::StatusOr<std::unique_ptr<base::MemoryRegion>> NewGrowingMemoryRegion(
      const std::string& path, uint64_t) override {
    return absl::UnimplementedError("no growing mappings in " + path);
  }
  absl::StatusOr<std::unique_ptr<base::MemoryRegion>> NewMemoryRegion(
      const std::string& path) override {
    if (!map_rolled) return absl::UnimplementedError("no mappings in " + path);
    return base::FaultInjectionEnv::NewMemoryRegion(path);
  }
  bool map_rolled = true;  // whether rolled files can be mapped
};

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// The bytes of head_chunks.md, computed independently of this code.
TEST(ChunkRecordFormat, MatchesTheDocumentedLayout) {
  std::string rec;
  EncodeChunkRecord(&rec, 7, -2, 1000, "abc");
  EXPECT_EQ(Hex(rec),
            "0700000000000000"   // series_ref
            "feffffffffffffff"   // min_t
            "e803000000000000"   // max_t
            "03000000"           // len
            "616263"             // bytes
            "fb31fa66");         // masked crc32c
  std::string file = "XSHC";
  file += std::string("\x01\0\0\0", 4);
  file += rec;
  auto r = DecodeChunkRecord(file, 8, "f");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->series_ref, 7u);
  EXPECT_EQ(r->min_t, -2);
  EXPECT_EQ(r->max_t, 1000);
  EXPECT_EQ(r->bytes, "abc");
  EXPECT_EQ(ChunkFileName(1), "000001");
  EXPECT_EQ(ChunkFileName(123456), "123456");
  EXPECT_EQ(ChunkFileName(1234567), "1234567");
  EXPECT_EQ(MakeChunkRef(3, 8), (uint64_t{3} << 32) | 8);
}

TEST_F(ChunkMapperTest, RoundTripAcrossFileRolls) {
  auto m = OpenMapper(base::Env::Default(), 4096);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->NumFiles(), 0u);
  std::vector<Written> w;
  for (uint64_t i = 0; i < 400; ++i) {
    uint64_t series = i % 17;
    w.push_back({series, i, MustWrite(*m, series, i)});
    ASSERT_NE(w.back().ref, 0u);
    // Reading straight after the write sees the just-written record (current file, pread).
    ExpectChunk(*m, w.back());
  }
  EXPECT_GT(m->NumFiles(), 10u);
  for (const auto& x : w) ExpectChunk(*m, x);  // mostly rolled files, through mmap

  // A chunk larger than the file limit gets a file of its own.
  std::string big(10000, 'x');
  auto ref = m->Write(99, 5, 6, big);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ChunkRefOffset(*ref), kChunkFileHeaderSize);
  auto c = m->Read(*ref);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bytes, big);
  uint64_t next = MustWrite(*m, 1, 1);
  EXPECT_EQ(ChunkRefFile(next), ChunkRefFile(*ref) + 1);

  // Every file on disk decodes front to back and the sizes add up.
  uint64_t on_disk = 0;
  int records = 0;
  auto names = base::Env::Default()->GetChildren(dir_);
  ASSERT_TRUE(names.ok());
  for (const auto& n : *names) {
    std::string p = base::JoinPath(dir_, n);
    on_disk += *base::Env::Default()->FileSize(p);
    int k = CountRecords(p);
    ASSERT_GE(k, 1) << p;
    records += k;
  }
  EXPECT_EQ(records, 402);
  int walked = 0;
  ASSERT_TRUE(m->ForEachChunk([&](uint64_t ref, const ChunkRecord& rec) {
                 auto c = m->Read(ref);
                 EXPECT_TRUE(c.ok() && c->bytes == rec.bytes && c->max_t == rec.max_t);
                 ++walked;
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(walked, 402);
  EXPECT_EQ(on_disk, m->SizeBytes());
  EXPECT_EQ(names->size(), m->NumFiles());
}

TEST_F(ChunkMapperTest, EmptyChunkAndExtremeTimes) {
  auto m = OpenMapper(base::Env::Default(), 1 << 20);
  ASSERT_NE(m, nullptr);
  auto ref = m->Write(0, INT64_MIN, INT64_MAX, "");
  ASSERT_TRUE(ref.ok());
  auto c = m->Read(*ref);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->min_t, INT64_MIN);
  EXPECT_EQ(c->max_t, INT64_MAX);
  EXPECT_TRUE(c->bytes.empty());
  EXPECT_EQ(m->Write(1, 10, 9, "x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ChunkMapperTest, OpenRemovesOldChunkFilesOnly) {
  base::Env* env = base::Env::Default();
  ASSERT_TRUE(env->CreateDir(dir_).ok());
  ASSERT_TRUE(env->WriteStringToFileAtomic(base::JoinPath(dir_, "000007"), "stale").ok());
  ASSERT_TRUE(env->WriteStringToFileAtomic(base::JoinPath(dir_, "notes.txt"), "keep").ok());
  ASSERT_TRUE(env->WriteStringToFileAtomic(base::JoinPath(dir_, "1000000"), "stale").ok());
  ASSERT_TRUE(env->WriteStringToFileAtomic(base::JoinPath(dir_, "12345"), "keep").ok());
  auto m = OpenMapper(env, 1 << 20);
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(env->FileExists(base::JoinPath(dir_, "000007")));
  EXPECT_TRUE(env->FileExists(base::JoinPath(dir_, "notes.txt")));
  EXPECT_FALSE(env->FileExists(base::JoinPath(dir_, "1000000")));
  EXPECT_TRUE(env->FileExists(base::JoinPath(dir_, "12345")));
  uint64_t ref = MustWrite(*m, 3, 4);
  EXPECT_EQ(ChunkRefFile(ref), 1u);
  EXPECT_TRUE(env->FileExists(base::JoinPath(dir_, "000001")));
}

TEST_F(ChunkMapperTest, KeepExistingReopensValidPrefixes) {
  base::Env* env = base::Env::Default();
  std::vector<Written> w;
  {
    auto m = OpenMapper(env, 4096);
    ASSERT_NE(m, nullptr);
    for (uint64_t i = 0; i < 120; ++i) w.push_back({i % 5, i, MustWrite(*m, i % 5, i)});
  }
  const uint32_t last = ChunkRefFile(w.back().ref);
  ASSERT_GT(last, 4u);
  // File 2: corrupt its third record. File 99: empty (crashed at create).
  std::vector<Written> in2;
  for (const auto& x : w) {
    if (ChunkRefFile(x.ref) == 2) in2.push_back(x);
  }
  ASSERT_GT(in2.size(), 3u);
  FlipByte(base::JoinPath(dir_, "000002"), ChunkRefOffset(in2[2].ref) + 30);
  { std::ofstream(base::JoinPath(dir_, "000099")); }

  auto m = ChunkMapper::Open(env, dir_, ChunkMapperOptions{4096, /*keep_existing=*/true});
  ASSERT_TRUE(m.ok()) << m.status();
  // File 2 damaged; files 3..last and 99 dropped after it.
  ASSERT_EQ((*m)->open_warnings().size(), last - 2 + 2);
  EXPECT_THAT((*m)->open_warnings()[0],
              HasSubstr("000002 offset " + std::to_string(ChunkRefOffset(in2[2].ref))));
  EXPECT_FALSE(env->FileExists(base::JoinPath(dir_, "000099")));
  size_t expected = 0;
  for (const auto& x : w) {
    bool lost = ChunkRefFile(x.ref) > 2 ||
                (ChunkRefFile(x.ref) == 2 && ChunkRefOffset(x.ref) >= ChunkRefOffset(in2[2].ref));
    if (lost) {
      EXPECT_FALSE((*m)->Read(x.ref).ok()) << x.i;
      EXPECT_FALSE(env->FileExists(base::JoinPath(dir_, ChunkFileName(ChunkRefFile(x.ref)))) &&
                   ChunkRefFile(x.ref) > 2);
    } else {
      ExpectChunk(**m, x);
      ++expected;
    }
  }
  std::vector<Written> seen;
  ASSERT_TRUE((*m)->ForEachChunk([&](uint64_t ref, const ChunkRecord& rec) {
                     uint64_t i = static_cast<uint64_t>(rec.min_t / 1000);
                     EXPECT_EQ(rec.bytes, Payload(rec.series_ref, i));
                     seen.push_back({rec.series_ref, i, ref});
                     return absl::OkStatus();
                   }).ok());
  EXPECT_EQ(seen.size(), expected);
  for (size_t k = 1; k < seen.size(); ++k) EXPECT_LT(seen[k - 1].ref, seen[k].ref);
  // New chunks go to a new file after every existing one (file 99 counted too).
  uint64_t ref = MustWrite(**m, 7, 7);
  EXPECT_EQ(ChunkRefFile(ref), 100u);
  ExpectChunk(**m, {7, 7, ref});
  // fn's error stops the walk and comes back.
  int calls = 0;
  auto s = (*m)->ForEachChunk([&](uint64_t, const ChunkRecord&) {
    ++calls;
    return absl::CancelledError("enough");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE((*m)->Truncate(INT64_MAX).ok());
  EXPECT_EQ((*m)->NumFiles(), 0u);
}

TEST_F(ChunkMapperTest, KeepExistingAfterPowerLossKeepsRolledFiles) {
  base::FaultInjectionEnv env(base::Env::Default());
  std::vector<Written> w;
  {
    auto m = ChunkMapper::Open(&env, dir_, ChunkMapperOptions{4096, /*keep_existing=*/true});
    ASSERT_TRUE(m.ok()) << m.status();
    for (uint64_t i = 0; i < 150; ++i) w.push_back({i % 3, i, MustWrite(**m, i % 3, i)});
    ASSERT_TRUE(env.DropUnsyncedData().ok());  // power loss: the newest file was never synced
  }
  const uint32_t last = ChunkRefFile(w.back().ref);
  auto m = ChunkMapper::Open(&env, dir_, ChunkMapperOptions{4096, /*keep_existing=*/true});
  ASSERT_TRUE(m.ok()) << m.status();
  // The newest file is empty now: reported and removed, nothing else lost.
  ASSERT_EQ((*m)->open_warnings().size(), 1u);
  EXPECT_THAT((*m)->open_warnings()[0], HasSubstr(ChunkFileName(last)));
  EXPECT_EQ((*m)->NumFiles(), last - 1);
  for (const auto& x : w) {
    if (ChunkRefFile(x.ref) < last) {
      ExpectChunk(**m, x);
    } else {
      EXPECT_EQ((*m)->Read(x.ref).status().code(), absl::StatusCode::kNotFound);
    }
  }
  // Second torn file: a tail torn inside a record (a short write) keeps the records before it.
  uint64_t a = MustWrite(**m, 1, 500);
  uint64_t b = MustWrite(**m, 1, 501);
  EXPECT_EQ(ChunkRefFile(a), last + 1);
  m->reset();
  const std::string path = base::JoinPath(dir_, ChunkFileName(ChunkRefFile(a)));
  ASSERT_TRUE(base::Env::Default()->Truncate(path, ChunkRefOffset(b) + 5).ok());
  m = ChunkMapper::Open(&env, dir_, ChunkMapperOptions{4096, /*keep_existing=*/true});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ((*m)->open_warnings().size(), 1u);
  EXPECT_THAT((*m)->open_warnings()[0],
              HasSubstr(ChunkFileName(ChunkRefFile(a)) + " offset " +
                        std::to_string(ChunkRefOffset(b))));
  ExpectChunk(**m, {1, 500, a});
  EXPECT_FALSE((*m)->Read(b).ok());
}

TEST_F(ChunkMapperTest, BadReferences) {
  auto m = OpenMapper(base::Env::Default(), 4096);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->Read(0).status().code(), absl::StatusCode::kNotFound);
  uint64_t ref = MustWrite(*m, 1, 2);
  EXPECT_EQ(m->Read(MakeChunkRef(42, 8)).status().code(), absl::StatusCode::kNotFound);
  for (uint32_t off : {0u, 7u, 1000000u}) {
    auto s = m->Read(MakeChunkRef(ChunkRefFile(ref), off)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << off;
    EXPECT_THAT(s.message(), HasSubstr("offset " + std::to_string(off)));
  }
  // Inside the record but not at its start: the CRC (or a bounds check) catches it.
  EXPECT_EQ(m->Read(ref + 1).status().code(), absl::StatusCode::kDataLoss);
  // Same through the mmap path once the file is rolled.
  while (ChunkRefFile(MustWrite(*m, 5, 5)) == ChunkRefFile(ref)) {
  }
  EXPECT_EQ(m->Read(ref + 1).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(m->Read(MakeChunkRef(ChunkRefFile(ref), 1000000)).status().code(),
            absl::StatusCode::kDataLoss);
  ExpectChunk(*m, {1, 2, ref});
}

TEST_F(ChunkMapperTest, TruncateDropsOnlyFilesEndingBeforeMint) {
  // Exactly 5 records of 100 bytes per file: chunk i is in file i/5 + 1.
  auto m = OpenMapper(base::Env::Default(), kChunkFileHeaderSize + 5 * (kChunkRecordOverhead + 100));
  ASSERT_NE(m, nullptr);
  auto chunk = [](uint64_t i) { return std::string(100, static_cast<char>('a' + i % 26)); };
  std::vector<uint64_t> refs;
  for (uint64_t i = 0; i < 100; ++i) {
    auto ref = m->Write(1, static_cast<int64_t>(i * 1000), static_cast<int64_t>(i * 1000 + 999),
                        chunk(i));
    ASSERT_TRUE(ref.ok()) << ref.status();
    ASSERT_EQ(ChunkRefFile(*ref), i / 5 + 1);
    refs.push_back(*ref);
  }
  ASSERT_EQ(m->NumFiles(), 20u);
  // A reader holding a chunk of a file that gets removed keeps its bytes.
  auto held = m->Read(refs[0]);
  ASSERT_TRUE(held.ok());
  // Chunk 49 (the last of file 10) ends exactly at mint, so file 10 stays; file 9 ends before.
  ASSERT_TRUE(m->Truncate(49 * 1000 + 999).ok());
  EXPECT_EQ(held->bytes, chunk(0));
  EXPECT_EQ(m->NumFiles(), 11u);
  for (uint64_t i = 0; i < 100; ++i) {
    auto c = m->Read(refs[i]);
    if (i >= 45) {
      ASSERT_TRUE(c.ok()) << i << ": " << c.status();
      EXPECT_EQ(c->bytes, chunk(i));
    } else {
      EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound) << i;
      EXPECT_FALSE(base::Env::Default()->FileExists(
          base::JoinPath(dir_, ChunkFileName(ChunkRefFile(refs[i])))));
    }
  }
  ASSERT_TRUE(m->Truncate(49 * 1000 + 999).ok());  // idempotent
  EXPECT_EQ(m->NumFiles(), 11u);

  // Everything, the current file included; writing continues in a new file.
  const uint32_t last_file = ChunkRefFile(refs.back());
  ASSERT_TRUE(m->Truncate(1'000'000).ok());
  EXPECT_EQ(m->NumFiles(), 0u);
  EXPECT_EQ(m->SizeBytes(), 0u);
  uint64_t ref = MustWrite(*m, 2, 7);
  EXPECT_GT(ChunkRefFile(ref), last_file);
  ExpectChunk(*m, {2, 7, ref});
}

TEST_F(ChunkMapperTest, CorruptionIsDataLossNamingFileAndOffset) {
  auto m = OpenMapper(base::Env::Default(), 4096);
  ASSERT_NE(m, nullptr);
  std::vector<Written> w;
  for (uint64_t i = 1; i < 60; ++i) w.push_back({9, i, MustWrite(*m, 9, i)});
  const Written sealed = w[0];        // in a rolled (mmapped) file
  const Written current = w.back();   // in the file being written
  ASSERT_NE(ChunkRefFile(sealed.ref), ChunkRefFile(current.ref));
  for (const Written& x : {sealed, current}) {
    const std::string path = base::JoinPath(dir_, ChunkFileName(ChunkRefFile(x.ref)));
    // Flip a byte in the header, in the chunk bytes and in the crc in turn.
    const uint64_t len = Payload(x.series, x.i).size();
    for (uint64_t delta : {uint64_t{3}, uint64_t{20}, kChunkRecordHeaderSize + len / 2,
                           kChunkRecordHeaderSize + len + 1}) {
      const uint64_t at = ChunkRefOffset(x.ref) + delta;
      FlipByte(path, at);
      auto c = m->Read(x.ref);
      ASSERT_FALSE(c.ok()) << path << " +" << delta;
      EXPECT_EQ(c.status().code(), absl::StatusCode::kDataLoss) << c.status();
      EXPECT_THAT(c.status().message(), HasSubstr(path));
      EXPECT_THAT(c.status().message(),
                  HasSubstr("offset " + std::to_string(ChunkRefOffset(x.ref))));
      FlipByte(path, at);
      ExpectChunk(*m, x);
    }
  }
  // Every single-byte flip of a record is detected (checked on the decoder, exhaustively).
  std::string file = *base::Env::Default()->ReadFileToString(
      base::JoinPath(dir_, ChunkFileName(ChunkRefFile(sealed.ref))));
  const uint64_t off = ChunkRefOffset(sealed.ref);
  const uint64_t rec_len = kChunkRecordOverhead + Payload(sealed.series, sealed.i).size();
  ASSERT_TRUE(DecodeChunkRecord(file, off, "f").ok());
  for (uint64_t k = off; k < off + rec_len; ++k) {
    for (int bit = 0; bit < 8; ++bit) {
      file[k] ^= static_cast<char>(1 << bit);
      auto r = DecodeChunkRecord(file, off, "f");
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << k << ":" << bit;
      file[k] ^= static_cast<char>(1 << bit);
    }
  }
  EXPECT_EQ(DecodeChunkRecord(file.substr(0, off + rec_len - 1), off, "f").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeChunkRecord("", 8, "f").status().code(), absl::StatusCode::kDataLoss);
  std::string bad_magic = file;
  bad_magic[0] ^= 1;
  EXPECT_EQ(DecodeChunkRecord(bad_magic, off, "f").status().code(), absl::StatusCode::kDataLoss);

  // The current file cut short on disk, read through the pread fallback (an Env that cannot
  // map a growing file): DataLoss, not a crash. (A mapped file must not be shrunk under its
  // readers, as for any mmap: that is outside the contract.)
  m.reset();
  NoGrowingMapEnv env;
  auto m2 = OpenMapper(&env, 1 << 20);
  ASSERT_NE(m2, nullptr);
  const Written a{3, 1, MustWrite(*m2, 3, 1)};
  const Written b{3, 2, MustWrite(*m2, 3, 2)};
  ExpectChunk(*m2, a);
  ExpectChunk(*m2, b);
  const std::string cur = base::JoinPath(dir_, ChunkFileName(ChunkRefFile(b.ref)));
  ASSERT_TRUE(base::Env::Default()->Truncate(cur, ChunkRefOffset(b.ref) + 10).ok());
  auto c = m2->Read(b.ref);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kDataLoss) << c.status();
  EXPECT_THAT(c.status().message(), HasSubstr(cur));
}

TEST_F(ChunkMapperTest, CurrentFileIsReadThroughItsMapping) {
  auto m = OpenMapper(base::Env::Default(), 64 << 10);
  ASSERT_NE(m, nullptr);
  std::vector<Written> w;
  std::vector<std::shared_ptr<const void>> owners;
  for (uint64_t i = 0; i < 2000; ++i) {
    w.push_back({i % 7, i, MustWrite(*m, i % 7, i)});
    // Read after write, while the record is in the file being written.
    auto c = m->Read(w.back().ref);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_EQ(c->bytes, Payload(i % 7, i));
    auto again = m->Read(w.back().ref);
    ASSERT_TRUE(again.ok());
    // A view into one shared mapping per file, not a copy per read.
    EXPECT_EQ(again->bytes.data(), c->bytes.data());
    EXPECT_EQ(again->owner, c->owner);
    if (owners.empty() || owners.back() != c->owner) owners.push_back(c->owner);
  }
  // Files rolled (a new mapping each), and the chunks read while a file was current are the
  // same bytes once it is rolled: the mapping made at creation serves it for life.
  ASSERT_GT(owners.size(), 3u);
  EXPECT_EQ(owners.size(), m->NumFiles());
  for (const auto& x : w) {
    auto c = m->Read(x.ref);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->owner, owners[ChunkRefFile(x.ref) - ChunkRefFile(w.front().ref)]);
  }
  for (const auto& x : w) ExpectChunk(*m, x);
}

TEST_F(ChunkMapperTest, ReadersKeepCurrentFileBytesAfterTruncate) {
  auto m = OpenMapper(base::Env::Default(), 1 << 20);
  ASSERT_NE(m, nullptr);
  std::vector<Written> w;
  std::vector<chunk::ChunkData> held;
  for (uint64_t i = 1; i <= 50; ++i) {
    w.push_back({5, i, MustWrite(*m, 5, i)});
    auto c = m->Read(w.back().ref);
    ASSERT_TRUE(c.ok()) << c.status();
    held.push_back(*std::move(c));
  }
  ASSERT_EQ(m->NumFiles(), 1u);  // all in the current file
  // Every chunk ends before this: the current file is rolled and removed.
  ASSERT_TRUE(m->Truncate(1 << 30).ok());
  EXPECT_EQ(m->NumFiles(), 0u);
  EXPECT_FALSE(base::Env::Default()->FileExists(
      base::JoinPath(dir_, ChunkFileName(ChunkRefFile(w[0].ref)))));
  EXPECT_EQ(m->Read(w[0].ref).status().code(), absl::StatusCode::kNotFound);
  for (size_t k = 0; k < w.size(); ++k) {
    EXPECT_EQ(held[k].bytes, Payload(5, w[k].i)) << k;
    EXPECT_EQ(held[k].min_t, static_cast<int64_t>(w[k].i * 1000));
  }
  // Writing goes on in a new file.
  Written x{5, 60, MustWrite(*m, 5, 60)};
  EXPECT_GT(ChunkRefFile(x.ref), ChunkRefFile(w[0].ref));
  ExpectChunk(*m, x);
}

TEST_F(ChunkMapperTest, WithoutMappingsEverythingIsReadWithPread) {
  NoGrowingMapEnv env;
  env.map_rolled = false;
  auto m = OpenMapper(&env, 4096);
  ASSERT_NE(m, nullptr);
  std::vector<Written> w;
  for (uint64_t i = 0; i < 100; ++i) w.push_back({2, i, MustWrite(*m, 2, i)});
  EXPECT_GT(m->NumFiles(), 2u);
  for (const auto& x : w) ExpectChunk(*m, x);
  int n = 0;
  ASSERT_TRUE(m->ForEachChunk([&](uint64_t ref, const ChunkRecord& rec) {
                 EXPECT_EQ(ref, w[n].ref);
                 EXPECT_EQ(rec.bytes, Payload(2, w[n].i));
                 ++n;
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(n, static_cast<int>(w.size()));
}

TEST_F(ChunkMapperTest, RecordLargerThanTheReservationIsReadable) {
  auto m = OpenMapper(base::Env::Default(), 256);
  ASSERT_NE(m, nullptr);
  // A record larger than max_file_size goes alone into a file, past the mapping's reservation.
  const std::string big(5000, 'b');
  auto ref = m->Write(1, 10, 20, big);
  ASSERT_TRUE(ref.ok()) << ref.status();
  auto c = m->Read(*ref);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bytes, big);
  Written small{1, 3, MustWrite(*m, 1, 3)};  // rolls the big one's file
  EXPECT_NE(ChunkRefFile(small.ref), ChunkRefFile(*ref));
  c = m->Read(*ref);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bytes, big);
  ExpectChunk(*m, small);
  int n = 0;
  ASSERT_TRUE(m->ForEachChunk([&](uint64_t, const ChunkRecord&) {
                 ++n;
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(n, 2);
}

TEST_F(ChunkMapperTest, DiskFullFailsWritesAndRecovers) {
  base::FaultInjectionEnv env(base::Env::Default());
  auto m = OpenMapper(&env, 4096);
  ASSERT_NE(m, nullptr);
  std::vector<Written> w;
  for (uint64_t i = 0; i < 10; ++i) w.push_back({4, i, MustWrite(*m, 4, i)});
  env.SetDiskFull(true);
  // Enough attempts to cross what would have been a file roll.
  for (uint64_t i = 10; i < 60; ++i) {
    auto ref = m->Write(4, static_cast<int64_t>(i * 1000), static_cast<int64_t>(i * 1000 + 999),
                        Payload(4, i));
    ASSERT_FALSE(ref.ok());
    EXPECT_EQ(ref.status().code(), absl::StatusCode::kResourceExhausted) << ref.status();
    EXPECT_THAT(ref.status().message(), HasSubstr("head chunks"));
  }
  for (const auto& x : w) ExpectChunk(*m, x);
  env.SetDiskFull(false);
  for (uint64_t i = 60; i < 200; ++i) w.push_back({4, i, MustWrite(*m, 4, i)});
  for (const auto& x : w) ExpectChunk(*m, x);

  // A failure while starting a new file (its header append) is reported too.
  const uint32_t before = ChunkRefFile(w.back().ref);
  env.FailNth(base::FaultOp::kAppend, 1, absl::ResourceExhaustedError("no space left on device"),
              /*sticky=*/true);
  bool failed = false;
  for (uint64_t i = 200; i < 260 && !failed; ++i) {
    failed = !m->Write(4, static_cast<int64_t>(i * 1000), static_cast<int64_t>(i * 1000 + 999),
                       Payload(4, i))
                  .ok();
  }
  EXPECT_TRUE(failed);
  env.ClearFaults();
  for (uint64_t i = 300; i < 400; ++i) w.push_back({4, i, MustWrite(*m, 4, i)});
  EXPECT_GT(ChunkRefFile(w.back().ref), before);
  for (const auto& x : w) ExpectChunk(*m, x);
  // No file holds a torn or failed record: each decodes front to back.
  auto names = base::Env::Default()->GetChildren(dir_);
  ASSERT_TRUE(names.ok());
  int records = 0;
  for (const auto& n : *names) {
    int k = CountRecords(base::JoinPath(dir_, n));
    ASSERT_GE(k, 0) << n;
    records += k;
  }
  EXPECT_EQ(records, static_cast<int>(w.size()));
}

TEST_F(ChunkMapperTest, FailedWriteCutsOffPartialBytes) {
  base::FaultInjectionEnv env(base::Env::Default());
  auto m = OpenMapper(&env, 1 << 20);
  ASSERT_NE(m, nullptr);
  Written a{1, 1, MustWrite(*m, 1, 1)};
  const std::string path = base::JoinPath(dir_, ChunkFileName(ChunkRefFile(a.ref)));
  // What a real short write before ENOSPC leaves behind: bytes past the last good record.
  { std::ofstream(path, std::ios::app | std::ios::binary) << "partial record"; }
  env.FailNth(base::FaultOp::kAppend, 1, absl::ResourceExhaustedError("no space left on device"));
  EXPECT_EQ(m->Write(1, 2000, 2999, Payload(1, 2)).status().code(),
            absl::StatusCode::kResourceExhausted);
  Written b{1, 3, MustWrite(*m, 1, 3)};
  EXPECT_EQ(ChunkRefFile(b.ref), ChunkRefFile(a.ref));
  ExpectChunk(*m, a);
  ExpectChunk(*m, b);
  EXPECT_EQ(CountRecords(path), 2);
}

TEST_F(ChunkMapperTest, ConcurrentWritersAndReaders) {
  auto m = OpenMapper(base::Env::Default(), 16 << 10);
  ASSERT_NE(m, nullptr);
  absl::Mutex mu;
  std::vector<Written> w;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> writers, readers;
  for (uint64_t t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (uint64_t i = 0; i < 1500; ++i) {
        uint64_t series = t * 100 + i % 50;
        auto ref = m->Write(series, static_cast<int64_t>(i * 1000),
                            static_cast<int64_t>(i * 1000 + 999), Payload(series, i));
        if (!ref.ok()) {
          ++bad;
          continue;
        }
        absl::MutexLock l(&mu);
        w.push_back({series, i, *ref});
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937_64 rng(r);
      while (!done.load()) {
        Written x;
        {
          absl::MutexLock l(&mu);
          if (w.empty()) continue;
          x = w[rng() % w.size()];
        }
        auto c = m->Read(x.ref);
        if (!c.ok() || c->bytes != Payload(x.series, x.i) ||
            c->min_t != static_cast<int64_t>(x.i * 1000)) {
          ++bad;
        }
        ++reads;
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  ASSERT_EQ(w.size(), 6000u);
  for (const auto& x : w) ExpectChunk(*m, x);
  EXPECT_GT(m->NumFiles(), 10u);
}

// Figures for the report, not a test: run with --gtest_also_run_disabled_tests.
TEST_F(ChunkMapperTest, DISABLED_MeasureMemoryAndThroughput) {
  constexpr int kChunks = 200000;
  std::string chunk(150, 'c');
  struct ChunkRef {  // what MemSeries keeps per sealed chunk today
    int64_t min_t = 0;
    int64_t max_t = 0;
    std::shared_ptr<const std::string> bytes;
  };
  struct MappedRef {  // what it would keep with the mapper
    int64_t min_t = 0;
    int64_t max_t = 0;
    uint64_t ref = 0;
  };
  size_t base = mallinfo2().uordblks;
  {
    std::vector<ChunkRef> v;
    v.reserve(kChunks);
    for (int i = 0; i < kChunks; ++i) {
      std::string b = chunk;
      b.shrink_to_fit();
      v.push_back({i, i, std::make_shared<const std::string>(std::move(b))});
    }
    std::printf("before: %.1f heap bytes per sealed chunk (150-byte chunk)\n",
                static_cast<double>(mallinfo2().uordblks - base) / kChunks);
  }
  base = mallinfo2().uordblks;
  {
    std::vector<MappedRef> v(kChunks);
    std::printf("after: %.1f heap bytes per sealed chunk\n",
                static_cast<double>(mallinfo2().uordblks - base) / kChunks);
  }
  auto m = OpenMapper(base::Env::Default(), 128 << 20);
  ASSERT_NE(m, nullptr);
  std::vector<uint64_t> refs(kChunks);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kChunks; ++i) {
    auto r = m->Write(static_cast<uint64_t>(i), i, i + 1, chunk);
    ASSERT_TRUE(r.ok());
    refs[i] = *r;
  }
  auto t1 = std::chrono::steady_clock::now();
  for (uint64_t r : refs) ASSERT_TRUE(m->Read(r).ok());
  auto t2 = std::chrono::steady_clock::now();
  std::printf("write: %.0f chunks/s (%.1f MB/s); read (current file, mmap): %.0f chunks/s\n",
              kChunks / std::chrono::duration<double>(t1 - t0).count(),
              kChunks * (150.0 + kChunkRecordOverhead) / 1e6 /
                  std::chrono::duration<double>(t1 - t0).count(),
              kChunks / std::chrono::duration<double>(t2 - t1).count());
  auto m2 = OpenMapper(base::Env::Default(), 4 << 20);  // rolls: reads go through mmap
  ASSERT_NE(m2, nullptr);
  for (int i = 0; i < kChunks; ++i) refs[i] = *m2->Write(static_cast<uint64_t>(i), i, i + 1, chunk);
  auto t3 = std::chrono::steady_clock::now();
  for (uint64_t r : refs) ASSERT_TRUE(m2->Read(r).ok());
  auto t4 = std::chrono::steady_clock::now();
  std::printf("read (rolled files, mmap): %.0f chunks/s\n",
              kChunks / std::chrono::duration<double>(t4 - t3).count());
}

}  // namespace
}  // namespace xscaler::storage::head
