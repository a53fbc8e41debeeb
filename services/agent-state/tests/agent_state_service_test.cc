// Service tests: the dialgrid-agentstate binary with tenancy, a real Redis
// and the broker (tests/fixtures/test_platform.h), called over loopback gRPC
// as the agent desktop, a supervisor and the dialer would.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "dialgrid/agentstate/v1/agentstate.grpc.pb.h"
#include "services/common/core/errors.h"
#include "services/common/redis/redis_client.h"
#include "services/common/server/grpc_status.h"
#include "tests/fixtures/enum_walk.h"
#include "tests/fixtures/test_platform.h"
#include "tests/fixtures/topic_recorder.h"

namespace dialgrid::agentstate {
namespace {

using dialgrid::testing::TestPlatform;
using Stub = v1::AgentStateService::Stub;

std::string ReasonOf(const grpc::Status& st) { return dialgrid::ReasonOf(FromGrpcStatus(st)); }

class AgentStateServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto platform = TestPlatform::Start();
    ASSERT_TRUE(platform.ok()) << platform.status();
    p_ = platform->release();
    // Short reservation timeout so the timer tests run in a second.
    ASSERT_TRUE(p_->StartService("agentstate", DIALGRID_AGENTSTATE_BIN,
                                 {"--reservation_timeout_ms=500", "--timer_sweep_ms=50",
                                  "--not_ready_alert_seconds=2", "--metrics_sweep_seconds=1"})
                    .ok())
        << "see " << p_->LogPath("agentstate");
    tenancy::v1::Quota small;
    small.set_max_agents(2);
    small.set_max_requests_per_second(100000);
    ASSERT_TRUE(p_->CreateTenant("as-a").ok());
    ASSERT_TRUE(p_->CreateTenant("as-b").ok());
    ASSERT_TRUE(p_->CreateTenant("as-small", &small).ok());
    admin_a_ = new std::string(*p_->Credential("as-a", tenancy::v1::ROLE_TENANT_ADMIN));
    agent_a_ = new std::string(*p_->Credential("as-a", tenancy::v1::ROLE_AGENT));
    super_a_ = new std::string(*p_->Credential("as-a", tenancy::v1::ROLE_SUPERVISOR));
    admin_b_ = new std::string(*p_->Credential("as-b", tenancy::v1::ROLE_TENANT_ADMIN));
    agent_b_ = new std::string(*p_->Credential("as-b", tenancy::v1::ROLE_AGENT));
    admin_small_ = new std::string(*p_->Credential("as-small", tenancy::v1::ROLE_TENANT_ADMIN));
  }
  static void TearDownTestSuite() {
    delete p_;
    for (auto* s : {admin_a_, agent_a_, super_a_, admin_b_, agent_b_, admin_small_}) delete s;
  }
  void SetUp() override { ASSERT_NE(admin_small_, nullptr) << "suite setup failed"; }

  static std::unique_ptr<Stub> stub(const std::string& name = "agentstate") {
    return v1::AgentStateService::NewStub(p_->Channel(name));
  }
  static auto Ctx(const std::string& secret) { return TestPlatform::Context(secret); }

  static v1::Agent Create(const std::string& secret, const std::string& tenant,
                          const std::string& id, const std::string& campaign = "c1") {
    v1::CreateAgentRequest req;
    req.set_parent("tenants/" + tenant);
    req.set_agent_id(id);
    req.mutable_agent()->set_display_name("Agent " + id);
    req.mutable_agent()->add_campaigns(absl::StrCat("tenants/", tenant, "/campaigns/", campaign));
    v1::Agent out;
    grpc::Status st = stub()->CreateAgent(Ctx(secret).get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
  static void LoginReady(const std::string& secret, const std::string& name) {
    v1::LoginRequest login;
    login.set_name(name);
    login.set_station("ext-1");
    v1::AgentStatus out;
    grpc::Status st = stub()->Login(Ctx(secret).get(), login, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    v1::SetReadyRequest ready;
    ready.set_name(name);
    st = stub()->SetReady(Ctx(secret).get(), ready, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(out.state(), v1::STATE_READY);
  }
  static grpc::Status Reserve(const std::string& tenant, const std::string& call,
                              v1::Reservation* out, const std::string& via = "agentstate") {
    v1::ReserveAgentRequest req;
    req.set_campaign(absl::StrCat("tenants/", tenant, "/campaigns/c1"));
    req.set_call_id(call);
    return stub(via)->ReserveAgent(Ctx(p_->service_secret()).get(), req, out);
  }
  static v1::State StateOf(const std::string& name, const std::string& via = "agentstate") {
    v1::GetAgentRequest req;
    req.set_name(name);
    v1::Agent a;
    grpc::Status st = stub(via)->GetAgent(Ctx(*admin_a_).get(), req, &a);
    return st.ok() ? a.status().state() : v1::STATE_UNSPECIFIED;
  }

  static TestPlatform* p_;
  static std::string *admin_a_, *agent_a_, *super_a_, *admin_b_, *agent_b_, *admin_small_;
};

TestPlatform* AgentStateServiceTest::p_ = nullptr;
std::string* AgentStateServiceTest::admin_a_ = nullptr;
std::string* AgentStateServiceTest::agent_a_ = nullptr;
std::string* AgentStateServiceTest::super_a_ = nullptr;
std::string* AgentStateServiceTest::admin_b_ = nullptr;
std::string* AgentStateServiceTest::agent_b_ = nullptr;
std::string* AgentStateServiceTest::admin_small_ = nullptr;

TEST_F(AgentStateServiceTest, ACallFromReservationToWrapUp) {
  v1::Agent a = Create(*admin_a_, "as-a", "flow-1");
  EXPECT_EQ(a.name(), "tenants/as-a/agents/flow-1");
  EXPECT_EQ(a.status().state(), v1::STATE_LOGGED_OUT);
  LoginReady(*agent_a_, a.name());
  v1::Reservation r;
  grpc::Status st = Reserve("as-a", "call-flow-1", &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.agent(), a.name());
  EXPECT_TRUE(r.has_expire_time());
  v1::Reservation again;
  ASSERT_TRUE(Reserve("as-a", "call-flow-1", &again).ok());
  EXPECT_EQ(again.agent(), a.name());  // idempotent by call

  v1::ConfirmReservationRequest confirm;
  confirm.set_name(a.name());
  confirm.set_call_id("call-flow-1");
  v1::AgentStatus out;
  ASSERT_TRUE(stub()->ConfirmReservation(Ctx(p_->service_secret()).get(), confirm, &out).ok());
  EXPECT_EQ(out.state(), v1::STATE_ON_CALL);
  EXPECT_EQ(out.call_tenant(), "as-a");

  // Illegal: ready while on a call; the message names the state.
  v1::SetReadyRequest ready;
  ready.set_name(a.name());
  st = stub()->SetReady(Ctx(*agent_a_).get(), ready, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(st), "ILLEGAL_TRANSITION");
  EXPECT_NE(st.error_message().find("ON_CALL"), std::string::npos);

  v1::EndCallRequest end;
  end.set_name(a.name());
  end.set_call_id("call-flow-1");
  ASSERT_TRUE(stub()->EndCall(Ctx(p_->service_secret()).get(), end, &out).ok());
  EXPECT_EQ(out.state(), v1::STATE_WRAP_UP);
  ASSERT_TRUE(stub()->SetReady(Ctx(*agent_a_).get(), ready, &out).ok());
  EXPECT_EQ(out.state(), v1::STATE_READY);
}

TEST_F(AgentStateServiceTest, AnAgentsOwnDialReservesThatAgentOnly) {
  // Two ready agents; the one ready longer would be chosen without a name.
  v1::Agent first = Create(*admin_a_, "as-a", "named-1", "named");
  v1::Agent second = Create(*admin_a_, "as-a", "named-2", "named");
  v1::Agent elsewhere = Create(*admin_a_, "as-a", "named-3", "other");
  LoginReady(*agent_a_, first.name());
  LoginReady(*agent_a_, second.name());
  LoginReady(*agent_a_, elsewhere.name());
  v1::ReserveAgentRequest req;
  req.set_campaign("tenants/as-a/campaigns/named");
  req.set_call_id("named-call-1");
  req.set_agent(second.name());
  v1::Reservation r;
  grpc::Status st = stub()->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.agent(), second.name());
  EXPECT_EQ(StateOf(second.name()), v1::STATE_RESERVED);
  EXPECT_EQ(StateOf(first.name()), v1::STATE_READY);
  // Again for the same call: the same reservation.
  ASSERT_TRUE(stub()->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r).ok());
  EXPECT_EQ(r.agent(), second.name());
  // Busy now: not ready for another call, and never someone else instead.
  req.set_call_id("named-call-2");
  st = stub()->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r);
  EXPECT_EQ(ReasonOf(st), "AGENT_NOT_READY");
  EXPECT_EQ(StateOf(first.name()), v1::STATE_READY);
  // An agent that does not take the campaign, one that does not exist, and
  // another tenant's.
  req.set_agent(elsewhere.name());
  EXPECT_EQ(ReasonOf(stub()->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r)),
            "AGENT_NOT_ELIGIBLE");
  EXPECT_EQ(StateOf(elsewhere.name()), v1::STATE_READY);
  req.set_agent("tenants/as-a/agents/nobody");
  EXPECT_EQ(ReasonOf(stub()->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r)),
            "AGENT_NOT_ELIGIBLE");
  req.set_agent("tenants/as-b/agents/named-1");
  st = stub()->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "AGENT_OF_ANOTHER_TENANT");
}

