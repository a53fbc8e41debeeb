#pragma once

// Where agents' statuses live. An agent has a home scope: its tenant, or the
// vendor for a pool agent ("" here, as everywhere a tenant of "" means the
// vendor scope). Every write is one atomic step in the home scope's slot,
// guarded by the status version the caller read (optimistic: ABORTED
// VERSION_CONFLICT when another write came first, and the caller reads again
// and re-applies the state machine), stored with its events and timer.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "services/agent-state/domain/agent_kpis.h"
#include "services/agent-state/domain/agent_state_machine.h"

namespace dialgrid::agentstate {

// An agent's identity in the store: home scope and id ("acme", "a-17"), or
// for a pool agent ("", "<pool>/<agent>").
struct AgentKey {
  std::string scope;  // tenant id, or "" for the vendor's pools
  std::string id;
  bool operator==(const AgentKey& o) const { return scope == o.scope && id == o.id; }
};

// What the dialer's reservation may pick from: a ready agent of the scope,
// ordered by how long it has been ready (longest first).
struct ReadyAgent {
  AgentKey key;
  absl::Time ready_since;
};

// A due timer.
struct DueTimer {
  AgentKey key;
  absl::Time due;
};

using Events = std::vector<event::v1::Envelope>;

class AgentStore {
 public:
  virtual ~AgentStore() = default;

  // Creates the agent's record with `definition` (opaque to the store: the
  // API's Agent, serialized) if its id is free in its scope and the scope
  // has fewer than `max_agents` agents (negative: no limit); ALREADY_EXISTS
  // AGENT_EXISTS or RESOURCE_EXHAUSTED QUOTA_EXCEEDED (max_agents)
  // otherwise, nothing written.
  virtual absl::Status CreateAgent(const AgentKey& key, const std::string& definition,
                                   int64_t max_agents, const Events& events) = 0;
  // The definitions of `keys`, in order; "" for an agent that does not exist.
  virtual absl::StatusOr<std::vector<std::string>> Definitions(
      const std::vector<AgentKey>& keys) = 0;

  // Up to `max` agent ids of `scope` after `after` (exclusive; "" from the
  // first), in id order.
  virtual absl::StatusOr<std::vector<std::string>> ListIds(absl::string_view scope,
                                                           absl::string_view after, int max) = 0;

  // Replaces the agent's definition if its etag is still `etag` (the
  // definition carries its new etag), with its team (what watchers filter
  // on) and, for a pool agent, the tenants its grants gained or lost, and
  // `events`, in one atomic step. NOT_FOUND AGENT_NOT_FOUND, or ABORTED
  // ETAG_MISMATCH when another update came first (nothing written).
  virtual absl::Status UpdateDefinition(const AgentKey& key, absl::string_view etag,
                                        const std::string& definition, absl::string_view team,
                                        const std::vector<std::string>& tenants_granted,
                                        const std::vector<std::string>& tenants_withdrawn,
                                        const Events& events) = 0;

  // Deletes a logged-out agent whose definition's etag is still `etag` and
  // status version still `status_version`, with its index entries and
  // grants. NOT_FOUND, ABORTED ETAG_MISMATCH / VERSION_CONFLICT.
  virtual absl::Status DeleteAgent(const AgentKey& key, absl::string_view etag,
                                   int64_t status_version,
                                   const std::vector<std::string>& granted_tenants,
                                   const Events& events) = 0;

  // The pool agents ("<pool>/<agent>") granted to `tenant`'s campaigns, in
  // id order.
  virtual absl::StatusOr<std::vector<std::string>> PoolAgentsGrantedTo(
      absl::string_view tenant) = 0;

  // The statuses of `keys`, in order (NOT_FOUND for any that does not exist
  // leaves it out: `found` says which were).
  virtual absl::StatusOr<std::vector<AgentStatus>> Statuses(const std::vector<AgentKey>& keys,
                                                            std::vector<bool>* found) = 0;

