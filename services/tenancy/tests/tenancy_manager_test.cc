// Unit tests of the application layer (TenancyManager, RequestSeal) on the
// in-memory store: no Redis, no broker, an injected clock.
#include "services/tenancy/application/tenancy_manager.h"

#include <gtest/gtest.h>

#include <map>

#include "absl/strings/match.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/tenancy/application/request_seal.h"
#include "services/tenancy/testing/memory_tenancy_store.h"

namespace dialgrid::tenancy {
namespace {

using google::protobuf::util::TimeUtil;
using testing::MemoryTenancyStore;

constexpr char kRequestId[] = "6f1c2a9e-4b7d-4c1e-9a3f-0d2b5e8c7a11";

auth::Principal Vendor(const std::string& credential = "vendor/credentials/admin0000000001") {
  auth::Principal p;
  p.credential = credential;
  p.roles = {v1::ROLE_VENDOR_ADMIN};
  return p;
}

v1::CreateTenantRequest TenantRequest(const std::string& id, const std::string& request_id = "") {
  v1::CreateTenantRequest req;
  req.set_tenant_id(id);
  req.mutable_tenant()->set_display_name("Tenant " + id);
  req.mutable_tenant()->set_time_zone("America/Chicago");
  req.set_request_id(request_id);
  return req;
}

v1::CreateCredentialRequest CredentialRequest(const std::string& parent,
                                              const std::string& request_id = "") {
  v1::CreateCredentialRequest req;
  req.set_parent(parent);
  req.mutable_credential()->set_display_name("crm");
  req.mutable_credential()->add_roles(v1::ROLE_INTEGRATION);
  req.set_request_id(request_id);
  return req;
}

int CountEvents(const MemoryTenancyStore& store, absl::string_view type) {
  int n = 0;
  for (const auto& [tenant, e] : store.events()) n += e.type() == type;
  return n;
}

class TenancyManagerTest : public ::testing::Test {
 protected:
  TenancyManagerTest()
      : store_(std::make_shared<MemoryTenancyStore>(clock_)),
        manager_(store_, clock_, "tenancy/test00") {}

  void SetUp() override {
    ASSERT_TRUE(manager_.CreateTenant(Vendor(), TenantRequest("acme")).ok());
  }

  FakeClock clock_;
  std::shared_ptr<MemoryTenancyStore> store_;
  TenancyManager manager_;
};

TEST_F(TenancyManagerTest, CreateTenantStoresItWithItsEventOnce) {
  auto t = manager_.GetTenant([] {
    v1::GetTenantRequest r;
    r.set_name("tenants/acme");
    return r;
  }());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->state(), v1::Tenant::STATE_ACTIVE);
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(t->create_time()), absl::ToUnixNanos(clock_.Now()));
  auto again = manager_.CreateTenant(Vendor(), TenantRequest("acme"));
  EXPECT_EQ(ReasonOf(again.status()), "TENANT_EXISTS");
  EXPECT_EQ(CountEvents(*store_, "dialgrid.tenancy.v1.TenantCreated"), 1);
}

