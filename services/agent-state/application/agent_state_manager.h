#pragma once

// The agent-state logic over the AgentStore port: applies state-machine moves
// with optimistic retries, reserves the longest-ready eligible agent for an
// answered call (idempotent by call), and fires due timers. No Redis, gRPC
// or Kafka here; tests run it on an in-memory store.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "dialgrid/agentstate/v1/agentstate.pb.h"
#include "services/agent-state/domain/agent_state_machine.h"
#include "services/agent-state/ports/agent_store.h"
#include "services/common/core/clock.h"

namespace dialgrid::agentstate {

struct AgentStateOptions {
  StatePolicy policy;
  std::string producer = "agentstate";
  // Attempts of one move when other writes keep coming first.
  int max_attempts = 8;
  // Ready agents read per scope when reserving.
  int reserve_candidates = 64;
  // A tenant's time zone (its KPI days); pool agents use UTC. Unset: UTC.
  std::function<absl::TimeZone(const std::string& tenant)> zone_of;
  // An agent ready (idle) or not ready longer than this raises an alert
  // event, once per state entered; zero: no alert.
  absl::Duration idle_alert = absl::ZeroDuration();
  absl::Duration not_ready_alert = absl::ZeroDuration();
};

// "tenants/{t}/agents/{a}" <-> {t, a}; "agentPools/{p}/agents/{a}" <-> {"", "p/a"}.
std::string AgentName(const AgentKey& key);
absl::StatusOr<AgentKey> ParseAgentName(absl::string_view name);

// The API's view of a status.
v1::AgentStatus ToProto(const AgentKey& key, const AgentStatus& status);

struct ReserveRequest {
  std::string tenant;    // the call's tenant
  std::string campaign;  // "tenants/{tenant}/campaigns/{id}"
  std::string call_id;
  std::vector<std::pair<std::string, int>> skills;  // name, minimum level
  std::string agent;  // optional: reserve this agent only (an agent's own dial)
};

struct Reserved {
  AgentKey agent;
  AgentStatus status;
  absl::Duration idle;  // how long it had been ready
  bool replayed = false;
};

class AgentStateManager {
 public:
  AgentStateManager(std::shared_ptr<AgentStore> store, const Clock& clock,
                    AgentStateOptions options);

  // Creates an agent; `max_agents` is the tenant's quota (negative: none,
  // as for pool agents).
  absl::Status CreateAgent(const AgentKey& key, const v1::Agent& agent, int64_t max_agents = -1);
  // The agent's definition and current status.
  absl::StatusOr<v1::Agent> GetAgent(const AgentKey& key);

  // A page of the agents of `parent` ("tenants/{t}": the tenant's own, then
  // none of the pools'; "agentPools/{p}": the pool's), in name order, with
  // their statuses; `team` filters. The token is the last name of the page.
  struct Page {
    std::vector<v1::Agent> agents;
    std::string next_page_token;
  };
  absl::StatusOr<Page> ListAgents(absl::string_view parent, absl::string_view team,
                                  int page_size, absl::string_view page_token);

  // Updates the fields of `update_mask` (display_name, team, skills,
  // campaigns, targets; a pool agent's campaigns come from SetPoolGrant),
  // guarded by `agent.etag` when set.
  absl::StatusOr<v1::Agent> UpdateAgent(const v1::Agent& agent,
                                        const std::vector<std::string>& update_mask);
  // Deletes a logged-out agent (FAILED_PRECONDITION AGENT_LOGGED_IN
  // otherwise), guarded by `etag` when set.
  absl::Status DeleteAgent(const AgentKey& key, absl::string_view etag);

  // Grants the pool agent to `tenant`'s `campaigns` (replacing what it had
  // of that tenant; empty withdraws the grant). The agent definition's
  // campaigns are the union of its grants.
  absl::StatusOr<v1::Agent> SetPoolGrant(const AgentKey& key, const std::string& tenant,
                                         const std::vector<std::string>& campaigns);

  // Every agent in `scope` with its status now (for a tenant, also the pool
  // agents granted to it; `pool_agents` gets their names).
  absl::StatusOr<std::vector<v1::AgentStatus>> Snapshot(const std::string& tenant,
                                                        const std::string& pool,
                                                        const std::string& team,
                                                        std::set<std::string>* pool_agents);

  // Applies one move to the agent; the status after it.
  absl::StatusOr<Move> Apply(const AgentKey& key, const MoveRequest& request);

  // Reserves the agent that has been ready longest among the call tenant's
  // agents and the pool agents, whose campaigns include the request's and
  // whose skills meet it. A retry for a call already reserved returns that
  // agent. FAILED_PRECONDITION NO_AGENT_AVAILABLE when nobody is eligible.
  absl::StatusOr<Reserved> Reserve(const ReserveRequest& request);

  // An agent's KPIs for `day` in its home zone: its own counters (`part`
  // "") or, for a pool agent, a tenant's part.
  absl::StatusOr<v1::AgentKpis> GetAgentKpis(const AgentKey& key, absl::CivilDay day,
                                             const std::string& part);
  // Every agent of `parent` (and `team`) for `day`, and the sum.
  absl::StatusOr<v1::TeamKpis> GetTeamKpis(absl::string_view parent, absl::string_view team,
                                           absl::CivilDay day);

  // Raises the idle / not-ready alerts due now (once per state entered,
  // whichever replica sweeps first) and counts the agents over a threshold.
  struct AlertSweep {
    std::map<AgentState, int64_t> over_threshold;
    int raised = 0;
  };
  absl::StatusOr<AlertSweep> SweepAlerts();
  // A scope's agent settings ("tenants/{t}/agentSettings",
  // "agentPools/-/agentSettings"): never set reads as empty (any reason
  // code, the service's alert thresholds).
  absl::StatusOr<v1::AgentSettings> GetSettings(absl::string_view name);
  absl::StatusOr<v1::AgentSettings> UpdateSettings(const v1::AgentSettings& patch,
                                                   const std::vector<std::string>& mask);

  // Agents per state (not LOGGED_OUT), across tenants and pools.
  absl::StatusOr<std::map<AgentState, int64_t>> StateCounts();

  // Fires up to `max` due timers; how many moved an agent.
  absl::StatusOr<int> FireDueTimers(int max);

 private:
  bool Eligible(const v1::Agent& agent, const ReserveRequest& r) const;
  absl::StatusOr<Reserved> ReserveNamed(const ReserveRequest& r, const MoveRequest& move);
  absl::StatusOr<v1::Agent> Definition(const AgentKey& key);
  absl::Status ValidateDefinition(const AgentKey& key, const v1::Agent& agent) const;
  absl::StatusOr<Page> ListScope(const std::string& scope, const std::string& prefix,
                                 std::string after, absl::string_view team, int size);
  std::string NewEtag() const;
  // The scope's settings, read at most every few seconds (moves check
  // reason codes against them).
  absl::StatusOr<v1::AgentSettings> CachedSettings(const std::string& scope);
  absl::StatusOr<v1::AgentSettings> ReadSettings(const std::string& scope);
  absl::Status CheckReasonCode(const AgentKey& key, const std::string& code);
  absl::TimeZone ZoneOf(const AgentKey& key) const;
  Events EventsOf(const AgentKey& key, const Move& move) const;

  std::shared_ptr<AgentStore> store_;
  const Clock& clock_;
  AgentStateOptions options_;
  std::mutex settings_mu_;
  std::map<std::string, std::pair<absl::Time, v1::AgentSettings>> settings_cache_;
};

}  // namespace dialgrid::agentstate