  // The agent's status; a logged-out status (version 0) for an agent that
  // never logged in. NOT_FOUND AGENT_NOT_FOUND when the agent does not exist.
  virtual absl::StatusOr<AgentStatus> GetStatus(const AgentKey& key) = 0;

  // Stores `next` if the stored version is still `next.version - 1`, with the
  // agent's place in its scope's ready index (by `next.since` when READY, out
  // of it otherwise) and timer index (by `next.timer`, out of it when
  // infinite), and `events`, in one atomic step. A `call_ref` given
  // ("<call's tenant>/<call id>") records which agent holds that call (a
  // retried reserve finds it), kept a day.
  // `kpis` are added to the agent's KPI counters in the same step.
  // ABORTED VERSION_CONFLICT when another write came first (nothing written).
  virtual absl::Status PutStatus(const AgentKey& key, const AgentStatus& next,
                                 const Events& events, absl::string_view call_ref,
                                 const std::vector<KpiIncrement>& kpis = {}) = 0;

  // The agent's KPI counters of `day` ("YYYY-MM-DD"), its own (`part` "")
  // or a tenant's part of a pool agent's; empty when none.
  virtual absl::StatusOr<std::map<std::string, int64_t>> KpiCounters(const AgentKey& key,
                                                                     absl::string_view day,
                                                                     absl::string_view part) = 0;

  // The scope's agent settings (the API's AgentSettings, serialized) and
  // their etag; both "" when never set.
  struct StoredSettings {
    std::string definition;
    std::string etag;
  };
  virtual absl::StatusOr<StoredSettings> GetSettings(absl::string_view scope) = 0;
  // Replaces them if their etag is still `etag`; ABORTED ETAG_MISMATCH.
  virtual absl::Status PutSettings(absl::string_view scope, absl::string_view etag,
                                   const StoredSettings& settings, const Events& events) = 0;

  // How many agents are in each state but LOGGED_OUT now, across scopes.
  virtual absl::StatusOr<std::map<AgentState, int64_t>> StateCounts() = 0;

  // The scopes that have agents (tenant ids, "" for the pools).
  virtual absl::StatusOr<std::vector<std::string>> Scopes() = 0;
  // Up to `max` logged-in agents of `scope` that entered their current state
  // before `before`, with their statuses.
  virtual absl::StatusOr<std::vector<std::pair<AgentKey, AgentStatus>>> InStateSince(
      const std::string& scope, absl::Time before, int max) = 0;

  // Records that an alert about the agent's status `version` was raised;
  // false when it already was (one alert per state entered).
  virtual absl::StatusOr<bool> MarkAlerted(const AgentKey& key, int64_t version,
                                           const Events& events) = 0;

  // The agent of `scope` holding `call_ref` (the record PutStatus kept);
  // NOT_FOUND CALL_NOT_FOUND when none.
  virtual absl::StatusOr<AgentKey> AgentOfCall(absl::string_view scope,
                                               absl::string_view call_ref) = 0;

  // What a reservation needs, in one round trip: the agents already holding
  // `call_ref` (the call's tenant's, then a pool's) and up to `max` READY
  // agents of the campaign from the tenant and from the pools, each longest
  // ready first.
  struct ReserveView {
    std::vector<AgentKey> held;
    std::vector<ReadyAgent> ready;
  };
  virtual absl::StatusOr<ReserveView> ReserveCandidates(absl::string_view tenant,
                                                        absl::string_view campaign,
                                                        absl::string_view call_ref, int max) = 0;

  // Up to `max` ready agents of `scope`, longest ready first.
  virtual absl::StatusOr<std::vector<ReadyAgent>> ReadyAgents(absl::string_view scope,
                                                              int max) = 0;

  // Up to `max` timers due at `now`, across scopes, earliest first. A timer
  // whose write is not yet visible to this index may be found later (by the
  // periodic full sweep), never lost.
  virtual absl::StatusOr<std::vector<DueTimer>> DueTimers(absl::Time now, int max) = 0;
};

}  // namespace dialgrid::agentstate