TEST_F(TenancyManagerTest, CreateTenantRetryWithRequestIdReturnsTheFirstTenant) {
  auto first = manager_.CreateTenant(Vendor(), TenantRequest("beta", kRequestId));
  ASSERT_TRUE(first.ok()) << first.status();
  clock_.Advance(absl::Hours(23));
  auto retry = manager_.CreateTenant(Vendor(), TenantRequest("beta", kRequestId));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->SerializeAsString(), first->SerializeAsString());        // same etag, same times
  EXPECT_EQ(CountEvents(*store_, "dialgrid.tenancy.v1.TenantCreated"), 2);  // acme, beta

  // The same id with another request, for another tenant, or from another
  // caller: refused, nothing created.
  auto other = TenantRequest("beta", kRequestId);
  other.mutable_tenant()->set_display_name("Beta renamed");
  EXPECT_EQ(ReasonOf(manager_.CreateTenant(Vendor(), other).status()), "REQUEST_ID_REUSED");
  auto elsewhere = manager_.CreateTenant(Vendor(), TenantRequest("gamma", kRequestId));
  EXPECT_EQ(elsewhere.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(elsewhere.status()), "REQUEST_ID_REUSED");
  v1::GetTenantRequest get;
  get.set_name("tenants/gamma");
  EXPECT_EQ(ReasonOf(manager_.GetTenant(get).status()), "TENANT_NOT_FOUND");
  auto someone_else = manager_.CreateTenant(Vendor("vendor/credentials/other0000000002"),
                                            TenantRequest("beta", kRequestId));
  EXPECT_EQ(ReasonOf(someone_else.status()), "REQUEST_ID_REUSED");
  EXPECT_EQ(CountEvents(*store_, "dialgrid.tenancy.v1.TenantCreated"), 2);

  // Past 24 h the id is forgotten: it may name a new request (which claims
  // it for the next 24 h), and the old one is a new create again.
  clock_.Advance(absl::Hours(1) + absl::Seconds(1));
  EXPECT_TRUE(manager_.CreateTenant(Vendor(), TenantRequest("gamma", kRequestId)).ok());
  EXPECT_EQ(ReasonOf(manager_.CreateTenant(Vendor(), TenantRequest("beta", kRequestId)).status()),
            "REQUEST_ID_REUSED");
  clock_.Advance(absl::Hours(25));
  EXPECT_EQ(ReasonOf(manager_.CreateTenant(Vendor(), TenantRequest("beta", kRequestId)).status()),
            "TENANT_EXISTS");
}

TEST_F(TenancyManagerTest, CreateTenantRefusesMalformedRequestIds) {
  for (const std::string& bad :
       {std::string(129, 'r'), std::string("has space"), std::string("ctl\x01")}) {
    auto t = manager_.CreateTenant(Vendor(), TenantRequest("delta", bad));
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(store_->requests().empty());
  // A short id is fine for tenants (their answer holds no secret).
  EXPECT_TRUE(manager_.CreateTenant(Vendor(), TenantRequest("delta", "r1")).ok());
}

TEST_F(TenancyManagerTest, CreateCredentialRetryReturnsTheSameSecretAndCreatesNothing) {
  auto first = manager_.CreateCredential(Vendor(), CredentialRequest("tenants/acme", kRequestId));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->credential().state(), v1::Credential::STATE_ACTIVE);
  auto retry = manager_.CreateCredential(Vendor(), CredentialRequest("tenants/acme", kRequestId));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->secret(), first->secret());
  EXPECT_EQ(retry->credential().name(), first->credential().name());
  EXPECT_EQ(store_->credential_count(), 1);
  EXPECT_EQ(CountEvents(*store_, "dialgrid.tenancy.v1.CredentialCreated"), 1);
  auto p = manager_.Authenticate(retry->secret());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->credential, first->credential().name());

  // Without a request id every call creates.
  ASSERT_TRUE(manager_.CreateCredential(Vendor(), CredentialRequest("tenants/acme")).ok());
  ASSERT_TRUE(manager_.CreateCredential(Vendor(), CredentialRequest("tenants/acme")).ok());
  EXPECT_EQ(store_->credential_count(), 3);
}

// What the store keeps for a retry reveals neither the secret nor the
// request id: only a digest names it and the answer is sealed.
TEST_F(TenancyManagerTest, TheKeptAnswerHoldsNoSecretNorRequestId) {
  auto first = manager_.CreateCredential(Vendor(), CredentialRequest("tenants/acme", kRequestId));
  ASSERT_TRUE(first.ok()) << first.status();
  auto kept = store_->requests();
  ASSERT_EQ(kept.size(), 1u);
  const std::string secret_part = first->secret().substr(21);  // after dgk_<16-char id>_
  ASSERT_EQ(secret_part.size(), 43u);
  for (const auto& [name, sealed] : kept) {
    EXPECT_FALSE(absl::StrContains(name, kRequestId));
    EXPECT_FALSE(absl::StrContains(sealed, secret_part));
    EXPECT_FALSE(absl::StrContains(sealed, kRequestId));
    EXPECT_FALSE(absl::StrContains(sealed, first->credential().name()));
  }
}

