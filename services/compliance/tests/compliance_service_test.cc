// Service tests: the dialgrid-compliance binary (with dialgrid-tenancy for
// credentials and dialgrid-contacts for erasure events) against a real
// redis-server and the Kafka-protocol broker, over loopback gRPC.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "dialgrid/compliance/v1/compliance.grpc.pb.h"
#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/auth/principal.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/kafka/event_publisher.h"
#include "services/common/kafka/kafka_producer.h"
#include "services/common/server/grpc_status.h"
#include "tests/fixtures/enum_walk.h"
#include "tests/fixtures/test_platform.h"
#include "tests/fixtures/topic_recorder.h"

namespace dialgrid::compliance {
namespace {

using dialgrid::testing::TestPlatform;
using dialgrid::testing::TopicRecorder;
using google::protobuf::util::TimeUtil;
using Stub = v1::ComplianceService::Stub;

constexpr char kNy[] = "+12122010601";


// The ErrorInfo reason of a failed call.
std::string ReasonOf(const grpc::Status& st) { return dialgrid::ReasonOf(FromGrpcStatus(st)); }

class ComplianceServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto platform = TestPlatform::Start();
    ASSERT_TRUE(platform.ok()) << platform.status();
    platform_ = platform->release();
    // contacts for its erasure events; compliance under test.
    ASSERT_TRUE(platform_->StartService("contacts", DIALGRID_CONTACTS_BIN).ok())
        << "see " << platform_->LogPath("contacts");
    ASSERT_TRUE(platform_->StartService("compliance", DIALGRID_COMPLIANCE_BIN).ok())
        << "see " << platform_->LogPath("compliance");
    channel_ = new std::shared_ptr<grpc::Channel>(platform_->Channel("compliance"));
    admin_ = new std::string(platform_->admin_secret());
    service_ = new std::string(platform_->service_secret());

    CreateTenant("cs-a");
    CreateTenant("cs-b");
    a_ = new std::string(Credential("cs-a", tenancy::v1::ROLE_TENANT_ADMIN));
    b_ = new std::string(Credential("cs-b", tenancy::v1::ROLE_TENANT_ADMIN));
    agent_a_ = new std::string(Credential("cs-a", tenancy::v1::ROLE_AGENT));
  }

  static void TearDownTestSuite() {
    delete channel_;
    delete platform_;  // stops compliance, contacts, tenancy, the broker and Redis
    for (auto* s : {a_, b_, agent_a_, admin_, service_}) delete s;
  }

