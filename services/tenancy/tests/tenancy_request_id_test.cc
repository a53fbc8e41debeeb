// Service tests of request ids on CreateTenant and CreateCredential: the
// dialgrid-tenancy binary on the test platform (real Redis and broker),
// called over gRPC as a client would, and what Redis holds afterwards.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "services/common/auth/tenancy_events.h"
#include "services/common/core/errors.h"
#include "services/common/redis/redis_client.h"
#include "services/common/server/grpc_status.h"
#include "tests/fixtures/test_platform.h"
#include "tests/fixtures/topic_recorder.h"

namespace dialgrid::tenancy {
namespace {

using dialgrid::testing::TestPlatform;

class TenancyRequestIdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto p = TestPlatform::Start();
    ASSERT_TRUE(p.ok()) << p.status();
    platform_ = p->release();
  }
  static void TearDownTestSuite() { delete platform_; }

  std::unique_ptr<v1::TenancyService::Stub> stub() {
    return v1::TenancyService::NewStub(platform_->Channel("tenancy"));
  }
  static const std::string& admin() { return platform_->admin_secret(); }

  static v1::CreateTenantRequest TenantRequest(const std::string& id,
                                               const std::string& request_id) {
    v1::CreateTenantRequest req;
    req.set_tenant_id(id);
    req.mutable_tenant()->set_display_name("Tenant " + id);
    req.mutable_tenant()->set_time_zone("Europe/Paris");
    req.set_request_id(request_id);
    return req;
  }
  static v1::CreateCredentialRequest CredentialRequest(const std::string& parent,
                                                       const std::string& request_id) {
    v1::CreateCredentialRequest req;
    req.set_parent(parent);
    req.mutable_credential()->set_display_name("crm integration");
    req.mutable_credential()->add_roles(v1::ROLE_INTEGRATION);
    req.set_request_id(request_id);
    return req;
  }

  // Every key of the platform's Redis with its values as text (strings,
  // hash fields and values, list, set and sorted-set members).
  static std::vector<std::pair<std::string, std::string>> DumpRedis() {
    redis::Options o;
    EXPECT_TRUE(redis::ParseAddress(platform_->redis().address(), o).ok());
    o.pool_size = 1;
    auto client = redis::Client::Create(o);
    EXPECT_TRUE(client.ok()) << client.status();
    std::vector<std::pair<std::string, std::string>> out;
    if (!client.ok()) return out;
    std::string cursor = "0";
    do {
      auto r = (*client)->Command({"SCAN", cursor, "COUNT", "1000"});
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) return out;
      cursor = r->elements[0].str;
      for (const auto& k : r->elements[1].elements) {
        auto type = (*client)->Command({"TYPE", k.str});
        EXPECT_TRUE(type.ok()) << type.status();
        if (!type.ok()) continue;
        std::vector<std::string> read;
        if (type->str == "string") read = {"GET", k.str};
        if (type->str == "hash") read = {"HGETALL", k.str};
        if (type->str == "list") read = {"LRANGE", k.str, "0", "-1"};
        if (type->str == "set") read = {"SMEMBERS", k.str};
        if (type->str == "zset") read = {"ZRANGE", k.str, "0", "-1"};
        std::string value;
        if (!read.empty()) {
          auto v = (*client)->Command(read);
          if (v.ok()) {
            value = v->str;
            for (const auto& e : v->elements) value += "\n" + e.str;
          }
        }
        out.emplace_back(k.str, value);
      }
    } while (cursor != "0");
    return out;
  }

  static TestPlatform* platform_;
};

TestPlatform* TenancyRequestIdTest::platform_ = nullptr;

#define EXPECT_RPC_ERROR(call, code, reason)                                    \
  do {                                                                          \
    grpc::Status st_ = (call);                                                  \
    EXPECT_EQ(st_.error_code(), grpc::StatusCode::code) << st_.error_message(); \
    EXPECT_EQ(ReasonOf(FromGrpcStatus(st_)), reason) << st_.error_message();    \
  } while (false)

