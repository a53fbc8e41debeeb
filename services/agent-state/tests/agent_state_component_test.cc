// The agent-state application over the Redis store, against a real
// redis-server: moves, reservations under concurrency, idempotent retries,
// pool agents, timers in virtual time, survival of a Redis restart.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/agent-state/adapters/redis_agent_store.h"
#include "services/agent-state/application/agent_state_manager.h"
#include "services/common/core/clock.h"
#include "services/common/core/names.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/events/redis_outbox.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::agentstate {
namespace {

using ::dialgrid::testing::RedisServer;

class AgentStateComponentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto redis = RedisServer::Start({"--appendonly", "yes", "--appendfsync", "always"});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = redis->release();
  }
  static void TearDownTestSuite() { delete redis_; }

  void SetUp() override {
    ASSERT_NE(redis_, nullptr);
    redis::Options o;
    ASSERT_TRUE(redis::ParseAddress(redis_->address(), o).ok());
    o.pool_size = 16;
    auto c = redis::Client::Create(o);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::shared_ptr<redis::Client>(std::move(*c));
    ASSERT_TRUE(client_->Command({"FLUSHALL"}).ok());
    events::RedisOutboxOptions oo;
    oo.stream = "agentstate";
    oo.instance = "test";
    outbox_ = std::make_shared<events::RedisOutbox>(client_, oo);
    store_ = std::make_shared<RedisAgentStore>(client_, outbox_);
    manager_ = std::make_unique<AgentStateManager>(store_, clock_, AgentStateOptions());
  }

  AgentKey NewAgent(const std::string& scope, const std::string& id,
                    const std::vector<std::string>& campaigns) {
    AgentKey key{scope, id};
    v1::Agent a;
    a.set_display_name(id);
    for (const auto& c : campaigns) a.add_campaigns(c);
    auto* s = a.add_skills();
    s->set_name("spanish");
    s->set_level(5);
    absl::Status st = manager_->CreateAgent(key, a);
    EXPECT_TRUE(st.ok()) << st;
    // A pool agent's campaigns are its grants, one per tenant.
    if (scope.empty()) {
      std::map<std::string, std::vector<std::string>> by_tenant;
      for (const auto& c : campaigns) by_tenant[*TenantOfName("campaign", c)].push_back(c);
      for (const auto& [tenant, cs] : by_tenant) {
        auto granted = manager_->SetPoolGrant(key, tenant, cs);
        EXPECT_TRUE(granted.ok()) << granted.status();
      }
    }
    return key;
  }

  absl::StatusOr<Move> Do(const AgentKey& key, MoveKind kind, Actor actor,
                          const std::string& arg = "") {
    MoveRequest r;
    r.kind = kind;
    r.actor = actor;
    r.station = "ext-" + key.id;
    r.session = "s-" + key.id;
    r.reason = arg;
    r.call_id = arg;
    r.call_tenant = key.scope;
    return manager_->Apply(key, r);
  }

  void LoginReady(const AgentKey& key) {
    ASSERT_TRUE(Do(key, MoveKind::kLogin, Actor::kAgent).ok());
    ASSERT_TRUE(Do(key, MoveKind::kReady, Actor::kAgent).ok());
  }

  static ReserveRequest Reserve(const std::string& tenant, const std::string& call,
                                const std::string& campaign = "c1") {
    ReserveRequest r;
    r.tenant = tenant;
    r.campaign = absl::StrCat("tenants/", tenant, "/campaigns/", campaign);
    r.call_id = call;
    return r;
  }

  int64_t OutboxLength(const std::string& scope_tag) {
    auto r = client_->Command({"LLEN", scope_tag + ":outbox:agentstate"});
    return r.ok() ? r->integer : -1;
  }

  static RedisServer* redis_;
  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  std::shared_ptr<redis::Client> client_;
  std::shared_ptr<events::RedisOutbox> outbox_;
  std::shared_ptr<RedisAgentStore> store_;
  std::unique_ptr<AgentStateManager> manager_;
};

