#include "http/server.h"

#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "http/decompress.h"
#include "http/middleware.h"
#include "http/raw_client_test_util.h"
#include "http/str.h"

namespace xscaler::http {
namespace {

using testing::Client;

std::string Gzip(std::string_view in) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = in.size();
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = out.size();
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Post(std::string_view path, std::string_view body,
                 std::string_view extra_headers = "") {
  return Cat("POST ", path, " HTTP/1.1\r\nHost: x\r\nContent-Length: ", body.size(), "\r\n",
             extra_headers, "\r\n", body);
}

void JsonError(const Request&, Response& res, int status, std::string_view msg) {
  res.Set(status, "application/json", Cat("{\"status\":\"error\",\"error\":\"", msg, "\"}"));
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto auth = std::make_shared<AuthConfig>();
    auth->authenticate = [](std::string_view token) -> std::optional<Grant> {
      if (token == "good") return Grant{"t1", "acme", true, true};
      return std::nullopt;
    };
    router_.Handle("/echo", {"POST"},
                   WithDecompression(
                       [](Request& req, Response& res) {
                         res.Set(200, "text/plain", req.body);
                         res.SetHeader("X-Remote", req.remote_address);
                       },
                       kLimit, &WriteTextError),
                   nullptr);
    router_.Handle("/api/v1/query", {"GET", "POST"},
                   [](Request& req, Response& res) {
                     std::string out;
                     for (const auto& v : req.Params("match[]")) out += v + ";";
                     res.Set(200, "text/plain",
                             Cat("query=", req.Param("query").value_or("-"), " ", out));
                   },
                   &JsonError, {.prometheus_alias = true});
    router_.Handle("/secure", {"POST"},
                   WithAuth(WithDecompression(
                                [](Request& req, Response& res) {
                                  res.Set(200, "text/plain", "tenant=" + req.tenant);
                                },
                                kLimit, &JsonError),
                            auth, Permission::kWrite, &JsonError),
                   &JsonError);
    router_.Handle(
        "/throw", {"GET"}, [](Request&, Response&) { throw std::runtime_error("bug"); },
        &JsonError);
    router_.Handle(
        "/count", {"GET"},
        [this](Request&, Response& res) { res.Set(200, "text/plain", std::to_string(++count_)); },
        nullptr);
    ServerOptions opts;
    opts.host = "127.0.0.1";
    opts.port = 0;
    opts.max_body_bytes = kLimit;
    opts.access_log = false;
    server_ = std::make_unique<Server>(opts, router_);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override { server_->Stop(); }

  static constexpr size_t kLimit = 1 << 20;
  Router router_;
  std::unique_ptr<Server> server_;
  std::atomic<int> count_{0};
};

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  for (int i = 1; i <= 5; ++i) {
    auto r = c.RoundTrip("GET /count HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, std::to_string(i));
  }
}

TEST_F(ServerTest, PipelinedRequestsAnswerInOrder) {
  Client c(server_->port());
  std::string batch;
  for (int i = 0; i < 4; ++i) batch += Post("/echo", "body" + std::to_string(i));
  ASSERT_TRUE(c.Send(batch));
  for (int i = 0; i < 4; ++i) {
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, "body" + std::to_string(i));
  }
}

// Bodies with a Content-Length are read straight into the request (not through Beast's
// parser): check bodies arriving in pieces with pauses, several large bodies pipelined back to
// back, and a body whose first bytes came with the header.
TEST_F(ServerTest, LargeBodiesArriveWholeInPiecesAndPipelined) {
  std::string big(700 * 1000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7919) % 26);
  {
    Client c(server_->port());
    const std::string req = Post("/echo", big);
    for (size_t at = 0; at < req.size(); at += 100 * 1000) {
      ASSERT_TRUE(c.Send(req.substr(at, 100 * 1000)));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->body == big);
  }
  {
    Client c(server_->port());
    std::string batch;
    for (int i = 0; i < 3; ++i) batch += Post("/echo", big.substr(i * 1000, 300 * 1000 + i));
    batch += Post("/echo", "tail");
    ASSERT_TRUE(c.Send(batch));
    for (int i = 0; i < 3; ++i) {
      auto r = c.Read();
      ASSERT_TRUE(r.has_value());
      EXPECT_TRUE(r->body == big.substr(i * 1000, 300 * 1000 + i)) << i;
    }
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, "tail");
  }
}

