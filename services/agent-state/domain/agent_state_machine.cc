#include "services/agent-state/domain/agent_state_machine.h"

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid::agentstate {
namespace {

absl::Status Illegal(const AgentStatus& s, absl::string_view what) {
  return FailedPrecondition("ILLEGAL_TRANSITION",
                            absl::StrCat("cannot ", what, ": the agent is ", StateName(s.state)));
}

bool LoggedIn(AgentState s) { return s != AgentState::kLoggedOut; }
bool OnACall(AgentState s) { return s == AgentState::kReserved || s == AgentState::kOnCall; }

bool ActorMayMake(Actor actor, MoveKind kind) {
  switch (kind) {
    case MoveKind::kLogin:
    case MoveKind::kReady:
    case MoveKind::kHeartbeat:
      return actor == Actor::kAgent;
    case MoveKind::kLogout:
    case MoveKind::kNotReady:
      return actor == Actor::kAgent || actor == Actor::kSupervisor;
    case MoveKind::kReserve:
    case MoveKind::kConfirm:
    case MoveKind::kRelease:
    case MoveKind::kEndCall:
      return actor == Actor::kDialer;
    case MoveKind::kTimer:
      return actor == Actor::kTimer;
  }
  return false;
}

bool Protected(const AgentStatus& s, absl::Time now) {
  return s.state == AgentState::kNotReady && now < s.protected_until;
}

absl::Status ProtectedError(const AgentStatus& s, absl::string_view what) {
  return FailedPrecondition(
      "NOT_READY_PROTECTED",
      absl::StrCat("cannot ", what, ": the agent is NOT_READY (", s.reason,
                   ") under protection until ",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", s.protected_until, absl::UTCTimeZone()),
                   "; a supervisor's ForceState can end it earlier"));
}

bool IsReasonCode(absl::string_view code) {
  if (code.empty() || code.size() > 63) return false;
  for (char c : code) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// Enters `state` at `now`: resets what belongs to the state left (and any
// protection: only the protected end of a call sets one, after entering).
void Enter(AgentStatus& s, AgentState state, absl::Time now) {
  s.state = state;
  s.since = now;
  s.protected_until = absl::InfinitePast();
  s.protected_call.clear();
  if (state != AgentState::kNotReady) s.reason.clear();
  if (state == AgentState::kReady || state == AgentState::kNotReady ||
      state == AgentState::kLoggedOut) {
    s.call_id.clear();
    s.call_tenant.clear();
    s.campaign.clear();
  }
  if (state == AgentState::kLoggedOut) {
    s.station.clear();
    s.session.clear();
    s.pending_not_ready.clear();
    s.pending_logout = false;
  }
}

// Where an agent goes when a call's work is over (release, end of wrap-up):
// a pending logout or not-ready first, else `otherwise`.
void Settle(AgentStatus& s, absl::Time now, AgentState otherwise, absl::string_view reason) {
  if (s.pending_logout) {
    Enter(s, AgentState::kLoggedOut, now);
  } else if (!s.pending_not_ready.empty()) {
    std::string r = s.pending_not_ready;
    s.pending_not_ready.clear();
    Enter(s, AgentState::kNotReady, now);
    s.reason = r;
  } else {
    Enter(s, otherwise, now);
    if (otherwise == AgentState::kNotReady) s.reason = std::string(reason);
  }
}

absl::Status CheckCall(const AgentStatus& s, const MoveRequest& r) {
  if (r.call_id.empty()) return InvalidField("call_id", "FIELD_REQUIRED", "a call id is required");
  if (s.call_id != r.call_id) {
    return FailedPrecondition("CALL_MISMATCH",
                              absl::StrCat("the agent is ", StateName(s.state),
                                           s.call_id.empty() ? "" : " with another call"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateProtection(absl::string_view reason, absl::Duration protect_for) {
  if (reason.empty()) {
    return InvalidField("protected_reason", "FIELD_REQUIRED",
                        "protect_for needs a protected_reason");
  }
  if (!IsReasonCode(reason)) {
    return InvalidField("protected_reason", "INVALID_ID", "1-63 characters of [a-z0-9-]");
  }
  if (reason == "login") {
    return InvalidField("protected_reason", "RESERVED_REASON_CODE",
                        "\"login\" is the service's own");
  }
  if (protect_for < kMinProtection || protect_for > kMaxProtection) {
    return InvalidField("protect_for", "VALUE_OUT_OF_RANGE", "must be 1 second to 1 hour");
  }
  return absl::OkStatus();
}

absl::string_view StateName(AgentState s) {
  switch (s) {
    case AgentState::kLoggedOut: return "LOGGED_OUT";
    case AgentState::kReady: return "READY";
    case AgentState::kNotReady: return "NOT_READY";
    case AgentState::kReserved: return "RESERVED";
    case AgentState::kOnCall: return "ON_CALL";
    case AgentState::kWrapUp: return "WRAP_UP";
  }
  return "UNKNOWN";
}

absl::Time TimerFor(const AgentStatus& s, const StatePolicy& p) {
  switch (s.state) {
    case AgentState::kReserved: return s.since + p.reservation_timeout;
    case AgentState::kOnCall: return s.since + p.max_call;
    case AgentState::kWrapUp: return s.since + p.max_wrap_up;
    case AgentState::kReady:
    case AgentState::kNotReady: return s.last_heartbeat + p.heartbeat_grace;
    case AgentState::kLoggedOut: return absl::InfiniteFuture();
  }
  return absl::InfiniteFuture();
}

absl::StatusOr<Move> ApplyMove(const AgentStatus& current, const MoveRequest& r, absl::Time now,
                               const StatePolicy& policy) {
  if (!ActorMayMake(r.actor, r.kind)) {
    return WithReason(absl::PermissionDeniedError("this caller may not make this move"),
                      "MOVE_NOT_ALLOWED");
  }
  Move m;
  m.from = current.state;
  AgentStatus& s = m.next;
  s = current;
  const bool forced = r.actor == Actor::kSupervisor;
  switch (r.kind) {
    case MoveKind::kLogin: {
      if (r.station.empty()) return InvalidField("station", "FIELD_REQUIRED", "a station is required");
      if (r.session.empty()) return InvalidField("session", "FIELD_REQUIRED", "a session id is required");
      if (LoggedIn(s.state)) {
        if (s.station == r.station) {  // the same desk again (a desktop restart)
          s.last_heartbeat = now;
          m.cause = "login:again";
          break;
        }
        if (!policy.login_takes_over) {
          return FailedPrecondition("ALREADY_LOGGED_IN",
                                    absl::StrCat("the agent is logged in at another station (",
                                                 StateName(s.state), ")"));
        }
        s.station = r.station;
        s.session = r.session;
        s.last_heartbeat = now;
        m.session_taken_over = true;
        m.cause = "login:takeover";
        break;
      }
      Enter(s, AgentState::kNotReady, now);
      s.reason = "login";
      s.station = r.station;
      s.session = r.session;
      s.last_heartbeat = now;
      m.cause = "login";
      break;
    }
    case MoveKind::kLogout:
      if (!LoggedIn(s.state)) return Illegal(s, "log out");
      if (forced && r.reason.empty()) {
        return InvalidField("reason", "FIELD_REQUIRED", "a forced logout needs a reason");
      }
      m.cause = forced ? absl::StrCat("forced:", r.reason) : "logout";
      if (OnACall(s.state)) {
        s.pending_logout = true;  // applied when the call's work is over
        break;
      }
      Enter(s, AgentState::kLoggedOut, now);
      break;
    case MoveKind::kReady:
      if (s.state == AgentState::kReady) {
        m.cause = "ready:again";
        break;
      }
      if (s.state == AgentState::kNotReady) {
        if (Protected(s, now)) return ProtectedError(s, "go ready");
        Enter(s, AgentState::kReady, now);
      } else if (s.state == AgentState::kWrapUp) {
        Settle(s, now, AgentState::kReady, "");
      } else {
        return Illegal(s, "go ready");
      }
      m.cause = "ready";
      break;
    case MoveKind::kNotReady:
      if (r.reason.empty()) return InvalidField("reason", "FIELD_REQUIRED", "a reason code is required");
      if (!LoggedIn(s.state)) return Illegal(s, "go not ready");
      if (!forced && Protected(s, now)) {
        // The same reason again changes nothing; another would end the
        // protection, which only its expiry, a supervisor or a logout may.
        if (r.reason != s.reason) return ProtectedError(s, "change the not-ready reason");
        m.cause = "not_ready:again";
        break;
      }
      m.cause = forced ? absl::StrCat("forced:", r.reason) : "not_ready";
      if (OnACall(s.state)) {
        s.pending_not_ready = r.reason;
        break;
      }
      Enter(s, AgentState::kNotReady, now);
      s.reason = r.reason;
      break;
    case MoveKind::kReserve:
      if (r.call_id.empty()) return InvalidField("call_id", "FIELD_REQUIRED", "a call id is required");
      if (r.call_tenant.empty()) {
        return InvalidField("call_tenant", "FIELD_REQUIRED", "the call's tenant is required");
      }
      if (s.state == AgentState::kReserved && s.call_id == r.call_id) {
        m.cause = "reserve:again";  // a retried reserve for the same call
        break;
      }
      if (s.state != AgentState::kReady) return Illegal(s, "reserve");
      Enter(s, AgentState::kReserved, now);
      s.call_id = r.call_id;
      s.call_tenant = r.call_tenant;
      s.campaign = r.campaign;
      m.cause = "reserve";
      break;
    case MoveKind::kConfirm:
      if (s.state == AgentState::kOnCall && s.call_id == r.call_id && !r.call_id.empty()) {
        m.cause = "confirm:again";
        break;
      }
      if (s.state != AgentState::kReserved) return Illegal(s, "confirm a call");
      if (auto st = CheckCall(s, r); !st.ok()) return st;
      Enter(s, AgentState::kOnCall, now);
      m.cause = "confirm";
      break;
    case MoveKind::kRelease:
      if (s.state != AgentState::kReserved) return Illegal(s, "release a reservation");
      if (auto st = CheckCall(s, r); !st.ok()) return st;
      Settle(s, now, AgentState::kReady, "");
      m.cause = "release";
      break;
    case MoveKind::kEndCall: {
      const bool protect = !r.protected_reason.empty() || r.protect_for != absl::ZeroDuration();
      if (protect) {
        if (auto st = ValidateProtection(r.protected_reason, r.protect_for); !st.ok()) return st;
      }
      // A retry of an end already made (plain or protected) answers as is.
      if (!r.call_id.empty() &&
          ((s.state == AgentState::kWrapUp && s.call_id == r.call_id && !protect) ||
           (s.state == AgentState::kNotReady && s.protected_call == r.call_id))) {
        m.cause = "end_call:again";
        break;
      }
      if (!protect) {
        if (s.state != AgentState::kOnCall) return Illegal(s, "end a call");
        if (auto st = CheckCall(s, r); !st.ok()) return st;
        Enter(s, AgentState::kWrapUp, now);
        m.cause = "end_call";
        break;
      }
      // Protected: from the call in any of its states (reserved, talking, or
      // already in its wrap-up) straight to NOT_READY. A pending logout wins
      // (the agent is gone: nothing to protect); a pending not-ready is
      // replaced by the protected reason.
      if (!OnACall(s.state) && s.state != AgentState::kWrapUp) return Illegal(s, "end a call");
      if (auto st = CheckCall(s, r); !st.ok()) return st;
      s.pending_not_ready.clear();
      if (s.pending_logout) {
        Enter(s, AgentState::kLoggedOut, now);
      } else {
        Enter(s, AgentState::kNotReady, now);
        s.reason = r.protected_reason;
        s.protected_until = now + r.protect_for;
        s.protected_call = r.call_id;
      }
      m.cause = "end_call:protected";
      break;
    }
    case MoveKind::kHeartbeat:
      if (!LoggedIn(s.state)) {
        return FailedPrecondition("NOT_LOGGED_IN", "the agent is LOGGED_OUT");
      }
      if (r.station != s.station) {
        return FailedPrecondition("STATION_MISMATCH",
                                  "the session belongs to another station (taken over)");
      }
      s.last_heartbeat = now;
      m.cause = "heartbeat";
      break;
    case MoveKind::kTimer: {
      if (now < current.timer) {
        return FailedPrecondition("TIMER_NOT_DUE", "the state's timer is not due");
      }
      switch (s.state) {
        case AgentState::kReserved:
          ++s.missed_reservations;
          m.reservation_missed = true;
          Settle(s, now,
                 policy.not_ready_after_missed_reservation ? AgentState::kNotReady
                                                           : AgentState::kReady,
                 "missed_reservation");
          m.cause = "timer:reservation";
          break;
        case AgentState::kOnCall:
          Enter(s, AgentState::kWrapUp, now);
          m.cause = "timer:max_call";
          break;
        case AgentState::kWrapUp:
          Settle(s, now,
                 policy.not_ready_after_wrap_timeout ? AgentState::kNotReady : AgentState::kReady,
                 "wrap_up_timeout");
          m.cause = "timer:wrap_up";
          break;
        case AgentState::kReady:
        case AgentState::kNotReady:
          Enter(s, AgentState::kLoggedOut, now);
          m.cause = "timer:heartbeat";
          break;
        case AgentState::kLoggedOut:
          return FailedPrecondition("TIMER_NOT_DUE", "a logged-out agent has no timer");
      }
      break;
    }
  }
  m.state_changed = s.state != current.state || s.reason != current.reason ||
                    s.protected_until != current.protected_until;
  s.timer = TimerFor(s, policy);
  s.version = current.version + 1;
  return m;
}

}  // namespace dialgrid::agentstate