RedisServer* AgentStateComponentTest::redis_ = nullptr;

TEST_F(AgentStateComponentTest, MovesAreStoredWithTheirEventsAndVersions) {
  AgentKey a = NewAgent("acme", "a1", {"tenants/acme/campaigns/c1"});
  EXPECT_EQ(OutboxLength("{t:acme}"), 1);  // AgentCreated
  LoginReady(a);
  auto st = store_->GetStatus(a);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->state, AgentState::kReady);
  EXPECT_EQ(st->version, 2);
  EXPECT_EQ(st->station, "ext-a1");
  EXPECT_EQ(OutboxLength("{t:acme}"), 3);
  // A heartbeat moves the timer, not the state: no event.
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(Do(a, MoveKind::kHeartbeat, Actor::kAgent).ok());
  EXPECT_EQ(OutboxLength("{t:acme}"), 3);
  EXPECT_EQ(store_->GetStatus(a)->timer, clock_.Now() + StatePolicy().heartbeat_grace);

  EXPECT_EQ(ReasonOf(Do(AgentKey{"acme", "nobody"}, MoveKind::kLogin, Actor::kAgent).status()),
            "AGENT_NOT_FOUND");
  EXPECT_EQ(ReasonOf(Do(a, MoveKind::kConfirm, Actor::kDialer, "x").status()),
            "ILLEGAL_TRANSITION");
}

