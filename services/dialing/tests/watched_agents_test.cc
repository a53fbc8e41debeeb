// The dialer's agents by one watch per tenant (WatchedAgentRouter) against
// the real agent-state service over loopback, with Redis, the broker and
// tenancy: state changes arrive through the watch without a ListAgents per
// call, each campaign sees its own agents, agent state going away stops the
// answers (no dials that need agents), and an unused watch ends.
#include "services/dialing/adapters/watched_agents.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "absl/strings/str_cat.h"
#include "dialgrid/agentstate/v1/agentstate.grpc.pb.h"
#include "services/dialing/adapters/call_path_clients.h"
#include "tests/fixtures/test_platform.h"

namespace dialgrid::dialing {
namespace {

using dialgrid::testing::TestPlatform;
namespace as = agentstate::v1;

// Counts the reads that reach agent state directly.
class CountingRouter final : public AgentRouter {
 public:
  explicit CountingRouter(std::shared_ptr<AgentRouter> inner) : inner_(std::move(inner)) {}
  absl::StatusOr<std::string> Reserve(const std::string& campaign,
                                      const std::vector<v1::SkillRequirement>& skills,
                                      const std::string& call_id,
                                      const std::string& agent) override {
    return inner_->Reserve(campaign, skills, call_id, agent);
  }
  absl::Status Confirm(const std::string& agent, const std::string& call_id) override {
    return inner_->Confirm(agent, call_id);
  }
  absl::Status Release(const std::string& agent, const std::string& call_id) override {
    return inner_->Release(agent, call_id);
  }
  absl::Status EndCall(const std::string& agent, const std::string& call_id,
                       const std::string& protected_reason, absl::Duration protect_for) override {
    return inner_->EndCall(agent, call_id, protected_reason, protect_for);
  }
  absl::StatusOr<std::vector<AgentSnapshot>> Agents(const std::string& tenant,
                                                    const std::string& campaign) override {
    ++reads;
    return inner_->Agents(tenant, campaign);
  }
  std::atomic<int> reads{0};

 private:
  std::shared_ptr<AgentRouter> inner_;
};

class WatchedAgentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto platform = TestPlatform::Start();
    ASSERT_TRUE(platform.ok()) << platform.status();
    p_ = *std::move(platform);
    ASSERT_TRUE(p_->StartService("agentstate", DIALGRID_AGENTSTATE_BIN).ok());
    for (const char* t : {"watch-a", "watch-b"}) ASSERT_TRUE(p_->CreateTenant(t).ok());
    client::PeerOptions o;
    o.name = "agent-state";
    o.address = p_->Address("agentstate");
    o.credential = p_->service_secret();
    peer_ = *client::PeerChannel::Create(o);
    counting_ = std::make_shared<CountingRouter>(std::make_shared<AgentStateClient>(peer_));
  }

  // An agent of `tenant` taking `campaign`'s calls, logged in and ready.
  std::string Agent(const std::string& tenant, const std::string& id, const std::string& campaign) {
    auto stub = as::AgentStateService::NewStub(p_->Channel("agentstate"));
    std::string admin = *p_->Credential(tenant, tenancy::v1::ROLE_TENANT_ADMIN);
    as::CreateAgentRequest req;
    req.set_parent(absl::StrCat("tenants/", tenant));
    req.set_agent_id(id);
    req.mutable_agent()->set_display_name(id);
    req.mutable_agent()->add_campaigns(Campaign(tenant, campaign));
    as::Agent out;
    grpc::Status st = stub->CreateAgent(TestPlatform::Context(admin).get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    as::LoginRequest login;
    login.set_name(out.name());
    login.set_station("ext-" + id);
    as::AgentStatus status;
    st = stub->Login(TestPlatform::Context(AgentSecret(tenant)).get(), login, &status);
    EXPECT_TRUE(st.ok()) << st.error_message();
    SetReady(tenant, out.name());
    return out.name();
  }
  void SetReady(const std::string& tenant, const std::string& agent) {
    auto stub = as::AgentStateService::NewStub(p_->Channel("agentstate"));
    as::SetReadyRequest ready;
    ready.set_name(agent);
    as::AgentStatus status;
    grpc::Status st = stub->SetReady(TestPlatform::Context(AgentSecret(tenant)).get(), ready, &status);
    EXPECT_TRUE(st.ok()) << st.error_message();
  }
  void SetNotReady(const std::string& tenant, const std::string& agent) {
    auto stub = as::AgentStateService::NewStub(p_->Channel("agentstate"));
    as::SetNotReadyRequest req;
    req.set_name(agent);
    req.set_reason_code("break");
    as::AgentStatus status;
    grpc::Status st = stub->SetNotReady(TestPlatform::Context(AgentSecret(tenant)).get(), req, &status);
    EXPECT_TRUE(st.ok()) << st.error_message();
  }
  const std::string& AgentSecret(const std::string& tenant) {
    auto it = agent_secrets_.find(tenant);
    if (it == agent_secrets_.end()) {
      it = agent_secrets_.emplace(tenant, *p_->Credential(tenant, tenancy::v1::ROLE_AGENT)).first;
    }
    return it->second;
  }
  static std::string Campaign(const std::string& tenant, const std::string& id) {
    return absl::StrCat("tenants/", tenant, "/campaigns/", id);
  }
  // agent -> state, as the router answers for the campaign.
  static std::map<std::string, as::State> States(WatchedAgentRouter& r, const std::string& tenant,
                                                 const std::string& campaign) {
    std::map<std::string, as::State> out;
    auto agents = r.Agents(tenant, Campaign(tenant, campaign));
    EXPECT_TRUE(agents.ok()) << agents.status();
    if (!agents.ok()) return out;
    for (const auto& a : *agents) out[a.agent] = a.state;
    return out;
  }

  std::unique_ptr<TestPlatform> p_;
  std::shared_ptr<client::PeerChannel> peer_;
  std::shared_ptr<CountingRouter> counting_;
  std::map<std::string, std::string> agent_secrets_;
};

TEST_F(WatchedAgentsTest, StateChangesArriveThroughOneWatchWithoutAListPerCall) {
  const std::string a0 = Agent("watch-a", "a0", "spring");
  const std::string a1 = Agent("watch-a", "a1", "spring");
  const std::string a2 = Agent("watch-a", "a2", "autumn");
  const std::string b0 = Agent("watch-b", "b0", "spring");  // another tenant's "spring"
  WatchedAgentsOptions o;
  o.membership_refresh = absl::Hours(1);  // every change below must come through the watch
  WatchedAgentRouter router(peer_, counting_, o);

  // Until the watch is up, the answer is read directly.
  auto first = States(router, "watch-a", "spring");
  EXPECT_EQ(first, (std::map<std::string, as::State>{{a0, as::STATE_READY}, {a1, as::STATE_READY}}));
  EXPECT_GE(counting_->reads.load(), 1);
  ASSERT_TRUE(TestPlatform::Eventually([&] { return router.Live("watch-a"); }));

  const int reads = counting_->reads.load();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(States(router, "watch-a", "spring").size(), 2u);
  }
  EXPECT_EQ(States(router, "watch-a", "autumn"),
            (std::map<std::string, as::State>{{a2, as::STATE_READY}}));
  EXPECT_EQ(States(router, "watch-a", "winter").size(), 0u);
  EXPECT_EQ(counting_->reads.load(), reads) << "answered from the watch, not by listing";

