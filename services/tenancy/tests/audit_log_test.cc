// The audit log on a real redis-server: one record per event id, newest
// first, pages, filters, scopes kept apart, retention, bad input refused.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dialgrid/tenancy/v1/tenancy.pb.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/pages.h"
#include "services/common/core/proto_time.h"
#include "services/common/redis/redis_client.h"
#include "services/tenancy/adapters/redis_audit_store.h"
#include "services/tenancy/application/audit_log.h"
#include "tests/fixtures/redis_test.h"

namespace dialgrid::tenancy {
namespace {

class AuditLogTest : public dialgrid::testing::RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    clock_.Set(absl::Now());
    store_ = std::make_shared<RedisAuditStore>(client_);
    log_ = std::make_unique<AuditLog>(store_, clock_);
  }

  // An event as a service publishes it, `actor` its actor.
  event::v1::Envelope Event(const std::string& id, const std::string& tenant,
                            const std::string& actor, const std::string& type,
                            absl::Time time) {
    event::v1::Envelope e;
    e.set_event_id(id);
    e.set_tenant(tenant);
    e.set_actor(actor);
    e.set_type(type);
    e.set_subject(tenant.empty() ? "registries/us" : "tenants/" + tenant);
    e.set_producer("tenancy/test");
    *e.mutable_time() = ToTimestamp(time);
    v1::TenantUpdated payload;
    payload.mutable_tenant()->set_name("tenants/" + tenant);
    e.mutable_payload()->PackFrom(payload);
    return e;
  }

  v1::ListAuditRecordsResponse List(v1::ListAuditRecordsRequest req) {
    auto r = log_->List(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ListAuditRecordsResponse();
  }

  FakeClock clock_;
  std::shared_ptr<RedisAuditStore> store_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, OneRecordPerEventNewestFirstWithEverythingTheEventSaid) {
  const absl::Time t0 = clock_.Now() - absl::Minutes(10);
  ASSERT_TRUE(log_->Record(Event("e1", "acme", "vendor/credentials/ops", "dialgrid.tenancy.v1.TenantCreated", t0)).ok());
  ASSERT_TRUE(log_->Record(Event("e2", "acme", "tenants/acme/credentials/adm", "dialgrid.tenancy.v1.TenantUpdated",
                                 t0 + absl::Minutes(1))).ok());
  // A redelivery (Kafka is at-least-once) adds nothing.
  ASSERT_TRUE(log_->Record(Event("e1", "acme", "vendor/credentials/ops", "dialgrid.tenancy.v1.TenantCreated", t0)).ok());
  // Facts the platform made itself (no actor) are not admin changes.
  ASSERT_TRUE(log_->Record(Event("e3", "acme", "", "dialgrid.compliance.v1.DoNotCallChanged", t0)).ok());
  EXPECT_EQ(log_->recorded(), 2);

  v1::ListAuditRecordsRequest req;
  req.set_parent("tenants/acme");
  auto page = List(req);
  ASSERT_EQ(page.records_size(), 2);
  EXPECT_TRUE(page.next_page_token().empty());
  const v1::AuditRecord& newest = page.records(0);
  EXPECT_EQ(newest.event_id(), "e2");
  EXPECT_EQ(newest.actor(), "tenants/acme/credentials/adm");
  EXPECT_EQ(newest.action(), "dialgrid.tenancy.v1.TenantUpdated");
  EXPECT_EQ(newest.tenant(), "acme");
  EXPECT_EQ(newest.subject(), "tenants/acme");
  EXPECT_EQ(newest.producer(), "tenancy/test");
  EXPECT_EQ(FromTimestamp(newest.time()), t0 + absl::Minutes(1));
  EXPECT_EQ(FromTimestamp(newest.record_time()), clock_.Now());
  v1::TenantUpdated details;
  ASSERT_TRUE(newest.details().UnpackTo(&details));
  EXPECT_EQ(details.tenant().name(), "tenants/acme");
  EXPECT_EQ(page.records(1).event_id(), "e1");
}

TEST_F(AuditLogTest, ScopesAreKeptApart) {
  const absl::Time t = clock_.Now();
  ASSERT_TRUE(log_->Record(Event("a1", "acme", "tenants/acme/credentials/x", "T", t)).ok());
  ASSERT_TRUE(log_->Record(Event("b1", "beta", "tenants/beta/credentials/y", "T", t)).ok());
  ASSERT_TRUE(log_->Record(Event("v1", "", "vendor/credentials/ops", "dialgrid.compliance.v1.RegistryChanged", t)).ok());
  for (const auto& [parent, id] : std::vector<std::pair<std::string, std::string>>{
           {"tenants/acme", "a1"}, {"tenants/beta", "b1"}, {"vendor", "v1"}}) {
    v1::ListAuditRecordsRequest req;
    req.set_parent(parent);
    auto page = List(req);
    ASSERT_EQ(page.records_size(), 1) << parent;
    EXPECT_EQ(page.records(0).event_id(), id);
  }
  v1::ListAuditRecordsRequest none;
  none.set_parent("tenants/gamma");
  EXPECT_EQ(List(none).records_size(), 0);
  // Each tenant's log is under its own hash tag (a placed tenant's Redis).
  auto keys = client_->Command({"KEYS", "{t:acme}:audit*"});
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->elements.size(), 2u);  // the log and a1's marker
}

