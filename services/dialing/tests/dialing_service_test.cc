// Service tests: dialgrid-dialing with tenancy, contacts, a real Redis and
// the broker (tests/fixtures/test_platform.h), over loopback gRPC as a
// tenant's back office and its supervisors would call it.
#include <gtest/gtest.h>

#include <tuple>

#include "absl/strings/str_cat.h"
#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "dialgrid/dialing/v1/dialing.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/server/grpc_status.h"
#include "tests/fixtures/enum_walk.h"
#include "tests/fixtures/test_platform.h"
#include "tests/fixtures/topic_recorder.h"

namespace dialgrid::dialing {
namespace {

using dialgrid::testing::TestPlatform;
using Stub = v1::DialingService::Stub;

std::string ReasonOf(const grpc::Status& st) { return dialgrid::ReasonOf(FromGrpcStatus(st)); }

class DialingServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto platform = TestPlatform::Start();
    ASSERT_TRUE(platform.ok()) << platform.status();
    p_ = platform->release();
    ASSERT_TRUE(p_->StartService("contacts", DIALGRID_CONTACTS_BIN).ok());
    ASSERT_TRUE(p_->StartService("dialing", DIALGRID_DIALING_BIN,
                                 {"--contacts=" + p_->Address("contacts")})
                    .ok())
        << "see " << p_->LogPath("dialing");
    ASSERT_TRUE(p_->CreateTenant("dl-a").ok());
    ASSERT_TRUE(p_->CreateTenant("dl-b").ok());
    admin_a_ = new std::string(*p_->Credential("dl-a", tenancy::v1::ROLE_TENANT_ADMIN));
    super_a_ = new std::string(*p_->Credential("dl-a", tenancy::v1::ROLE_SUPERVISOR));
    agent_a_ = new std::string(*p_->Credential("dl-a", tenancy::v1::ROLE_AGENT));
    admin_b_ = new std::string(*p_->Credential("dl-b", tenancy::v1::ROLE_TENANT_ADMIN));
    for (const auto& [secret, tenant] : {std::pair{*admin_a_, "dl-a"}, {*admin_b_, "dl-b"}}) {
      contacts::v1::CreateContactListRequest req;
      req.set_parent(absl::StrCat("tenants/", tenant));
      req.set_contact_list_id("spring");
      req.mutable_contact_list()->set_display_name("Spring leads");
      contacts::v1::ContactList out;
      grpc::Status st = contacts::v1::ContactsService::NewStub(p_->Channel("contacts"))
                            ->CreateContactList(Ctx(secret).get(), req, &out);
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
  }
  static void TearDownTestSuite() {
    delete p_;
    for (auto* s : {admin_a_, super_a_, agent_a_, admin_b_}) delete s;
  }
  void SetUp() override { ASSERT_NE(admin_b_, nullptr) << "suite setup failed"; }

  static std::unique_ptr<Stub> stub() { return v1::DialingService::NewStub(p_->Channel("dialing")); }
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& secret) {
    return TestPlatform::Context(secret);
  }

