#include "tenant/tenant_id.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace xscaler::tenant {
namespace {

using ::testing::HasSubstr;

TEST(TenantIdTest, AcceptsMimirCharacterSet) {
  for (std::string_view id : {"demo", "a", "Team-1", "team_2.prod", "x!y", "a*b", "it's", "(x)",
                              "...", ".a", "a..", "__mimir", "0123456789"}) {
    EXPECT_TRUE(ValidateTenantId(id).ok()) << id;
    EXPECT_TRUE(IsValidTenantId(id)) << id;
  }
  EXPECT_TRUE(ValidateTenantId(std::string(150, 'a')).ok());
}

TEST(TenantIdTest, RejectsEmptyAndTooLong) {
  absl::Status s = ValidateTenantId("");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("X-Scope-OrgID is empty"));
  s = ValidateTenantId(std::string(151, 'a'));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("151 bytes long"));
  EXPECT_THAT(s.message(), HasSubstr("at most 150 bytes"));
}

TEST(TenantIdTest, RejectsBadCharactersNamingThem) {
  absl::Status s = ValidateTenantId("a/b");
  EXPECT_EQ(s.message(),
            "X-Scope-OrgID \"a/b\" contains '/', which is not allowed: tenant IDs may use "
            "letters, digits and ! - _ . * ' ( )");
  EXPECT_THAT(ValidateTenantId("a b").message(), HasSubstr("contains a space"));
  EXPECT_THAT(ValidateTenantId("a\nb").message(), HasSubstr("the byte 0x0a"));
  EXPECT_THAT(ValidateTenantId("a\nb").message(), HasSubstr("\"a\\x0ab\""));
  EXPECT_THAT(ValidateTenantId("t\xc3\xa9").message(), HasSubstr("the byte 0xc3"));
  for (std::string_view id : {"a:b", "a\\b", "a@b", "a#b", "a%b", "a\"b", "a,b", "a+b", "a=b"}) {
    EXPECT_FALSE(IsValidTenantId(id)) << id;
  }
  EXPECT_FALSE(IsValidTenantId(std::string_view("a\0b", 3)));
}

TEST(TenantIdTest, RejectsDotsAndReservedName) {
  EXPECT_THAT(ValidateTenantId(".").message(), HasSubstr("may not be \".\" or \"..\""));
  EXPECT_THAT(ValidateTenantId("..").message(), HasSubstr("may not be \".\" or \"..\""));
  EXPECT_THAT(ValidateTenantId("__mimir_cluster").message(), HasSubstr("reserved"));
}

}  // namespace
}  // namespace xscaler::tenant
