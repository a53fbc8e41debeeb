#include <gtest/gtest.h>

#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
#include "services/common/core/status_macros.h"

namespace dialgrid {
namespace {

TEST(Errors, ReasonAndFieldTravelWithTheStatus) {
  absl::Status s = InvalidField("tenant.display_name", "FIELD_TOO_LONG", "too long");
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(ReasonOf(s), "FIELD_TOO_LONG");
  EXPECT_EQ(FieldOf(s), "tenant.display_name");
  EXPECT_EQ(ReasonOf(absl::InternalError("x")), "");
  EXPECT_TRUE(WithReason(absl::OkStatus(), "IGNORED").ok());
}

TEST(Names, TenantOfName) {
  EXPECT_EQ(*TenantOfName("name", "tenants/acme/campaigns/c1"), "acme");
  EXPECT_EQ(*TenantOfName("name", "tenants/acme"), "acme");
  EXPECT_EQ(*TenantOfName("name", "vendor"), "");
  EXPECT_EQ(*TenantOfName("name", "vendor/credentials/k1"), "");
  for (const char* bad : {"", "tenants", "tenants/", "Tenants/acme", "tenants/AC", "tenants/ac",
                          "tenants/1abc", "tenants/abc-", "campaigns/x", "tenants/a b c"}) {
    auto t = TenantOfName("name", bad);
    EXPECT_TRUE(absl::IsInvalidArgument(t.status())) << bad;
  }
  EXPECT_EQ(ReasonOf(TenantOfName("name", "campaigns/x").status()), "MALFORMED_NAME");
  EXPECT_EQ(ReasonOf(TenantOfName("name", std::string(2000, 'a')).status()), "NAME_TOO_LONG");
}

TEST(Names, ParseName) {
  auto ids = ParseName("name", "tenants/acme/credentials/k1", "tenants/{tenant}/credentials/{credential}");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"acme", "k1"}));
  EXPECT_FALSE(ParseName("name", "tenants/acme/credential/k1",
                         "tenants/{tenant}/credentials/{credential}").ok());
  EXPECT_FALSE(ParseName("name", "tenants/acme/credentials/k1/x",
                         "tenants/{tenant}/credentials/{credential}").ok());
  EXPECT_FALSE(ParseName("name", "tenants/acme/credentials/", "tenants/{tenant}/credentials/{credential}").ok());
  EXPECT_EQ(TenantHashTag("acme"), "{t:acme}");
  EXPECT_EQ(TenantHashTag(""), "{vendor}");
}

TEST(Log, MasksPhoneNumbers) {
  EXPECT_EQ(MaskPhoneNumbers("+1 (415) 555-0123"), "+* (***) ***-**23");
  EXPECT_EQ(MaskPhoneNumbers("call +14155550123 now"), "call +*********23 now");
  EXPECT_EQ(MaskPhoneNumbers("tenant acme, 42 agents, port 50051"), "tenant acme, 42 agents, port 50051");
  EXPECT_EQ(MaskPhoneNumbers("020 7946 0958"), "*** **** **58");
  EXPECT_EQ(MaskPhoneNumbers("phone=4155550123,"), "phone=********23,");
  // Ids with long digit runs are left alone.
  EXPECT_EQ(MaskPhoneNumbers("vendor/credentials/k66abc2937461a0"),
            "vendor/credentials/k66abc2937461a0");
}

TEST(Log, JsonEscape) {
  EXPECT_EQ(JsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
}

TEST(Random, HexAndBase64AreFreshAndSized) {
  EXPECT_EQ(RandomHex(16).size(), 32u);
  EXPECT_NE(RandomHex(16), RandomHex(16));
  EXPECT_EQ(RandomBase64Url(32).size(), 43u);
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}
absl::Status UseMacros(int x, int& out) {
  DG_ASSIGN_OR_RETURN(int h, Half(x));
  DG_RETURN_IF_ERROR(h > 10 ? absl::OutOfRangeError("big") : absl::OkStatus());
  out = h;
  return absl::OkStatus();
}

TEST(StatusMacros, PropagateErrors) {
  int out = 0;
  EXPECT_TRUE(UseMacros(8, out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_TRUE(absl::IsInvalidArgument(UseMacros(3, out)));
  EXPECT_TRUE(absl::IsOutOfRange(UseMacros(40, out)));
}

}  // namespace
}  // namespace dialgrid