  // A change shows within moments, with no list in between (refresh: 1 h).
  SetNotReady("watch-a", a0);
  EXPECT_TRUE(TestPlatform::Eventually(
      [&] { return States(router, "watch-a", "spring")[a0] == as::STATE_NOT_READY; },
      absl::Seconds(5)));
  SetReady("watch-a", a0);
  EXPECT_TRUE(TestPlatform::Eventually(
      [&] { return States(router, "watch-a", "spring")[a0] == as::STATE_READY; },
      absl::Seconds(5)));
  EXPECT_EQ(counting_->reads.load(), reads);

  // The other tenant has a watch of its own and sees only its agents.
  EXPECT_TRUE(TestPlatform::Eventually([&] {
    (void)router.Agents("watch-b", Campaign("watch-b", "spring"));
    return router.Live("watch-b");
  }));
  EXPECT_EQ(States(router, "watch-b", "spring"),
            (std::map<std::string, as::State>{{b0, as::STATE_READY}}));
  EXPECT_EQ(router.Watched(), 2);
}

TEST_F(WatchedAgentsTest, AnAgentNewToTheTenantIsListedWhenTheWatchNamesIt) {
  WatchedAgentRouter router(peer_, counting_);
  const std::string a0 = Agent("watch-a", "a0", "spring");
  (void)router.Agents("watch-a", Campaign("watch-a", "spring"));
  ASSERT_TRUE(TestPlatform::Eventually([&] { return router.Live("watch-a"); }));
  EXPECT_EQ(States(router, "watch-a", "spring").size(), 1u);
  // Created after the list: its first status on the watch makes the next
  // answer list the tenant again, so its campaigns are known at once.
  const std::string a1 = Agent("watch-a", "a1", "spring");
  EXPECT_TRUE(TestPlatform::Eventually(
      [&] { return States(router, "watch-a", "spring").count(a1) == 1; }, absl::Seconds(5)));
}

TEST_F(WatchedAgentsTest, AgentStateGoneMeansNoAnswer) {
  const std::string a0 = Agent("watch-a", "a0", "spring");
  WatchedAgentsOptions o;
  o.min_backoff = absl::Milliseconds(50);
  o.max_backoff = absl::Milliseconds(200);
  WatchedAgentRouter router(peer_, counting_, o);
  (void)router.Agents("watch-a", Campaign("watch-a", "spring"));
  ASSERT_TRUE(TestPlatform::Eventually([&] { return router.Live("watch-a"); }));
  ASSERT_TRUE(p_->StopService("agentstate").ok());
  // Never the last statuses seen: an error, so the modes that need agents stop.
  EXPECT_TRUE(TestPlatform::Eventually([&] { return !router.Live("watch-a"); }, absl::Seconds(10)));
  EXPECT_FALSE(router.Agents("watch-a", Campaign("watch-a", "spring")).ok());
}

TEST_F(WatchedAgentsTest, AWatchNobodyAsksForEnds) {
  Agent("watch-a", "a0", "spring");
  WatchedAgentsOptions o;
  o.idle_stop = absl::Milliseconds(500);
  WatchedAgentRouter router(peer_, counting_, o);
  (void)router.Agents("watch-a", Campaign("watch-a", "spring"));
  ASSERT_TRUE(TestPlatform::Eventually([&] { return router.Live("watch-a"); }));
  // Only watch-b is asked for from now on: watch-a's watch ends.
  EXPECT_TRUE(TestPlatform::Eventually([&] {
    (void)router.Agents("watch-b", Campaign("watch-b", "spring"));
    return router.Watched() == 1 && !router.Live("watch-a");
  }, absl::Seconds(10)));
}

}  // namespace
}  // namespace dialgrid::dialing