TEST_F(ServerTest, ChunkedBodyIsStillRead) {
  Client c(server_->port());
  auto r = c.RoundTrip(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
}

TEST_F(ServerTest, QueryAndFormParamsWithRepeatedMatch) {
  Client c(server_->port());
  auto get = c.RoundTrip(
      "GET /prometheus/api/v1/query?query=up%7Bjob%3D%22a%22%7D&match[]=a&match%5B%5D=b "
      "HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->body, "query=up{job=\"a\"} a;b;");
  auto post = c.RoundTrip(Post("/api/v1/query", "query=sum(rate(x%5B5m%5D))&match[]=c",
                               "Content-Type: application/x-www-form-urlencoded\r\n"));
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->body, "query=sum(rate(x[5m])) c;");
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowed) {
  Client c(server_->port());
  auto nf = c.RoundTrip("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(nf.has_value());
  EXPECT_EQ(nf->status, 404);
  auto na = c.RoundTrip("DELETE /api/v1/query HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(na.has_value());
  EXPECT_EQ(na->status, 405);
  EXPECT_EQ(na->Header("allow"), "get, post");
  EXPECT_EQ(na->Header("content-type"), "application/json");
}

TEST_F(ServerTest, HeadHasLengthButNoBody) {
  Client c(server_->port());
  ASSERT_TRUE(c.Send("HEAD /count HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read(/*head_request=*/true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), "1");
  auto next = c.RoundTrip("GET /count HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->body, "2");
}

TEST_F(ServerTest, GzipBodyIsDecoded) {
  Client c(server_->port());
  std::string payload(100000, 'm');
  auto r = c.RoundTrip(Post("/echo", Gzip(payload), "Content-Encoding: gzip\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, payload);
  EXPECT_TRUE((r->Header("x-remote")).starts_with("127.0.0.1:"));
}

TEST_F(ServerTest, OversizedRawBodyIs413InRouteFormatAndCloses) {
  Client c(server_->port());
  std::string body(kLimit + 1, 'x');
  ASSERT_TRUE(
      c.Send(Cat("POST /secure HTTP/1.1\r\nHost: x\r\nContent-Length: ", body.size(), "\r\n\r\n")));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
  Client c(server_->port());
  std::string chunk(512 << 10, 'x');
  std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) req += Cat("80000\r\n", chunk, "\r\n");
  req += "0\r\n\r\n";
  c.Send(req);
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
}

TEST_F(ServerTest, GzipBombIs413) {
  Client c(server_->port());
  std::string bomb = Gzip(std::string(32u << 20, '\0'));
  ASSERT_LT(bomb.size(), kLimit);
  auto r = c.RoundTrip(Post("/echo", bomb, "Content-Encoding: gzip\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("after decompression"), std::string::npos);
}

TEST_F(ServerTest, LargeResponsesAreGzippedWhenAccepted) {
  Client c(server_->port());
  std::string payload(20000, 'a');
  auto plain = c.RoundTrip(Post("/echo", payload));
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->Header("content-encoding"), "");
  EXPECT_EQ(plain->body, payload);
  auto gz = c.RoundTrip(Post("/echo", payload, "Accept-Encoding: gzip, deflate\r\n"));
  ASSERT_TRUE(gz.has_value());
  EXPECT_EQ(gz->Header("content-encoding"), "gzip");
  EXPECT_LT(gz->body.size(), payload.size());
  EXPECT_EQ(*Decompress("gzip", gz->body, 1 << 20), payload);
  auto small = c.RoundTrip(Post("/echo", "tiny", "Accept-Encoding: gzip\r\n"));
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->Header("content-encoding"), "");
}

TEST_F(ServerTest, UnknownEncodingIs415) {
  Client c(server_->port());
  auto r = c.RoundTrip(Post("/echo", "abc", "Content-Encoding: br\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 415);
  EXPECT_NE(r->body.find("gzip"), std::string::npos);
}

TEST_F(ServerTest, ExpectContinueIsHonoured) {
  Client c(server_->port());
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             "Expect: 100-continue\r\n\r\n"));
  auto cont = c.Read();
  ASSERT_TRUE(cont.has_value());
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c.Send("hello"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "hello");
}

TEST_F(ServerTest, AuthErrorsOverTheWire) {
  Client c(server_->port());
  auto missing = c.RoundTrip(Post("/secure", "x", "X-Scope-OrgID: acme\r\n"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->Header("www-authenticate"), "bearer");
  auto lower =
      c.RoundTrip(Post("/secure", "x", "authorization: bearer good\r\nx-scope-orgid: acme\r\n"));
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(lower->status, 401);
  auto misspelt =
      c.RoundTrip(Post("/secure", "x", "Authorization: Bearer good\r\nX-Scope-Org-ID: acme\r\n"));
  ASSERT_TRUE(misspelt.has_value());
  EXPECT_EQ(misspelt->status, 400);
  EXPECT_NE(misspelt->body.find("did you mean X-Scope-OrgID?"), std::string::npos);
  auto wrong =
      c.RoundTrip(Post("/secure", "x", "Authorization: Bearer good\r\nX-Scope-OrgID: other\r\n"));
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 403);
  auto ok = c.RoundTrip(
      Post("/secure", Gzip("x"),
           "authorization: Bearer good\r\nx-scope-orgid: acme\r\nContent-Encoding: gzip\r\n"));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "tenant=acme");
}

TEST_F(ServerTest, MalformedRequestIs400) {
  Client c(server_->port());
  auto r = c.RoundTrip("GARBAGE\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
}

TEST_F(ServerTest, SpaceBeforeColonInTenantHeaderGetsHint) {
  Client c(server_->port());
  auto r =
      c.RoundTrip(Post("/secure", "x", "Authorization: Bearer good\r\nX-Scope-OrgID : acme\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->Header("content-type"), "application/json");  // the route's error format
  EXPECT_NE(r->body.find("did you mean X-Scope-OrgID?"), std::string::npos) << r->body;
}

TEST_F(ServerTest, ThrowingHandlerIs500AndServerSurvives) {
  Client c(server_->port());
  auto r = c.RoundTrip("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  auto next = c.RoundTrip("GET /count HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status, 200);
}

TEST_F(ServerTest, ConcurrentKeepAliveClients) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      Client c(server_->port());
      for (int j = 0; j < 25; ++j) {
        auto r = c.RoundTrip(Post("/echo", "payload"));
        if (r.has_value() && r->status == 200 && r->body == "payload") ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  Client c(server_->port());
  auto r = c.RoundTrip("GET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST(ServerStart, BusyPortFailsWithAddress) {
  Router router;
  ServerOptions opts;
  opts.host = "127.0.0.1";
  opts.port = 0;
  opts.access_log = false;
  Server first(opts, router);
  ASSERT_TRUE(first.Start().ok());
  opts.port = first.port();
  Server second(opts, router);
  absl::Status st = second.Start();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(st.message().find(std::to_string(first.port())), std::string::npos);
  first.Stop();
}

}  // namespace
}  // namespace xscaler::http
