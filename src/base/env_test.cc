#include "base/env.h"

#include <stdlib.h>

#include <algorithm>

#include "base/fault_env.h"
#include "gtest/gtest.h"

namespace xscaler::base {
namespace {

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/envtest.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)Env::Default()->RemoveDirRecursive(dir_); }
  std::string P(const std::string& name) { return JoinPath(dir_, name); }

  Env* env_ = Env::Default();
  std::string dir_;
};

TEST(Paths, JoinAndDirName) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("a/b/"), "a");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("/c"), "/");
}

TEST_F(EnvTest, WriteAppendReadBack) {
  {
    auto f = env_->NewWritableFile(P("f"));
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE((*f)->Append("hello ").ok());
    ASSERT_TRUE((*f)->Append(std::string(200000, 'x')).ok());  // bigger than the buffer
    ASSERT_TRUE((*f)->Sync().ok());
    EXPECT_EQ((*f)->Size(), 200006u);
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_FALSE((*f)->Append("x").ok());
  }
  {
    auto f = env_->NewAppendableFile(P("f"));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->Size(), 200006u);
    ASSERT_TRUE((*f)->Append("!").ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto s = env_->ReadFileToString(P("f"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 200007u);
  EXPECT_EQ(s->substr(0, 6), "hello ");
  EXPECT_EQ(s->back(), '!');
  EXPECT_EQ(*env_->FileSize(P("f")), 200007u);

  auto r = env_->NewRandomAccessFile(P("f"));
  ASSERT_TRUE(r.ok());
  char buf[16];
  auto got = (*r)->Read(200000, 16, buf);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "xxxxxx!");

  auto m = env_->NewMemoryRegion(P("f"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->data(), *s);

  auto seq = env_->NewSequentialFile(P("f"));
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE((*seq)->Skip(200000).ok());
  got = (*seq)->Read(16, buf);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "xxxxxx!");
  got = (*seq)->Read(16, buf);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
}

TEST_F(EnvTest, GrowingMemoryRegionShowsLaterWritesAndOutlivesTheFile) {
  auto f = env_->NewWritableFile(P("g"));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Append("head").ok());
  ASSERT_TRUE((*f)->Flush().ok());
  auto m = env_->NewGrowingMemoryRegion(P("g"), 1 << 20);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->data().size(), size_t{1} << 20);  // the reservation, not the file size
  EXPECT_EQ((*m)->data().substr(0, 4), "head");
  // Written (flushed) after the mapping was made, across a page boundary: visible in place.
  const std::string more = std::string(5000, 'y') + "tail";
  ASSERT_TRUE((*f)->Append(more).ok());
  ASSERT_TRUE((*f)->Flush().ok());
  EXPECT_EQ((*m)->data().substr(4, more.size()), more);
  ASSERT_TRUE((*f)->Close().ok());
  // The mapping keeps the bytes after the file is removed.
  ASSERT_TRUE(env_->RemoveFile(P("g")).ok());
  EXPECT_EQ((*m)->data().substr(0, 4 + more.size()), "head" + more);

  EXPECT_FALSE(env_->NewGrowingMemoryRegion(P("missing"), 4096).ok());
  EXPECT_EQ(env_->NewGrowingMemoryRegion(P("missing"), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The fault-injection Env forwards it (and can fail it like any read).
  FaultInjectionEnv fenv(env_);
  ASSERT_TRUE(env_->WriteStringToFileAtomic(P("h"), "abc").ok());
  auto fm = fenv.NewGrowingMemoryRegion(P("h"), 4096);
  ASSERT_TRUE(fm.ok()) << fm.status();
  EXPECT_EQ((*fm)->data().substr(0, 3), "abc");
  fenv.FailNth(FaultOp::kRead, 1, absl::UnavailableError("injected"));
  EXPECT_EQ(fenv.NewGrowingMemoryRegion(P("h"), 4096).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(EnvTest, DirectoryOperations) {
  ASSERT_TRUE(env_->CreateDir(P("a/b/c")).ok());
  ASSERT_TRUE(env_->CreateDir(P("a/b/c")).ok());  // idempotent
  EXPECT_TRUE(env_->IsDirectory(P("a/b/c")));
  ASSERT_TRUE(env_->WriteStringToFileAtomic(P("a/b/x"), "data").ok());
  EXPECT_EQ(*env_->ReadFileToString(P("a/b/x")), "data");
  EXPECT_FALSE(env_->FileExists(P("a/b/x.tmp")));
  ASSERT_TRUE(env_->RenameFile(P("a/b/x"), P("a/y")).ok());
  EXPECT_FALSE(env_->FileExists(P("a/b/x")));
  auto kids = env_->GetChildren(P("a"));
  ASSERT_TRUE(kids.ok());
  std::sort(kids->begin(), kids->end());
  EXPECT_EQ(*kids, (std::vector<std::string>{"b", "y"}));
  ASSERT_TRUE(env_->Truncate(P("a/y"), 2).ok());
  EXPECT_EQ(*env_->ReadFileToString(P("a/y")), "da");
  ASSERT_TRUE(env_->SyncDir(P("a")).ok());
  ASSERT_TRUE(env_->RemoveDirRecursive(P("a")).ok());
  EXPECT_FALSE(env_->FileExists(P("a")));
  ASSERT_TRUE(env_->RemoveDirRecursive(P("a")).ok());
}

TEST_F(EnvTest, ErrorsNameThePathAndMapErrno) {
  auto r = env_->ReadFileToString(P("missing"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("missing"), std::string::npos);
  EXPECT_TRUE(absl::IsNotFound(env_->RemoveFile(P("missing"))));
  EXPECT_FALSE(env_->RenameFile(P("missing"), P("other")).ok());
  EXPECT_FALSE(env_->FileSize(P("missing")).ok());
  EXPECT_FALSE(env_->GetChildren(P("missing")).ok());
}

TEST_F(EnvTest, LockFileIsExclusive) {
  auto lock = env_->LockFile(P("LOCK"));
  ASSERT_TRUE(lock.ok()) << lock.status();
  auto again = env_->LockFile(P("LOCK"));
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  lock->reset();
  EXPECT_TRUE(env_->LockFile(P("LOCK")).ok());
}

TEST_F(EnvTest, FreeSpace) {
  auto free = env_->FreeSpace(dir_);
  ASSERT_TRUE(free.ok());
  EXPECT_GT(*free, 0u);
  FaultInjectionEnv fenv(env_);
  fenv.SetDiskFull(true);
  EXPECT_EQ(*fenv.FreeSpace(dir_), 0u);
  EXPECT_FALSE(env_->FreeSpace(P("missing/dir")).ok());
}

TEST_F(EnvTest, FaultEnvDropsUnsyncedData) {
  FaultInjectionEnv fenv(env_);
  auto f = fenv.NewWritableFile(P("w"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("synced").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("-lost").ok());
  ASSERT_TRUE((*f)->Flush().ok());
  EXPECT_EQ(*fenv.ReadFileToString(P("w")), "synced-lost");

  auto g = fenv.NewWritableFile(P("never"));
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Append("gone").ok());

  ASSERT_TRUE(fenv.DropUnsyncedData().ok());
  EXPECT_EQ(*fenv.ReadFileToString(P("w")), "synced");
  EXPECT_EQ(*fenv.ReadFileToString(P("never")), "");
  // Files of the "crashed" process are dead and write nothing more, even on destruction.
  EXPECT_FALSE((*f)->Append("zombie").ok());
  f->reset();
  g->reset();
  EXPECT_EQ(*fenv.ReadFileToString(P("w")), "synced");
}

TEST_F(EnvTest, FaultEnvRenameCarriesSyncState) {
  FaultInjectionEnv fenv(env_);
  auto f = fenv.NewWritableFile(P("tmp"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("abc").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("def").ok());
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(fenv.RenameFile(P("tmp"), P("final")).ok());
  ASSERT_TRUE(fenv.DropUnsyncedData().ok());
  EXPECT_EQ(*fenv.ReadFileToString(P("final")), "abc");
}

TEST_F(EnvTest, FaultEnvFailsNthOperation) {
  FaultInjectionEnv fenv(env_);
  auto f = fenv.NewWritableFile(P("w"));
  ASSERT_TRUE(f.ok());
  fenv.FailNth(FaultOp::kSync, 2, absl::InternalError("boom"));
  EXPECT_TRUE((*f)->Sync().ok());
  absl::Status s = (*f)->Sync();
  EXPECT_TRUE(absl::IsInternal(s));
  EXPECT_NE(s.message().find("boom"), std::string::npos);
  EXPECT_TRUE((*f)->Sync().ok());  // not sticky
  EXPECT_EQ(fenv.Count(FaultOp::kSync), 3);

  fenv.FailNth(FaultOp::kRename, 1, absl::InternalError("rename"), /*sticky=*/true);
  EXPECT_FALSE(fenv.RenameFile(P("w"), P("v")).ok());
  EXPECT_FALSE(fenv.RenameFile(P("w"), P("v")).ok());
  EXPECT_TRUE(env_->FileExists(P("w")));
  fenv.ClearFaults();
  EXPECT_TRUE(fenv.RenameFile(P("w"), P("v")).ok());
}

TEST_F(EnvTest, FaultEnvDiskFull) {
  FaultInjectionEnv fenv(env_);
  auto f = fenv.NewWritableFile(P("w"));
  ASSERT_TRUE(f.ok());
  fenv.SetDiskFull(true);
  absl::Status s = (*f)->Append("x");
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_EQ(*env_->FileSize(P("w")), 0u);  // a failed append writes nothing
  fenv.SetDiskFull(false);
  EXPECT_TRUE((*f)->Append("x").ok());
  EXPECT_EQ(*env_->FileSize(P("w")), 1u);
}

}  // namespace
}  // namespace xscaler::base