TEST_F(AgentStateComponentTest, ReservesTheLongestReadyEligibleAgentAndRetriesAreIdempotent) {
  AgentKey a1 = NewAgent("acme", "a1", {"tenants/acme/campaigns/c1"});
  AgentKey a2 = NewAgent("acme", "a2", {"tenants/acme/campaigns/c1"});
  AgentKey other = NewAgent("acme", "a3", {"tenants/acme/campaigns/c2"});
  LoginReady(other);
  clock_.Advance(absl::Seconds(1));
  LoginReady(a2);  // ready first of the eligible ones
  clock_.Advance(absl::Seconds(1));
  LoginReady(a1);

  auto r = manager_->Reserve(Reserve("acme", "call-1"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->agent, a2);
  EXPECT_EQ(r->idle, absl::Seconds(1));
  EXPECT_FALSE(r->replayed);
  auto again = manager_->Reserve(Reserve("acme", "call-1"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->agent, a2);
  EXPECT_TRUE(again->replayed);
  auto second = manager_->Reserve(Reserve("acme", "call-2"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->agent, a1);
  EXPECT_EQ(ReasonOf(manager_->Reserve(Reserve("acme", "call-3")).status()), "NO_AGENT_AVAILABLE");
  // Skills: nobody speaks French.
  ReserveRequest fr = Reserve("acme", "call-4", "c2");
  fr.skills = {{"french", 1}};
  EXPECT_EQ(ReasonOf(manager_->Reserve(fr).status()), "NO_AGENT_AVAILABLE");
  fr.skills = {{"spanish", 5}};
  EXPECT_EQ(manager_->Reserve(fr)->agent, other);
}

TEST_F(AgentStateComponentTest, ConcurrentReserversNeverPutTwoCallsOnOneAgent) {
  constexpr int kAgents = 20;
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 10;
  for (int i = 0; i < kAgents; ++i) {
    LoginReady(NewAgent("acme", absl::StrCat("a", i), {"tenants/acme/campaigns/c1"}));
  }
  std::mutex mu;
  std::map<std::string, std::string> call_of_agent;
  std::atomic<int> reserved{0}, none{0}, double_booked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCallsPerThread; ++c) {
        auto r = manager_->Reserve(Reserve("acme", absl::StrCat("call-", t, "-", c)));
        if (!r.ok()) {
          if (ReasonOf(r.status()) == "NO_AGENT_AVAILABLE") ++none;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        if (!call_of_agent.emplace(r->agent.id, r->status.call_id).second) ++double_booked;
        ++reserved;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(double_booked.load(), 0);
  EXPECT_EQ(reserved.load(), kAgents);  // every agent taken exactly once
  EXPECT_EQ(none.load(), kThreads * kCallsPerThread - kAgents);
  // And the store agrees: each agent holds the call it was reserved for.
  for (const auto& [agent, call] : call_of_agent) {
    auto st = store_->GetStatus(AgentKey{"acme", agent});
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->state, AgentState::kReserved);
    EXPECT_EQ(st->call_id, call);
  }
}

TEST_F(AgentStateComponentTest, PoolAgentsServeTheTenantsTheyAreGrantedTo) {
  AgentKey pooled = NewAgent("", "bpo/p1", {"tenants/acme/campaigns/c1"});
  LoginReady(pooled);
  EXPECT_EQ(ReasonOf(manager_->Reserve(Reserve("globex", "g-1")).status()), "NO_AGENT_AVAILABLE");
  auto r = manager_->Reserve(Reserve("acme", "a-1"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->agent, pooled);
  EXPECT_EQ(r->status.call_tenant, "acme");
  EXPECT_EQ(AgentName(r->agent), "agentPools/bpo/agents/p1");
  // The same call id in another tenant is another call.
  EXPECT_EQ(ReasonOf(manager_->Reserve(Reserve("globex", "a-1")).status()), "NO_AGENT_AVAILABLE");
  EXPECT_TRUE(manager_->Reserve(Reserve("acme", "a-1"))->replayed);
}

TEST_F(AgentStateComponentTest, AReadyAgentFollowsItsCampaignsWhenTheyChange) {
  AgentKey a = NewAgent("acme", "moves-1", {"tenants/acme/campaigns/c1"});
  LoginReady(a);
  auto agent = manager_->GetAgent(a);
  ASSERT_TRUE(agent.ok());
  v1::Agent patch;
  patch.set_name(agent->name());
  patch.add_campaigns("tenants/acme/campaigns/c2");
  ASSERT_TRUE(manager_->UpdateAgent(patch, {"campaigns"}).ok());
  EXPECT_EQ(ReasonOf(manager_->Reserve(Reserve("acme", "m-1")).status()), "NO_AGENT_AVAILABLE");
  ReserveRequest c2 = Reserve("acme", "m-2");
  c2.campaign = "tenants/acme/campaigns/c2";
  auto r = manager_->Reserve(c2);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->agent, a);
  // A pool agent granted while ready is reservable for the new campaign at once.
  AgentKey p = NewAgent("", "bpo/moves-2", {"tenants/acme/campaigns/c3"});
  LoginReady(p);
  ASSERT_TRUE(manager_->SetPoolGrant(p, "globex", {"tenants/globex/campaigns/g1"}).ok());
  ReserveRequest g1 = Reserve("globex", "m-3");
  g1.campaign = "tenants/globex/campaigns/g1";
  auto rp = manager_->Reserve(g1);
  ASSERT_TRUE(rp.ok()) << rp.status();
  EXPECT_EQ(rp->agent, p);
  // Withdrawn from acme: no longer reservable there.
  ASSERT_TRUE(manager_->SetPoolGrant(p, "acme", {}).ok());
  ReserveRequest c3 = Reserve("acme", "m-4");
  c3.campaign = "tenants/acme/campaigns/c3";
  EXPECT_EQ(ReasonOf(manager_->Reserve(c3).status()), "NO_AGENT_AVAILABLE");
}

TEST_F(AgentStateComponentTest, TimersFireOnceWhenDueAndFreeTheAgent) {
  AgentKey a = NewAgent("acme", "a1", {"tenants/acme/campaigns/c1"});
  LoginReady(a);
  ASSERT_TRUE(manager_->Reserve(Reserve("acme", "call-1")).ok());
  EXPECT_EQ(*manager_->FireDueTimers(100), 0);
  clock_.Advance(StatePolicy().reservation_timeout);
  // Two replicas sweep at once: the timer fires once.
  AgentStateManager other(store_, clock_, AgentStateOptions());
  int fired = 0;
  std::thread t([&] { fired += *other.FireDueTimers(100); });
  int here = *manager_->FireDueTimers(100);
  t.join();
  EXPECT_EQ(fired + here, 1);
  auto st = store_->GetStatus(a);
  EXPECT_EQ(st->state, AgentState::kNotReady);
  EXPECT_EQ(st->reason, "missed_reservation");
  EXPECT_EQ(st->missed_reservations, 1);
  // Then the heartbeat grace logs the silent station out.
  clock_.Advance(StatePolicy().heartbeat_grace);
  EXPECT_EQ(*manager_->FireDueTimers(100), 1);
  EXPECT_EQ(store_->GetStatus(a)->state, AgentState::kLoggedOut);
  EXPECT_EQ(*manager_->FireDueTimers(100), 0);
}

TEST_F(AgentStateComponentTest, StatesAndTimersSurviveARedisRestart) {
  AgentKey a = NewAgent("acme", "a1", {"tenants/acme/campaigns/c1"});
  LoginReady(a);
  ASSERT_TRUE(manager_->Reserve(Reserve("acme", "call-1")).ok());
  ASSERT_TRUE(redis_->Stop().ok());
  ASSERT_TRUE(redis_->Restart().ok());  // AOF, appendfsync always
  auto st = Do(a, MoveKind::kConfirm, Actor::kDialer, "call-1");
  for (int i = 0; i < 50 && !st.ok(); ++i) {  // the pool reconnects with backoff
    absl::SleepFor(absl::Milliseconds(100));
    st = Do(a, MoveKind::kConfirm, Actor::kDialer, "call-1");
  }
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->next.state, AgentState::kOnCall);
  clock_.Advance(StatePolicy().max_call);
  EXPECT_EQ(*manager_->FireDueTimers(100), 1);
  EXPECT_EQ(store_->GetStatus(a)->state, AgentState::kWrapUp);
}

// Abusive caller: the dialer ends the call protected; the agent's own ready
// waits for the protection's end (virtual time), stored in the same write as
// the move, with its event, and read back by any replica.
TEST_F(AgentStateComponentTest, AProtectedEndIsStoredWithTheMoveAndReadyWaitsForItsEnd) {
  AgentKey a = NewAgent("acme", "prot-1", {"tenants/acme/campaigns/c1"});
  LoginReady(a);
  ASSERT_TRUE(manager_->Reserve(Reserve("acme", "call-p1")).ok());
  ASSERT_TRUE(Do(a, MoveKind::kConfirm, Actor::kDialer, "call-p1").ok());
  const int64_t events_before = OutboxLength("{t:acme}");
  clock_.Advance(absl::Seconds(30));
  MoveRequest end;
  end.kind = MoveKind::kEndCall;
  end.actor = Actor::kDialer;
  end.call_id = "call-p1";
  end.protected_reason = "abusive-caller";
  end.protect_for = absl::Minutes(10);
  auto m = manager_->Apply(a, end);
  ASSERT_TRUE(m.ok()) << m.status();
  const absl::Time until = clock_.Now() + absl::Minutes(10);
  EXPECT_EQ(OutboxLength("{t:acme}"), events_before + 1);
  v1::AgentStatus event_view = ToProto(a, m->next);
  EXPECT_EQ(event_view.reason_code(), "abusive-caller");
  EXPECT_EQ(event_view.protected_until().seconds(), absl::ToUnixSeconds(until));

  // Another replica (a restart) reads the same protection from Redis.
  AgentStateManager other(store_, clock_, AgentStateOptions());
  auto agent = other.GetAgent(a);
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ(agent->status().state(), v1::STATE_NOT_READY);
  EXPECT_EQ(agent->status().reason_code(), "abusive-caller");
  EXPECT_EQ(agent->status().protected_until().seconds(), absl::ToUnixSeconds(until));
  auto ready = Do(a, MoveKind::kReady, Actor::kAgent);
  EXPECT_EQ(ready.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(ready.status()), "NOT_READY_PROTECTED");
  // A retried end answers the status as is, writing nothing.
  auto again = other.Apply(a, end);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->cause, "end_call:again");
  EXPECT_EQ(OutboxLength("{t:acme}"), events_before + 1);
  // Not reservable meanwhile.
  EXPECT_EQ(ReasonOf(manager_->Reserve(Reserve("acme", "call-p2")).status()),
            "NO_AGENT_AVAILABLE");

  clock_.Advance(absl::Minutes(10) - absl::Seconds(1));
  ASSERT_TRUE(Do(a, MoveKind::kHeartbeat, Actor::kAgent).ok());  // the desk is alive
  EXPECT_EQ(ReasonOf(Do(a, MoveKind::kReady, Actor::kAgent).status()), "NOT_READY_PROTECTED");
  clock_.Advance(absl::Seconds(1));
  auto now_ready = Do(a, MoveKind::kReady, Actor::kAgent);
  ASSERT_TRUE(now_ready.ok()) << now_ready.status();
  auto st = store_->GetStatus(a);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->state, AgentState::kReady);
  EXPECT_EQ(st->protected_until, absl::InfinitePast());
  EXPECT_EQ(client_->Command({"HGET", "{t:acme}:agent:prot-1", "prot"})->str, "");

  // KPIs: the call handled, the protected ten minutes as not ready under
  // the reason.
  auto k = manager_->GetAgentKpis(a, absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone()), "");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->calls_handled(), 1);
  ASSERT_EQ(k->not_ready().count("abusive-caller"), 1u);
  EXPECT_EQ(k->not_ready().at("abusive-caller").seconds(), 600);
  EXPECT_EQ(k->wrap_up().seconds(), 0);
}