TEST_F(TenancyRequestIdTest, CreateTenantRetryReturnsTheFirstTenant) {
  const std::string rid = "tenant-req-0001";
  v1::Tenant first, retry, out;
  ASSERT_TRUE(
      stub()
          ->CreateTenant(TestPlatform::Context(admin()).get(), TenantRequest("rid-a", rid), &first)
          .ok());
  grpc::Status st = stub()->CreateTenant(TestPlatform::Context(admin()).get(),
                                         TenantRequest("rid-a", rid), &retry);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  // Without a request id, the same create is refused as before.
  EXPECT_RPC_ERROR(
      stub()->CreateTenant(TestPlatform::Context(admin()).get(), TenantRequest("rid-a", ""), &out),
      ALREADY_EXISTS, "TENANT_EXISTS");

  // The same id with another request: refused, with the field named.
  auto renamed = TenantRequest("rid-a", rid);
  renamed.mutable_tenant()->set_display_name("Renamed");
  st = stub()->CreateTenant(TestPlatform::Context(admin()).get(), renamed, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  absl::Status reused = FromGrpcStatus(st);
  EXPECT_EQ(ReasonOf(reused), "REQUEST_ID_REUSED") << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "request_id")) << st.error_message();
  // ... for another tenant: refused, and that tenant is not created.
  EXPECT_RPC_ERROR(
      stub()->CreateTenant(TestPlatform::Context(admin()).get(), TenantRequest("rid-b", rid), &out),
      ALREADY_EXISTS, "REQUEST_ID_REUSED");
  v1::GetTenantRequest get;
  get.set_name("tenants/rid-b");
  EXPECT_RPC_ERROR(stub()->GetTenant(TestPlatform::Context(admin()).get(), get, &out), NOT_FOUND,
                   "TENANT_NOT_FOUND");
  // ... from another vendor admin: refused.
  // (TestPlatform::Credential("") sends parent "" rather than "vendor", so
  // the vendor-scope credential is made here.)
  v1::CreateCredentialRequest vendor_req;
  vendor_req.set_parent("vendor");
  vendor_req.mutable_credential()->set_display_name("second vendor admin");
  vendor_req.mutable_credential()->add_roles(v1::ROLE_VENDOR_ADMIN);
  v1::CreateCredentialResponse other_admin;
  st = stub()->CreateCredential(TestPlatform::Context(admin()).get(), vendor_req, &other_admin);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_RPC_ERROR(stub()->CreateTenant(TestPlatform::Context(other_admin.secret()).get(),
                                        TenantRequest("rid-a", rid), &out),
                   ALREADY_EXISTS, "REQUEST_ID_REUSED");
}

TEST_F(TenancyRequestIdTest, MalformedRequestIdsAreRefused) {
  v1::Tenant t;
  EXPECT_RPC_ERROR(stub()->CreateTenant(TestPlatform::Context(admin()).get(),
                                        TenantRequest("rid-bad", std::string(129, 'x')), &t),
                   INVALID_ARGUMENT, "FIELD_TOO_LONG");
  for (const std::string bad : {"with space", "ctl\x01", "caf\xc3\xa9"}) {
    EXPECT_RPC_ERROR(stub()->CreateTenant(TestPlatform::Context(admin()).get(),
                                          TenantRequest("rid-bad", bad), &t),
                     INVALID_ARGUMENT, "INVALID_REQUEST_ID");
  }
  ASSERT_TRUE(platform_->CreateTenant("rid-c").ok());
  v1::CreateCredentialResponse c;
  grpc::Status st = stub()->CreateCredential(TestPlatform::Context(admin()).get(),
                                             CredentialRequest("tenants/rid-c", "short-id"), &c);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(st)), "INVALID_REQUEST_ID");
  EXPECT_TRUE(absl::StrContains(st.error_message(), "16")) << st.error_message();
  // Nothing was created by any of them.
  v1::GetTenantRequest get;
  get.set_name("tenants/rid-bad");
  EXPECT_RPC_ERROR(stub()->GetTenant(TestPlatform::Context(admin()).get(), get, &t), NOT_FOUND,
                   "TENANT_NOT_FOUND");
  v1::ListCredentialsRequest list;
  list.set_parent("tenants/rid-c");
  v1::ListCredentialsResponse creds;
  ASSERT_TRUE(stub()->ListCredentials(TestPlatform::Context(admin()).get(), list, &creds).ok());
  EXPECT_EQ(creds.credentials_size(), 0);
}