TEST_F(AgentStateServiceTest, OnlyTheDialerReservesAndOnlyAgentsLogIn) {
  v1::Agent a = Create(*admin_a_, "as-a", "roles-1");
  v1::LoginRequest login;
  login.set_name(a.name());
  login.set_station("ext-9");
  v1::AgentStatus out;
  grpc::Status st = stub()->Login(Ctx(*admin_a_).get(), login, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::ReserveAgentRequest req;
  req.set_campaign("tenants/as-a/campaigns/c1");
  req.set_call_id("x");
  v1::Reservation r;
  st = stub()->ReserveAgent(Ctx(*agent_a_).get(), req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  st = stub()->Login(Ctx("").get(), login, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AgentStateServiceTest, ACredentialBoundToAnAgentMovesThatAgentOnly) {
  v1::Agent mine = Create(*admin_a_, "as-a", "bound-1");
  v1::Agent other = Create(*admin_a_, "as-a", "bound-2");
  auto desk = p_->AgentCredential("as-a", mine.name());
  ASSERT_TRUE(desk.ok()) << desk.status();
  LoginReady(*desk, mine.name());
  v1::LoginRequest login;
  login.set_name(other.name());
  login.set_station("ext-2");
  v1::AgentStatus out;
  grpc::Status st = stub()->Login(Ctx(*desk).get(), login, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "AGENT_MISMATCH");
  EXPECT_EQ(StateOf(other.name()), v1::STATE_LOGGED_OUT);
  v1::SetNotReadyRequest away;
  away.set_name(mine.name());
  away.set_reason_code("break");
  EXPECT_TRUE(stub()->SetNotReady(Ctx(*desk).get(), away, &out).ok());
  // An unbound agent credential still acts for any agent of its tenant.
  LoginReady(*agent_a_, other.name());
  // A binding to another tenant's agent, or with another role, is refused.
  EXPECT_EQ(p_->AgentCredential("as-a", "tenants/as-b/agents/bound-1").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p_->Credential("as-a", {tenancy::v1::ROLE_SUPERVISOR}, mine.name()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AgentStateServiceTest, EveryServedRpcRefusesAnotherTenantsAgents) {
  v1::Agent b = Create(*admin_b_, "as-b", "iso-1");
  const std::string other = b.name();
  const std::vector<dialgrid::testing::IsolationCase> cases = {
      {"/dialgrid.agentstate.v1.AgentStateService/CreateAgent",
       "parent: 'tenants/as-b' agent_id: 'planted' agent { display_name: 'x' }"},
      {"/dialgrid.agentstate.v1.AgentStateService/GetAgent", "name: '" + other + "'"},
      {"/dialgrid.agentstate.v1.AgentStateService/Login",
       "name: '" + other + "' station: 'ext-1'"},
      {"/dialgrid.agentstate.v1.AgentStateService/Logout", "name: '" + other + "'"},
      {"/dialgrid.agentstate.v1.AgentStateService/SetReady", "name: '" + other + "'"},
      {"/dialgrid.agentstate.v1.AgentStateService/SetNotReady",
       "name: '" + other + "' reason_code: 'break'"},
      {"/dialgrid.agentstate.v1.AgentStateService/Heartbeat",
       "name: '" + other + "' station: 'ext-1'"},
      {"/dialgrid.agentstate.v1.AgentStateService/ForceState",
       "name: '" + other + "' target: TARGET_LOGGED_OUT reason_code: 'x'"},
      // An unknown agent of the other tenant answers the same: no existence leak.
      {"/dialgrid.agentstate.v1.AgentStateService/GetAgent", "name: 'tenants/as-b/agents/none'"},
      {"/dialgrid.agentstate.v1.AgentStateService/ListAgents", "parent: 'tenants/as-b'"},
      {"/dialgrid.agentstate.v1.AgentStateService/UpdateAgent",
       "agent { name: '" + other + "' display_name: 'taken' } update_mask { paths: 'display_name' }"},
      {"/dialgrid.agentstate.v1.AgentStateService/DeleteAgent", "name: '" + other + "'"},
      {"/dialgrid.agentstate.v1.AgentStateService/WatchAgents", "parent: 'tenants/as-b'"},
      {"/dialgrid.agentstate.v1.AgentStateService/ReserveAgent",
       "campaign: 'tenants/as-b/campaigns/c1' call_id: 'iso'"},
      {"/dialgrid.agentstate.v1.AgentStateService/ConfirmReservation",
       "name: '" + other + "' call_id: 'iso'"},
      {"/dialgrid.agentstate.v1.AgentStateService/ReleaseReservation",
       "name: '" + other + "' call_id: 'iso'"},
      {"/dialgrid.agentstate.v1.AgentStateService/EndCall", "name: '" + other + "' call_id: 'iso'"},
      // Authorization before validation: a bad protection is no hint either.
      {"/dialgrid.agentstate.v1.AgentStateService/EndCall",
       "name: '" + other + "' call_id: 'iso' protected_reason: 'BAD' protect_for { seconds: 0 }"},
      // The vendor's pools: a tenant reads, lists, watches and lends none of
      // them (it sees a pool agent only through a grant, in its own scope).
      {"/dialgrid.agentstate.v1.AgentStateService/GetAgent",
       "name: 'agentPools/iso-pool/agents/p1'"},
      {"/dialgrid.agentstate.v1.AgentStateService/ListAgents", "parent: 'agentPools/iso-pool'"},
      {"/dialgrid.agentstate.v1.AgentStateService/WatchAgents", "parent: 'agentPools/iso-pool'"},
      {"/dialgrid.agentstate.v1.AgentStateService/SetPoolGrant",
       "grant { agent: 'agentPools/iso-pool/agents/p1' tenant: 'tenants/as-a' "
       "campaigns: 'tenants/as-a/campaigns/c1' }"},
      {"/dialgrid.agentstate.v1.AgentStateService/CreateAgent",
       "parent: 'agentPools/iso-pool' agent_id: 'planted' agent { display_name: 'x' }"},
      {"/dialgrid.agentstate.v1.AgentStateService/GetAgentKpis",
       "name: '" + other + "' day { year: 2026 month: 12 day: 3 }"},
      {"/dialgrid.agentstate.v1.AgentStateService/GetAgentKpis",
       "name: 'agentPools/iso-pool/agents/p1' day { year: 2026 month: 12 day: 3 }"},
      // A pool agent's part of another tenant.
      {"/dialgrid.agentstate.v1.AgentStateService/GetAgentKpis",
       "name: 'agentPools/iso-pool/agents/p1' tenant: 'tenants/as-b' "
       "day { year: 2026 month: 12 day: 3 }"},
      {"/dialgrid.agentstate.v1.AgentStateService/GetTeamKpis",
       "parent: 'tenants/as-b' day { year: 2026 month: 12 day: 3 }"},
      {"/dialgrid.agentstate.v1.AgentStateService/GetAgentSettings",
       "name: 'tenants/as-b/agentSettings'"},
      {"/dialgrid.agentstate.v1.AgentStateService/GetAgentSettings",
       "name: 'agentPools/-/agentSettings'"},
      {"/dialgrid.agentstate.v1.AgentStateService/UpdateAgentSettings",
       "settings { name: 'tenants/as-b/agentSettings' reason_codes { code: 'planted' "
       "display_name: 'x' } } update_mask { paths: 'reason_codes' }"},
  };
  for (const auto& m : dialgrid::testing::MethodsWithoutCase(
           *v1::Agent::descriptor()->file()->FindServiceByName("AgentStateService"), cases)) {
    ADD_FAILURE() << "no isolation case for " << m;
  }
  // Each with the credential that would be allowed in its own tenant.
  for (const auto& secret : {*admin_a_, *agent_a_, *super_a_}) {
    auto problems = dialgrid::testing::CheckTenantIsolation(p_->Channel("agentstate"), secret, cases);
    for (const auto& pr : problems) {
      // A role that may not call the method at all is refused too (also
      // PERMISSION_DENIED): every line here is a failure.
      ADD_FAILURE() << pr;
    }
  }
  // The other tenant's agent is untouched.
  v1::GetAgentRequest get;
  get.set_name(other);
  v1::Agent still;
  ASSERT_TRUE(stub()->GetAgent(Ctx(*admin_b_).get(), get, &still).ok());
  EXPECT_EQ(still.status().state(), v1::STATE_LOGGED_OUT);
  // The dialer reserving for a campaign never gets another tenant's agent.
  LoginReady(*agent_b_, other);
  v1::Reservation r;
  grpc::Status st = Reserve("as-a", "iso-call", &r);
  if (st.ok()) {
    EXPECT_NE(r.agent(), other);
  }
}

TEST_F(AgentStateServiceTest, TheTenantsAgentQuotaIsEnforced) {
  Create(*admin_small_, "as-small", "q1");
  Create(*admin_small_, "as-small", "q2");
  v1::CreateAgentRequest req;
  req.set_parent("tenants/as-small");
  req.set_agent_id("q3");
  req.mutable_agent()->set_display_name("third");
  v1::Agent out;
  grpc::Status st = stub()->CreateAgent(Ctx(*admin_small_).get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonOf(st), "QUOTA_EXCEEDED");
}

TEST_F(AgentStateServiceTest, UndefinedEnumValuesAreRefused) {
  v1::Agent a = Create(*admin_a_, "as-a", "enum-1");
  auto problems = dialgrid::testing::ProbeEnums(
      p_->Channel("agentstate"),
      *v1::Agent::descriptor()->file()->FindServiceByName("AgentStateService"),
      {{"ForceState", {"name: '" + a.name() + "' reason_code: 'x'", *super_a_}},
       {"CreateAgent",
        {"parent: 'tenants/as-a' agent_id: 'enum-2' agent { display_name: 'x' }", *admin_a_}},
       // The agent's status is output only, its state an enum all the same.
       {"UpdateAgent",
        {"agent { name: '" + a.name() + "' display_name: 'y' } update_mask { paths: 'display_name' }",
         *admin_a_}}});
  for (const auto& pr : problems) ADD_FAILURE() << pr;
}

TEST_F(AgentStateServiceTest, WithTheBrokerFrozenCallsAnswerAndTheirEventsFollow) {
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(), {"agents"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  ASSERT_TRUE(p_->broker().Pause().ok());
  const absl::Time start = absl::Now();
  v1::Agent a = Create(*admin_a_, "as-a", "kafka-1");
  LoginReady(*agent_a_, a.name());
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(p_->broker().Resume().ok());
  EXPECT_LT(took, absl::Seconds(5)) << "calls waited for Kafka";
  // Stored with their events: created, logged in, ready, in that order.
  bool seen = (*recorder)->WaitFor([&](const std::vector<event::v1::Envelope>& events) {
    std::vector<v1::State> states;
    bool created = false;
    for (const auto& e : events) {
      if (e.subject() != a.name()) continue;
      v1::AgentStatus st;
      if (e.payload().UnpackTo(&st)) states.push_back(st.state());
      if (e.payload().Is<v1::Agent>()) created = true;
    }
    return created && states == std::vector<v1::State>{v1::STATE_NOT_READY, v1::STATE_READY};
  });
  EXPECT_TRUE(seen) << "the agent's events on the agents topic after the broker came back";
  (*recorder)->Stop();
}

TEST_F(AgentStateServiceTest, AnUnconfirmedReservationIsFreedEvenIfItsReplicaDies) {
  ASSERT_TRUE(p_->StartService("agentstate-2", DIALGRID_AGENTSTATE_BIN,
                               {"--reservation_timeout_ms=500", "--timer_sweep_ms=50"})
                  .ok());
  v1::Agent a = Create(*admin_a_, "as-a", "timer-1", "c-timer");
  LoginReady(*agent_a_, a.name());
  v1::ReserveAgentRequest req;
  req.set_campaign("tenants/as-a/campaigns/c-timer");
  req.set_call_id("timer-call");
  v1::Reservation r;
  grpc::Status st = stub("agentstate-2")->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(StateOf(a.name()), v1::STATE_RESERVED);
  // The replica that reserved is killed; the other one's sweep frees the agent.
  ASSERT_TRUE(p_->Process("agentstate-2")->Signal(SIGKILL).ok());
  EXPECT_TRUE(TestPlatform::Eventually(
      [&] { return StateOf(a.name()) == v1::STATE_NOT_READY; }, absl::Seconds(10)));
  (void)p_->StopService("agentstate-2", absl::Seconds(1));
}

TEST_F(AgentStateServiceTest, AgentsAreListedUpdatedAndDeleted) {
  for (const char* id : {"list-1", "list-2", "list-3"}) Create(*admin_b_, "as-b", id);
  // Team "north" for two of them, through UpdateAgent.
  for (const char* id : {"list-1", "list-3"}) {
    v1::UpdateAgentRequest up;
    up.mutable_agent()->set_name(absl::StrCat("tenants/as-b/agents/", id));
    up.mutable_agent()->set_team("north");
    up.mutable_update_mask()->add_paths("team");
    v1::Agent out;
    grpc::Status st = stub()->UpdateAgent(Ctx(*admin_b_).get(), up, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(out.team(), "north");
    EXPECT_EQ(out.display_name(), absl::StrCat("Agent ", id));  // not in the mask: kept
  }
  // Pages of two, in name order, to the end.
  std::vector<std::string> names;
  v1::ListAgentsRequest list;
  list.set_parent("tenants/as-b");
  list.set_page_size(2);
  for (int pages = 0; pages < 20; ++pages) {
    v1::ListAgentsResponse resp;
    grpc::Status st = stub()->ListAgents(Ctx(*admin_b_).get(), list, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_LE(resp.agents_size(), 2);
    for (const auto& a : resp.agents()) names.push_back(a.name());
    if (resp.next_page_token().empty()) break;
    list.set_page_token(resp.next_page_token());
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* id : {"list-1", "list-2", "list-3"}) {
    EXPECT_EQ(std::count(names.begin(), names.end(), absl::StrCat("tenants/as-b/agents/", id)), 1);
  }
  list.set_page_token("");
  list.set_page_size(0);
  list.set_team("north");
  v1::ListAgentsResponse north;
  ASSERT_TRUE(stub()->ListAgents(Ctx(*admin_b_).get(), list, &north).ok());
  ASSERT_EQ(north.agents_size(), 2);
  EXPECT_EQ(north.agents(0).name(), "tenants/as-b/agents/list-1");
  EXPECT_EQ(north.agents(1).name(), "tenants/as-b/agents/list-3");
  list.set_page_token("bm90LWEtdG9rZW4");
  v1::ListAgentsResponse bad;
  EXPECT_EQ(ReasonOf(stub()->ListAgents(Ctx(*admin_b_).get(), list, &bad)), "INVALID_PAGE_TOKEN");

  // An etag from before another update is refused; nothing changes.
  v1::GetAgentRequest get;
  get.set_name("tenants/as-b/agents/list-2");
  v1::Agent before;
  ASSERT_TRUE(stub()->GetAgent(Ctx(*admin_b_).get(), get, &before).ok());
  ASSERT_FALSE(before.etag().empty());
  v1::UpdateAgentRequest up;
  *up.mutable_agent() = before;
  up.mutable_agent()->set_display_name("First");
  up.mutable_update_mask()->add_paths("display_name");
  v1::Agent first;
  ASSERT_TRUE(stub()->UpdateAgent(Ctx(*admin_b_).get(), up, &first).ok());
  EXPECT_NE(first.etag(), before.etag());
  up.mutable_agent()->set_display_name("Second");
  v1::Agent second;
  grpc::Status st = stub()->UpdateAgent(Ctx(*admin_b_).get(), up, &second);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(ReasonOf(st), "ETAG_MISMATCH");
  // A field that cannot be updated, and a bad value, are refused by name.
  up.mutable_agent()->clear_etag();
  up.mutable_update_mask()->clear_paths();
  up.mutable_update_mask()->add_paths("status");
  st = stub()->UpdateAgent(Ctx(*admin_b_).get(), up, &second);
  EXPECT_EQ(ReasonOf(st), "FIELD_NOT_UPDATABLE");
  up.mutable_update_mask()->clear_paths();
  up.mutable_update_mask()->add_paths("skills");
  auto* skill = up.mutable_agent()->add_skills();
  skill->set_name("spanish");
  skill->set_level(11);
  st = stub()->UpdateAgent(Ctx(*admin_b_).get(), up, &second);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(stub()->GetAgent(Ctx(*admin_b_).get(), get, &second).ok());
  EXPECT_EQ(second.display_name(), "First");
  EXPECT_EQ(second.skills_size(), 0);

  // A logged-in agent cannot be deleted; logged out, it can, once.
  LoginReady(*agent_b_, "tenants/as-b/agents/list-2");
  v1::DeleteAgentRequest del;
  del.set_name("tenants/as-b/agents/list-2");
  v1::DeleteAgentResponse deleted;
  st = stub()->DeleteAgent(Ctx(*admin_b_).get(), del, &deleted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(st), "AGENT_LOGGED_IN");
  v1::LogoutRequest logout;
  logout.set_name(del.name());
  v1::AgentStatus out;
  ASSERT_TRUE(stub()->Logout(Ctx(*agent_b_).get(), logout, &out).ok());
  st = stub()->DeleteAgent(Ctx(*admin_b_).get(), del, &deleted);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(stub()->GetAgent(Ctx(*admin_b_).get(), get, &second).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stub()->DeleteAgent(Ctx(*admin_b_).get(), del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// Reads a watch stream on a thread of its own, keeping each agent's newest
// status as the stream tells it.
class WatchClient {
 public:
  WatchClient(std::unique_ptr<Stub> stub, const std::string& secret, v1::WatchAgentsRequest req)
      : stub_(std::move(stub)), ctx_(TestPlatform::Context(secret, absl::Seconds(120))) {
    reader_ = stub_->WatchAgents(ctx_.get(), req);
    thread_ = std::thread([this] {
      v1::WatchAgentsResponse msg;
      while (reader_->Read(&msg)) {
        std::lock_guard<std::mutex> lock(mu_);
        if (msg.snapshot()) {
          ++snapshots_;
          latest_.clear();
        }
        for (const auto& s : msg.statuses()) latest_[s.agent()] = s;
      }
      std::lock_guard<std::mutex> lock(mu_);
      status_ = reader_->Finish();
      ended_ = true;
    });
  }
  ~WatchClient() {
    ctx_->TryCancel();
    thread_.join();
  }
  bool Has(const std::string& agent, v1::State state) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = latest_.find(agent);
    return it != latest_.end() && it->second.state() == state;
  }
  std::optional<v1::AgentStatus> Of(const std::string& agent) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = latest_.find(agent);
    if (it == latest_.end()) return std::nullopt;
    return it->second;
  }
  int snapshots() {
    std::lock_guard<std::mutex> lock(mu_);
    return snapshots_;
  }
  bool ended(grpc::Status* st) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) *st = status_;
    return ended_;
  }

 private:
  std::unique_ptr<Stub> stub_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientReader<v1::WatchAgentsResponse>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, v1::AgentStatus> latest_;
  int snapshots_ = 0;
  bool ended_ = false;
  grpc::Status status_;
};

TEST_F(AgentStateServiceTest, AWatchSeesChangesMadeOnAnyReplicaAndOnlyItsScope) {
  ASSERT_TRUE(p_->StartService("agentstate-w", DIALGRID_AGENTSTATE_BIN).ok());
  v1::Agent a1 = Create(*admin_a_, "as-a", "watch-1");
  v1::Agent b1 = Create(*admin_b_, "as-b", "watch-b1");
  v1::WatchAgentsRequest req;
  req.set_parent("tenants/as-a");
  WatchClient watch(stub("agentstate-w"), *super_a_, req);
  ASSERT_TRUE(TestPlatform::Eventually([&] { return watch.Has(a1.name(), v1::STATE_LOGGED_OUT); },
                                       absl::Seconds(10)));
  // Changes made through the other replica reach this watch.
  LoginReady(*agent_a_, a1.name());
  EXPECT_TRUE(TestPlatform::Eventually([&] { return watch.Has(a1.name(), v1::STATE_READY); },
                                       absl::Seconds(10)));
  // A new agent of the tenant enters the view; another tenant's never does.
  v1::Agent a2 = Create(*admin_a_, "as-a", "watch-2");
  LoginReady(*agent_b_, b1.name());
  EXPECT_TRUE(TestPlatform::Eventually([&] { return watch.Has(a2.name(), v1::STATE_LOGGED_OUT); },
                                       absl::Seconds(10)));
  EXPECT_FALSE(watch.Of(b1.name()).has_value());
  // Only a team.
  v1::UpdateAgentRequest up;
  up.mutable_agent()->set_name(a2.name());
  up.mutable_agent()->set_team("east");
  up.mutable_update_mask()->add_paths("team");
  v1::Agent out;
  ASSERT_TRUE(stub()->UpdateAgent(Ctx(*admin_a_).get(), up, &out).ok());
  req.set_team("east");
  WatchClient east(stub(), *super_a_, req);
  ASSERT_TRUE(TestPlatform::Eventually([&] { return east.Has(a2.name(), v1::STATE_LOGGED_OUT); },
                                       absl::Seconds(10)));
  LoginReady(*agent_a_, a2.name());
  ASSERT_TRUE(TestPlatform::Eventually([&] { return east.Has(a2.name(), v1::STATE_READY); },
                                       absl::Seconds(10)));
  EXPECT_FALSE(east.Of(a1.name()).has_value());
  grpc::Status ended;
  EXPECT_FALSE(watch.ended(&ended));
  (void)p_->StopService("agentstate-w", absl::Seconds(5));
}

TEST_F(AgentStateServiceTest, APoolAgentServesTheTenantsItIsGrantedToAndShowsEachOnlyItsCalls) {
  const std::string& vendor = p_->admin_secret();
  v1::CreateAgentRequest create;
  create.set_parent("agentPools/bpo");
  create.set_agent_id("pat");
  create.mutable_agent()->set_display_name("Pat from the pool");
  v1::Agent pat;
  grpc::Status st = stub()->CreateAgent(Ctx(vendor).get(), create, &pat);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(pat.name(), "agentPools/bpo/agents/pat");

  v1::WatchAgentsRequest wa;
  wa.set_parent("tenants/as-a");
  WatchClient watch_a(stub(), *super_a_, wa);
  wa.set_parent("agentPools/bpo");
  WatchClient watch_pool(stub(), vendor, wa);
  ASSERT_TRUE(TestPlatform::Eventually(
      [&] { return watch_pool.Has(pat.name(), v1::STATE_LOGGED_OUT); }, absl::Seconds(10)));
  EXPECT_FALSE(watch_a.Of(pat.name()).has_value());  // not granted yet

  // Granted to both tenants' campaigns.
  for (const char* t : {"as-a", "as-b"}) {
    v1::SetPoolGrantRequest grant;
    grant.mutable_grant()->set_agent(pat.name());
    grant.mutable_grant()->set_tenant(absl::StrCat("tenants/", t));
    grant.mutable_grant()->add_campaigns(absl::StrCat("tenants/", t, "/campaigns/pool-c"));
    st = stub()->SetPoolGrant(Ctx(vendor).get(), grant, &pat);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_EQ(pat.campaigns_size(), 2);
  // A grant naming another tenant's campaign is refused.
  v1::SetPoolGrantRequest wrong;
  wrong.mutable_grant()->set_agent(pat.name());
  wrong.mutable_grant()->set_tenant("tenants/as-a");
  wrong.mutable_grant()->add_campaigns("tenants/as-b/campaigns/pool-c");
  v1::Agent ignored;
  EXPECT_EQ(stub()->SetPoolGrant(Ctx(vendor).get(), wrong, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(TestPlatform::Eventually(
      [&] { return watch_a.Has(pat.name(), v1::STATE_LOGGED_OUT); }, absl::Seconds(10)));

  // Pat's desktop is the vendor's (a pool agent is no tenant's to log in).
  auto pool_desk = p_->Credential("", tenancy::v1::ROLE_AGENT);
  ASSERT_TRUE(pool_desk.ok()) << pool_desk.status();
  v1::LoginRequest login;
  login.set_name(pat.name());
  login.set_station("pool-7");
  v1::AgentStatus out;
  EXPECT_EQ(stub()->Login(Ctx(*agent_a_).get(), login, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  LoginReady(*pool_desk, pat.name());

  // A call of a campaign Pat is not granted for never gets Pat.
  v1::ReserveAgentRequest req;
  req.set_campaign("tenants/as-a/campaigns/not-granted");
  req.set_call_id("pool-call-0");
  v1::Reservation r;
  st = stub()->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r);
  if (st.ok()) {
    EXPECT_NE(r.agent(), pat.name());
  }
  // A call of as-b: the pool's view has it; as-a's view shows Pat reserved
  // without as-b's call.
  req.set_campaign("tenants/as-b/campaigns/pool-c");
  req.set_call_id("pool-call-1");
  st = stub()->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(r.agent(), pat.name());
  ASSERT_TRUE(TestPlatform::Eventually(
      [&] { return watch_pool.Has(pat.name(), v1::STATE_RESERVED); }, absl::Seconds(10)));
  EXPECT_EQ(watch_pool.Of(pat.name())->call_tenant(), "as-b");
  ASSERT_TRUE(TestPlatform::Eventually(
      [&] { return watch_a.Has(pat.name(), v1::STATE_RESERVED); }, absl::Seconds(10)));
  EXPECT_EQ(watch_a.Of(pat.name())->call_id(), "");
  EXPECT_EQ(watch_a.Of(pat.name())->call_tenant(), "");
  EXPECT_EQ(watch_a.Of(pat.name())->campaign(), "");

  // The grant to as-a is withdrawn: Pat leaves as-a's view.
  v1::SetPoolGrantRequest withdraw;
  withdraw.mutable_grant()->set_agent(pat.name());
  withdraw.mutable_grant()->set_tenant("tenants/as-a");
  st = stub()->SetPoolGrant(Ctx(vendor).get(), withdraw, &pat);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(pat.campaigns_size(), 1);
  EXPECT_TRUE(TestPlatform::Eventually([&] { return !watch_a.Of(pat.name()).has_value(); },
                                       absl::Seconds(10)));
  EXPECT_GE(watch_a.snapshots(), 2);
}

v1::AgentKpis Kpis(Stub& stub, const std::string& secret, const std::string& name,
                   const std::string& tenant_part, grpc::Status* st) {
  v1::GetAgentKpisRequest req;
  req.set_name(name);
  req.set_tenant(tenant_part);
  // Today in the tenant's zone (TestPlatform: America/New_York); pool
  // agents count in UTC.
  absl::TimeZone zone = absl::UTCTimeZone();
  if (absl::StartsWith(name, "tenants/")) (void)absl::LoadTimeZone("America/New_York", &zone);
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), zone);
  req.mutable_day()->set_year(static_cast<int32_t>(today.year()));
  req.mutable_day()->set_month(today.month());
  req.mutable_day()->set_day(today.day());
  v1::AgentKpis out;
  *st = stub.GetAgentKpis(TestPlatform::Context(secret).get(), req, &out);
  return out;
}

TEST_F(AgentStateServiceTest, KpisCountTimeInEachStateAndCallsHandled) {
  v1::CreateAgentRequest create;
  create.set_parent("tenants/as-a");
  create.set_agent_id("kpi-1");
  create.mutable_agent()->set_display_name("Kim");
  create.mutable_agent()->set_team("kpi-team");
  create.mutable_agent()->add_campaigns("tenants/as-a/campaigns/c-kpi");
  create.mutable_agent()->mutable_targets()->set_calls_handled(40);
  create.mutable_agent()->mutable_targets()->set_occupancy(0.8);
  v1::Agent a;
  ASSERT_TRUE(stub()->CreateAgent(Ctx(*admin_a_).get(), create, &a).ok());
  LoginReady(*agent_a_, a.name());
  absl::SleepFor(absl::Milliseconds(300));
  v1::ReserveAgentRequest req;
  req.set_campaign("tenants/as-a/campaigns/c-kpi");
  req.set_call_id("kpi-call");
  v1::Reservation r;
  ASSERT_TRUE(stub()->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r).ok());
  ASSERT_EQ(r.agent(), a.name());
  v1::ConfirmReservationRequest confirm;
  confirm.set_name(a.name());
  confirm.set_call_id("kpi-call");
  v1::AgentStatus out;
  ASSERT_TRUE(stub()->ConfirmReservation(Ctx(p_->service_secret()).get(), confirm, &out).ok());
  absl::SleepFor(absl::Milliseconds(400));
  v1::EndCallRequest end;
  end.set_name(a.name());
  end.set_call_id("kpi-call");
  ASSERT_TRUE(stub()->EndCall(Ctx(p_->service_secret()).get(), end, &out).ok());

  grpc::Status st;
  v1::AgentKpis k = Kpis(*stub(), *super_a_, a.name(), "", &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(k.agent(), a.name());
  EXPECT_EQ(k.calls_handled(), 1);
  EXPECT_GE(k.talk().seconds() * 1000 + k.talk().nanos() / 1000000, 400);
  EXPECT_GE(k.ready().seconds() * 1000 + k.ready().nanos() / 1000000, 300);
  EXPECT_EQ(k.not_ready().count("login"), 1u);
  // Logged in is the sum of the states (wrap-up still open, counted to now).
  const auto ms = [](const google::protobuf::Duration& d) { return d.seconds() * 1000 + d.nanos() / 1000000; };
  int64_t parts = ms(k.ready()) + ms(k.talk()) + ms(k.wrap_up());
  for (const auto& [reason, d] : k.not_ready()) parts += ms(d);
  EXPECT_NEAR(static_cast<double>(ms(k.logged_in())), static_cast<double>(parts), 5.0);
  EXPECT_GT(k.occupancy(), 0.0);
  EXPECT_LT(k.occupancy(), 1.0);
  EXPECT_EQ(k.targets().calls_handled(), 40);

  // The team's figures: the one agent's, and the sum.
  v1::GetTeamKpisRequest team;
  team.set_parent("tenants/as-a");
  team.set_team("kpi-team");
  absl::TimeZone ny;
  ASSERT_TRUE(absl::LoadTimeZone("America/New_York", &ny));
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), ny);
  team.mutable_day()->set_year(static_cast<int32_t>(today.year()));
  team.mutable_day()->set_month(today.month());
  team.mutable_day()->set_day(today.day());
  v1::TeamKpis tk;
  st = stub()->GetTeamKpis(Ctx(*super_a_).get(), team, &tk);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(tk.agents_size(), 1);
  EXPECT_EQ(tk.total().calls_handled(), 1);
  EXPECT_EQ(tk.total().targets().calls_handled(), 40);

  // A day that is not a date is refused by name.
  team.mutable_day()->set_month(13);
  st = stub()->GetTeamKpis(Ctx(*super_a_).get(), team, &tk);
  EXPECT_EQ(ReasonOf(st), "INVALID_DATE");
}

TEST_F(AgentStateServiceTest, AnAgentAwayTooLongRaisesOneAlertPerStateEntered) {
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(), {"agents"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  v1::Agent a = Create(*admin_a_, "as-a", "alert-1");
  v1::LoginRequest login;
  login.set_name(a.name());
  login.set_station("ext-alert");
  v1::AgentStatus out;
  ASSERT_TRUE(stub()->Login(Ctx(*agent_a_).get(), login, &out).ok());  // NOT_READY(login)
  // The service runs with --not_ready_alert_seconds=2: one AgentAlert.
  auto alerts_for = [&](const std::vector<event::v1::Envelope>& events) {
    int n = 0;
    for (const auto& e : events) {
      v1::AgentAlert alert;
      if (e.subject() == a.name() && e.payload().UnpackTo(&alert)) {
        EXPECT_EQ(alert.status().state(), v1::STATE_NOT_READY);
        EXPECT_GE(alert.in_state().seconds(), 2);
        ++n;
      }
    }
    return n;
  };
  EXPECT_TRUE((*recorder)->WaitFor([&](const auto& events) { return alerts_for(events) >= 1; }));
  absl::SleepFor(absl::Seconds(2));  // more sweeps: still one alert for this state
  EXPECT_TRUE((*recorder)->WaitFor([&](const auto& events) { return alerts_for(events) == 1; }));
  (*recorder)->Stop();
}

TEST_F(AgentStateServiceTest, ATenantsReasonCodesAndAlertThresholdsAreItsOwn) {
  // as-b lists its reason codes and alerts on agents idle for a second.
  v1::UpdateAgentSettingsRequest up;
  up.mutable_settings()->set_name("tenants/as-b/agentSettings");
  for (const char* code : {"lunch", "training"}) {
    auto* r = up.mutable_settings()->add_reason_codes();
    r->set_code(code);
    r->set_display_name(code);
  }
  up.mutable_settings()->mutable_idle_alert()->set_seconds(1);
  up.mutable_update_mask()->add_paths("reason_codes");
  up.mutable_update_mask()->add_paths("idle_alert");
  v1::AgentSettings settings;
  grpc::Status st = stub()->UpdateAgentSettings(Ctx(*admin_b_).get(), up, &settings);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(settings.reason_codes_size(), 2);
  EXPECT_FALSE(settings.etag().empty());
  // The service's own codes cannot be listed; a supervisor cannot change them.
  auto bad = up;
  bad.mutable_settings()->clear_etag();
  bad.mutable_settings()->mutable_reason_codes(0)->set_code("login");
  EXPECT_EQ(ReasonOf(stub()->UpdateAgentSettings(Ctx(*admin_b_).get(), bad, &settings)),
            "RESERVED_REASON_CODE");
  // A stale etag.
  up.mutable_settings()->set_etag("stale");
  EXPECT_EQ(ReasonOf(stub()->UpdateAgentSettings(Ctx(*admin_b_).get(), up, &settings)),
            "ETAG_MISMATCH");

  v1::Agent b = Create(*admin_b_, "as-b", "reasons-1");
  LoginReady(*agent_b_, b.name());
  v1::SetNotReadyRequest nr;
  nr.set_name(b.name());
  nr.set_reason_code("coffee");
  v1::AgentStatus out;
  st = stub()->SetNotReady(Ctx(*agent_b_).get(), nr, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "UNKNOWN_REASON_CODE");
  // Another tenant's list does not apply to as-a (it has none: any code).
  v1::Agent a = Create(*admin_a_, "as-a", "reasons-a");
  LoginReady(*agent_a_, a.name());
  v1::SetNotReadyRequest nra;
  nra.set_name(a.name());
  nra.set_reason_code("coffee");
  EXPECT_TRUE(stub()->SetNotReady(Ctx(*agent_a_).get(), nra, &out).ok());

  // as-b's agent, ready for over a second, raises an idle alert with as-b's
  // threshold (the service's own idle alert is off).
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(), {"agents"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  EXPECT_TRUE((*recorder)->WaitFor([&](const std::vector<event::v1::Envelope>& events) {
    for (const auto& e : events) {
      v1::AgentAlert alert;
      if (e.subject() == b.name() && e.payload().UnpackTo(&alert) &&
          alert.status().state() == v1::STATE_READY && alert.threshold().seconds() == 1) {
        return true;
      }
    }
    return false;
  }));
  (*recorder)->Stop();
  nr.set_reason_code("training");
  EXPECT_TRUE(stub()->SetNotReady(Ctx(*agent_b_).get(), nr, &out).ok());
  EXPECT_EQ(out.reason_code(), "training");
  // The desktop reads the list.
  v1::GetAgentSettingsRequest get;
  get.set_name("tenants/as-b/agentSettings");
  ASSERT_TRUE(stub()->GetAgentSettings(Ctx(*agent_b_).get(), get, &settings).ok());
  EXPECT_EQ(settings.reason_codes(1).code(), "training");
}

// An abusive caller: the dialer ends the call protected. The agent goes
// NOT_READY with the reason, its own ready is refused until protected_until
// (seen by GetAgent, the event and the supervisors' watch), a supervisor's
// ForceState ends it early; bad protections are refused by name and change
// nothing; another tenant still gets PERMISSION_DENIED.
TEST_F(AgentStateServiceTest, AnAbusiveCallersAgentIsProtectedUntilItsTimeOrASupervisor) {
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(), {"agents"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  v1::Agent a = Create(*admin_a_, "as-a", "prot-1", "c-prot");
  v1::WatchAgentsRequest wreq;
  wreq.set_parent("tenants/as-a");
  WatchClient watch(stub(), *super_a_, wreq);
  LoginReady(*agent_a_, a.name());
  auto call = [&](const std::string& call_id) {
    v1::ReserveAgentRequest req;
    req.set_campaign("tenants/as-a/campaigns/c-prot");
    req.set_call_id(call_id);
    req.set_agent(a.name());
    v1::Reservation r;
    grpc::Status st = stub()->ReserveAgent(Ctx(p_->service_secret()).get(), req, &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    v1::ConfirmReservationRequest confirm;
    confirm.set_name(a.name());
    confirm.set_call_id(call_id);
    v1::AgentStatus out;
    st = stub()->ConfirmReservation(Ctx(p_->service_secret()).get(), confirm, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  };
  call("prot-call-1");
  v1::EndCallRequest end;
  end.set_name(a.name());
  end.set_call_id("prot-call-1");
  v1::AgentStatus out;

  // Bad protections: refused by name, the agent still on its call.
  struct Bad {
    std::string reason;
    std::optional<int64_t> seconds;
    const char* why;
  };
  for (const Bad& bad : std::vector<Bad>{{"abusive-caller", std::nullopt, "FIELD_REQUIRED"},
                                         {"", 600, "FIELD_REQUIRED"},
                                         {"abusive-caller", 0, "VALUE_OUT_OF_RANGE"},
                                         {"abusive-caller", 3601, "VALUE_OUT_OF_RANGE"},
                                         {"Abusive Caller", 600, "INVALID_ID"},
                                         {"login", 600, "RESERVED_REASON_CODE"}}) {
    v1::EndCallRequest req = end;
    req.set_protected_reason(bad.reason);
    if (bad.seconds) req.mutable_protect_for()->set_seconds(*bad.seconds);
    grpc::Status st = stub()->EndCall(Ctx(p_->service_secret()).get(), req, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.reason;
    EXPECT_EQ(ReasonOf(st), bad.why) << bad.reason << ": " << st.error_message();
  }
  EXPECT_EQ(StateOf(a.name()), v1::STATE_ON_CALL);

  end.set_protected_reason("abusive-caller");
  end.mutable_protect_for()->set_seconds(600);
  const absl::Time before = absl::Now();
  grpc::Status st = stub()->EndCall(Ctx(p_->service_secret()).get(), end, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.state(), v1::STATE_NOT_READY);
  EXPECT_EQ(out.reason_code(), "abusive-caller");
  EXPECT_EQ(out.call_id(), "");
  ASSERT_TRUE(out.has_protected_until());
  EXPECT_GE(out.protected_until().seconds(), absl::ToUnixSeconds(before) + 599);
  EXPECT_LE(out.protected_until().seconds(), absl::ToUnixSeconds(absl::Now()) + 600);
  const auto until = out.protected_until();
  // A retry answers the same status (as every retried move, only the
  // version moves on; no event).
  v1::AgentStatus again;
  ASSERT_TRUE(stub()->EndCall(Ctx(p_->service_secret()).get(), end, &again).ok());
  EXPECT_EQ(again.state(), v1::STATE_NOT_READY);
  EXPECT_EQ(again.reason_code(), "abusive-caller");
  EXPECT_EQ(again.state_time().seconds(), out.state_time().seconds());
  EXPECT_EQ(again.protected_until().seconds(), out.protected_until().seconds());

  v1::SetReadyRequest ready;
  ready.set_name(a.name());
  st = stub()->SetReady(Ctx(*agent_a_).get(), ready, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(st), "NOT_READY_PROTECTED");
  EXPECT_NE(st.error_message().find("protection until"), std::string::npos) << st.error_message();
  v1::GetAgentRequest get;
  get.set_name(a.name());
  v1::Agent got;
  ASSERT_TRUE(stub()->GetAgent(Ctx(*super_a_).get(), get, &got).ok());
  EXPECT_EQ(got.status().protected_until().seconds(), until.seconds());
  // The supervisors' watch and the agents topic carry it.
  EXPECT_TRUE(TestPlatform::Eventually(
      [&] {
        auto s = watch.Of(a.name());
        return s && s->state() == v1::STATE_NOT_READY &&
               s->protected_until().seconds() == until.seconds();
      },
      absl::Seconds(10)));
  EXPECT_TRUE((*recorder)->WaitFor([&](const std::vector<event::v1::Envelope>& events) {
    for (const auto& e : events) {
      v1::AgentStatus s;
      if (e.subject() == a.name() && e.payload().UnpackTo(&s) &&
          s.reason_code() == "abusive-caller" && s.protected_until().seconds() == until.seconds()) {
        return true;
      }
    }
    return false;
  }));
  (*recorder)->Stop();

  // Another tenant: PERMISSION_DENIED as ever, never the protection's reason.
  st = stub()->SetReady(Ctx(*agent_b_).get(), ready, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::ForceStateRequest force;
  force.set_name(a.name());
  force.set_target(v1::ForceStateRequest::TARGET_NOT_READY);
  force.set_reason_code("coaching");
  st = stub()->ForceState(Ctx(*admin_b_).get(), force, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // The supervisor overrides: not ready under its reason, unprotected.
  st = stub()->ForceState(Ctx(*super_a_).get(), force, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.reason_code(), "coaching");
  EXPECT_FALSE(out.has_protected_until());
  ASSERT_TRUE(stub()->SetReady(Ctx(*agent_a_).get(), ready, &out).ok());
  EXPECT_EQ(out.state(), v1::STATE_READY);
  EXPECT_TRUE(TestPlatform::Eventually(
      [&] {
        auto s = watch.Of(a.name());
        return s && s->state() == v1::STATE_READY && !s->has_protected_until();
      },
      absl::Seconds(10)));

  // The shortest protection lapses by itself (real time: the binary's clock).
  call("prot-call-2");
  end.set_call_id("prot-call-2");
  end.mutable_protect_for()->set_seconds(1);
  ASSERT_TRUE(stub()->EndCall(Ctx(p_->service_secret()).get(), end, &out).ok());
  st = stub()->SetReady(Ctx(*agent_a_).get(), ready, &out);
  if (!st.ok()) {
    EXPECT_EQ(ReasonOf(st), "NOT_READY_PROTECTED");
  }
  EXPECT_TRUE(TestPlatform::Eventually(
      [&] { return stub()->SetReady(Ctx(*agent_a_).get(), ready, &out).ok(); },
      absl::Seconds(10)));
  EXPECT_EQ(out.state(), v1::STATE_READY);
  EXPECT_FALSE(out.has_protected_until());
}

TEST_F(AgentStateServiceTest, WatchersTakeAFreshSnapshotAfterTheChangeFeedBreaks) {
  v1::Agent a = Create(*admin_a_, "as-a", "watch-feed");
  v1::WatchAgentsRequest req;
  req.set_parent("tenants/as-a");
  WatchClient watch(stub(), *super_a_, req);
  ASSERT_TRUE(TestPlatform::Eventually([&] { return watch.Has(a.name(), v1::STATE_LOGGED_OUT); },
                                       absl::Seconds(10)));
  const int before = watch.snapshots();
  // Redis drops every subscriber connection (as a failover or a network
  // break would): messages published meanwhile are lost to Pub/Sub, so the
  // watch is made whole by a fresh snapshot, and goes on.
  redis::Options ro;
  ASSERT_TRUE(redis::ParseAddress(p_->redis().address(), ro).ok());
  auto client = redis::Client::Create(ro);
  ASSERT_TRUE(client.ok()) << client.status();
  auto killed = (*client)->Command({"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_GE(killed->integer, 1);
  EXPECT_TRUE(TestPlatform::Eventually([&] { return watch.snapshots() > before; },
                                       absl::Seconds(15)));
  LoginReady(*agent_a_, a.name());
  EXPECT_TRUE(TestPlatform::Eventually([&] { return watch.Has(a.name(), v1::STATE_READY); },
                                       absl::Seconds(10)));
  grpc::Status ended;
  EXPECT_FALSE(watch.ended(&ended)) << ended.error_message();
}

}  // namespace
}  // namespace dialgrid::agentstate