TEST_F(AgentStateComponentTest, AProtectionSurvivesARedisRestartAndASupervisorEndsIt) {
  AgentKey a = NewAgent("acme", "prot-2", {"tenants/acme/campaigns/c1"});
  LoginReady(a);
  ASSERT_TRUE(manager_->Reserve(Reserve("acme", "call-r1")).ok());
  MoveRequest end;
  end.kind = MoveKind::kEndCall;
  end.actor = Actor::kDialer;
  end.call_id = "call-r1";
  end.protected_reason = "abusive-caller";
  end.protect_for = absl::Hours(1);
  ASSERT_TRUE(manager_->Apply(a, end).ok());  // from RESERVED
  ASSERT_TRUE(redis_->Stop().ok());
  ASSERT_TRUE(redis_->Restart().ok());  // AOF, appendfsync always
  auto st = store_->GetStatus(a);
  for (int i = 0; i < 50 && !st.ok(); ++i) {  // the pool reconnects with backoff
    absl::SleepFor(absl::Milliseconds(100));
    st = store_->GetStatus(a);
  }
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->state, AgentState::kNotReady);
  EXPECT_EQ(st->protected_until, clock_.Now() + absl::Hours(1));
  EXPECT_EQ(st->protected_call, "call-r1");
  EXPECT_EQ(ReasonOf(Do(a, MoveKind::kReady, Actor::kAgent).status()), "NOT_READY_PROTECTED");
  // The supervisor's forced not-ready overrides it; the agent may go ready.
  auto forced = Do(a, MoveKind::kNotReady, Actor::kSupervisor, "coaching");
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(forced->next.protected_until, absl::InfinitePast());
  EXPECT_TRUE(Do(a, MoveKind::kReady, Actor::kAgent).ok());
}

