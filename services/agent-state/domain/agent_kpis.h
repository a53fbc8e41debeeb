#pragma once

// Agent KPIs from the state history: each move closes the interval the agent
// spent in the state it leaves, and that time is added to per-day counters
// (the day in the agent's home time zone, an interval across midnight split
// between the days), with counts of calls handled and reservations missed.
// Pure logic: the store adds the increments in the same atomic write as the
// move, so the counters are exactly as durable as the states.
//
// Counters (milliseconds unless said):
//   logged_in   every state but LOGGED_OUT
//   ready       READY (idle)
//   talk        ON_CALL, and RESERVED when the reservation was confirmed
//               (one released or missed counts as ready: waiting time; a
//               reservation still open is counted as talk)
//   wrap_up     WRAP_UP
//   nr:<reason> NOT_READY with that reason ("login" right after logging in)
//   calls       calls handled (ON_CALL ended: by the dialer or its timer), a count
//   missed      reservations not confirmed in time, a count
// A pool agent's counters have a part per tenant besides its own: the time
// spent reserved, on call and in wrap-up for that tenant's calls (also as
// logged_in: the time it served the tenant) and the counts of its calls;
// that part is all a tenant sees of a pool agent.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/agent-state/domain/agent_state_machine.h"

namespace dialgrid::agentstate {

struct KpiIncrement {
  std::string day;   // "2026-12-03", in the agent's zone
  std::string part;  // "" the agent's own counters, else the tenant's part
  std::string field;
  int64_t delta = 0;
  bool operator==(const KpiIncrement& o) const {
    return day == o.day && part == o.part && field == o.field && delta == o.delta;
  }
};

// The increments of a move from `before` to `move.next` at `now`: the time
// in `before`'s state if the move ends it (next.since moved on), and the
// counts. `pool_agent`: also the call tenant's part.
std::vector<KpiIncrement> KpiIncrements(const AgentStatus& before, const Move& move,
                                        absl::Time now, absl::TimeZone zone, bool pool_agent);

// The time of the interval `status` is in now (not yet counted), that falls
// on `day`, as increments (for a read of today's KPIs).
std::vector<KpiIncrement> OpenInterval(const AgentStatus& status, absl::Time now,
                                       absl::TimeZone zone, bool pool_agent);

// "YYYY-MM-DD" of `t` in `zone`.
std::string DayOf(absl::Time t, absl::TimeZone zone);

}  // namespace dialgrid::agentstate