TEST_F(TenancyManagerTest, CreateCredentialRequestIdRules) {
  auto reason = [&](const v1::CreateCredentialRequest& r) {
    return ReasonOf(manager_.CreateCredential(Vendor(), r).status());
  };
  EXPECT_EQ(reason(CredentialRequest("tenants/acme", "too-short-id")), "INVALID_REQUEST_ID");
  EXPECT_EQ(reason(CredentialRequest("tenants/acme", std::string(129, 'x'))), "FIELD_TOO_LONG");
  EXPECT_EQ(reason(CredentialRequest("tenants/acme", "sixteen chars ok")), "INVALID_REQUEST_ID");
  EXPECT_EQ(store_->credential_count(), 0);
  ASSERT_TRUE(
      manager_.CreateCredential(Vendor(), CredentialRequest("tenants/acme", kRequestId)).ok());
  // Another request under the same id: refused.
  auto other = CredentialRequest("tenants/acme", kRequestId);
  other.mutable_credential()->set_display_name("another system");
  EXPECT_EQ(reason(other), "REQUEST_ID_REUSED");
  // Another caller with the same request: refused (no secret handed out).
  auto by_other = manager_.CreateCredential(Vendor("vendor/credentials/other0000000002"),
                                            CredentialRequest("tenants/acme", kRequestId));
  EXPECT_EQ(ReasonOf(by_other.status()), "REQUEST_ID_REUSED");
  EXPECT_TRUE(by_other.status().message().find("dgk_") == std::string::npos);
  EXPECT_EQ(store_->credential_count(), 1);
  // The same id in another scope is another request.
  ASSERT_TRUE(manager_.CreateTenant(Vendor(), TenantRequest("beta")).ok());
  auto beta = manager_.CreateCredential(Vendor(), CredentialRequest("tenants/beta", kRequestId));
  ASSERT_TRUE(beta.ok()) << beta.status();
  EXPECT_TRUE(absl::StartsWith(beta->credential().name(), "tenants/beta/credentials/"));
  EXPECT_EQ(store_->credential_count(), 2);
}

// A retry answers what the first call answered even when the request would
// not validate any more (its expire_time has passed).
TEST_F(TenancyManagerTest, CreateCredentialRetryIsAnsweredBeforeTimeDependentChecks) {
  auto req = CredentialRequest("tenants/acme", kRequestId);
  *req.mutable_credential()->mutable_expire_time() =
      TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(clock_.Now() + absl::Minutes(10)));
  auto first = manager_.CreateCredential(Vendor(), req);
  ASSERT_TRUE(first.ok()) << first.status();
  clock_.Advance(absl::Hours(1));
  auto retry = manager_.CreateCredential(Vendor(), req);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->secret(), first->secret());
  // Past the retention it is a new request, validated as such.
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(ReasonOf(manager_.CreateCredential(Vendor(), req).status()), "TIME_IN_PAST");
}