TEST_F(AuditLogTest, PagesAndFiltersWalkTheWholeLogOnce) {
  const absl::Time t0 = clock_.Now() - absl::Hours(1);
  for (int i = 0; i < 25; ++i) {
    const std::string actor = i % 2 == 0 ? "tenants/acme/credentials/even" : "tenants/acme/credentials/odd";
    const std::string action = i % 5 == 0 ? "dialgrid.compliance.v1.RuleSetChanged" : "dialgrid.tenancy.v1.TenantUpdated";
    ASSERT_TRUE(log_->Record(Event(absl::StrCat("p", i), "acme", actor, action, t0 + absl::Minutes(i))).ok());
  }
  // Pages of 4: every record once, newest first.
  std::vector<std::string> seen;
  v1::ListAuditRecordsRequest req;
  req.set_parent("tenants/acme");
  req.set_page_size(4);
  for (int guard = 0; guard < 20; ++guard) {
    auto page = List(req);
    for (const auto& r : page.records()) seen.push_back(r.event_id());
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
  }
  ASSERT_EQ(seen.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(seen[i], absl::StrCat("p", 24 - i));

  v1::ListAuditRecordsRequest by_actor;
  by_actor.set_parent("tenants/acme");
  by_actor.set_actor("tenants/acme/credentials/odd");
  EXPECT_EQ(List(by_actor).records_size(), 12);
  v1::ListAuditRecordsRequest by_action;
  by_action.set_parent("tenants/acme");
  by_action.set_action("dialgrid.compliance.v1.RuleSetChanged");
  EXPECT_EQ(List(by_action).records_size(), 5);
  // [t0+10m, t0+15m): p10..p14.
  v1::ListAuditRecordsRequest in_range;
  in_range.set_parent("tenants/acme");
  *in_range.mutable_start_time() = ToTimestamp(t0 + absl::Minutes(10));
  *in_range.mutable_end_time() = ToTimestamp(t0 + absl::Minutes(15));
  auto ranged = List(in_range);
  ASSERT_EQ(ranged.records_size(), 5);
  EXPECT_EQ(ranged.records(0).event_id(), "p14");
  EXPECT_EQ(ranged.records(4).event_id(), "p10");
}

TEST_F(AuditLogTest, AStartTimeEndsTheScanAtRecordsRecordedBeforeIt) {
  // Recorded (stream id) now; a start_time well after now finds nothing and
  // says so without a token, though no record was read past.
  ASSERT_TRUE(log_->Record(Event("s1", "acme", "tenants/acme/credentials/x", "T", clock_.Now())).ok());
  v1::ListAuditRecordsRequest req;
  req.set_parent("tenants/acme");
  *req.mutable_start_time() = ToTimestamp(absl::Now() + absl::Hours(1));
  auto page = List(req);
  EXPECT_EQ(page.records_size(), 0);
  EXPECT_TRUE(page.next_page_token().empty());
}

TEST_F(AuditLogTest, RecordsOlderThanTheRetentionAreTrimmed) {
  RedisAuditStoreOptions o;
  o.retention = absl::Seconds(1);  // by Redis' clock (the service's is at least 31 days)
  auto store = std::make_shared<RedisAuditStore>(client_, o);
  AuditLog log(store, clock_);
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(log.Record(Event(absl::StrCat("r", i), "acme", "tenants/acme/credentials/x", "T", clock_.Now())).ok());
  }
  // Past the retention, one more record: the 300 go ("~": whole stream
  // nodes of 100 at a time; at most one node lingers).
  absl::SleepFor(absl::Milliseconds(1100));
  ASSERT_TRUE(log.Record(Event("late", "acme", "tenants/acme/credentials/x", "T", clock_.Now())).ok());
  auto len = client_->Command({"XLEN", "{t:acme}:audit"});
  ASSERT_TRUE(len.ok());
  EXPECT_LE(len->integer, 101);
  EXPECT_GE(len->integer, 1);
}

