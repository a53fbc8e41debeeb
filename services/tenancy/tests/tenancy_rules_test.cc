#include "services/tenancy/domain/tenancy_rules.h"

#include <gtest/gtest.h>

#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"

namespace dialgrid::tenancy {
namespace {

using google::protobuf::util::TimeUtil;

TEST(TenancyRules, DisplayName) {
  EXPECT_TRUE(ValidateDisplayName("f", "ACME Insurance").ok());
  EXPECT_TRUE(ValidateDisplayName("f", "Zürich Versicherung — Süd").ok());
  EXPECT_EQ(ReasonOf(ValidateDisplayName("f", "")), "FIELD_REQUIRED");
  EXPECT_EQ(ReasonOf(ValidateDisplayName("f", std::string(201, 'a'))), "FIELD_TOO_LONG");
  EXPECT_TRUE(ValidateDisplayName("f", std::string(200, 'a')).ok());
  EXPECT_EQ(ReasonOf(ValidateDisplayName("f", "tab\there")), "INVALID_TEXT");
  EXPECT_EQ(ReasonOf(ValidateDisplayName("f", "bad \xff byte")), "INVALID_TEXT");
  EXPECT_EQ(ReasonOf(ValidateDisplayName("f", "cut \xc3")), "INVALID_TEXT");
}

// Regression: display names took NUL-free C1 controls, text-direction
// overrides and overlong/surrogate UTF-8, so a name could show reversed.
TEST(TenancyRules, DisplayNameRefusesDirectionControlsAndBadUtf8) {
  const std::string bad[] = {
      std::string("nul\0name", 8), "rlo \xe2\x80\xae" "evil", "lri \xe2\x81\xa6x\xe2\x81\xa9",
      "rlm \xe2\x80\x8f", "c1 \xc2\x85", "overlong \xc0\xaf", "surrogate \xed\xa0\x80"};
  for (const std::string& name : bad) {
    absl::Status st = ValidateDisplayName("tenant.display_name", name);
    EXPECT_EQ(ReasonOf(st), "INVALID_TEXT") << name;
    EXPECT_EQ(FieldOf(st), "tenant.display_name");
    EXPECT_EQ(st.message().find("evil"), absl::string_view::npos) << st.message();
  }
  v1::Tenant t;
  t.set_display_name("ACME \xe2\x80\xae" "ecnarusni");
  EXPECT_EQ(ReasonOf(ValidateNewTenant(t)), "INVALID_TEXT");
  v1::Tenant current;
  current.set_display_name("Old");
  google::protobuf::RepeatedPtrField<std::string> paths;
  *paths.Add() = "display_name";
  EXPECT_EQ(ReasonOf(ApplyTenantUpdate(t, paths, current).status()), "INVALID_TEXT");
  EXPECT_EQ(current.display_name(), "Old");
  v1::Credential c;
  c.set_display_name(std::string("CRM\0", 4));
  c.add_roles(v1::ROLE_INTEGRATION);
  absl::Status st = ValidateNewCredential(c, /*vendor_scope=*/false, absl::FromUnixSeconds(0));
  EXPECT_EQ(ReasonOf(st), "INVALID_TEXT");
  EXPECT_EQ(FieldOf(st), "credential.display_name");
}

TEST(TenancyRules, TimeZone) {
  EXPECT_TRUE(ValidateTimeZone("f", "America/Chicago").ok());
  EXPECT_TRUE(ValidateTimeZone("f", "UTC").ok());
  for (const char* bad : {"", "Mars/Olympus", "../../etc/passwd", "America/Chicago "}) {
    EXPECT_EQ(ReasonOf(ValidateTimeZone("f", bad)), "UNKNOWN_TIME_ZONE") << bad;
  }
}

TEST(TenancyRules, NewTenantDefaultsAndQuota) {
  v1::Tenant t;
  t.set_display_name("ACME");
  ASSERT_TRUE(ValidateNewTenant(t).ok());
  EXPECT_EQ(t.time_zone(), "UTC");
  t.mutable_quota()->set_max_agents(-1);
  absl::Status st = ValidateNewTenant(t);
  EXPECT_EQ(ReasonOf(st), "QUOTA_OUT_OF_RANGE");
  EXPECT_EQ(FieldOf(st), "tenant.quota.max_agents");
}

TEST(TenancyRules, UpdateMask) {
  v1::Tenant current;
  current.set_display_name("Old");
  current.set_time_zone("UTC");
  current.mutable_quota()->set_max_agents(10);
  current.mutable_quota()->set_max_contacts(100);
  v1::Tenant patch;
  patch.set_display_name("New");
  patch.mutable_quota()->set_max_agents(20);

  google::protobuf::RepeatedPtrField<std::string> paths;
  *paths.Add() = "quota.max_agents";
  auto u = ApplyTenantUpdate(patch, paths, current);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->quota);
  EXPECT_FALSE(u->display_name);
  EXPECT_EQ(current.quota().max_agents(), 20);
  EXPECT_EQ(current.quota().max_contacts(), 100);  // untouched
  EXPECT_EQ(current.display_name(), "Old");

