#include "tenant/ingestion_log.h"

#include <gtest/gtest.h>

#include <thread>

namespace xscaler::tenant {
namespace {

IngestionError Err(int64_t t) {
  return IngestionError{t, "otlp", "127.0.0.1 curl/8", 200, "m" + std::to_string(t), "why", 1};
}

TEST(IngestionLogTest, NewestFirstAndBounded) {
  IngestionLog log(3);
  EXPECT_TRUE(log.Recent(10).empty());
  for (int t = 1; t <= 5; ++t) log.Record(Err(t));
  std::vector<IngestionError> got = log.Recent(10);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].time_unix_ms, 5);
  EXPECT_EQ(got[1].time_unix_ms, 4);
  EXPECT_EQ(got[2].time_unix_ms, 3);
  EXPECT_EQ(got[0], Err(5));
  got = log.Recent(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].time_unix_ms, 4);
  EXPECT_TRUE(log.Recent(0).empty());
}

TEST(IngestionLogTest, DefaultCapacityIsOneHundred) {
  IngestionLog log;
  for (int t = 0; t < 250; ++t) log.Record(Err(t));
  std::vector<IngestionError> got = log.Recent(1000);
  ASSERT_EQ(got.size(), 100u);
  EXPECT_EQ(got.front().time_unix_ms, 249);
  EXPECT_EQ(got.back().time_unix_ms, 150);
}

TEST(IngestionLogTest, ClipsLongFieldsOnACharacterBoundary) {
  IngestionLog log;
  IngestionError e = Err(1);
  e.reason = std::string(1, 'x');
  for (int i = 0; i < 400; ++i) e.reason += "\xc3\xa9";  // é
  log.Record(e);
  std::string r = log.Recent(1)[0].reason;
  EXPECT_LE(r.size(), IngestionLog::kMaxFieldBytes);
  EXPECT_EQ(r.substr(r.size() - 3), "...");
  // 'x' + whole é pairs: an odd length before "..." means no half character.
  EXPECT_EQ((r.size() - 3) % 2, 1u);
}

TEST(IngestionLogTest, RemembersLastPush) {
  IngestionLog log;
  EXPECT_FALSE(log.Last().has_value());
  log.RecordPush(LastPush{10, "remote_write", "c1", 5, 0, 204});
  log.RecordPush(LastPush{20, "otlp", "c2", 3, 2, 200});
  ASSERT_TRUE(log.Last().has_value());
  EXPECT_EQ(*log.Last(), (LastPush{20, "otlp", "c2", 3, 2, 200}));
}

TEST(IngestionLogTest, ConcurrentRecordsStayBounded) {
  IngestionLog log(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&log, i] {
      for (int t = 0; t < 500; ++t) log.Record(Err(i * 1000 + t));
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(log.Recent(1000).size(), 50u);
}

}  // namespace
}  // namespace xscaler::tenant
