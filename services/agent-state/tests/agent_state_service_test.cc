// Service tests: the dialgrid-agentstate binary with tenancy, a real Redis
// and the broker (tests/fixtures/test_platform.h), called over loopback gRPC
// as the agent desktop, a supervisor and the dialer would.
#include <gtest/gtest.h>

#include <csignal>

#include "absl/strings/str_cat.h"
#include "dialgrid/agentstate/v1/agentstate.grpc.pb.h"
#include "services/common/core/errors.h"
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
                                 {"--reservation_timeout_ms=500", "--timer_sweep_ms=50"})
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
  };
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
        {"parent: 'tenants/as-a' agent_id: 'enum-2' agent { display_name: 'x' }", *admin_a_}}});
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

}  // namespace
}  // namespace dialgrid::agentstate