// Two copies of one request racing: both miss the early lookup, the store
// keeps the first create's record and the second gets its answer.
class LookupMissingStore final : public TenancyStore {
 public:
  explicit LookupMissingStore(std::shared_ptr<TenancyStore> s) : s_(std::move(s)) {}
  absl::StatusOr<Created> CreateTenant(const v1::Tenant& t, const Events& e,
                                       const RequestRecord& r) override {
    return s_->CreateTenant(t, e, r);
  }
  absl::StatusOr<v1::Tenant> GetTenant(absl::string_view id) override { return s_->GetTenant(id); }
  absl::StatusOr<std::vector<v1::Tenant>> ListTenants(const Page& p, std::string& n) override {
    return s_->ListTenants(p, n);
  }
  absl::Status ReplaceTenant(const v1::Tenant& t, absl::string_view etag,
                             const Events& e) override {
    return s_->ReplaceTenant(t, etag, e);
  }
  absl::StatusOr<Created> CreateCredential(const StoredCredential& c, const Events& e,
                                           const RequestRecord& r) override {
    return s_->CreateCredential(c, e, r);
  }
  absl::StatusOr<std::string> GetCredentialRequest(absl::string_view, absl::string_view) override {
    return absl::NotFoundError("not yet");
  }
  absl::StatusOr<StoredCredential> GetCredential(absl::string_view t,
                                                 absl::string_view id) override {
    return s_->GetCredential(t, id);
  }
  absl::StatusOr<StoredCredential> FindCredential(absl::string_view id) override {
    return s_->FindCredential(id);
  }
  absl::StatusOr<std::vector<v1::Credential>> ListCredentials(absl::string_view t, const Page& p,
                                                              std::string& n) override {
    return s_->ListCredentials(t, p, n);
  }
  absl::Status UpdateCredential(const StoredCredential& c, const Events& e) override {
    return s_->UpdateCredential(c, e);
  }
  absl::Status Ping() override { return s_->Ping(); }

 private:
  std::shared_ptr<TenancyStore> s_;
};

TEST_F(TenancyManagerTest, ConcurrentRetryGetsTheAnswerThatWasStored) {
  TenancyManager racing(std::make_shared<LookupMissingStore>(store_), clock_, "tenancy/test01");
  auto first = racing.CreateCredential(Vendor(), CredentialRequest("tenants/acme", kRequestId));
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = racing.CreateCredential(Vendor(), CredentialRequest("tenants/acme", kRequestId));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->secret(), first->secret());
  EXPECT_EQ(store_->credential_count(), 1);
  auto other = CredentialRequest("tenants/acme", kRequestId);
  other.mutable_credential()->add_roles(v1::ROLE_AGENT);
  EXPECT_EQ(ReasonOf(racing.CreateCredential(Vendor(), other).status()), "REQUEST_ID_REUSED");
  EXPECT_EQ(store_->credential_count(), 1);
}

TEST_F(TenancyManagerTest, RevokeSuspendAndAuthenticate) {
  auto c = manager_.CreateCredential(Vendor(), CredentialRequest("tenants/acme"));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(manager_.Authenticate(c->secret()).ok());
  v1::SuspendTenantRequest sus;
  sus.set_name("tenants/acme");
  sus.set_reason("unpaid");
  ASSERT_TRUE(manager_.SuspendTenant(Vendor(), sus).ok());
  ASSERT_TRUE(manager_.SuspendTenant(Vendor(), sus).ok());  // idempotent, no second event
  EXPECT_EQ(CountEvents(*store_, "dialgrid.tenancy.v1.TenantSuspended"), 1);
  EXPECT_EQ(ReasonOf(manager_.Authenticate(c->secret()).status()), "TENANT_SUSPENDED");
  v1::ResumeTenantRequest res;
  res.set_name("tenants/acme");
  ASSERT_TRUE(manager_.ResumeTenant(Vendor(), res).ok());
  v1::RevokeCredentialRequest rev;
  rev.set_name(c->credential().name());
  auto revoked = manager_.RevokeCredential(Vendor(), rev);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->state(), v1::Credential::STATE_REVOKED);
  clock_.Advance(absl::Minutes(1));
  auto again = manager_.RevokeCredential(Vendor(), rev);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revoke_time(), revoked->revoke_time());  // the first revoke_time kept
  EXPECT_EQ(CountEvents(*store_, "dialgrid.tenancy.v1.CredentialRevoked"), 1);
  EXPECT_EQ(ReasonOf(manager_.Authenticate(c->secret()).status()), "CREDENTIAL_REVOKED");
  std::string forged = c->secret().substr(0, 21) + std::string(43, 'A');
  EXPECT_EQ(ReasonOf(manager_.Authenticate(forged).status()), "CREDENTIAL_UNKNOWN");
}

