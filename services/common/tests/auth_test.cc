#include <gtest/gtest.h>

#include "services/common/auth/credential_verifier.h"
#include "services/common/auth/principal.h"
#include "services/common/auth/tenancy_events.h"
#include "services/common/core/errors.h"
#include "services/common/kafka/event_publisher.h"

namespace dialgrid::auth {
namespace {

using tenancy::v1::ROLE_AGENT;
using tenancy::v1::ROLE_PLATFORM_SERVICE;
using tenancy::v1::ROLE_TENANT_ADMIN;
using tenancy::v1::ROLE_VENDOR_ADMIN;

// A verifier that answers from a table and counts calls (unit isolation).
class TableVerifier : public CredentialVerifier {
 public:
  absl::StatusOr<Principal> Verify(absl::string_view secret) override {
    ++calls;
    auto it = table.find(std::string(secret));
    if (it == table.end()) return Unauthenticated("CREDENTIAL_UNKNOWN", "unknown");
    return it->second;
  }
  std::map<std::string, absl::StatusOr<Principal>> table;
  int calls = 0;
};

Principal Make(std::string cred, std::string tenant, std::vector<Role> roles) {
  Principal p;
  p.credential = std::move(cred);
  p.tenant = std::move(tenant);
  p.roles = std::move(roles);
  return p;
}

TEST(Principal, TenantAccess) {
  Principal acme = Make("tenants/acme/credentials/k1", "acme", {ROLE_TENANT_ADMIN});
  EXPECT_TRUE(RequireTenantAccess(acme, "acme").ok());
  absl::Status denied = RequireTenantAccess(acme, "globex");
  EXPECT_TRUE(absl::IsPermissionDenied(denied));
  EXPECT_EQ(ReasonOf(denied), "TENANT_MISMATCH");
  EXPECT_TRUE(absl::IsPermissionDenied(RequireTenantAccess(acme, "")));

  Principal vendor = Make("vendor/credentials/k2", "", {ROLE_VENDOR_ADMIN});
  EXPECT_TRUE(RequireTenantAccess(vendor, "globex").ok());
  EXPECT_TRUE(RequireTenantAccess(vendor, "").ok());
  Principal service = Make("vendor/credentials/k3", "", {ROLE_PLATFORM_SERVICE});
  EXPECT_TRUE(RequireTenantAccess(service, "acme").ok());
  // A vendor-scope agent (of the vendor's pools) reaches the vendor's
  // resources only.
  Principal pool_agent = Make("vendor/credentials/k5", "", {ROLE_AGENT});
  EXPECT_TRUE(RequireTenantAccess(pool_agent, "").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(RequireTenantAccess(pool_agent, "acme")));
  // A tenant-scoped credential never acts for others, whatever its roles say.
  Principal odd = Make("tenants/acme/credentials/k4", "acme", {ROLE_VENDOR_ADMIN});
  EXPECT_TRUE(absl::IsPermissionDenied(RequireTenantAccess(odd, "globex")));
  EXPECT_TRUE(absl::IsPermissionDenied(RequireAnyRole(acme, {ROLE_AGENT})));
}

TEST(Secret, RoundTripAndMalformed) {
  std::string id = NewCredentialId();
  EXPECT_EQ(id.size(), 16u);
  std::string secret = NewSecret(id);
  auto parsed = ParseSecret(secret);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->credential_id, id);
  for (const char* bad : {"", "dgk_", "Bearer x", "dgk_0123456789abcdef_short",
                          "dgk_0123456789ABCDEF_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    auto p = ParseSecret(bad);
    EXPECT_TRUE(absl::IsUnauthenticated(p.status())) << bad;
    EXPECT_EQ(ReasonOf(p.status()), "MALFORMED_CREDENTIAL");
  }
  EXPECT_EQ(HashSecret(secret).size(), 64u);
  EXPECT_TRUE(DigestsEqual(HashSecret(secret), HashSecret(secret)));
  EXPECT_FALSE(DigestsEqual(HashSecret(secret), HashSecret(secret + "x")));
}

class CachingVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inner = std::make_shared<TableVerifier>();
    inner->table["good"] = Make("tenants/acme/credentials/k1", "acme", {ROLE_AGENT});
    inner->table["other"] = Make("tenants/globex/credentials/k9", "globex", {ROLE_AGENT});
    CacheOptions options;
    options.ttl = absl::Seconds(10);
    options.negative_ttl = absl::Seconds(2);
    cache = std::make_unique<CachingCredentialVerifier>(inner, options, clock);
  }
  FakeClock clock;
  std::shared_ptr<TableVerifier> inner;
  std::unique_ptr<CachingCredentialVerifier> cache;
};