  void SetUp() override {
    ASSERT_NE(agent_a_, nullptr) << "suite setup failed; logs under "
                                 << (platform_ ? platform_->dir() : std::string("(none)"));
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& secret) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    if (!secret.empty()) ctx->AddMetadata("authorization", "Bearer " + secret);
    return ctx;
  }
  static std::unique_ptr<Stub> stub() { return v1::ComplianceService::NewStub(*channel_); }
  static std::unique_ptr<tenancy::v1::TenancyService::Stub> tenancy() {
    return tenancy::v1::TenancyService::NewStub(
        platform_->Channel("tenancy"));
  }

  static void CreateTenant(const std::string& id) {
    tenancy::v1::CreateTenantRequest req;
    req.set_tenant_id(id);
    req.mutable_tenant()->set_display_name("Tenant " + id);
    req.mutable_tenant()->set_time_zone("America/New_York");
    req.mutable_tenant()->mutable_quota()->set_max_contacts(1000);
    tenancy::v1::Tenant t;
    grpc::Status st = tenancy()->CreateTenant(Ctx(*admin_).get(), req, &t);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  static std::string Credential(const std::string& tenant, tenancy::v1::Role role) {
    tenancy::v1::CreateCredentialRequest req;
    req.set_parent("tenants/" + tenant);
    req.mutable_credential()->set_display_name("test");
    req.mutable_credential()->add_roles(role);
    tenancy::v1::CreateCredentialResponse resp;
    grpc::Status st = tenancy()->CreateCredential(Ctx(*admin_).get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.secret();
  }

  // Around-the-clock calling hours (deterministic whatever the time of day)
  // and one attempt per number per day.
  static void SetRules(const std::string& secret, const std::string& tenant) {
    v1::UpdateRuleSetRequest req;
    v1::RuleSet* rs = req.mutable_rule_set();
    rs->set_name("tenants/" + tenant + "/ruleSet");
    rs->add_calling_hours_presets("KR-ICNA");
    auto* r = rs->add_custom_calling_hours();
    r->set_id("TEST-ALWAYS");
    r->set_jurisdiction("US");
    for (int i = 0; i < 7; ++i) r->add_weekday_windows("00:00-24:00");
    auto* cap = rs->add_number_caps();
    cap->set_id("1-PER-DAY");
    cap->set_max_attempts(1);
    *cap->mutable_window() = TimeUtil::SecondsToDuration(86400);
    v1::GetRuleSetRequest get;
    get.set_name(rs->name());
    v1::RuleSet cur;
    if (stub()->GetRuleSet(Ctx(secret).get(), get, &cur).ok()) req.set_expected_version(cur.version());
    v1::RuleSet out;
    grpc::Status st = stub()->UpdateRuleSet(Ctx(secret).get(), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  static grpc::Status Check(const std::string& secret, const std::string& tenant,
                            const std::string& number, v1::DialDecision* out) {
    v1::CheckDialRequest req;
    req.set_campaign("tenants/" + tenant + "/campaigns/c1");
    req.set_phone_number(number);
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    return stub()->CheckDial(Ctx(secret).get(), req, out);
  }

  // Polls `fn` until it returns true (events travel through Kafka).
  static bool Eventually(const std::function<bool()>& fn, absl::Duration limit = absl::Seconds(30)) {
    absl::Time deadline = absl::Now() + limit;
    while (absl::Now() < deadline) {
      if (fn()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  static TestPlatform* platform_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static std::string *admin_, *service_, *a_, *b_, *agent_a_;
};

TestPlatform* ComplianceServiceTest::platform_ = nullptr;
std::shared_ptr<grpc::Channel>* ComplianceServiceTest::channel_ = nullptr;
std::string* ComplianceServiceTest::admin_ = nullptr;
std::string* ComplianceServiceTest::service_ = nullptr;
std::string* ComplianceServiceTest::a_ = nullptr;
std::string* ComplianceServiceTest::b_ = nullptr;
std::string* ComplianceServiceTest::agent_a_ = nullptr;

TEST_F(ComplianceServiceTest, CheckDialAllowsThenCountsAndPublishesTheDecision) {
  auto recorder = TopicRecorder::Start(platform_->broker().bootstrap(), {"compliance"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();

  SetRules(*a_, "cs-a");
  v1::DialDecision first, second;
  // The dialer checks with the platform services' credential.
  grpc::Status st = Check(*service_, "cs-a", kNy, &first);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(first.allowed()) << first.DebugString();
  EXPECT_FALSE(first.decision_id().empty());
  ASSERT_TRUE(Check(*service_, "cs-a", kNy, &second).ok());
  EXPECT_FALSE(second.allowed());
  ASSERT_EQ(second.reasons_size(), 1);
  EXPECT_EQ(second.reasons(0).code(), "ATTEMPT_CAP_NUMBER");
  EXPECT_TRUE(second.has_next_allowed_time());

  bool seen = (*recorder)->WaitFor([&](const std::vector<event::v1::Envelope>& events) {
    int found = 0;
    for (const auto& e : events) {
      v1::DialDecision d;
      if (e.type() == "dialgrid.compliance.v1.DialDecision" && e.payload().UnpackTo(&d) &&
          (d.decision_id() == first.decision_id() || d.decision_id() == second.decision_id())) {
        EXPECT_EQ(e.tenant(), "cs-a");
        EXPECT_EQ(d.allowed(), d.decision_id() == first.decision_id());
        ++found;
      }
    }
    return found == 2;
  });
  EXPECT_TRUE(seen) << "both decisions on the compliance topic";
  (*recorder)->Stop();

  // Audit query.
  v1::ListDialRecordsRequest list;
  list.set_parent("tenants/cs-a");
  list.set_phone_number(kNy);
  v1::ListDialRecordsResponse records;
  ASSERT_TRUE(stub()->ListDialRecords(Ctx(*a_).get(), list, &records).ok());
  ASSERT_GE(records.records_size(), 2);
}

TEST_F(ComplianceServiceTest, EveryRpcRefusesAnotherTenantsResources) {
  SetRules(*b_, "cs-b");
  auto expect_denied = [](const grpc::Status& st, const char* what) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what << ": " << st.error_message();
    EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH") << what;
  };
  const std::string& a = *a_;
  v1::DialDecision d;
  expect_denied(Check(a, "cs-b", kNy, &d), "CheckDial");
  {
    v1::ScrubNumbersRequest r;
    r.set_campaign("tenants/cs-b/campaigns/c1");
    r.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    r.add_entries()->set_phone_number(kNy);
    v1::ScrubNumbersResponse out;
    expect_denied(stub()->ScrubNumbers(Ctx(a).get(), r, &out), "ScrubNumbers");
  }
  {
    v1::UpdateRuleSetRequest r;
    r.mutable_rule_set()->set_name("tenants/cs-b/ruleSet");
    r.set_expected_version(1);
    v1::RuleSet out;
    expect_denied(stub()->UpdateRuleSet(Ctx(a).get(), r, &out), "UpdateRuleSet");
    v1::GetRuleSetRequest g;
    g.set_name("tenants/cs-b/ruleSet");
    expect_denied(stub()->GetRuleSet(Ctx(a).get(), g, &out), "GetRuleSet");
  }
  {
    v1::AddDoNotCallNumbersRequest r;
    r.set_parent("tenants/cs-b");
    r.add_phone_numbers(kNy);
    v1::AddDoNotCallNumbersResponse out;
    expect_denied(stub()->AddDoNotCallNumbers(Ctx(a).get(), r, &out), "AddDoNotCallNumbers");
    v1::RemoveDoNotCallNumbersRequest rm;
    rm.set_parent("tenants/cs-b/campaigns/c1");
    rm.add_phone_numbers(kNy);
    v1::RemoveDoNotCallNumbersResponse rout;
    expect_denied(stub()->RemoveDoNotCallNumbers(Ctx(a).get(), rm, &rout), "RemoveDoNotCallNumbers");
    v1::CheckDoNotCallRequest c;
    c.set_parent("tenants/cs-b");
    c.set_phone_number(kNy);
    v1::CheckDoNotCallResponse cout;
    expect_denied(stub()->CheckDoNotCall(Ctx(a).get(), c, &cout), "CheckDoNotCall");
  }
  {
    v1::RecordConsentRequest r;
    r.set_parent("tenants/cs-b");
    v1::Consent out;
    expect_denied(stub()->RecordConsent(Ctx(a).get(), r, &out), "RecordConsent");
    v1::RevokeConsentRequest rv;
    rv.set_name("tenants/cs-b/consents/tel-12122010601");
    expect_denied(stub()->RevokeConsent(Ctx(a).get(), rv, &out), "RevokeConsent");
    v1::GetConsentRequest g;
    g.set_name("tenants/cs-b/consents/tel-12122010601");
    expect_denied(stub()->GetConsent(Ctx(a).get(), g, &out), "GetConsent");
  }
  {
    v1::GetAbandonRateRequest r;
    r.set_campaign("tenants/cs-b/campaigns/c1");
    v1::AbandonRate out;
    expect_denied(stub()->GetAbandonRate(Ctx(a).get(), r, &out), "GetAbandonRate");
    v1::ListDialRecordsRequest l;
    l.set_parent("tenants/cs-b");
    l.set_phone_number(kNy);
    v1::ListDialRecordsResponse lout;
    expect_denied(stub()->ListDialRecords(Ctx(a).get(), l, &lout), "ListDialRecords");
    v1::ListCallingHoursPresetsRequest p;
    p.set_parent("tenants/cs-b");
    v1::ListCallingHoursPresetsResponse pout;
    expect_denied(stub()->ListCallingHoursPresets(Ctx(a).get(), p, &pout), "ListCallingHoursPresets");
    v1::ListRegistriesRequest rg;
    rg.set_parent("tenants/cs-b");
    v1::ListRegistriesResponse rgout;
    expect_denied(stub()->ListRegistries(Ctx(a).get(), rg, &rgout), "ListRegistries");
    v1::RecordCallOutcomeRequest rc;
    rc.set_parent("tenants/cs-b");
    v1::CallOutcomeRecorded rcout;
    expect_denied(stub()->RecordCallOutcome(Ctx(a).get(), rc, &rcout), "RecordCallOutcome");
  }
  // A contact of another tenant inside an own campaign's check.
  v1::CheckDialRequest mixed;
  mixed.set_campaign("tenants/cs-a/campaigns/c1");
  mixed.set_contact("tenants/cs-b/contactLists/l/contacts/x");
  mixed.set_phone_number(kNy);
  mixed.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  expect_denied(stub()->CheckDial(Ctx(a).get(), mixed, &d), "CheckDial contact");
}

TEST_F(ComplianceServiceTest, AuthenticationRolesAndBadInput) {
  v1::DialDecision d;
  EXPECT_EQ(Check("", "cs-a", kNy, &d).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Check("dgk_nope", "cs-a", kNy, &d).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Agents record opt-outs but neither decide dials nor take numbers off a list.
  grpc::Status st = Check(*agent_a_, "cs-a", kNy, &d);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "ROLE_NOT_ALLOWED");
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/cs-a");
  add.add_phone_numbers("+12122010999");
  add.set_reason("callee asked during the call");
  v1::AddDoNotCallNumbersResponse added;
  st = stub()->AddDoNotCallNumbers(Ctx(*agent_a_).get(), add, &added);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(added.added(), 1);
  v1::RemoveDoNotCallNumbersRequest rm;
  rm.set_parent("tenants/cs-a");
  rm.add_phone_numbers("+12122010999");
  v1::RemoveDoNotCallNumbersResponse removed;
  EXPECT_EQ(stub()->RemoveDoNotCallNumbers(Ctx(*agent_a_).get(), rm, &removed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  st = Check(*a_, "cs-a", "555", &d);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(ReasonOf(st).empty());

  v1::UpdateRuleSetRequest bad;
  bad.mutable_rule_set()->set_name("tenants/cs-a/ruleSet");
  auto* r = bad.mutable_rule_set()->add_custom_calling_hours();
  r->set_id("BAD");
  r->set_jurisdiction("US");
  for (int i = 0; i < 7; ++i) r->add_weekday_windows("21:00-08:00");
  v1::GetRuleSetRequest get;
  get.set_name("tenants/cs-a/ruleSet");
  v1::RuleSet cur;
  if (stub()->GetRuleSet(Ctx(*a_).get(), get, &cur).ok()) bad.set_expected_version(cur.version());
  v1::RuleSet out;
  st = stub()->UpdateRuleSet(Ctx(*a_).get(), bad, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "WINDOW_ENDS_BEFORE_START");

  // Registries are the vendor's.
  v1::UpdateRegistryRequest ureg;
  ureg.set_name("registries/us-national");
  ureg.add_add_numbers(kNy);
  v1::UpdateRegistryResponse ureg_out;
  st = stub()->UpdateRegistry(Ctx(*a_).get(), ureg, &ureg_out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  st = stub()->UpdateRegistry(Ctx(*admin_).get(), ureg, &ureg_out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << "no registry loaded here";
  v1::PruneRegistryOverlayRequest prune;
  prune.set_name("registries/us-national");
  prune.mutable_through()->set_year(2025);
  prune.mutable_through()->set_month(12);
  prune.mutable_through()->set_day(31);
  v1::PruneRegistryOverlayResponse pruned;
  st = stub()->PruneRegistryOverlay(Ctx(*a_).get(), prune, &pruned);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  st = stub()->PruneRegistryOverlay(Ctx(*admin_).get(), prune, &pruned);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << "no registry loaded here";

  v1::ListCallingHoursPresetsRequest p;
  p.set_parent("tenants/cs-a");
  v1::ListCallingHoursPresetsResponse presets;
  ASSERT_TRUE(stub()->ListCallingHoursPresets(Ctx(*agent_a_).get(), p, &presets).ok());
  bool fed = false;
  for (const auto& pr : presets.presets()) {
    if (pr.id() == "US-FED") {
      fed = true;
      EXPECT_EQ(pr.weekday_windows(0), "08:00-21:00");
      EXPECT_FALSE(pr.source().empty());
    }
  }
  EXPECT_TRUE(fed);
}

TEST_F(ComplianceServiceTest, ErasureInContactsPutsTheNumberOnTheDoNotCallList) {
  SetRules(*a_, "cs-a");
  auto contacts = contacts::v1::ContactsService::NewStub(
      platform_->Channel("contacts"));
  contacts::v1::CreateContactListRequest cl;
  cl.set_parent("tenants/cs-a");
  cl.set_contact_list_id("erase");
  cl.mutable_contact_list()->set_display_name("Erase");
  contacts::v1::ContactList list;
  grpc::Status st = contacts->CreateContactList(Ctx(*a_).get(), cl, &list);
  ASSERT_TRUE(st.ok()) << st.error_message();
  contacts::v1::CreateContactRequest cc;
  cc.set_parent(list.name());
  cc.mutable_contact()->set_external_id("p-1");
  cc.mutable_contact()->add_phones()->mutable_number()->set_e164("+13052010123");
  contacts::v1::Contact contact;
  st = contacts->CreateContact(Ctx(*a_).get(), cc, &contact);
  ASSERT_TRUE(st.ok()) << st.error_message();
  contacts::v1::EraseContactDataRequest er;
  er.set_parent("tenants/cs-a");
  er.set_phone_number("+13052010123");
  contacts::v1::EraseContactDataResponse erased;
  st = contacts->EraseContactData(Ctx(*a_).get(), er, &erased);
  ASSERT_TRUE(st.ok()) << st.error_message();

  bool listed = Eventually([&] {
    v1::CheckDoNotCallRequest c;
    c.set_parent("tenants/cs-a");
    c.set_phone_number("+13052010123");
    v1::CheckDoNotCallResponse out;
    return stub()->CheckDoNotCall(Ctx(*a_).get(), c, &out).ok() && out.entries_size() == 1;
  });
  EXPECT_TRUE(listed) << "the ContactErased event reached the compliance service";
  v1::DialDecision d;
  ASSERT_TRUE(Check(*service_, "cs-a", "+13052010123", &d).ok());
  EXPECT_FALSE(d.allowed());
  ASSERT_GE(d.reasons_size(), 1);
  EXPECT_EQ(d.reasons(0).code(), "DNC_TENANT");
  // The other tenant may still call the number.
  SetRules(*b_, "cs-b");
  ASSERT_TRUE(Check(*service_, "cs-b", "+13052010123", &d).ok());
  EXPECT_TRUE(d.allowed());
}

// A tenant admin's rule-set and do-not-call changes reach tenancy's audit
// log with the admin's credential as the actor; the do-not-call entries a
// contact erasure makes (the platform's own doing) are not admin changes.
TEST_F(ComplianceServiceTest, AdminChangesReachTheAuditLogWithTheirActor) {
  CreateTenant("cs-audit");
  tenancy::v1::CreateCredentialRequest cr;
  cr.set_parent("tenants/cs-audit");
  cr.mutable_credential()->set_display_name("auditor");
  cr.mutable_credential()->add_roles(tenancy::v1::ROLE_TENANT_ADMIN);
  tenancy::v1::CreateCredentialResponse admin;
  ASSERT_TRUE(tenancy()->CreateCredential(Ctx(*admin_).get(), cr, &admin).ok());
  SetRules(admin.secret(), "cs-audit");
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/cs-audit");
  add.add_phone_numbers(kNy);
  add.set_reason("asked on the phone");
  v1::AddDoNotCallNumbersResponse added;
  ASSERT_TRUE(stub()->AddDoNotCallNumbers(Ctx(admin.secret()).get(), add, &added).ok());

  tenancy::v1::ListAuditRecordsRequest req;
  req.set_parent("tenants/cs-audit");
  std::map<std::string, std::string> actor_of;  // action -> actor
  const bool recorded = Eventually([&] {
    tenancy::v1::ListAuditRecordsResponse resp;
    if (!tenancy()->ListAuditRecords(Ctx(admin.secret()).get(), req, &resp).ok()) return false;
    actor_of.clear();
    for (const auto& r : resp.records()) actor_of[r.action()] = r.actor();
    return actor_of.count("dialgrid.compliance.v1.RuleSetChanged") == 1 &&
           actor_of.count("dialgrid.compliance.v1.DoNotCallChanged") == 1;
  });
  ASSERT_TRUE(recorded) << "the compliance events reached the audit log";
  EXPECT_EQ(actor_of["dialgrid.compliance.v1.RuleSetChanged"], admin.credential().name());
  EXPECT_EQ(actor_of["dialgrid.compliance.v1.DoNotCallChanged"], admin.credential().name());
  EXPECT_TRUE(absl::StartsWith(actor_of["dialgrid.tenancy.v1.TenantCreated"], "vendor/credentials/"));
  // Another tenant's admin cannot read it.
  tenancy::v1::ListAuditRecordsResponse resp;
  grpc::Status st = tenancy()->ListAuditRecords(Ctx(*b_).get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH");
}

TEST_F(ComplianceServiceTest, CallEventsOnTheDialingTopicAreCounted) {
  SetRules(*a_, "cs-a");
  const std::string number = "+16502530010";
  v1::DialDecision d;
  ASSERT_TRUE(Check(*service_, "cs-a", number, &d).ok());
  ASSERT_TRUE(d.allowed());
  // The dialer could not place the call: the attempt is given back.
  kafka::ProducerOptions po;
  po.bootstrap_servers = platform_->broker().bootstrap();
  auto producer = kafka::KafkaProducer::Create(po);
  ASSERT_TRUE(producer.ok()) << producer.status();
  dialing::v1::CallAttemptEnded call;
  call.set_campaign("tenants/cs-a/campaigns/c1");
  call.set_phone_number(number);
  call.set_decision_id(d.decision_id());
  call.set_outcome(dialing::v1::CALL_OUTCOME_NOT_PLACED);
  *call.mutable_dial_time() = TimeUtil::GetCurrentTime();
  ASSERT_TRUE((*producer)->Publish("dialing", kafka::MakeEnvelope("cs-a", "call-1", call, "test",
                                                                 SystemClock::Get())).ok());
  bool released = Eventually([&] {
    v1::ScrubNumbersRequest r;
    r.set_campaign("tenants/cs-a/campaigns/c1");
    r.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    r.add_entries()->set_phone_number(number);
    v1::ScrubNumbersResponse out;
    return stub()->ScrubNumbers(Ctx(*a_).get(), r, &out).ok() && out.results_size() == 1 &&
           out.results(0).decision().allowed();
  });
  EXPECT_TRUE(released) << "the NOT_PLACED event gave the attempt back";
}

TEST_F(ComplianceServiceTest, ScrubStreamDecidesAListAtTheClientsPace) {
  SetRules(*a_, "cs-a");
  auto ctx = Ctx(*a_);
  auto stream = stub()->ScrubStream(ctx.get());
  int decided = 0;
  for (int page = 0; page < 3; ++page) {
    v1::ScrubStreamRequest msg;
    v1::ScrubNumbersRequest& req = *msg.mutable_page();
    req.set_campaign("tenants/cs-a/campaigns/c1");
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    req.add_entries()->set_phone_number(absl::StrCat("+1650253020", page));
    req.add_entries()->set_phone_number(page == 1 ? "garbage" : absl::StrCat("+1212201090", page));
    ASSERT_TRUE(stream->Write(msg));
    v1::ScrubStreamResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    ASSERT_EQ(resp.page().results_size(), 2);
    for (const auto& r : resp.page().results()) {
      if (r.has_decision()) {
        EXPECT_TRUE(r.decision().allowed()) << r.decision().DebugString();
        EXPECT_TRUE(r.decision().scrub());
        ++decided;
      } else {
        EXPECT_FALSE(r.error().empty());
      }
    }
  }
  stream->WritesDone();
  grpc::Status st = stream->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(decided, 5);

  // Another tenant's campaign, and a campaign changed mid-stream.
  auto ctx_b = Ctx(*b_);
  auto other = stub()->ScrubStream(ctx_b.get());
  v1::ScrubStreamRequest msg;
  v1::ScrubNumbersRequest& req = *msg.mutable_page();
  req.set_campaign("tenants/cs-a/campaigns/c1");
  req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  req.add_entries()->set_phone_number(kNy);
  other->Write(msg);
  other->WritesDone();
  st = other->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH");

  auto ctx_c = Ctx(*a_);
  auto changed = stub()->ScrubStream(ctx_c.get());
  ASSERT_TRUE(changed->Write(msg));
  v1::ScrubStreamResponse first;
  ASSERT_TRUE(changed->Read(&first));
  req.set_campaign("tenants/cs-a/campaigns/c2");
  changed->Write(msg);
  changed->WritesDone();
  st = changed->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "CAMPAIGN_CHANGED");
}

// proto3 enums are open: every enum field of every request, set to a number
// its enum does not define, is refused naming the field, before any handler
// runs. Found by a black-box client: CheckDial with dialing_mode 6, 99 or 1000
// was taken for a person dialing and skipped the consent rule (ALLOWED where
// PROGRESSIVE is CONSENT_REQUIRED), and RecordConsent stored consent.type 99,
// which then satisfied the consent rule.
TEST_F(ComplianceServiceTest, EveryUndefinedEnumValueOfEveryRequestIsRefused) {
  const std::string c1 = "campaign: \"tenants/cs-a/campaigns/c1\"";
  std::map<std::string, dialgrid::testing::EnumProbeCase> cases = {
      {"CheckDial", {c1, *a_}},
      {"ScrubNumbers", {c1, *a_}},
      {"UpdateRuleSet", {"rule_set { name: \"tenants/cs-a/ruleSet\" }", *a_}},
      {"GetRuleSet", {"name: \"tenants/cs-a/ruleSet\"", *a_}},
      {"ListCallingHoursPresets", {"parent: \"tenants/cs-a\"", *a_}},
      {"AddDoNotCallNumbers", {"parent: \"tenants/cs-a\"", *a_}},
      {"RemoveDoNotCallNumbers", {"parent: \"tenants/cs-a\"", *a_}},
      {"CheckDoNotCall", {"parent: \"tenants/cs-a\"", *a_}},
      {"ListRegistries", {"parent: \"tenants/cs-a\"", *a_}},
      {"RecordConsent", {"parent: \"tenants/cs-a\"", *a_}},
      {"RevokeConsent", {"name: \"tenants/cs-a/consents/tel-12125550100\"", *a_}},
      {"GetConsent", {"name: \"tenants/cs-a/consents/tel-12125550100\"", *a_}},
      {"GetAbandonRate", {c1, *a_}},
      {"ListDialRecords", {"parent: \"tenants/cs-a\"", *a_}},
      {"RecordCallOutcome", {"parent: \"tenants/cs-a\"", *a_}},
      {"RecordEstablishedRelationship", {"parent: \"tenants/cs-a\"", *a_}},
      {"ListEstablishedRelationships", {"parent: \"tenants/cs-a\"", *a_}},
      {"RecordSolicitationRefusal", {"parent: \"tenants/cs-a\"", *a_}},
      {"ListSolicitationRefusals", {"parent: \"tenants/cs-a\"", *a_}},
      {"CreateRegistry", {"registry_id: \"enum-probe\"", *admin_}},
  };
  std::vector<std::string> problems = dialgrid::testing::ProbeEnums(
      *channel_, *v1::CheckDialRequest::descriptor()->file()->FindServiceByName("ComplianceService"), cases);
  EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");

  // The case the black-box client found, spelled out: still refused with the
  // consent rule in force, and never decided.
  SetRules(*a_, "cs-a");
  for (int mode : {6, 99, 1000}) {
    v1::CheckDialRequest req;
    req.set_campaign("tenants/cs-a/campaigns/c1");
    req.set_phone_number("+16502530999");
    req.set_dialing_mode(static_cast<type::v1::DialingMode>(mode));
    v1::DialDecision d;
    grpc::Status st = stub()->CheckDial(Ctx(*service_).get(), req, &d);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << mode;
    EXPECT_EQ(ReasonOf(st), "UNKNOWN_ENUM_VALUE") << mode;
    EXPECT_EQ(FieldOf(FromGrpcStatus(st)), "dialing_mode") << mode;
  }
  // Authorization still comes first: another tenant's campaign is
  // PERMISSION_DENIED whatever the enum says.
  v1::CheckDialRequest other;
  other.set_campaign("tenants/cs-b/campaigns/c1");
  other.set_dialing_mode(static_cast<type::v1::DialingMode>(99));
  v1::DialDecision d;
  EXPECT_EQ(stub()->CheckDial(Ctx(*a_).get(), other, &d).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// Found by a black-box client: a rule set with a 100 KB holiday string came
// back with 200 KB of error details, which a default client (8 KB of
// metadata) sees as RESOURCE_EXHAUSTED; a cap window of 86400 s and -1 ns and
// a jurisdiction with control characters were accepted.
TEST_F(ComplianceServiceTest, MalformedRuleSetsAreRefusedWithBoundedErrors) {
  auto update = [&](const std::function<void(v1::RuleSet&)>& edit) {
    v1::UpdateRuleSetRequest req;
    v1::RuleSet* rs = req.mutable_rule_set();
    rs->set_name("tenants/cs-b/ruleSet");
    auto* r = rs->add_custom_calling_hours();
    r->set_id("TEST-ALWAYS");
    r->set_jurisdiction("US");
    for (int i = 0; i < 7; ++i) r->add_weekday_windows("00:00-24:00");
    edit(*rs);
    v1::GetRuleSetRequest get;
    get.set_name(rs->name());
    v1::RuleSet cur;
    if (stub()->GetRuleSet(Ctx(*b_).get(), get, &cur).ok()) req.set_expected_version(cur.version());
    v1::RuleSet out;
    return stub()->UpdateRuleSet(Ctx(*b_).get(), req, &out);
  };
  grpc::Status st = update([](v1::RuleSet& rs) {
    rs.mutable_custom_calling_hours(0)->add_holidays(std::string(100 * 1024, '7'));
  });
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message().size();
  EXPECT_EQ(ReasonOf(st), "MALFORMED_HOLIDAY");
  EXPECT_LT(st.error_message().size() + st.error_details().size(), 4096u);

  st = update([](v1::RuleSet& rs) {
    auto* cap = rs.add_number_caps();
    cap->set_id("1-PER-DAY");
    cap->set_max_attempts(1);
    cap->mutable_window()->set_seconds(86400);
    cap->mutable_window()->set_nanos(-1);
  });
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "INVALID_DURATION");
  EXPECT_EQ(FieldOf(FromGrpcStatus(st)), "rule_set.number_caps[0].window");

  for (std::string j : {std::string("U\x01"), std::string("US-F\nL"), std::string("us"),
                        std::string("US-\xE2\x80\xAE" "FL")}) {
    st = update([&](v1::RuleSet& rs) { rs.mutable_custom_calling_hours(0)->set_jurisdiction(j); });
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << j;
    EXPECT_EQ(ReasonOf(st), "MALFORMED_JURISDICTION") << j;
  }
  EXPECT_TRUE(update([](v1::RuleSet& rs) {
                rs.mutable_custom_calling_hours(0)->set_jurisdiction("US-FL");
              }).ok());
}

// Every message of a streamed scrub is checked, not only the first.
TEST_F(ComplianceServiceTest, ScrubStreamRefusesAnUndefinedEnumInAnyPage) {
  SetRules(*a_, "cs-a");
  for (int bad_page : {0, 1}) {
    auto ctx = Ctx(*a_);
    auto stream = stub()->ScrubStream(ctx.get());
    for (int page = 0; page <= bad_page; ++page) {
      v1::ScrubStreamRequest msg;
      v1::ScrubNumbersRequest& req = *msg.mutable_page();
      req.set_campaign("tenants/cs-a/campaigns/c1");
      req.set_dialing_mode(page == bad_page ? static_cast<type::v1::DialingMode>(99)
                                            : type::v1::DIALING_MODE_PREVIEW);
      req.add_entries()->set_phone_number("+16502530201");
      if (!stream->Write(msg)) break;
      if (page < bad_page) {
        v1::ScrubStreamResponse resp;
        ASSERT_TRUE(stream->Read(&resp));
      }
    }
    stream->WritesDone();
    grpc::Status st = stream->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad_page;
    EXPECT_EQ(ReasonOf(st), "UNKNOWN_ENUM_VALUE") << bad_page;
    EXPECT_EQ(FieldOf(FromGrpcStatus(st)), "page.dialing_mode") << bad_page;
  }
}

TEST_F(ComplianceServiceTest, SigtermStopsCleanly) {
  ASSERT_TRUE(platform_
                  ->StartService("compliance-2", DIALGRID_COMPLIANCE_BIN,
                                 {"--consumer_group=compliance-2"})
                  .ok());
  auto code = platform_->StopService("compliance-2", absl::Seconds(20));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

// Issue 21 through the public API: consent by type (oral consent does not
// meet the written-consent row for an automated dial to a US wireless
// number), the purpose and debt inputs, and a day ban with its own reason
// (a scrub at a stated future Sunday, Mississippi).
TEST_F(ComplianceServiceTest, ConsentByTypePurposeAndDayBansThroughTheApi) {
  SetRules(*a_, "cs-a");
  const std::string number = "+16502530777";
  v1::CheckDialRequest req;
  req.set_campaign("tenants/cs-a/campaigns/c1");
  req.set_phone_number(number);
  req.set_dialing_mode(type::v1::DIALING_MODE_PREDICTIVE);
  v1::DialDecision d;
  ASSERT_TRUE(stub()->CheckDial(Ctx(*service_).get(), req, &d).ok());
  EXPECT_FALSE(d.allowed());
  ASSERT_EQ(d.reasons_size(), 1) << d.DebugString();
  EXPECT_EQ(d.reasons(0).code(), "CONSENT_REQUIRED");
  EXPECT_EQ(d.reasons(0).rule(), "US-TCPA-AUTODIALED-WIRELESS");
  EXPECT_EQ(d.required_consent(), v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  EXPECT_EQ(d.purpose(), type::v1::CALL_PURPOSE_TELEMARKETING);

  auto record = [&](v1::ConsentType type) {
    v1::RecordConsentRequest rec;
    rec.set_parent("tenants/cs-a");
    rec.mutable_consent()->set_phone_number(number);
    rec.mutable_consent()->set_type(type);
    *rec.mutable_consent()->mutable_grant_time() =
        TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(absl::Now() - absl::Hours(1)));
    v1::Consent out;
    grpc::Status st = stub()->RecordConsent(Ctx(*a_).get(), rec, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  };
  record(v1::CONSENT_TYPE_PRIOR_EXPRESS);  // oral
  ASSERT_TRUE(stub()->CheckDial(Ctx(*service_).get(), req, &d).ok());
  EXPECT_FALSE(d.allowed()) << d.DebugString();
  record(v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  ASSERT_TRUE(stub()->CheckDial(Ctx(*service_).get(), req, &d).ok());
  EXPECT_TRUE(d.allowed()) << d.DebugString();

  // Debt collection names its debt.
  v1::CheckDialRequest debt = req;
  debt.set_dialing_mode(type::v1::DIALING_MODE_MANUAL);
  debt.set_purpose(type::v1::CALL_PURPOSE_DEBT_COLLECTION);
  grpc::Status st = stub()->CheckDial(Ctx(*service_).get(), debt, &d);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "DEBT_REQUIRED");

  // Mississippi bans Sundays: Sunday 2027-01-10 12:00 in Chicago.
  v1::UpdateRuleSetRequest rules;
  rules.mutable_rule_set()->set_name("tenants/cs-a/ruleSet");
  rules.mutable_rule_set()->add_calling_hours_presets("US-FED");
  rules.mutable_rule_set()->add_calling_hours_presets("US-MS");
  v1::GetRuleSetRequest get;
  get.set_name("tenants/cs-a/ruleSet");
  v1::RuleSet cur;
  ASSERT_TRUE(stub()->GetRuleSet(Ctx(*a_).get(), get, &cur).ok());
  rules.set_expected_version(cur.version());
  ASSERT_TRUE(stub()->UpdateRuleSet(Ctx(*a_).get(), rules, &cur).ok());
  v1::ScrubNumbersRequest scrub;
  scrub.set_campaign("tenants/cs-a/campaigns/c1");
  scrub.set_dialing_mode(type::v1::DIALING_MODE_MANUAL);
  *scrub.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(
      absl::FromCivil(absl::CivilHour(2027, 1, 10, 18), absl::UTCTimeZone())));
  scrub.add_entries()->set_phone_number("+16012010123");
  v1::ScrubNumbersResponse out;
  st = stub()->ScrubNumbers(Ctx(*a_).get(), scrub, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(out.results_size(), 1);
  const v1::DialDecision& sunday = out.results(0).decision();
  EXPECT_FALSE(sunday.allowed());
  ASSERT_EQ(sunday.reasons_size(), 1) << sunday.DebugString();
  EXPECT_EQ(sunday.reasons(0).code(), "DAY_BANNED");
  EXPECT_EQ(sunday.reasons(0).rule(), "US-MS");
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(sunday.next_allowed_time()),
            absl::ToUnixMillis(absl::FromCivil(absl::CivilHour(2027, 1, 11, 14),
                                               absl::UTCTimeZone())));  // Monday 08:00 CST
  SetRules(*a_, "cs-a");
}

// Reg F (rule doc 2.1): no debt-collection call about a debt within 7 days
// after a telephone conversation about it, the conversation's day being day
// 1 in the callee's zone. The conversation comes from a tenant's own dialer
// (RecordCallOutcome) or from the dialing service (CallAttemptEnded with its
// debt on the `dialing` topic); CheckDial and scrubs refuse alike.
TEST_F(ComplianceServiceTest, RegFConversationLockoutThroughTheApiAndTheDialingTopic) {
  SetRules(*a_, "cs-a");
  auto recorder = TopicRecorder::Start(platform_->broker().bootstrap(), {"compliance"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  const absl::Time end = absl::Now() - absl::Minutes(1);
  v1::RecordCallOutcomeRequest rep;
  rep.set_parent("tenants/cs-a");
  rep.set_request_id(absl::StrCat("svc-regf-", absl::ToUnixNanos(absl::Now())));
  dialing::v1::CallAttemptEnded* call = rep.mutable_call();
  call->set_campaign("tenants/cs-a/campaigns/c1");
  call->set_phone_number("+16502530101");
  call->set_outcome(dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED);
  call->set_dialing_mode(type::v1::DIALING_MODE_MANUAL);
  call->set_debt("loan-svc-1");
  *call->mutable_dial_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end - absl::Minutes(3)));
  *call->mutable_end_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end));
  v1::CallOutcomeRecorded recorded;
  grpc::Status st = stub()->RecordCallOutcome(Ctx(*a_).get(), rep, &recorded);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(recorded.conversation());
  v1::CallOutcomeRecorded again;
  ASSERT_TRUE(stub()->RecordCallOutcome(Ctx(*a_).get(), rep, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), recorded.SerializeAsString());

  v1::CheckDialRequest req;
  req.set_campaign("tenants/cs-a/campaigns/c1");
  req.set_phone_number("+16502530102");  // the debtor's other number
  req.set_dialing_mode(type::v1::DIALING_MODE_MANUAL);
  req.set_purpose(type::v1::CALL_PURPOSE_DEBT_COLLECTION);
  req.set_debt("loan-svc-1");
  v1::DialDecision d;
  ASSERT_TRUE(stub()->CheckDial(Ctx(*service_).get(), req, &d).ok());
  EXPECT_FALSE(d.allowed());
  ASSERT_EQ(d.reasons_size(), 1) << d.DebugString();
  EXPECT_EQ(d.reasons(0).code(), "REG_F_CONVERSATION_LOCKOUT");
  EXPECT_EQ(d.reasons(0).rule(), "US-REGF-CONVERSATION-7D");
  // The start of day 8 in the callee's zones (the latest of them).
  absl::Time day8 = absl::InfinitePast();
  ASSERT_GT(d.time_zones_size(), 0);
  for (const std::string& name : d.time_zones()) {
    absl::TimeZone tz;
    ASSERT_TRUE(absl::LoadTimeZone(name, &tz));
    day8 = std::max(day8, absl::FromCivil(absl::ToCivilDay(end, tz) + 7, tz));
  }
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(d.next_allowed_time()), absl::ToUnixMillis(day8));
  // A scrub at the start of day 8 is not locked out; one a millisecond
  // earlier is.
  auto scrub_at = [&](absl::Time at, const std::string& debt) {
    v1::ScrubNumbersRequest r;
    r.set_campaign("tenants/cs-a/campaigns/c1");
    r.set_dialing_mode(type::v1::DIALING_MODE_MANUAL);
    r.set_purpose(type::v1::CALL_PURPOSE_DEBT_COLLECTION);
    *r.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    v1::ScrubEntry* e = r.add_entries();
    e->set_phone_number("+16502530104");
    e->set_debt(debt);
    v1::ScrubNumbersResponse out;
    grpc::Status s = stub()->ScrubNumbers(Ctx(*a_).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.results_size() == 1 ? out.results(0).decision() : v1::DialDecision();
  };
  EXPECT_TRUE(scrub_at(day8, "loan-svc-1").allowed());
  v1::DialDecision before = scrub_at(day8 - absl::Milliseconds(1), "loan-svc-1");
  ASSERT_EQ(before.reasons_size(), 1) << before.DebugString();
  EXPECT_EQ(before.reasons(0).code(), "REG_F_CONVERSATION_LOCKOUT");

  // Bad input and another tenant's campaign inside an own report.
  v1::RecordCallOutcomeRequest bad = rep;
  bad.set_request_id("svc-regf-bad");
  *bad.mutable_call()->mutable_end_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end - absl::Hours(1)));
  st = stub()->RecordCallOutcome(Ctx(*a_).get(), bad, &again);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "INVALID_CALL_TIMES");
  bad = rep;
  bad.set_request_id("svc-regf-other");
  bad.mutable_call()->set_campaign("tenants/cs-b/campaigns/c1");
  st = stub()->RecordCallOutcome(Ctx(*a_).get(), bad, &again);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH");
  // An agent does not report calls.
  st = stub()->RecordCallOutcome(Ctx(*agent_a_).get(), rep, &again);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // The dialing service's event with a debt.
  kafka::ProducerOptions po;
  po.bootstrap_servers = platform_->broker().bootstrap();
  auto producer = kafka::KafkaProducer::Create(po);
  ASSERT_TRUE(producer.ok()) << producer.status();
  dialing::v1::CallAttemptEnded ev = rep.call();
  ev.set_phone_number("+16502530103");
  ev.set_debt("loan-svc-2");
  ASSERT_TRUE((*producer)->Publish("dialing", kafka::MakeEnvelope("cs-a", "call-regf", ev, "test",
                                                                 SystemClock::Get())).ok());
  bool locked = Eventually([&] {
    v1::DialDecision s = scrub_at(absl::Now(), "loan-svc-2");
    return s.reasons_size() == 1 && s.reasons(0).code() == "REG_F_CONVERSATION_LOCKOUT";
  });
  EXPECT_TRUE(locked) << "the CallAttemptEnded conversation locked the debt out";

  // The report is on the compliance topic, and in the number's records with
  // who reported it.
  bool published = (*recorder)->WaitFor([&](const std::vector<event::v1::Envelope>& events) {
    for (const auto& e : events) {
      v1::CallOutcomeRecorded c;
      if (e.type() == "dialgrid.compliance.v1.CallOutcomeRecorded" && e.payload().UnpackTo(&c) &&
          c.request_id() == rep.request_id()) {
        return e.tenant() == "cs-a";
      }
    }
    return false;
  });
  EXPECT_TRUE(published);
  (*recorder)->Stop();
  v1::ListDialRecordsRequest list;
  list.set_parent("tenants/cs-a");
  list.set_phone_number("+16502530101");
  v1::ListDialRecordsResponse records;
  ASSERT_TRUE(stub()->ListDialRecords(Ctx(*a_).get(), list, &records).ok());
  int reported = 0;
  for (const auto& r : records.records()) reported += r.has_call() && !r.reported_by().empty();
  EXPECT_EQ(reported, 1);
}

}  // namespace
}  // namespace dialgrid::compliance