// Every change's event names the credential that made it (the audit log's
// "who"): the vendor admin's tenant and credential changes, a tenant admin's
// rename.
TEST_F(TenancyManagerTest, EveryChangeEventNamesItsActor) {
  const auth::Principal ops = Vendor("vendor/credentials/ops0000000000001");
  auto c = manager_.CreateCredential(ops, CredentialRequest("tenants/acme"));
  ASSERT_TRUE(c.ok()) << c.status();
  v1::SuspendTenantRequest sus;
  sus.set_name("tenants/acme");
  ASSERT_TRUE(manager_.SuspendTenant(ops, sus).ok());
  v1::ResumeTenantRequest res;
  res.set_name("tenants/acme");
  ASSERT_TRUE(manager_.ResumeTenant(ops, res).ok());
  v1::RevokeCredentialRequest rev;
  rev.set_name(c->credential().name());
  ASSERT_TRUE(manager_.RevokeCredential(ops, rev).ok());
  auth::Principal admin;
  admin.credential = "tenants/acme/credentials/adm0000000000001";
  admin.tenant = "acme";
  admin.roles = {v1::ROLE_TENANT_ADMIN};
  v1::UpdateTenantRequest up;
  up.mutable_tenant()->set_name("tenants/acme");
  up.mutable_tenant()->set_display_name("Acme renamed");
  up.mutable_update_mask()->add_paths("display_name");
  ASSERT_TRUE(manager_.UpdateTenant(admin, up).ok());

  std::map<std::string, std::string> actor_of;  // event type -> actor (the last)
  for (const auto& [tenant, e] : store_->events()) actor_of[e.type()] = e.actor();
  EXPECT_EQ(actor_of["dialgrid.tenancy.v1.TenantCreated"], "vendor/credentials/admin0000000001");
  EXPECT_EQ(actor_of["dialgrid.tenancy.v1.CredentialCreated"], ops.credential);
  EXPECT_EQ(actor_of["dialgrid.tenancy.v1.TenantSuspended"], ops.credential);
  EXPECT_EQ(actor_of["dialgrid.tenancy.v1.TenantResumed"], ops.credential);
  EXPECT_EQ(actor_of["dialgrid.tenancy.v1.CredentialRevoked"], ops.credential);
  EXPECT_EQ(actor_of["dialgrid.tenancy.v1.TenantUpdated"], admin.credential);
  for (const auto& [tenant, e] : store_->events()) EXPECT_FALSE(e.actor().empty()) << e.type();
}

TEST_F(TenancyManagerTest, UpdateTenantHonoursEtagAndQuotaRole) {
  v1::UpdateTenantRequest up;
  up.mutable_tenant()->set_name("tenants/acme");
  up.mutable_tenant()->mutable_quota()->set_max_agents(5);
  up.mutable_update_mask()->add_paths("quota.max_agents");
  auth::Principal tenant_admin;
  tenant_admin.credential = "tenants/acme/credentials/k";
  tenant_admin.tenant = "acme";
  tenant_admin.roles = {v1::ROLE_TENANT_ADMIN};
  EXPECT_EQ(ReasonOf(manager_.UpdateTenant(tenant_admin, up).status()), "QUOTA_VENDOR_ONLY");
  auto t = manager_.UpdateTenant(Vendor(), up);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->quota().max_agents(), 5);
  up.mutable_tenant()->set_etag("stale");
  EXPECT_EQ(ReasonOf(manager_.UpdateTenant(Vendor(), up).status()), "ETAG_MISMATCH");
  EXPECT_EQ(CountEvents(*store_, "dialgrid.tenancy.v1.TenantUpdated"), 1);
}