  static v1::CreateCampaignRequest CreateRequest(const std::string& tenant, const std::string& id) {
    v1::CreateCampaignRequest req;
    req.set_parent("tenants/" + tenant);
    req.set_campaign_id(id);
    auto* c = req.mutable_campaign();
    c->set_display_name("Renewals " + id);
    c->add_contact_lists(absl::StrCat("tenants/", tenant, "/contactLists/spring"));
    c->set_mode(v1::CAMPAIGN_MODE_PREDICTIVE);
    c->set_max_lines(20);
    c->add_caller_ids("+13125550100");
    auto* d = c->add_dispositions();
    d->set_code("sale");
    d->set_outcome(v1::DISPOSITION_OUTCOME_SUCCESS);
    d->set_sale(true);
    return req;
  }
  static v1::Campaign Create(const std::string& secret, const std::string& tenant,
                             const std::string& id) {
    v1::Campaign out;
    grpc::Status st = stub()->CreateCampaign(Ctx(secret).get(), CreateRequest(tenant, id), &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  static TestPlatform* p_;
  static std::string *admin_a_, *super_a_, *agent_a_, *admin_b_;
};

TestPlatform* DialingServiceTest::p_ = nullptr;
std::string* DialingServiceTest::admin_a_ = nullptr;
std::string* DialingServiceTest::super_a_ = nullptr;
std::string* DialingServiceTest::agent_a_ = nullptr;
std::string* DialingServiceTest::admin_b_ = nullptr;

TEST_F(DialingServiceTest, ACampaignIsCreatedWithTheLegalDefaultsAndRunsItsLifecycle) {
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(), {"calls"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  v1::Campaign c = Create(*admin_a_, "dl-a", "life-1");
  EXPECT_EQ(c.name(), "tenants/dl-a/campaigns/life-1");
  EXPECT_EQ(c.state(), v1::CAMPAIGN_STATE_DRAFT);
  EXPECT_DOUBLE_EQ(c.abandon_target().max_rate(), 0.03);
  EXPECT_EQ(c.ring_timeout().seconds(), 25);
  EXPECT_EQ(c.time_zone(), "America/New_York");  // the tenant's
  EXPECT_FALSE(c.etag().empty());

  v1::PauseCampaignRequest pause;
  pause.set_name(c.name());
  pause.set_reason("lunch");
  v1::Campaign out;
  grpc::Status st = stub()->PauseCampaign(Ctx(*super_a_).get(), pause, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(st), "ILLEGAL_TRANSITION");
  EXPECT_NE(st.error_message().find("DRAFT"), std::string::npos);

  v1::StartCampaignRequest start;
  start.set_name(c.name());
  ASSERT_TRUE(stub()->StartCampaign(Ctx(*super_a_).get(), start, &out).ok());
  EXPECT_EQ(out.state(), v1::CAMPAIGN_STATE_RUNNING);
  pause.clear_reason();
  EXPECT_EQ(ReasonOf(stub()->PauseCampaign(Ctx(*super_a_).get(), pause, &out)), "FIELD_REQUIRED");
  pause.set_reason("team meeting");
  ASSERT_TRUE(stub()->PauseCampaign(Ctx(*super_a_).get(), pause, &out).ok());
  EXPECT_EQ(out.state(), v1::CAMPAIGN_STATE_PAUSED);
  EXPECT_EQ(out.state_reason(), "team meeting");
  v1::DeleteCampaignRequest del;
  del.set_name(c.name());
  v1::DeleteCampaignResponse deleted;
  EXPECT_EQ(ReasonOf(stub()->DeleteCampaign(Ctx(*admin_a_).get(), del, &deleted)),
            "ILLEGAL_TRANSITION");
  v1::ResumeCampaignRequest resume;
  resume.set_name(c.name());
  ASSERT_TRUE(stub()->ResumeCampaign(Ctx(*super_a_).get(), resume, &out).ok());
  v1::StopCampaignRequest stop;
  stop.set_name(c.name());
  stop.set_reason("list exhausted");
  ASSERT_TRUE(stub()->StopCampaign(Ctx(*super_a_).get(), stop, &out).ok());
  EXPECT_EQ(out.state(), v1::CAMPAIGN_STATE_STOPPED);
  ASSERT_TRUE(stub()->DeleteCampaign(Ctx(*admin_a_).get(), del, &deleted).ok());
  v1::GetCampaignRequest get;
  get.set_name(c.name());
  EXPECT_EQ(stub()->GetCampaign(Ctx(*admin_a_).get(), get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Every change is an event on the calls topic, in order.
  bool seen = (*recorder)->WaitFor([&](const std::vector<event::v1::Envelope>& events) {
    std::vector<v1::CampaignState> states;
    for (const auto& e : events) {
      v1::CampaignStateChanged changed;
      if (e.subject() == c.name() && e.payload().UnpackTo(&changed)) {
        states.push_back(changed.campaign().state());
      }
    }
    return states == std::vector<v1::CampaignState>{
                         v1::CAMPAIGN_STATE_RUNNING, v1::CAMPAIGN_STATE_PAUSED,
                         v1::CAMPAIGN_STATE_RUNNING, v1::CAMPAIGN_STATE_STOPPED,
                         v1::CAMPAIGN_STATE_UNSPECIFIED};
  });
  EXPECT_TRUE(seen);
  (*recorder)->Stop();
}

TEST_F(DialingServiceTest, BadSettingsAndMissingListsAreRefusedWithAReason) {
  auto req = CreateRequest("dl-a", "bad-1");
  *req.mutable_campaign()->mutable_ring_timeout() =
      google::protobuf::util::TimeUtil::SecondsToDuration(10);
  v1::Campaign out;
  grpc::Status st = stub()->CreateCampaign(Ctx(*admin_a_).get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "VALUE_OUT_OF_RANGE");
  req = CreateRequest("dl-a", "bad-2");
  req.mutable_campaign()->set_contact_lists(0, "tenants/dl-a/contactLists/nope");
  EXPECT_EQ(ReasonOf(stub()->CreateCampaign(Ctx(*admin_a_).get(), req, &out)),
            "CONTACT_LIST_NOT_FOUND");
  req = CreateRequest("dl-a", "bad-3");
  req.mutable_campaign()->set_contact_lists(0, "tenants/dl-b/contactLists/spring");
  st = stub()->CreateCampaign(Ctx(*admin_a_).get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH");
  req = CreateRequest("dl-a", "bad-4");
  req.mutable_campaign()->clear_caller_ids();
  EXPECT_EQ(ReasonOf(stub()->CreateCampaign(Ctx(*admin_a_).get(), req, &out)), "FIELD_REQUIRED");
  // Nothing of these was stored.
  v1::ListCampaignsRequest list;
  list.set_parent("tenants/dl-a");
  v1::ListCampaignsResponse resp;
  ASSERT_TRUE(stub()->ListCampaigns(Ctx(*admin_a_).get(), list, &resp).ok());
  for (const auto& c : resp.campaigns()) EXPECT_EQ(c.name().find("bad-"), std::string::npos);
  // Agents neither define nor run campaigns.
  EXPECT_EQ(stub()->CreateCampaign(Ctx(*agent_a_).get(), CreateRequest("dl-a", "x"), &out)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(DialingServiceTest, ARetriedCreateReturnsTheSameCampaignAndAReusedIdIsRefused) {
  auto req = CreateRequest("dl-a", "rid-1");
  req.set_request_id("create-rid-1-0123456789");
  v1::Campaign first, again;
  ASSERT_TRUE(stub()->CreateCampaign(Ctx(*admin_a_).get(), req, &first).ok());
  ASSERT_TRUE(stub()->CreateCampaign(Ctx(*admin_a_).get(), req, &again).ok());
  EXPECT_EQ(again.name(), first.name());
  EXPECT_EQ(again.etag(), first.etag());
  auto other = CreateRequest("dl-a", "rid-2");
  other.set_request_id(req.request_id());
  grpc::Status st = stub()->CreateCampaign(Ctx(*admin_a_).get(), other, &again);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonOf(st), "REQUEST_ID_REUSED");
  // Without a request id, the same id again is taken.
  auto plain = CreateRequest("dl-a", "rid-1");
  EXPECT_EQ(ReasonOf(stub()->CreateCampaign(Ctx(*admin_a_).get(), plain, &again)),
            "CAMPAIGN_EXISTS");
}

TEST_F(DialingServiceTest, UpdatesHonourTheMaskAndTheEtagAndListsPage) {
  for (const char* id : {"pg-1", "pg-2", "pg-3"}) Create(*admin_b_, "dl-b", id);
  v1::GetCampaignRequest get;
  get.set_name("tenants/dl-b/campaigns/pg-2");
  v1::Campaign before;
  ASSERT_TRUE(stub()->GetCampaign(Ctx(*admin_b_).get(), get, &before).ok());
  v1::UpdateCampaignRequest up;
  *up.mutable_campaign() = before;
  up.mutable_campaign()->set_max_lines(40);
  up.mutable_campaign()->set_display_name("ignored: not in the mask");
  up.mutable_update_mask()->add_paths("max_lines");
  v1::Campaign after;
  ASSERT_TRUE(stub()->UpdateCampaign(Ctx(*admin_b_).get(), up, &after).ok());
  EXPECT_EQ(after.max_lines(), 40);
  EXPECT_EQ(after.display_name(), before.display_name());
  EXPECT_NE(after.etag(), before.etag());
  grpc::Status st = stub()->UpdateCampaign(Ctx(*admin_b_).get(), up, &after);  // stale etag
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(ReasonOf(st), "ETAG_MISMATCH");
  up.mutable_campaign()->clear_etag();
  up.mutable_update_mask()->clear_paths();
  up.mutable_update_mask()->add_paths("state");
  EXPECT_EQ(ReasonOf(stub()->UpdateCampaign(Ctx(*admin_b_).get(), up, &after)),
            "FIELD_NOT_UPDATABLE");

  std::vector<std::string> names;
  v1::ListCampaignsRequest list;
  list.set_parent("tenants/dl-b");
  list.set_page_size(2);
  for (int i = 0; i < 10; ++i) {
    v1::ListCampaignsResponse resp;
    ASSERT_TRUE(stub()->ListCampaigns(Ctx(*admin_b_).get(), list, &resp).ok());
    EXPECT_LE(resp.campaigns_size(), 2);
    for (const auto& c : resp.campaigns()) names.push_back(c.name());
    if (resp.next_page_token().empty()) break;
    list.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"tenants/dl-b/campaigns/pg-1",
                                             "tenants/dl-b/campaigns/pg-2",
                                             "tenants/dl-b/campaigns/pg-3"}));
}

TEST_F(DialingServiceTest, CallsAndDispositionsRefuseBadInputWithAReason) {
  v1::GetCallRequest get;
  get.set_name("tenants/dl-a/calls/c0123456789");
  v1::Call call;
  EXPECT_EQ(ReasonOf(stub()->GetCall(Ctx(*agent_a_).get(), get, &call)), "CALL_NOT_FOUND");
  get.set_name("tenants/dl-a/calls/0bad");
  EXPECT_EQ(ReasonOf(stub()->GetCall(Ctx(*agent_a_).get(), get, &call)), "INVALID_ID");
  v1::SetDispositionRequest d;
  d.set_name("tenants/dl-a/calls/c0123456789");
  EXPECT_EQ(ReasonOf(stub()->SetDisposition(Ctx(*agent_a_).get(), d, &call)), "FIELD_REQUIRED");
  d.set_code("sale");
  EXPECT_EQ(ReasonOf(stub()->SetDisposition(Ctx(*agent_a_).get(), d, &call)), "CALL_NOT_FOUND");

  // An AGENTLESS campaign names the message a person hears; no other does.
  v1::CreateCampaignRequest req = CreateRequest("dl-a", "agentless-1");
  req.mutable_campaign()->set_mode(v1::CAMPAIGN_MODE_AGENTLESS);
  v1::Campaign out;
  EXPECT_EQ(ReasonOf(stub()->CreateCampaign(Ctx(*admin_a_).get(), req, &out)), "FIELD_REQUIRED");
  req.mutable_campaign()->set_agentless_message_id("renewal-reminder");
  ASSERT_TRUE(stub()->CreateCampaign(Ctx(*admin_a_).get(), req, &out).ok());
  v1::StartCampaignRequest start;
  start.set_name(out.name());
  v1::Campaign started;
  ASSERT_TRUE(stub()->StartCampaign(Ctx(*admin_a_).get(), start, &started).ok());
  EXPECT_EQ(started.state(), v1::CAMPAIGN_STATE_RUNNING);
  v1::Campaign running = Create(*admin_a_, "dl-a", "agentless-2");
  v1::UpdateCampaignRequest upd;
  upd.mutable_campaign()->set_name(running.name());
  upd.mutable_campaign()->set_agentless_message_id("renewal-reminder");
  upd.mutable_update_mask()->add_paths("agentless_message_id");
  EXPECT_EQ(ReasonOf(stub()->UpdateCampaign(Ctx(*admin_a_).get(), upd, &out)),
            "FIELD_NOT_APPLICABLE");
  upd.mutable_campaign()->set_mode(v1::CAMPAIGN_MODE_AGENTLESS);
  upd.mutable_update_mask()->add_paths("mode");
  ASSERT_TRUE(stub()->UpdateCampaign(Ctx(*admin_a_).get(), upd, &out).ok());
  EXPECT_EQ(out.mode(), v1::CAMPAIGN_MODE_AGENTLESS);
}

TEST_F(DialingServiceTest, EveryRpcRefusesAnotherTenantsCampaigns) {
  v1::Campaign b = Create(*admin_b_, "dl-b", "iso-1");
  const std::string other = b.name();
  const std::string svc = "/dialgrid.dialing.v1.DialingService/";
  const std::vector<dialgrid::testing::IsolationCase> cases = {
      {svc + "CreateCampaign",
       "parent: 'tenants/dl-b' campaign_id: 'planted' campaign { display_name: 'x' "
       "contact_lists: 'tenants/dl-b/contactLists/spring' mode: CAMPAIGN_MODE_PREVIEW "
       "max_lines: 1 caller_ids: '+13125550100' }"},
      {svc + "GetCampaign", "name: '" + other + "'"},
      {svc + "GetCampaign", "name: 'tenants/dl-b/campaigns/none'"},
      {svc + "ListCampaigns", "parent: 'tenants/dl-b'"},
      {svc + "UpdateCampaign",
       "campaign { name: '" + other + "' max_lines: 5 } update_mask { paths: 'max_lines' }"},
      {svc + "DeleteCampaign", "name: '" + other + "'"},
      // The caller's own (missing) campaign, naming the other tenant's list.
      {svc + "UpdateCampaign",
       "campaign { name: 'tenants/dl-a/campaigns/none' contact_lists: "
       "'tenants/dl-b/contactLists/spring' } update_mask { paths: 'contact_lists' }"},
      {svc + "StartCampaign", "name: '" + other + "'"},
      {svc + "PauseCampaign", "name: '" + other + "' reason: 'x'"},
      {svc + "ResumeCampaign", "name: '" + other + "'"},
      {svc + "StopCampaign", "name: '" + other + "' reason: 'x'"},
      {svc + "GetCall", "name: 'tenants/dl-b/calls/c0123456789'"},
      {svc + "SetDisposition", "name: 'tenants/dl-b/calls/c0123456789' code: 'sale'"},
      {svc + "PreviewContact", "campaign: '" + other + "' agent: 'tenants/dl-b/agents/x'"},
      {svc + "DialPreview", "name: 'tenants/dl-b/calls/c0123456789'"},
      {svc + "SkipPreview", "name: 'tenants/dl-b/calls/c0123456789'"},
      {svc + "ManualDial",
       "campaign: '" + other + "' agent: 'tenants/dl-b/agents/x' phone_number: '+13125550100'"},
      {svc + "WatchCampaign", "name: '" + other + "'"},
      {svc + "FlagAbusiveCaller", "name: 'tenants/dl-b/calls/c0123456789' reason: 'x'"},
      {svc + "ListBlockedNumbers", "parent: 'tenants/dl-b'"},
      {svc + "UnblockNumber", "name: 'tenants/dl-b/blockedNumbers/n14155550123' reason: 'x'"},
      {svc + "SetCallerIdRest", "campaign: '" + other +
                                    "' caller_id: '+13125550100' rest_duration { seconds: 3600 } "
                                    "reason: 'x'"},
  };
  for (const auto& m : dialgrid::testing::MethodsWithoutCase(
           *v1::Campaign::descriptor()->file()->FindServiceByName("DialingService"), cases)) {
    ADD_FAILURE() << "no isolation case for " << m;
  }
  for (const auto& secret : {*admin_a_, *super_a_}) {
    for (const auto& pr :
         dialgrid::testing::CheckTenantIsolation(p_->Channel("dialing"), secret, cases)) {
      ADD_FAILURE() << pr;
    }
  }
  v1::GetCampaignRequest get;
  get.set_name(other);
  v1::Campaign still;
  ASSERT_TRUE(stub()->GetCampaign(Ctx(*admin_b_).get(), get, &still).ok());
  EXPECT_EQ(still.state(), v1::CAMPAIGN_STATE_DRAFT);
  EXPECT_EQ(still.max_lines(), 20);
}

TEST_F(DialingServiceTest, AgentDialsRefuseBadInputAndOtherTenantsAgents) {
  v1::Campaign c = Create(*admin_a_, "dl-a", "agent-dials");
  v1::StartCampaignRequest start;
  start.set_name(c.name());
  v1::Campaign out;
  ASSERT_TRUE(stub()->StartCampaign(Ctx(*admin_a_).get(), start, &out).ok());
  v1::ManualDialRequest m;
  m.set_campaign(c.name());
  m.set_phone_number("+13125550100");
  v1::Call call;
  // No agent, a malformed one, another tenant's.
  EXPECT_EQ(ReasonOf(stub()->ManualDial(Ctx(*agent_a_).get(), m, &call)), "FIELD_REQUIRED");
  m.set_agent("agents/x");
  EXPECT_EQ(ReasonOf(stub()->ManualDial(Ctx(*agent_a_).get(), m, &call)), "MALFORMED_NAME");
  m.set_agent("tenants/dl-b/agents/x");
  grpc::Status st = stub()->ManualDial(Ctx(*agent_a_).get(), m, &call);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "AGENT_OF_ANOTHER_TENANT");
  m.set_agent("tenants/dl-a/agents/x");
  // A credential bound to another agent of the tenant may not dial for x.
  const std::string desk_y = *p_->AgentCredential("dl-a", "tenants/dl-a/agents/y");
  st = stub()->ManualDial(Ctx(desk_y).get(), m, &call);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "AGENT_MISMATCH");
  for (const char* bad : {"", "13125550100", "+0123456789", "+1312555010O", "+1234567890123456"}) {
    m.set_phone_number(bad);
    EXPECT_EQ(ReasonOf(stub()->ManualDial(Ctx(*agent_a_).get(), m, &call)), "INVALID_PHONE_NUMBER")
        << bad;
  }
  m.set_phone_number("+13125550100");
  m.set_contact("tenants/dl-b/contactLists/spring/contacts/k1");
  st = stub()->ManualDial(Ctx(*agent_a_).get(), m, &call);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "CONTACT_OF_ANOTHER_TENANT");
  // This platform's dialing runs without compliance: nobody dials the
  // campaign, so an agent's dial is refused as retryable, never placed.
  m.clear_contact();
  st = stub()->ManualDial(Ctx(*agent_a_).get(), m, &call);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonOf(st), "NOT_CAMPAIGN_OWNER");
  // A campaign that is not running.
  v1::Campaign draft = Create(*admin_a_, "dl-a", "agent-dials-draft");
  m.set_campaign(draft.name());
  EXPECT_EQ(ReasonOf(stub()->ManualDial(Ctx(*agent_a_).get(), m, &call)), "CAMPAIGN_NOT_RUNNING");
  v1::PreviewContactRequest p;
  p.set_campaign(draft.name());
  p.set_agent("tenants/dl-a/agents/x");
  v1::PreviewContactResponse preview;
  EXPECT_EQ(ReasonOf(stub()->PreviewContact(Ctx(*agent_a_).get(), p, &preview)),
            "CAMPAIGN_NOT_RUNNING");
  v1::SkipPreviewRequest skip;
  skip.set_name("tenants/dl-a/calls/c0123456789");
  skip.set_reason(std::string(201, 'x'));
  EXPECT_EQ(ReasonOf(stub()->SkipPreview(Ctx(*agent_a_).get(), skip, &call)), "FIELD_TOO_LONG");
  skip.clear_reason();
  EXPECT_EQ(ReasonOf(stub()->SkipPreview(Ctx(*agent_a_).get(), skip, &call)), "CALL_NOT_FOUND");
  v1::DialPreviewRequest dial;
  dial.set_name("tenants/dl-a/calls/c0123456789");
  EXPECT_EQ(ReasonOf(stub()->DialPreview(Ctx(*agent_a_).get(), dial, &call)), "CALL_NOT_FOUND");
}

TEST_F(DialingServiceTest, ACallerIdRestRefusesBadInputAndAgents) {
  v1::Campaign c = Create(*admin_a_, "dl-a", "caller-id-rest");
  v1::SetCallerIdRestRequest req;
  req.set_campaign(c.name());
  req.set_caller_id("+13125550100");
  req.mutable_rest_duration()->set_seconds(3600);
  req.set_reason("carrier label");
  v1::CallerIdStatus out;
  grpc::Status st = stub()->SetCallerIdRest(Ctx(*agent_a_).get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "ROLE_NOT_ALLOWED");
  req.set_caller_id("13125550100");
  EXPECT_EQ(ReasonOf(stub()->SetCallerIdRest(Ctx(*super_a_).get(), req, &out)),
            "INVALID_PHONE_NUMBER");
  req.set_caller_id("+13125550100");
  for (int64_t seconds : {int64_t{-60}, int64_t{59}, int64_t{30 * 86400 + 1}}) {
    req.mutable_rest_duration()->set_seconds(seconds);
    EXPECT_EQ(ReasonOf(stub()->SetCallerIdRest(Ctx(*super_a_).get(), req, &out)),
              "VALUE_OUT_OF_RANGE")
        << seconds;
  }
  req.mutable_rest_duration()->set_seconds(0);
  req.mutable_rest_duration()->set_nanos(5);
  EXPECT_EQ(ReasonOf(stub()->SetCallerIdRest(Ctx(*super_a_).get(), req, &out)),
            "VALUE_OUT_OF_RANGE");
  req.mutable_rest_duration()->set_nanos(0);
  req.clear_reason();
  EXPECT_EQ(ReasonOf(stub()->SetCallerIdRest(Ctx(*super_a_).get(), req, &out)), "FIELD_REQUIRED");
  // A draft campaign has no owner to rest it.
  req.set_reason("carrier label");
  EXPECT_EQ(ReasonOf(stub()->SetCallerIdRest(Ctx(*super_a_).get(), req, &out)),
            "CAMPAIGN_NOT_RUNNING");
}

TEST_F(DialingServiceTest, ACampaignIsWatchedLiveAndTheWatchEndsWhenTheClientGoes) {
  v1::Campaign c = Create(*admin_a_, "dl-a", "watch-1");
  v1::WatchCampaignRequest req;
  req.set_name(c.name());
  // A campaign nobody dials: its record's state, not dialing.
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + *super_a_);
    auto reader = stub()->WatchCampaign(&ctx, req);
    v1::CampaignProgress p;
    ASSERT_TRUE(reader->Read(&p));
    EXPECT_EQ(p.campaign(), c.name());
    EXPECT_EQ(p.state(), v1::CAMPAIGN_STATE_DRAFT);
    EXPECT_FALSE(p.dialing());
    // A change (started) reaches the watcher within the poll period.
    v1::StartCampaignRequest start;
    start.set_name(c.name());
    v1::Campaign out;
    ASSERT_TRUE(stub()->StartCampaign(Ctx(*admin_a_).get(), start, &out).ok());
    ASSERT_TRUE(reader->Read(&p));
    EXPECT_EQ(p.state(), v1::CAMPAIGN_STATE_RUNNING);
    EXPECT_FALSE(p.dialing());  // this platform's dialing runs without compliance
    ctx.TryCancel();
    v1::CampaignProgress more;
    while (reader->Read(&more)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // An agent may not watch; an unknown campaign is NOT_FOUND; a bad name INVALID_ARGUMENT.
  auto first_error = [&](const std::string& secret, const std::string& name) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + secret);
    v1::WatchCampaignRequest r;
    r.set_name(name);
    auto reader = stub()->WatchCampaign(&ctx, r);
    v1::CampaignProgress p;
    EXPECT_FALSE(reader->Read(&p));
    return reader->Finish();
  };
  EXPECT_EQ(first_error(*agent_a_, c.name()).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(first_error(*admin_a_, "tenants/dl-a/campaigns/none")), "CAMPAIGN_NOT_FOUND");
  EXPECT_EQ(first_error(*admin_a_, "campaigns/x").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DialingServiceTest, UndefinedEnumValuesAreRefused) {
  auto problems = dialgrid::testing::ProbeEnums(
      p_->Channel("dialing"),
      *v1::Campaign::descriptor()->file()->FindServiceByName("DialingService"),
      {{"CreateCampaign",
        {"parent: 'tenants/dl-a' campaign_id: 'enum-1' campaign { display_name: 'x' "
         "contact_lists: 'tenants/dl-a/contactLists/spring' mode: CAMPAIGN_MODE_POWER "
         "power_ratio: 1.5 max_lines: 1 caller_ids: '+13125550100' "
         "abandon_target { max_rate: 0.02 measurement: ABANDON_MEASUREMENT_PER_DAY } "
         "machine { detect: true action: MACHINE_ACTION_HANG_UP } "
         "retries { outcome: RETRY_OUTCOME_BUSY delay { seconds: 600 } max_attempts: 2 } "
         "dispositions { code: 'sale' outcome: DISPOSITION_OUTCOME_SUCCESS } }",
         *admin_a_}},
       {"UpdateCampaign",
        {"campaign { name: 'tenants/dl-a/campaigns/enum-upd' mode: CAMPAIGN_MODE_PREVIEW } "
         "update_mask { paths: 'mode' }",
         *admin_a_}}});
  for (const auto& pr : problems) ADD_FAILURE() << pr;
}

