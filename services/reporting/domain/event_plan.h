#pragma once

// What one event does to a tenant's report counters (pure: no I/O). The
// store applies a plan atomically together with the event id's dedup mark.
//
// Counter fields (in every hour bucket and day bucket of the tenant):
//   c:<campaign>:<metric>   attempts, not_placed, no_answer, busy, failed,
//                           machine, connects, abandoned, messages, handled,
//                           talk_ms, wrap_ms, disp:<code>
//   a:<agent>:<metric>      ready_ms, talk_ms, wrap_ms, nr_ms:<reason>, calls,
//                           disp:<campaign>:<code>
//   u:<metric>              attempts, connected_calls, connected_ms,
//                           billable_min, recordings, rec_bytes_stored,
//                           rec_bytes_deleted
// Campaign, agent, disposition and reason ids are [a-z0-9-]: no ':'.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dialgrid/event/v1/envelope.pb.h"

namespace dialgrid::reporting {

enum class PlanKind {
  kIgnore,      // nothing to count (another event type, a pool agent, ...)
  kAdd,         // add increments to one hour's bucket
  kAgentState,  // close the agent's previous state interval (the store knows it)
  kConfig,      // remember a campaign's costs and sale codes, an agent's team/targets
};

// How an kAdd plan's marker (one per call, recording, ...) guards it.
enum class MarkerMode {
  kNone,     // the event id's dedup mark only
  kOnce,     // counted once per marker, whatever event ids repeat it
  kReplace,  // the marker's previous increments are taken back first (a
             // disposition changed, a resumed upload stored more bytes)
};

struct Increment {
  std::string field;
  int64_t delta = 0;
};

// An agent's new status, for kAgentState.
struct AgentMove {
  std::string agent;    // agent id
  int64_t version = 0;  // AgentStatus.version (older or equal: stale)
  std::string state;    // READY, NOT_READY, RESERVED, ON_CALL, WRAP_UP, LOGGED_OUT
  std::string reason;   // NOT_READY's reason code
  int64_t state_time_ms = 0;
  std::string campaign;  // campaign id of the call (RESERVED/ON_CALL/WRAP_UP)
};

struct EventPlan {
  PlanKind kind = PlanKind::kIgnore;
  // kIgnore: why ("other type", "malformed", "pool agent", ...).
  std::string ignore_reason;
  std::string tenant;
  // The campaign the event is about ("" none): metrics labels.
  std::string campaign;

  // kAdd
  int64_t hour = 0;
  std::vector<Increment> increments;
  MarkerMode marker_mode = MarkerMode::kNone;
  std::string marker;

  // kAgentState
  AgentMove move;

  // kConfig: the record "camp:<id>" or "agent:<id>", its version (newer
  // wins), its fields; `index` names a set the id joins ("agents").
  std::string config_key;
  int64_t config_version = 0;
  std::vector<std::pair<std::string, std::string>> config_fields;
  std::string index;
  std::string index_member;
};

// The plan for one envelope of topics dialing, calls, agents or recordings.
// An event of a tenant about another tenant's names is ignored, never counted.
EventPlan PlanEvent(const event::v1::Envelope& event);

}  // namespace dialgrid::reporting