TEST_F(TenancyManagerTest, StoreFailuresReachTheCaller) {
  store_->SetFailure(absl::UnavailableError("redis down"));
  auto c = manager_.CreateCredential(Vendor(), CredentialRequest("tenants/acme", kRequestId));
  EXPECT_TRUE(absl::IsUnavailable(c.status())) << c.status();
  EXPECT_TRUE(absl::IsUnavailable(
      manager_.Authenticate(auth::NewSecret(auth::NewCredentialId())).status()));
  store_->SetFailure(absl::OkStatus());
  EXPECT_TRUE(
      manager_.CreateCredential(Vendor(), CredentialRequest("tenants/acme", kRequestId)).ok());
}

TEST_F(TenancyManagerTest, BootstrapCredentialIsCreatedOnceAndConflictsAreRefused) {
  std::string secret = auth::NewSecret(auth::NewCredentialId());
  ASSERT_TRUE(manager_.EnsureBootstrapCredential(secret, v1::ROLE_VENDOR_ADMIN, "boot").ok());
  ASSERT_TRUE(manager_.EnsureBootstrapCredential(secret, v1::ROLE_VENDOR_ADMIN, "boot").ok());
  EXPECT_EQ(store_->credential_count(), 1);
  EXPECT_TRUE(store_->events().size() == 1u);  // acme's TenantCreated only: bootstrap has no event
  std::string same_id_other_secret = secret.substr(0, 21) + std::string(43, 'B');
  EXPECT_EQ(ReasonOf(manager_.EnsureBootstrapCredential(same_id_other_secret, v1::ROLE_VENDOR_ADMIN,
                                                        "boot")),
            "BOOTSTRAP_CONFLICT");
}

TEST(RequestSeal, OpensOnlyWithTheSameKeyIndexAndFingerprint) {
  v1::CreateCredentialRequest req = CredentialRequest("tenants/acme", kRequestId);
  const std::string fp = RequestFingerprint("vendor/credentials/a", req);
  EXPECT_EQ(fp.size(), 32u);
  EXPECT_EQ(fp, RequestFingerprint("vendor/credentials/a", req));
  EXPECT_NE(fp, RequestFingerprint("vendor/credentials/b", req));
  RequestSeal seal = RequestSeal::For("CreateCredential", "acme", kRequestId);
  EXPECT_EQ(seal.index().size(), 64u);
  EXPECT_EQ(seal.index(), RequestSeal::For("CreateCredential", "acme", kRequestId).index());
  EXPECT_NE(seal.index(), RequestSeal::For("CreateCredential", "beta", kRequestId).index());
  EXPECT_NE(seal.index(), RequestSeal::For("CreateTenant", "acme", kRequestId).index());
  auto sealed = seal.Seal(fp, "the answer");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_FALSE(absl::StrContains(*sealed, "the answer"));
  EXPECT_NE(*sealed, *seal.Seal(fp, "the answer"));  // a fresh nonce each time
  auto opened = seal.Open(*sealed, fp);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "the answer");
  // Another request under the same id.
  EXPECT_EQ(ReasonOf(seal.Open(*sealed, RequestFingerprint("vendor/credentials/b", req)).status()),
            "REQUEST_ID_REUSED");
  // Another request id, another scope: the key differs and it does not open.
  auto wrong_id =
      RequestSeal::For("CreateCredential", "acme", "another-request-id-0001").Open(*sealed, fp);
  EXPECT_EQ(wrong_id.status().code(), absl::StatusCode::kDataLoss);
  auto wrong_scope = RequestSeal::For("CreateCredential", "beta", kRequestId).Open(*sealed, fp);
  EXPECT_EQ(wrong_scope.status().code(), absl::StatusCode::kDataLoss);
  // Altered or cut.
  std::string altered = *sealed;
  altered[altered.size() / 2] ^= 1;
  EXPECT_EQ(seal.Open(altered, fp).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(seal.Open(sealed->substr(0, 20), fp).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace dialgrid::tenancy