TEST_F(DialingServiceTest, WithContactsDownNothingIsAssumedAboutTheLists) {
  ASSERT_TRUE(p_->StopService("contacts", absl::Seconds(10)).ok());
  v1::Campaign out;
  grpc::Status st =
      stub()->CreateCampaign(Ctx(*admin_a_).get(), CreateRequest("dl-a", "down-1"), &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  ASSERT_TRUE(p_->StartService("contacts", DIALGRID_CONTACTS_BIN).ok());
}

TEST_F(DialingServiceTest, AnInboundNumberReachesOneCampaignOfThePlatformAtATime) {
  auto with_number = [](const std::string& tenant, const std::string& id, const std::string& number) {
    v1::CreateCampaignRequest req = CreateRequest(tenant, id);
    req.mutable_campaign()->mutable_inbound()->add_numbers(number);
    return req;
  };
  auto create = [&](const std::string& secret, const v1::CreateCampaignRequest& req) {
    v1::Campaign out;
    grpc::Status st = stub()->CreateCampaign(Ctx(secret).get(), req, &out);
    return std::make_pair(st, out);
  };
  auto [st1, a] = create(*admin_a_, with_number("dl-a", "in-1", "+13125550177"));
  ASSERT_TRUE(st1.ok()) << st1.error_message();
  EXPECT_DOUBLE_EQ(a.inbound().service_level_target(), 0.8);
  EXPECT_EQ(a.inbound().service_level_threshold().seconds(), 20);
  EXPECT_EQ(a.inbound().max_wait().seconds(), 300);
  EXPECT_EQ(a.inbound().overflow_message_id(), "inbound-overflow");
  // Taken: by another tenant's campaign or the same tenant's, the same answer.
  for (const auto& [secret, tenant, id] :
       {std::tuple{*admin_b_, "dl-b", "in-2"}, std::tuple{*admin_a_, "dl-a", "in-3"}}) {
    auto [st, out] = create(secret, with_number(tenant, id, "+13125550177"));
    EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(ReasonOf(st), "INBOUND_NUMBER_TAKEN");
  }
  // Moved to another number, the first is free for tenant B.
  v1::UpdateCampaignRequest upd;
  upd.mutable_campaign()->set_name(a.name());
  upd.mutable_campaign()->mutable_inbound()->add_numbers("+13125550178");
  upd.mutable_update_mask()->add_paths("inbound");
  v1::Campaign updated;
  grpc::Status us = stub()->UpdateCampaign(Ctx(*admin_a_).get(), upd, &updated);
  ASSERT_TRUE(us.ok()) << us.error_message();
  auto [st2, b] = create(*admin_b_, with_number("dl-b", "in-2", "+13125550177"));
  ASSERT_TRUE(st2.ok()) << st2.error_message();
  // Deleted, its number is free again.
  v1::DeleteCampaignRequest del;
  del.set_name(b.name());
  v1::DeleteCampaignResponse gone;
  ASSERT_TRUE(stub()->DeleteCampaign(Ctx(*admin_b_).get(), del, &gone).ok());
  auto [st3, c] = create(*admin_a_, with_number("dl-a", "in-3", "+13125550177"));
  EXPECT_TRUE(st3.ok()) << st3.error_message();

  // Bad inbound settings are refused by name.
  v1::CreateCampaignRequest bad = with_number("dl-a", "in-4", "+13125550179");
  *bad.mutable_campaign()->mutable_inbound()->mutable_max_wait() =
      google::protobuf::util::TimeUtil::SecondsToDuration(5);
  auto [st4, x] = create(*admin_a_, bad);
  EXPECT_EQ(st4.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st4), "VALUE_OUT_OF_RANGE");
  bad = with_number("dl-a", "in-4", "3125550179");
  auto [st5, y] = create(*admin_a_, bad);
  EXPECT_EQ(ReasonOf(st5), "INVALID_PHONE_NUMBER");
  // A refused create holds no number.
  auto [st6, z] = create(*admin_a_, with_number("dl-a", "in-5", "+13125550179"));
  EXPECT_TRUE(st6.ok()) << st6.error_message();
}