TEST_F(AgentStateComponentTest, ABadProtectionWritesNothingAndTheTenantsReasonListDoesNotApply) {
  AgentKey a = NewAgent("acme", "prot-3", {"tenants/acme/campaigns/c1"});
  v1::AgentSettings settings;
  settings.set_name("tenants/acme/agentSettings");
  auto* lunch = settings.add_reason_codes();
  lunch->set_code("lunch");
  lunch->set_display_name("Lunch");
  ASSERT_TRUE(manager_->UpdateSettings(settings, {"reason_codes"}).ok());
  LoginReady(a);
  ASSERT_TRUE(manager_->Reserve(Reserve("acme", "call-b1")).ok());
  ASSERT_TRUE(Do(a, MoveKind::kConfirm, Actor::kDialer, "call-b1").ok());
  const int64_t version = store_->GetStatus(a)->version;
  const int64_t events = OutboxLength("{t:acme}");
  MoveRequest end;
  end.kind = MoveKind::kEndCall;
  end.actor = Actor::kDialer;
  end.call_id = "call-b1";
  for (const auto& [reason, d] : std::vector<std::pair<std::string, absl::Duration>>{
           {"abusive-caller", absl::Hours(2)},
           {"abusive-caller", absl::ZeroDuration()},
           {"", absl::Minutes(5)},
           {"ABUSIVE", absl::Minutes(5)},
           {"login", absl::Minutes(5)}}) {
    end.protected_reason = reason;
    end.protect_for = d;
    auto m = manager_->Apply(a, end);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << reason << " " << d;
  }
  EXPECT_EQ(store_->GetStatus(a)->version, version);
  EXPECT_EQ(store_->GetStatus(a)->state, AgentState::kOnCall);
  EXPECT_EQ(OutboxLength("{t:acme}"), events);
  // "abusive-caller" is not in acme's list (SetNotReady would refuse it),
  // yet a protected end takes it.
  EXPECT_EQ(ReasonOf(Do(a, MoveKind::kNotReady, Actor::kAgent, "abusive-caller").status()),
            "UNKNOWN_REASON_CODE");
  end.protected_reason = "abusive-caller";
  end.protect_for = absl::Minutes(5);
  auto m = manager_->Apply(a, end);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->next.reason, "abusive-caller");
}

