#include "http/middleware.h"

#include <zlib.h>

#include "gtest/gtest.h"

namespace xscaler::http {
namespace {

std::shared_ptr<AuthConfig> FakeAuth() {
  auto auth = std::make_shared<AuthConfig>();
  auth->authenticate = [](std::string_view token) -> std::optional<Grant> {
    if (token == "rw-token") return Grant{"tok1", "acme", true, true};
    if (token == "ro-token") return Grant{"tok2", "acme", true, false};
    if (token == "wo-token") return Grant{"tok3", "acme", false, true};
    return std::nullopt;  // unknown or revoked
  };
  auth->validate_tenant = [](std::string_view id) {
    if (id == "." || id.find('/') != std::string_view::npos) {
      return absl::InvalidArgumentError("invalid X-Scope-OrgID: bad tenant ID");
    }
    return absl::OkStatus();
  };
  return auth;
}

Request MakeRequest(std::vector<std::pair<std::string, std::string>> headers) {
  Request req;
  req.method = "POST";
  req.path = "/otlp/v1/metrics";
  req.headers = std::move(headers);
  return req;
}

struct Outcome {
  bool passed;
  Response res;
  Request req;
};

Outcome Check(std::vector<std::pair<std::string, std::string>> headers,
              Permission need = Permission::kWrite) {
  Outcome o{false, {}, MakeRequest(std::move(headers))};
  o.passed = CheckAuth(o.req, o.res, *FakeAuth(), need, &WriteTextError);
  return o;
}

bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

std::string WwwAuthenticate(const Response& res) {
  for (const auto& [k, v] : res.headers) {
    if (k == "WWW-Authenticate") return v;
  }
  return "";
}

TEST(CheckAuth, ValidTokenAndTenantPasses) {
  Outcome o = Check({{"authorization", "Bearer rw-token"}, {"x-scope-orgid", "acme"}});
  EXPECT_TRUE(o.passed);
  EXPECT_EQ(o.req.tenant, "acme");
  ASSERT_TRUE(o.req.grant.has_value());
  EXPECT_EQ(o.req.grant->token_id, "tok1");
}

TEST(CheckAuth, MissingAuthorization) {
  Outcome o = Check({{"X-Scope-OrgID", "acme"}});
  EXPECT_FALSE(o.passed);
  EXPECT_EQ(o.res.status, 401);
  EXPECT_EQ(WwwAuthenticate(o.res), "Bearer");
  EXPECT_TRUE(Contains(o.res.body, "expected \"Authorization: Bearer <token>\""));
}

TEST(CheckAuth, LowerCaseSchemeGetsHint) {
  Outcome o = Check({{"Authorization", "bearer rw-token"}, {"X-Scope-OrgID", "acme"}});
  EXPECT_EQ(o.res.status, 401);
  EXPECT_TRUE(Contains(o.res.body, "expected \"Authorization: Bearer <token>\""));
  EXPECT_TRUE(Contains(o.res.body, "capital B"));
}

TEST(CheckAuth, MissingSpaceGetsHint) {
  Outcome o = Check({{"Authorization", "Bearerrw-token"}, {"X-Scope-OrgID", "acme"}});
  EXPECT_EQ(o.res.status, 401);
  EXPECT_TRUE(Contains(o.res.body, "one space"));
}

TEST(CheckAuth, TwoSpacesAndEmptyTokenAndOtherSchemes) {
  EXPECT_EQ(Check({{"Authorization", "Bearer  rw-token"}, {"X-Scope-OrgID", "acme"}}).res.status,
            401);
  Outcome empty = Check({{"Authorization", "Bearer "}, {"X-Scope-OrgID", "acme"}});
  EXPECT_EQ(empty.res.status, 401);
  EXPECT_TRUE(Contains(empty.res.body, "token is missing"));
  Outcome basic = Check({{"Authorization", "Basic dXNlcjpwdw=="}, {"X-Scope-OrgID", "acme"}});
  EXPECT_EQ(basic.res.status, 401);
  EXPECT_TRUE(Contains(basic.res.body, "\"Basic\" scheme"));
  Outcome raw = Check({{"Authorization", "rw-token"}, {"X-Scope-OrgID", "acme"}});
  EXPECT_EQ(raw.res.status, 401);
}

TEST(CheckAuth, UnknownOrRevokedToken) {
  Outcome o = Check({{"Authorization", "Bearer nope"}, {"X-Scope-OrgID", "acme"}});
  EXPECT_EQ(o.res.status, 401);
  EXPECT_EQ(WwwAuthenticate(o.res), "Bearer");
  EXPECT_TRUE(Contains(o.res.body, "token is not valid (unknown or revoked)"));
}

TEST(CheckAuth, MissingTenantHeader) {
  Outcome o = Check({{"Authorization", "Bearer rw-token"}});
  EXPECT_EQ(o.res.status, 400);
  EXPECT_TRUE(Contains(o.res.body, "missing X-Scope-OrgID header: set it to your tenant ID"));
  EXPECT_FALSE(Contains(o.res.body, "did you mean"));
}

TEST(CheckAuth, EmptyTenantHeader) {
  Outcome o = Check({{"Authorization", "Bearer rw-token"}, {"X-Scope-OrgID", ""}});
  EXPECT_EQ(o.res.status, 400);
  EXPECT_TRUE(Contains(o.res.body, "X-Scope-OrgID header: set it to your tenant ID"));
}

TEST(CheckAuth, MisspelledTenantHeaderGetsHint) {
  for (std::string name : {"X-Scope-Org-ID", "X-Org-ID", "X-Scope-Orgid ", "x-scope-org_id"}) {
    Outcome o = Check({{"Authorization", "Bearer rw-token"}, {name, "acme"}});
    EXPECT_EQ(o.res.status, 400) << name;
    EXPECT_TRUE(Contains(o.res.body, "found header '" + name + "'")) << o.res.body;
    EXPECT_TRUE(Contains(o.res.body, "did you mean X-Scope-OrgID?")) << o.res.body;
  }
}

TEST(CheckAuth, HeaderNamesAreCaseInsensitive) {
  // X-Scope-OrgId is not a misspelling: header names are case-insensitive.
  EXPECT_TRUE(Check({{"AUTHORIZATION", "Bearer rw-token"}, {"X-Scope-OrgId", "acme"}}).passed);
}

TEST(CheckAuth, InvalidTenantIdIs400WithValidatorMessage) {
  Outcome o = Check({{"Authorization", "Bearer rw-token"}, {"X-Scope-OrgID", "."}});
  EXPECT_EQ(o.res.status, 400);
  EXPECT_TRUE(Contains(o.res.body, "invalid X-Scope-OrgID: bad tenant ID"));
}

TEST(CheckAuth, WrongTenantIs403) {
  Outcome o = Check({{"Authorization", "Bearer rw-token"}, {"X-Scope-OrgID", "other"}});
  EXPECT_EQ(o.res.status, 403);
  EXPECT_TRUE(Contains(o.res.body, "not granted access to tenant \"other\""));
  EXPECT_TRUE(o.req.tenant.empty());
}

TEST(CheckAuth, MissingPermissionIs403) {
  Outcome no_write =
      Check({{"Authorization", "Bearer ro-token"}, {"X-Scope-OrgID", "acme"}}, Permission::kWrite);
  EXPECT_EQ(no_write.res.status, 403);
  EXPECT_TRUE(Contains(no_write.res.body, "lacks write permission"));
  Outcome no_read =
      Check({{"Authorization", "Bearer wo-token"}, {"X-Scope-OrgID", "acme"}}, Permission::kRead);
  EXPECT_EQ(no_read.res.status, 403);
  EXPECT_TRUE(Contains(no_read.res.body, "lacks read permission"));
  EXPECT_TRUE(
      Check({{"Authorization", "Bearer ro-token"}, {"X-Scope-OrgID", "acme"}}, Permission::kRead)
          .passed);
}

TEST(WithAuth, RunsHandlerOnlyWhenAllowed) {
  int calls = 0;
  Handler h = WithAuth(
      [&](Request&, Response& res) {
        ++calls;
        res.status = 204;
      },
      FakeAuth(), Permission::kWrite, &WriteTextError);
  Request ok = MakeRequest({{"Authorization", "Bearer rw-token"}, {"X-Scope-OrgID", "acme"}});
  Response res;
  h(ok, res);
  EXPECT_EQ(res.status, 204);
  Request bad = MakeRequest({{"X-Scope-OrgID", "acme"}});
  Response res2;
  h(bad, res2);
  EXPECT_EQ(res2.status, 401);
  EXPECT_EQ(calls, 1);
}

TEST(ExplainMalformedHead, NamesBadHeader) {
  EXPECT_EQ(ExplainMalformedHead("Host: a\r\n\r\nBad Body: x"), "");
  std::string msg = ExplainMalformedHead("X-Scope-OrgID : t\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(Contains(msg, "invalid header name 'X-Scope-OrgID '")) << msg;
  EXPECT_TRUE(Contains(msg, "did you mean X-Scope-OrgID?")) << msg;
  std::string other = ExplainMalformedHead("Bad Name: v\r\n\r\n");
  EXPECT_TRUE(Contains(other, "'Bad Name'")) << other;
  EXPECT_FALSE(Contains(other, "did you mean"));
}

TEST(CheckDecompress, StatusCodes) {
  Request req = MakeRequest({{"Content-Encoding", "br"}});
  req.body = "x";
  Response res;
  EXPECT_FALSE(CheckDecompress(req, res, 100, &WriteTextError));
  EXPECT_EQ(res.status, 415);

  Request corrupt = MakeRequest({{"Content-Encoding", "gzip"}});
  corrupt.body = "garbage";
  Response res2;
  EXPECT_FALSE(CheckDecompress(corrupt, res2, 100, &WriteTextError));
  EXPECT_EQ(res2.status, 400);

  Request big = MakeRequest({});
  big.body = std::string(101, 'a');
  Response res3;
  EXPECT_FALSE(CheckDecompress(big, res3, 100, &WriteTextError));
  EXPECT_EQ(res3.status, 413);
}

}  // namespace
}  // namespace xscaler::http