TEST_F(DialingServiceTest, TheBlockListAndAbusiveFlagsRefuseBadInputWithAReason) {
  v1::ListBlockedNumbersRequest list;
  list.set_parent("tenants/dl-a");
  v1::ListBlockedNumbersResponse listed;
  grpc::Status ls = stub()->ListBlockedNumbers(Ctx(*super_a_).get(), list, &listed);
  ASSERT_TRUE(ls.ok()) << ls.error_message();
  EXPECT_EQ(listed.blocked_numbers_size(), 0);

  v1::UnblockNumberRequest unblock;
  unblock.set_name("tenants/dl-a/blockedNumbers/n14155550123");
  v1::BlockedNumber out;
  grpc::Status st = stub()->UnblockNumber(Ctx(*admin_a_).get(), unblock, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);  // no reason
  EXPECT_EQ(ReasonOf(st), "FIELD_REQUIRED");
  unblock.set_reason("apologised");
  st = stub()->UnblockNumber(Ctx(*admin_a_).get(), unblock, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(st), "BLOCKED_NUMBER_NOT_FOUND");
  st = stub()->UnblockNumber(Ctx(*agent_a_).get(), unblock, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);  // agents do not unblock

  v1::FlagAbusiveCallerRequest flag;
  flag.set_name("tenants/dl-a/calls/c0123456789");
  v1::Call call;
  st = stub()->FlagAbusiveCaller(Ctx(*agent_a_).get(), flag, &call);
  EXPECT_EQ(ReasonOf(st), "FIELD_REQUIRED");
  flag.set_reason(std::string(201, 'x'));
  st = stub()->FlagAbusiveCaller(Ctx(*agent_a_).get(), flag, &call);
  EXPECT_EQ(ReasonOf(st), "FIELD_TOO_LONG");
  flag.set_reason("threats");
  st = stub()->FlagAbusiveCaller(Ctx(*agent_a_).get(), flag, &call);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  flag.set_name("tenants/dl-a/campaigns/x");
  st = stub()->FlagAbusiveCaller(Ctx(*agent_a_).get(), flag, &call);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace dialgrid::dialing