// A replica that predates protection writes the hash without the "prot"
// field: what it left behind must not protect the state it wrote.
TEST_F(AgentStateComponentTest, AStaleProtectionLeftByAnOlderWriterDoesNotApply) {
  AgentKey a = NewAgent("acme", "prot-4", {"tenants/acme/campaigns/c1"});
  LoginReady(a);
  ASSERT_TRUE(manager_->Reserve(Reserve("acme", "call-s1")).ok());
  MoveRequest end;
  end.kind = MoveKind::kEndCall;
  end.actor = Actor::kDialer;
  end.call_id = "call-s1";
  end.protected_reason = "abusive-caller";
  end.protect_for = absl::Hours(1);
  ASSERT_TRUE(manager_->Apply(a, end).ok());
  ASSERT_NE(store_->GetStatus(a)->protected_until, absl::InfinitePast());
  // As an older replica's forced not-ready would: a new reason and since.
  ASSERT_TRUE(client_
                  ->Command({"HSET", "{t:acme}:agent:prot-4", "reason", "coaching", "since",
                             std::to_string(absl::ToUnixMillis(clock_.Now()) + 1)})
                  .ok());
  EXPECT_EQ(store_->GetStatus(a)->protected_until, absl::InfinitePast());
  // Or its ready: the state is not NOT_READY any more.
  ASSERT_TRUE(client_->Command({"HSET", "{t:acme}:agent:prot-4", "state", "READY"}).ok());
  EXPECT_EQ(store_->GetStatus(a)->protected_until, absl::InfinitePast());
}

}  // namespace
}  // namespace dialgrid::agentstate