TEST_F(TenancyRequestIdTest, CreateCredentialRetryReturnsTheSameSecretOnce) {
  ASSERT_TRUE(platform_->CreateTenant("rid-d").ok());
  auto tenant_admin = platform_->Credential("rid-d", v1::ROLE_TENANT_ADMIN);
  ASSERT_TRUE(tenant_admin.ok()) << tenant_admin.status();
  auto recorder = dialgrid::testing::TopicRecorder::Start(platform_->broker().bootstrap(),
                                                          {auth::kTenancyTopic});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  const std::string rid = "c0ffee00-1111-4222-8333-444455556666";
  v1::CreateCredentialResponse first, retry, out;
  ASSERT_TRUE(stub()
                  ->CreateCredential(TestPlatform::Context(*tenant_admin).get(),
                                     CredentialRequest("tenants/rid-d", rid), &first)
                  .ok());
  grpc::Status st = stub()->CreateCredential(TestPlatform::Context(*tenant_admin).get(),
                                             CredentialRequest("tenants/rid-d", rid), &retry);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(retry.secret(), first.secret());
  EXPECT_EQ(retry.credential().name(), first.credential().name());
  // The secret works.
  v1::GetTenantRequest get;
  get.set_name("tenants/rid-d");
  v1::Tenant t;
  st = stub()->GetTenant(TestPlatform::Context(retry.secret()).get(), get, &t);
  EXPECT_TRUE(st.ok()) << st.error_message();

  // Another request, or another caller (the vendor admin) with the same
  // request: refused, no secret handed out.
  auto other = CredentialRequest("tenants/rid-d", rid);
  other.mutable_credential()->set_display_name("another system");
  EXPECT_RPC_ERROR(
      stub()->CreateCredential(TestPlatform::Context(*tenant_admin).get(), other, &out),
      ALREADY_EXISTS, "REQUEST_ID_REUSED");
  out.Clear();
  EXPECT_RPC_ERROR(stub()->CreateCredential(TestPlatform::Context(admin()).get(),
                                            CredentialRequest("tenants/rid-d", rid), &out),
                   ALREADY_EXISTS, "REQUEST_ID_REUSED");
  EXPECT_TRUE(out.secret().empty());

  // One credential (plus the tenant admin) and one event for it.
  v1::ListCredentialsRequest list;
  list.set_parent("tenants/rid-d");
  v1::ListCredentialsResponse creds;
  ASSERT_TRUE(stub()->ListCredentials(TestPlatform::Context(admin()).get(), list, &creds).ok());
  EXPECT_EQ(creds.credentials_size(), 2);
  // A later credential of the tenant marks the end of what the calls above published.
  auto marker = platform_->Credential("rid-d", v1::ROLE_AGENT);
  ASSERT_TRUE(marker.ok()) << marker.status();
  int created_events = 0;
  bool seen = (*recorder)->WaitFor(
      [&](const std::vector<event::v1::Envelope>& got) {
        created_events = 0;
        int marker_events = 0;
        for (const auto& e : got) {
          if (e.type() != "dialgrid.tenancy.v1.CredentialCreated" || e.tenant() != "rid-d")
            continue;
          if (e.subject() == first.credential().name())
            ++created_events;
          else if (e.subject() != creds.credentials(0).name() &&
                   e.subject() != creds.credentials(1).name()) {
            ++marker_events;
          }
        }
        return created_events >= 1 && marker_events >= 1;
      },
      absl::Seconds(30));
  EXPECT_TRUE(seen);
  EXPECT_EQ(created_events, 1);
}

// A dump of Redis shows neither the secret of a credential created with a
// request id nor the request id: the kept answer is sealed under a key
// derived from the id and named by a digest of it.
TEST_F(TenancyRequestIdTest, RedisHoldsNoSecretAndNoRequestId) {
  ASSERT_TRUE(platform_->CreateTenant("rid-e").ok());
  const std::string rid = "dump-check-7f3a9c1e5b2d4f60";
  v1::CreateCredentialResponse c;
  ASSERT_TRUE(stub()
                  ->CreateCredential(TestPlatform::Context(admin()).get(),
                                     CredentialRequest("tenants/rid-e", rid), &c)
                  .ok());
  const std::string secret_tail = c.secret().substr(21);  // dgk_<16-char id>_<43 chars>: the 43
  ASSERT_EQ(secret_tail.size(), 43u);
  v1::Tenant t;
  ASSERT_TRUE(
      stub()
          ->CreateTenant(TestPlatform::Context(admin()).get(), TenantRequest("rid-f", rid), &t)
          .ok());
  auto dump = DumpRedis();
  ASSERT_FALSE(dump.empty());
  int credential_records = 0, tenant_records = 0;
  for (const auto& [key, value] : dump) {
    EXPECT_FALSE(absl::StrContains(key, rid)) << key;
    EXPECT_FALSE(absl::StrContains(value, rid)) << key;
    EXPECT_FALSE(absl::StrContains(value, secret_tail)) << key;
    credential_records += absl::StartsWith(key, "{t:rid-e}:request:");
    tenant_records += absl::StartsWith(key, "{t:rid-f}:request:");
  }
  // The credential's record in its tenant's slot, the tenant's in its own.
  EXPECT_EQ(credential_records, 1);
  EXPECT_EQ(tenant_records, 1);
  // And the retry still gets the secret back.
  v1::CreateCredentialResponse retry;
  ASSERT_TRUE(stub()
                  ->CreateCredential(TestPlatform::Context(admin()).get(),
                                     CredentialRequest("tenants/rid-e", rid), &retry)
                  .ok());
  EXPECT_EQ(retry.secret(), c.secret());
}

}  // namespace
}  // namespace dialgrid::tenancy
