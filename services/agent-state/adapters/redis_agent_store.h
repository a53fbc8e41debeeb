#pragma once

// AgentStore on Redis. Keys of a scope S (hash tag {t:<tenant>}, or {vendor}
// for pool agents, so each scope's keys share one cluster slot):
//   S:agent:<id>         hash: def (the Agent, serialized), its etag and
//                        team (watchers filter on it), the status
//                        fields (state, reason, station, session, call_id,
//                        call_tenant, campaign, since, hb, timer, pnr, plo,
//                        missed; times in ms since the epoch) and ver
//   S:agents             zset of agent ids (score 0: id order)
//   S:agent-settings     hash: def (the AgentSettings, serialized), etag
//   {vendor}:pool-grants:<tenant>  set of pool agents ("<pool>/<agent>")
//                        granted to the tenant's campaigns
//   S:agent-ready        zset: READY agents by the time they became ready
//   S:ready-c:<campaign> zset: the READY agents of one campaign, the same way
//                        (the agent hash's 'campaigns' field lists them)
//   S:agent-timers       zset: agents by the time their state's timer fires
//   S:agent-call:<tenant>/<call>  the agent holding a call (a day)
//   S:agent-since        zset: logged-in agents by when they entered their
//                        state (for the too-long-in-a-state alerts)
//   S:agent-state-counts hash: agents per state (not LOGGED_OUT), for metrics
//   S:agent-kpi:<id>:<day>[:<tenant>]  hash: the KPI counters of a day
//                        (domain/agent_kpis.h; a pool agent's tenant parts
//                        with :<tenant>), kept 400 days
//   S:agent-alerted:<id>:<version>  an alert about that status was raised
//                        (a day)
//   S:outbox:agentstate  the scope's events (services/common/events)
// and one key outside the scopes, a hint for the timer sweep:
//   {dg}:agentstate:scopes  set of scopes that have agents
// Every write of a status is one script (lua/put_status.lua) in its scope.

#include <memory>
#include <string>
#include <vector>

#include "services/agent-state/ports/agent_store.h"
#include "services/common/events/redis_outbox.h"
#include "services/common/redis/redis_client.h"

namespace dialgrid::agentstate {

class RedisAgentStore final : public AgentStore {
 public:
  RedisAgentStore(std::shared_ptr<redis::Client> redis, std::shared_ptr<events::RedisOutbox> outbox);

  absl::Status CreateAgent(const AgentKey& key, const std::string& definition,
                           int64_t max_agents, const Events& events) override;
  absl::StatusOr<std::vector<std::string>> Definitions(const std::vector<AgentKey>& keys) override;
  absl::StatusOr<std::vector<std::string>> ListIds(absl::string_view scope, absl::string_view after,
                                                   int max) override;
  absl::Status UpdateDefinition(const AgentKey& key, absl::string_view etag,
                                const std::string& definition, absl::string_view team,
                                const std::vector<std::string>& tenants_granted,
                                const std::vector<std::string>& tenants_withdrawn,
                                const Events& events) override;
  absl::Status DeleteAgent(const AgentKey& key, absl::string_view etag, int64_t status_version,
                           const std::vector<std::string>& granted_tenants,
                           const Events& events) override;
  absl::StatusOr<std::vector<std::string>> PoolAgentsGrantedTo(absl::string_view tenant) override;
  absl::StatusOr<std::vector<AgentStatus>> Statuses(const std::vector<AgentKey>& keys,
                                                    std::vector<bool>* found) override;
  absl::StatusOr<AgentStatus> GetStatus(const AgentKey& key) override;
  absl::Status PutStatus(const AgentKey& key, const AgentStatus& next, const Events& events,
                         absl::string_view call_ref,
                         const std::vector<KpiIncrement>& kpis = {}) override;
  absl::StatusOr<std::map<std::string, int64_t>> KpiCounters(const AgentKey& key,
                                                             absl::string_view day,
                                                             absl::string_view part) override;
  absl::StatusOr<StoredSettings> GetSettings(absl::string_view scope) override;
  absl::Status PutSettings(absl::string_view scope, absl::string_view etag,
                           const StoredSettings& settings, const Events& events) override;
  absl::StatusOr<std::map<AgentState, int64_t>> StateCounts() override;
  absl::StatusOr<std::vector<std::string>> Scopes() override;
  absl::StatusOr<std::vector<std::pair<AgentKey, AgentStatus>>> InStateSince(
      const std::string& scope, absl::Time before, int max) override;
  absl::StatusOr<bool> MarkAlerted(const AgentKey& key, int64_t version,
                                   const Events& events) override;
  absl::StatusOr<AgentKey> AgentOfCall(absl::string_view scope, absl::string_view call_ref) override;
  absl::StatusOr<ReserveView> ReserveCandidates(absl::string_view tenant,
                                                absl::string_view campaign,
                                                absl::string_view call_ref, int max) override;
  absl::StatusOr<std::vector<ReadyAgent>> ReadyAgents(absl::string_view scope, int max) override;
  absl::StatusOr<std::vector<DueTimer>> DueTimers(absl::Time now, int max) override;

  static constexpr char kScopesKey[] = "{dg}:agentstate:scopes";
  // The Pub/Sub channel every write announces its change on (watchers of
  // every replica subscribe to it; application/agent_watch.h has the format).
  static constexpr char kChangesChannel[] = "dg:agentstate:changes";

 private:
  static absl::StatusOr<AgentStatus> ParseStatus(const redis::Reply& reply);

  std::shared_ptr<redis::Client> redis_;
  std::shared_ptr<events::RedisOutbox> outbox_;
};

}  // namespace dialgrid::agentstate