  paths.Clear();
  *paths.Add() = "state";
  EXPECT_EQ(ReasonOf(ApplyTenantUpdate(patch, paths, current).status()), "FIELD_NOT_UPDATABLE");
  paths.Clear();
  *paths.Add() = "quota.max_unicorns";
  EXPECT_EQ(ReasonOf(ApplyTenantUpdate(patch, paths, current).status()), "UNKNOWN_FIELD");

  // Empty mask: every updatable field, validated.
  paths.Clear();
  patch.set_time_zone("Nowhere/Land");
  EXPECT_EQ(ReasonOf(ApplyTenantUpdate(patch, paths, current).status()), "UNKNOWN_TIME_ZONE");
}

TEST(TenancyRules, ACredentialIsBoundOnlyToAnAgentOfItsScopeAndOnlyWithTheAgentRole) {
  v1::Credential c;
  c.set_display_name("desk 12");
  c.add_roles(v1::ROLE_AGENT);
  EXPECT_TRUE(ValidateCredentialAgent(c, "acme").ok());  // unbound
  c.set_agent("tenants/acme/agents/a1");
  EXPECT_TRUE(ValidateCredentialAgent(c, "acme").ok());
  EXPECT_EQ(ReasonOf(ValidateCredentialAgent(c, "globex")), "AGENT_OUT_OF_SCOPE");
  EXPECT_EQ(ReasonOf(ValidateCredentialAgent(c, "")), "AGENT_OUT_OF_SCOPE");
  c.set_agent("tenants/acme/agents/");
  EXPECT_EQ(ReasonOf(ValidateCredentialAgent(c, "acme")), "AGENT_OUT_OF_SCOPE");
  c.set_agent("tenants/acme/contactLists/a1");
  EXPECT_EQ(ReasonOf(ValidateCredentialAgent(c, "acme")), "AGENT_OUT_OF_SCOPE");
  c.set_agent("agentPools/night/agents/a7");
  EXPECT_TRUE(ValidateCredentialAgent(c, "").ok());
  EXPECT_EQ(ReasonOf(ValidateCredentialAgent(c, "acme")), "AGENT_OUT_OF_SCOPE");
  // A supervisor or an integration acts for many agents: never bound.
  c.set_agent("tenants/acme/agents/a1");
  c.add_roles(v1::ROLE_SUPERVISOR);
  EXPECT_EQ(ReasonOf(ValidateCredentialAgent(c, "acme")), "AGENT_BINDING_NEEDS_AGENT_ROLE");
  c.clear_roles();
  c.add_roles(v1::ROLE_INTEGRATION);
  EXPECT_EQ(ReasonOf(ValidateCredentialAgent(c, "acme")), "AGENT_BINDING_NEEDS_AGENT_ROLE");
  c.set_agent(std::string(300, 'a'));
  c.clear_roles();
  c.add_roles(v1::ROLE_AGENT);
  EXPECT_EQ(ReasonOf(ValidateCredentialAgent(c, "acme")), "FIELD_TOO_LONG");
}

TEST(TenancyRules, CredentialScopeAndExpiry) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  v1::Credential c;
  c.set_display_name("CRM");
  EXPECT_EQ(ReasonOf(ValidateNewCredential(c, /*vendor_scope=*/false, now)), "FIELD_REQUIRED");
  c.add_roles(v1::ROLE_INTEGRATION);
  EXPECT_TRUE(ValidateNewCredential(c, false, now).ok());
  EXPECT_EQ(ReasonOf(ValidateNewCredential(c, true, now)), "ROLE_NOT_IN_SCOPE");
  c.add_roles(v1::ROLE_VENDOR_ADMIN);
  EXPECT_EQ(ReasonOf(ValidateNewCredential(c, false, now)), "ROLE_NOT_IN_SCOPE");
  c.clear_roles();
  c.add_roles(static_cast<v1::Role>(99));
  EXPECT_EQ(ReasonOf(ValidateNewCredential(c, false, now)), "UNKNOWN_ROLE");
  c.clear_roles();
  c.add_roles(v1::ROLE_AGENT);
  // Agents and supervisors exist in both scopes (the vendor's pools).
  EXPECT_TRUE(ValidateNewCredential(c, true, now).ok());
  *c.mutable_expire_time() = TimeUtil::SecondsToTimestamp(1'800'000'000 - 1);
  EXPECT_EQ(ReasonOf(ValidateNewCredential(c, false, now)), "TIME_IN_PAST");
  *c.mutable_expire_time() = TimeUtil::SecondsToTimestamp(1'800'000'100);
  EXPECT_TRUE(ValidateNewCredential(c, false, now).ok());
  EXPECT_EQ(CredentialStateAt(c, now), v1::Credential::STATE_ACTIVE);
  EXPECT_EQ(CredentialStateAt(c, now + absl::Seconds(100)), v1::Credential::STATE_EXPIRED);
  *c.mutable_revoke_time() = TimeUtil::SecondsToTimestamp(1'800'000'050);
  EXPECT_EQ(CredentialStateAt(c, now), v1::Credential::STATE_REVOKED);
}

TEST(TenancyRules, PageTokens) {
  EXPECT_EQ(*DecodeIdPageToken(""), "");
  EXPECT_EQ(*DecodeIdPageToken(EncodePageToken("acme")), "acme");
  // Not base64url, "after:" with nothing after it, no prefix, not an id.
  for (const std::string& bad :
       {std::string("garbage!"), std::string("YWZ0ZXI6"), std::string("bm9wZQ"),
        EncodePageToken("Not An Id"), EncodePageToken("a\x01b")}) {
    EXPECT_EQ(ReasonOf(DecodeIdPageToken(bad).status()), "INVALID_PAGE_TOKEN") << bad;
  }
  EXPECT_EQ(*EffectivePageSize(0), kDefaultPageSize);
  EXPECT_EQ(*EffectivePageSize(5000), kMaxPageSize);
  EXPECT_EQ(ReasonOf(EffectivePageSize(-1).status()), "INVALID_PAGE_SIZE");
}

TEST(TenancyRules, CredentialNames) {
  EXPECT_EQ(CredentialName("acme", "k1"), "tenants/acme/credentials/k1");
  EXPECT_EQ(CredentialName("", "k1"), "vendor/credentials/k1");
  auto ref = ParseCredentialName("vendor/credentials/k1");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->tenant, "");
  ref = ParseCredentialName("tenants/acme/credentials/k1");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->tenant, "acme");
  EXPECT_FALSE(ParseCredentialName("tenants/acme/credentials").ok());
  EXPECT_EQ(*ParseCredentialParent("vendor"), "");
  EXPECT_EQ(*ParseCredentialParent("tenants/acme"), "acme");
  EXPECT_FALSE(ParseCredentialParent("tenants/acme/x").ok());
}

}  // namespace
}  // namespace dialgrid::tenancy