TEST_F(CachingVerifierTest, ReusesAnswersUntilTtl) {
  EXPECT_TRUE(cache->Verify("good").ok());
  EXPECT_TRUE(cache->Verify("good").ok());
  EXPECT_EQ(inner->calls, 1);
  clock.Advance(absl::Seconds(11));
  EXPECT_TRUE(cache->Verify("good").ok());
  EXPECT_EQ(inner->calls, 2);
}

TEST_F(CachingVerifierTest, RefusalsAreCachedBriefly) {
  EXPECT_TRUE(absl::IsUnauthenticated(cache->Verify("bad").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(cache->Verify("bad").status()));
  EXPECT_EQ(inner->calls, 1);
  clock.Advance(absl::Seconds(3));
  cache->Verify("bad").IgnoreError();
  EXPECT_EQ(inner->calls, 2);
}

TEST_F(CachingVerifierTest, UnavailableIsNeverCached) {
  inner->table["flaky"] = Unavailable("AUTH_UNAVAILABLE", "down");
  EXPECT_TRUE(absl::IsUnavailable(cache->Verify("flaky").status()));
  EXPECT_TRUE(absl::IsUnavailable(cache->Verify("flaky").status()));
  EXPECT_EQ(inner->calls, 2);
}

TEST_F(CachingVerifierTest, ExpiryIsEnforcedFromTheCache) {
  Principal p = Make("tenants/acme/credentials/k2", "acme", {ROLE_AGENT});
  p.expire_time = clock.Now() + absl::Seconds(5);
  inner->table["expiring"] = p;
  EXPECT_TRUE(cache->Verify("expiring").ok());
  clock.Advance(absl::Seconds(6));
  auto again = cache->Verify("expiring");
  EXPECT_TRUE(absl::IsUnauthenticated(again.status()));
  EXPECT_EQ(ReasonOf(again.status()), "CREDENTIAL_EXPIRED");
  EXPECT_EQ(inner->calls, 1);
}

TEST_F(CachingVerifierTest, RevocationEventDropsOnlyThatCredential) {
  EXPECT_TRUE(cache->Verify("good").ok());
  EXPECT_TRUE(cache->Verify("other").ok());
  inner->table["good"] = Unauthenticated("CREDENTIAL_REVOKED", "revoked");
  tenancy::v1::CredentialRevoked revoked;
  revoked.mutable_credential()->set_name("tenants/acme/credentials/k1");
  ASSERT_TRUE(ApplyTenancyEvent(kafka::MakeEnvelope("acme", "tenants/acme/credentials/k1", revoked,
                                                    "test", clock),
                                *cache)
                  .ok());
  EXPECT_EQ(ReasonOf(cache->Verify("good").status()), "CREDENTIAL_REVOKED");
  EXPECT_TRUE(cache->Verify("other").ok());
  EXPECT_EQ(inner->calls, 3);
}

TEST_F(CachingVerifierTest, SuspensionEventDropsTheTenant) {
  EXPECT_TRUE(cache->Verify("good").ok());
  EXPECT_TRUE(cache->Verify("other").ok());
  inner->table["good"] = PermissionDenied("TENANT_SUSPENDED", "suspended");
  tenancy::v1::TenantSuspended suspended;
  suspended.mutable_tenant()->set_name("tenants/acme");
  ASSERT_TRUE(ApplyTenancyEvent(kafka::MakeEnvelope("acme", "tenants/acme", suspended, "test", clock),
                                *cache)
                  .ok());
  EXPECT_EQ(ReasonOf(cache->Verify("good").status()), "TENANT_SUSPENDED");
  EXPECT_TRUE(cache->Verify("other").ok());
  EXPECT_EQ(inner->calls, 3);
}

}  // namespace
}  // namespace dialgrid::auth