TEST_F(AuditLogTest, BadInputIsRefusedWithItsReason) {
  auto reason = [&](const v1::ListAuditRecordsRequest& req) { return ReasonOf(log_->List(req).status()); };
  v1::ListAuditRecordsRequest req;
  req.set_parent("tenants/");
  EXPECT_EQ(reason(req), "INVALID_ID");
  req.set_parent("vendors");
  EXPECT_EQ(reason(req), "MALFORMED_NAME");
  req.set_parent("tenants/acme/credentials/x");
  EXPECT_EQ(reason(req), "MALFORMED_NAME");
  req.set_parent("tenants/acme");
  req.set_page_size(-1);
  EXPECT_EQ(reason(req), "INVALID_PAGE_SIZE");
  req.set_page_size(0);
  req.set_page_token("garbage");
  EXPECT_EQ(reason(req), "INVALID_PAGE_TOKEN");
  req.set_page_token(EncodePageToken("not-a-position"));
  EXPECT_EQ(reason(req), "INVALID_PAGE_TOKEN");
  req.set_page_token(EncodePageToken("+1-0"));
  EXPECT_EQ(reason(req), "INVALID_PAGE_TOKEN");
  req.clear_page_token();
  req.set_actor(std::string(2000, 'a'));
  EXPECT_EQ(reason(req), "FIELD_TOO_LONG");
  req.clear_actor();
  *req.mutable_start_time() = ToTimestamp(absl::FromUnixSeconds(2000));
  *req.mutable_end_time() = ToTimestamp(absl::FromUnixSeconds(1000));
  EXPECT_EQ(reason(req), "AUDIT_RANGE_INVALID");
}

TEST_F(AuditLogTest, RedisDownIsUnavailableAndTheConsumerRetries) {
  redis::Options o;
  o.host = "127.0.0.1";
  o.port = 1;  // nothing listens
  auto c = redis::Client::Create(o);
  ASSERT_TRUE(c.ok());
  AuditLog log(std::make_shared<RedisAuditStore>(std::shared_ptr<redis::Client>(std::move(*c))),
               clock_);
  absl::Status st = log.Record(Event("x1", "acme", "tenants/acme/credentials/x", "T", clock_.Now()));
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_EQ(log.recorded(), 0);
}

}  // namespace
}  // namespace dialgrid::tenancy
