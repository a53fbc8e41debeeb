#pragma once

// The agent state machine: which moves are legal from which state, who may
// make them, and the timer every server-driven state carries, so that no
// agent is ever stuck. Pure logic: the store applies a Move atomically with
// the agent's version, and arms or clears the timer it names.
//
//   LOGGED_OUT --login--> NOT_READY(login) --ready--> READY
//   READY --reserve(call)--> RESERVED --confirm(call)--> ON_CALL
//   RESERVED --release(call) / reservation timer--> READY (or NOT_READY)
//   ON_CALL --end call / max-call timer--> WRAP_UP
//   WRAP_UP --ready / wrap-up timer--> READY (or NOT_READY)
//   READY, NOT_READY, WRAP_UP --not ready(reason)--> NOT_READY(reason)
//   READY, NOT_READY, WRAP_UP --logout / heartbeat timer--> LOGGED_OUT
//   RESERVED, ON_CALL, WRAP_UP --end call, protected(reason, for)-->
//       NOT_READY(reason) protected until now + for
//
// A not-ready or logout asked for during RESERVED or ON_CALL (by the agent or
// forced by a supervisor) is kept as pending and applied when the call ends.
//
// Protection (an abusive caller): the dialer ends the call with a reason and
// a duration; the agent goes straight to NOT_READY with that reason, and its
// own ready (or another not-ready reason) is refused NOT_READY_PROTECTED
// until `protected_until`. A supervisor's forced not-ready or logout ends it
// early, as does the agent's logout or the heartbeat timer; any move that
// enters a state (leaving NOT_READY, or NOT_READY again) clears it.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dialgrid::agentstate {

enum class AgentState { kLoggedOut, kReady, kNotReady, kReserved, kOnCall, kWrapUp };

// "LOGGED_OUT", "READY", ... as the API names them.
absl::string_view StateName(AgentState s);

enum class MoveKind {
  kLogin,
  kLogout,
  kReady,
  kNotReady,
  kReserve,
  kConfirm,
  kRelease,
  kEndCall,
  kHeartbeat,
  kTimer,  // the state's timer fired (the store only fires it once due)
};

// Who asks: the agent's own desktop, a supervisor (forced moves, audited),
// the dialer (reservations and calls), or the service's own timers.
enum class Actor { kAgent, kSupervisor, kDialer, kTimer };

// What a tenant or pool decides about its agents' timers and landing states.
struct StatePolicy {
  absl::Duration reservation_timeout = absl::Seconds(5);
  absl::Duration max_wrap_up = absl::Seconds(120);
  absl::Duration heartbeat_grace = absl::Seconds(60);
  // A call the dialer never ended (its replica died) ends after this.
  absl::Duration max_call = absl::Hours(4);
  // Where an agent lands when the wrap-up timer fires: READY unless set.
  bool not_ready_after_wrap_timeout = false;
  // Where an agent lands after a reservation it did not confirm in time: a
  // missed reservation usually means the agent is not at the desk.
  bool not_ready_after_missed_reservation = true;
  // A second login from another station takes the session over instead of
  // being refused.
  bool login_takes_over = false;
};

// How long an EndCall may protect an agent.
inline constexpr absl::Duration kMinProtection = absl::Seconds(1);
inline constexpr absl::Duration kMaxProtection = absl::Hours(1);

// An agent's state as stored.
struct AgentStatus {
  AgentState state = AgentState::kLoggedOut;
  std::string reason;   // NOT_READY's reason code; "login" right after login
  std::string station;  // the logged-in station (extension)
  std::string session;  // id of the login session
  // The call of RESERVED / ON_CALL / WRAP_UP and its tenant (a pool agent
  // serves several tenants; the call's tenant is what its desktop sees).
  std::string call_id;
  std::string call_tenant;
  std::string campaign;
  absl::Time since = absl::InfinitePast();           // entered this state
  absl::Time last_heartbeat = absl::InfinitePast();  // station's last sign of life
  // When this state's timer fires; InfiniteFuture when the state has none.
  absl::Time timer = absl::InfiniteFuture();
  // Asked for during a call, applied when it ends: "" none, else a reason.
  std::string pending_not_ready;
  bool pending_logout = false;
  int64_t missed_reservations = 0;
  int64_t version = 0;
  // NOT_READY under protection (EndCall with a protected reason): the agent
  // may not make itself ready before this; InfinitePast when not protected.
  // Kept (then past) until the agent enters another state.
  absl::Time protected_until = absl::InfinitePast();
  // The call whose end started the protection: a retried EndCall of it
  // changes nothing. Set exactly when protected_until is.
  std::string protected_call;
};

struct MoveRequest {
  MoveKind kind = MoveKind::kHeartbeat;
  Actor actor = Actor::kAgent;
  std::string station;  // login, heartbeat (must match the session's)
  std::string session;  // login: the new session's id
  std::string reason;   // not-ready, forced moves
  std::string call_id;  // reserve, confirm, release, end call
  std::string call_tenant;
  std::string campaign;
  // End call: a protected not-ready instead of wrap-up, both or neither
  // (ValidateProtection).
  std::string protected_reason;
  absl::Duration protect_for = absl::ZeroDuration();
};

// The result of a legal move: the new status (version + 1) and what it means.
struct Move {
  AgentStatus next;
  bool state_changed = false;
  bool reservation_missed = false;  // the reservation timer fired
  bool session_taken_over = false;  // a login replaced another station's session
  // For the audit and the event: the state left, and why the move happened
  // ("login", "reserve", "timer:wrap_up", "forced:<reason>", ...).
  AgentState from = AgentState::kLoggedOut;
  std::string cause;
};

// Applies `request` to `current` at `now`. Illegal moves are
// FAILED_PRECONDITION with reason ILLEGAL_TRANSITION naming the current state
// ("agent is ON_CALL"); a call id that does not match the agent's call is
// FAILED_PRECONDITION CALL_MISMATCH; a login from another station while a
// session is live is FAILED_PRECONDITION ALREADY_LOGGED_IN unless the policy
// takes over; a timer that is not due yet is FAILED_PRECONDITION TIMER_NOT_DUE
// (the store fires a timer only when due, so this guards double firing);
// missing fields are INVALID_ARGUMENT. The agent's ready (or not-ready with
// another reason) while protected is FAILED_PRECONDITION NOT_READY_PROTECTED,
// its message naming the time the protection ends.
absl::StatusOr<Move> ApplyMove(const AgentStatus& current, const MoveRequest& request,
                               absl::Time now, const StatePolicy& policy);

// The protection an EndCall asks for: a reason code (1-63 characters of
// [a-z0-9-], not the service's own "login"; the tenant's list of reason codes
// does not apply, the dialer is the platform's) and a duration of
// kMinProtection to kMaxProtection, both required. INVALID_ARGUMENT naming
// the field: FIELD_REQUIRED, INVALID_ID, RESERVED_REASON_CODE,
// VALUE_OUT_OF_RANGE.
absl::Status ValidateProtection(absl::string_view reason, absl::Duration protect_for);

// The time the state's timer fires, from a status just entered at `now`.
absl::Time TimerFor(const AgentStatus& status, const StatePolicy& policy);

}  // namespace dialgrid::agentstate