namespace dialgrid::tenancy {
namespace {

// Regression: an empty mask used to mean "every field", so renaming a tenant
// without a mask zeroed its quotas.
TEST(TenancyRules, EmptyMaskTouchesOnlyTheFieldsSet) {
  v1::Tenant current;
  current.set_display_name("Old");
  current.set_time_zone("UTC");
  current.mutable_quota()->set_max_agents(10);
  v1::Tenant patch;
  patch.set_display_name("New");
  google::protobuf::RepeatedPtrField<std::string> none;
  EXPECT_FALSE(UpdateTouchesQuota(patch, none));
  auto u = ApplyTenantUpdate(patch, none, current);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(current.display_name(), "New");
  EXPECT_EQ(current.time_zone(), "UTC");
  EXPECT_EQ(current.quota().max_agents(), 10);
  patch.mutable_quota()->set_max_agents(3);
  EXPECT_TRUE(UpdateTouchesQuota(patch, none));
  google::protobuf::RepeatedPtrField<std::string> paths;
  *paths.Add() = "quota.max_contacts";
  EXPECT_TRUE(UpdateTouchesQuota(v1::Tenant(), paths));
}

}  // namespace
}  // namespace dialgrid::tenancy

namespace dialgrid::tenancy {
namespace {

TEST(TenancyRules, RequestId) {
  EXPECT_TRUE(ValidateRequestId("").ok());  // none
  EXPECT_TRUE(ValidateRequestId("a").ok());
  EXPECT_TRUE(ValidateRequestId("6f1c2a9e-4b7d-4c1e-9a3f-0d2b5e8c7a11").ok());
  EXPECT_TRUE(ValidateRequestId(std::string(128, '~')).ok());
  EXPECT_EQ(ReasonOf(ValidateRequestId(std::string(129, 'a'))), "FIELD_TOO_LONG");
  for (const std::string& bad : {std::string("with space"), std::string("tab\t"),
                                std::string("nul\0x", 5), std::string("\xc3\xa9t\xc3\xa9"),
                                std::string("del\x7f")}) {
    absl::Status st = ValidateRequestId(bad);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(ReasonOf(st), "INVALID_REQUEST_ID") << bad;
  }
  // CreateCredential's minimum.
  EXPECT_EQ(ReasonOf(ValidateRequestId("short-id", kMinCredentialRequestId)), "INVALID_REQUEST_ID");
  EXPECT_TRUE(ValidateRequestId("0123456789abcdef", kMinCredentialRequestId).ok());
  EXPECT_TRUE(ValidateRequestId("", kMinCredentialRequestId).ok());
  absl::Status reused = RequestIdReused();
  EXPECT_EQ(reused.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(reused), "REQUEST_ID_REUSED");
}

}  // namespace
}  // namespace dialgrid::tenancy
