#include "services/agent-state/domain/agent_state_machine.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "services/common/core/errors.h"

namespace dialgrid::agentstate {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

class StateMachineTest : public ::testing::Test {
 protected:
  // Applies a move at now_ and keeps the result; fails the test if illegal.
  Move Do(MoveKind kind, Actor actor, MoveRequest r = {}) {
    r.kind = kind;
    r.actor = actor;
    auto m = ApplyMove(status_, r, now_, policy_);
    EXPECT_TRUE(m.ok()) << m.status();
    if (!m.ok()) return Move{};
    status_ = m->next;
    return *m;
  }
  absl::Status Try(MoveKind kind, Actor actor, MoveRequest r = {}) {
    r.kind = kind;
    r.actor = actor;
    return ApplyMove(status_, r, now_, policy_).status();
  }
  static MoveRequest Station(const std::string& station, const std::string& session = "s1") {
    MoveRequest r;
    r.station = station;
    r.session = session;
    return r;
  }
  static MoveRequest Call(const std::string& id) {
    MoveRequest r;
    r.call_id = id;
    r.call_tenant = "acme";
    r.campaign = "tenants/acme/campaigns/c1";
    return r;
  }
  static MoveRequest Reason(const std::string& reason) {
    MoveRequest r;
    r.reason = reason;
    return r;
  }
  void LoginReady() {
    Do(MoveKind::kLogin, Actor::kAgent, Station("ext-101"));
    Do(MoveKind::kReady, Actor::kAgent);
  }
  void Fire() { Do(MoveKind::kTimer, Actor::kTimer); }

  AgentStatus status_;
  StatePolicy policy_;
  absl::Time now_ = kT0;
};

TEST_F(StateMachineTest, ACallsWholeCycle) {
  Move m = Do(MoveKind::kLogin, Actor::kAgent, Station("ext-101"));
  EXPECT_EQ(status_.state, AgentState::kNotReady);
  EXPECT_EQ(status_.reason, "login");
  EXPECT_EQ(status_.timer, kT0 + policy_.heartbeat_grace);
  EXPECT_EQ(m.from, AgentState::kLoggedOut);
  Do(MoveKind::kReady, Actor::kAgent);
  now_ += absl::Seconds(3);
  Do(MoveKind::kReserve, Actor::kDialer, Call("call-1"));
  EXPECT_EQ(status_.state, AgentState::kReserved);
  EXPECT_EQ(status_.call_tenant, "acme");
  EXPECT_EQ(status_.timer, now_ + policy_.reservation_timeout);
  Do(MoveKind::kConfirm, Actor::kDialer, Call("call-1"));
  EXPECT_EQ(status_.state, AgentState::kOnCall);
  EXPECT_EQ(status_.timer, now_ + policy_.max_call);
  now_ += absl::Seconds(90);
  Do(MoveKind::kEndCall, Actor::kDialer, Call("call-1"));
  EXPECT_EQ(status_.state, AgentState::kWrapUp);
  EXPECT_EQ(status_.call_id, "call-1");  // the disposition belongs to this call
  Do(MoveKind::kReady, Actor::kAgent);
  EXPECT_EQ(status_.state, AgentState::kReady);
  EXPECT_EQ(status_.call_id, "");
  EXPECT_EQ(status_.version, 6);
}

TEST_F(StateMachineTest, IllegalMovesNameTheCurrentState) {
  absl::Status st = Try(MoveKind::kReady, Actor::kAgent);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(st), "ILLEGAL_TRANSITION");
  EXPECT_NE(st.message().find("LOGGED_OUT"), absl::string_view::npos) << st;

  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("call-1"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("call-1"));
  st = Try(MoveKind::kReady, Actor::kAgent);
  EXPECT_EQ(ReasonOf(st), "ILLEGAL_TRANSITION");
  EXPECT_NE(st.message().find("ON_CALL"), absl::string_view::npos) << st;
  EXPECT_EQ(ReasonOf(Try(MoveKind::kReserve, Actor::kDialer, Call("call-2"))),
            "ILLEGAL_TRANSITION");
  EXPECT_EQ(ReasonOf(Try(MoveKind::kEndCall, Actor::kDialer, Call("call-2"))), "CALL_MISMATCH");
}

TEST_F(StateMachineTest, OnlyTheRightActorMakesEachMove) {
  LoginReady();
  EXPECT_EQ(ReasonOf(Try(MoveKind::kReserve, Actor::kAgent, Call("c"))), "MOVE_NOT_ALLOWED");
  EXPECT_EQ(ReasonOf(Try(MoveKind::kReady, Actor::kDialer)), "MOVE_NOT_ALLOWED");
  EXPECT_EQ(ReasonOf(Try(MoveKind::kTimer, Actor::kSupervisor)), "MOVE_NOT_ALLOWED");
  EXPECT_EQ(ReasonOf(Try(MoveKind::kLogin, Actor::kSupervisor, Station("x"))), "MOVE_NOT_ALLOWED");
}

TEST_F(StateMachineTest, RetriedDialerMovesForTheSameCallChangeNothing) {
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("call-1"));
  Move again = Do(MoveKind::kReserve, Actor::kDialer, Call("call-1"));
  EXPECT_FALSE(again.state_changed);
  EXPECT_EQ(status_.state, AgentState::kReserved);
  Do(MoveKind::kConfirm, Actor::kDialer, Call("call-1"));
  EXPECT_FALSE(Do(MoveKind::kConfirm, Actor::kDialer, Call("call-1")).state_changed);
  Do(MoveKind::kEndCall, Actor::kDialer, Call("call-1"));
  EXPECT_FALSE(Do(MoveKind::kEndCall, Actor::kDialer, Call("call-1")).state_changed);
  EXPECT_EQ(status_.state, AgentState::kWrapUp);
}

TEST_F(StateMachineTest, AnUnconfirmedReservationFreesTheAgentWhenItsTimerFires) {
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("call-1"));
  now_ += policy_.reservation_timeout - absl::Milliseconds(1);
  EXPECT_EQ(ReasonOf(Try(MoveKind::kTimer, Actor::kTimer)), "TIMER_NOT_DUE");
  now_ += absl::Milliseconds(1);
  Move m = Do(MoveKind::kTimer, Actor::kTimer);
  EXPECT_TRUE(m.reservation_missed);
  EXPECT_EQ(m.cause, "timer:reservation");
  EXPECT_EQ(status_.state, AgentState::kNotReady);  // by default: not at the desk
  EXPECT_EQ(status_.reason, "missed_reservation");
  EXPECT_EQ(status_.missed_reservations, 1);
  EXPECT_EQ(status_.call_id, "");
  // A late confirm of that call is refused: the agent was freed.
  EXPECT_EQ(ReasonOf(Try(MoveKind::kConfirm, Actor::kDialer, Call("call-1"))),
            "ILLEGAL_TRANSITION");

  policy_.not_ready_after_missed_reservation = false;
  Do(MoveKind::kReady, Actor::kAgent);
  Do(MoveKind::kReserve, Actor::kDialer, Call("call-2"));
  now_ += policy_.reservation_timeout;
  Fire();
  EXPECT_EQ(status_.state, AgentState::kReady);
}

TEST_F(StateMachineTest, WrapUpEndsByItsTimerInTheStateThePolicySays) {
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("c1"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c1"));
  Do(MoveKind::kEndCall, Actor::kDialer, Call("c1"));
  now_ += policy_.max_wrap_up;
  Fire();
  EXPECT_EQ(status_.state, AgentState::kReady);

  policy_.not_ready_after_wrap_timeout = true;
  Do(MoveKind::kReserve, Actor::kDialer, Call("c2"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c2"));
  Do(MoveKind::kEndCall, Actor::kDialer, Call("c2"));
  now_ += policy_.max_wrap_up;
  Fire();
  EXPECT_EQ(status_.state, AgentState::kNotReady);
  EXPECT_EQ(status_.reason, "wrap_up_timeout");
}

TEST_F(StateMachineTest, ACallNobodyEndsEndsByTheMaxCallTimer) {
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("c1"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c1"));
  now_ += policy_.max_call;
  Fire();
  EXPECT_EQ(status_.state, AgentState::kWrapUp);
}

TEST_F(StateMachineTest, AStationThatStopsBeatingIsLoggedOutAfterTheGrace) {
  LoginReady();
  now_ += absl::Seconds(30);
  Do(MoveKind::kHeartbeat, Actor::kAgent, Station("ext-101"));
  EXPECT_EQ(status_.timer, now_ + policy_.heartbeat_grace);
  now_ += policy_.heartbeat_grace - absl::Seconds(1);
  EXPECT_EQ(ReasonOf(Try(MoveKind::kTimer, Actor::kTimer)), "TIMER_NOT_DUE");
  now_ += absl::Seconds(1);
  Move m = Do(MoveKind::kTimer, Actor::kTimer);
  EXPECT_EQ(status_.state, AgentState::kLoggedOut);
  EXPECT_EQ(m.cause, "timer:heartbeat");
  EXPECT_EQ(status_.station, "");
  EXPECT_EQ(status_.timer, absl::InfiniteFuture());
  EXPECT_EQ(ReasonOf(Try(MoveKind::kHeartbeat, Actor::kAgent, Station("ext-101"))),
            "NOT_LOGGED_IN");
}

TEST_F(StateMachineTest, ASecondStationIsRefusedOrTakesOverNeverTwoSessions) {
  LoginReady();
  absl::Status st = Try(MoveKind::kLogin, Actor::kAgent, Station("ext-202", "s2"));
  EXPECT_EQ(ReasonOf(st), "ALREADY_LOGGED_IN");
  // The same station again (a desktop restart) keeps the state.
  Move again = Do(MoveKind::kLogin, Actor::kAgent, Station("ext-101", "s1b"));
  EXPECT_FALSE(again.state_changed);
  EXPECT_EQ(status_.state, AgentState::kReady);

  policy_.login_takes_over = true;
  Move m = Do(MoveKind::kLogin, Actor::kAgent, Station("ext-202", "s2"));
  EXPECT_TRUE(m.session_taken_over);
  EXPECT_EQ(status_.station, "ext-202");
  EXPECT_EQ(status_.session, "s2");
  EXPECT_EQ(status_.state, AgentState::kReady);
  // The old station's heartbeats no longer count.
  EXPECT_EQ(ReasonOf(Try(MoveKind::kHeartbeat, Actor::kAgent, Station("ext-101"))),
            "STATION_MISMATCH");
}

TEST_F(StateMachineTest, NotReadyOrLogoutDuringACallWaitsForTheCallsEnd) {
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("c1"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c1"));
  Move forced = Do(MoveKind::kNotReady, Actor::kSupervisor, Reason("coaching"));
  EXPECT_EQ(forced.cause, "forced:coaching");
  EXPECT_FALSE(forced.state_changed);
  EXPECT_EQ(status_.state, AgentState::kOnCall);
  Do(MoveKind::kEndCall, Actor::kDialer, Call("c1"));
  Do(MoveKind::kReady, Actor::kAgent);  // wrap-up done: the pending not-ready applies
  EXPECT_EQ(status_.state, AgentState::kNotReady);
  EXPECT_EQ(status_.reason, "coaching");

  Do(MoveKind::kReady, Actor::kAgent);
  Do(MoveKind::kReserve, Actor::kDialer, Call("c2"));
  Do(MoveKind::kLogout, Actor::kAgent);
  EXPECT_EQ(status_.state, AgentState::kReserved);
  Do(MoveKind::kRelease, Actor::kDialer, Call("c2"));  // the callee hung up first
  EXPECT_EQ(status_.state, AgentState::kLoggedOut);
}

TEST_F(StateMachineTest, ForcedMovesNeedAReason) {
  LoginReady();
  EXPECT_EQ(ReasonOf(Try(MoveKind::kLogout, Actor::kSupervisor)), "FIELD_REQUIRED");
  EXPECT_EQ(ReasonOf(Try(MoveKind::kNotReady, Actor::kAgent)), "FIELD_REQUIRED");
  Move m = Do(MoveKind::kLogout, Actor::kSupervisor, Reason("shift over"));
  EXPECT_EQ(m.cause, "forced:shift over");
  EXPECT_EQ(status_.state, AgentState::kLoggedOut);
}

MoveRequest Protect(const std::string& call, const std::string& reason, absl::Duration d) {
  MoveRequest r;
  r.call_id = call;
  r.call_tenant = "acme";
  r.protected_reason = reason;
  r.protect_for = d;
  return r;
}

TEST_F(StateMachineTest, AProtectedEndLeavesTheCallForNotReadyAndReadyWaitsForItsEnd) {
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("c1"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c1"));
  now_ += absl::Seconds(40);
  const MoveRequest protect = Protect("c1", "abusive-caller", absl::Minutes(10));
  Move m = Do(MoveKind::kEndCall, Actor::kDialer, protect);
  EXPECT_EQ(m.cause, "end_call:protected");
  EXPECT_TRUE(m.state_changed);
  EXPECT_EQ(m.from, AgentState::kOnCall);
  EXPECT_EQ(status_.state, AgentState::kNotReady);
  EXPECT_EQ(status_.reason, "abusive-caller");
  EXPECT_EQ(status_.protected_until, now_ + absl::Minutes(10));
  EXPECT_EQ(status_.call_id, "");
  EXPECT_EQ(status_.timer, TimerFor(status_, policy_));  // the heartbeat grace, as any NOT_READY

  // The agent's ready is refused, naming the time; so is another reason.
  now_ += absl::Minutes(10) - absl::Seconds(1);
  absl::Status st = Try(MoveKind::kReady, Actor::kAgent);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(st), "NOT_READY_PROTECTED");
  EXPECT_NE(st.message().find("2027-01-15T08:10:40Z"), absl::string_view::npos) << st;
  EXPECT_EQ(ReasonOf(Try(MoveKind::kNotReady, Actor::kAgent, Reason("break"))),
            "NOT_READY_PROTECTED");
  // The same reason again, heartbeats and a desktop restart keep it.
  EXPECT_FALSE(Do(MoveKind::kNotReady, Actor::kAgent, Reason("abusive-caller")).state_changed);
  Do(MoveKind::kHeartbeat, Actor::kAgent, Station("ext-101"));
  Do(MoveKind::kLogin, Actor::kAgent, Station("ext-101", "s1b"));
  EXPECT_EQ(status_.protected_until, kT0 + absl::Seconds(40) + absl::Minutes(10));
  // A retried end of that call (protected or not) changes nothing.
  EXPECT_EQ(Do(MoveKind::kEndCall, Actor::kDialer, protect).cause, "end_call:again");
  EXPECT_EQ(Do(MoveKind::kEndCall, Actor::kDialer, Call("c1")).cause, "end_call:again");
  EXPECT_EQ(ReasonOf(Try(MoveKind::kEndCall, Actor::kDialer, Call("c2"))), "ILLEGAL_TRANSITION");

  // From the end on, ready works and clears the protection.
  now_ += absl::Seconds(1);
  Do(MoveKind::kReady, Actor::kAgent);
  EXPECT_EQ(status_.state, AgentState::kReady);
  EXPECT_EQ(status_.protected_until, absl::InfinitePast());
  EXPECT_EQ(status_.protected_call, "");
}

TEST_F(StateMachineTest, AReservedCallOrOneInWrapUpCanEndProtectedToo) {
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("c1"));
  Do(MoveKind::kEndCall, Actor::kDialer, Protect("c1", "abusive-caller", absl::Seconds(1)));
  EXPECT_EQ(status_.state, AgentState::kNotReady);
  EXPECT_EQ(status_.protected_until, now_ + absl::Seconds(1));
  now_ += absl::Seconds(1);
  Do(MoveKind::kReady, Actor::kAgent);
  // Ended plainly first (wrap-up), then flagged: the protection still applies.
  Do(MoveKind::kReserve, Actor::kDialer, Call("c2"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c2"));
  Do(MoveKind::kEndCall, Actor::kDialer, Call("c2"));
  ASSERT_EQ(status_.state, AgentState::kWrapUp);
  EXPECT_EQ(ReasonOf(Try(MoveKind::kEndCall, Actor::kDialer,
                         Protect("c9", "abusive-caller", absl::Minutes(5)))),
            "CALL_MISMATCH");
  Do(MoveKind::kEndCall, Actor::kDialer, Protect("c2", "abusive-caller", absl::Minutes(5)));
  EXPECT_EQ(status_.state, AgentState::kNotReady);
  EXPECT_EQ(status_.protected_until, now_ + absl::Minutes(5));
  EXPECT_EQ(ReasonOf(Try(MoveKind::kReady, Actor::kAgent)), "NOT_READY_PROTECTED");
  // Not from a state without the call.
  status_ = AgentStatus();
  LoginReady();
  EXPECT_EQ(ReasonOf(Try(MoveKind::kEndCall, Actor::kDialer,
                         Protect("c3", "abusive-caller", absl::Minutes(5)))),
            "ILLEGAL_TRANSITION");
}

TEST_F(StateMachineTest, ASupervisorOrALogoutEndsTheProtection) {
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("c1"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c1"));
  Do(MoveKind::kEndCall, Actor::kDialer, Protect("c1", "abusive-caller", absl::Hours(1)));
  Move forced = Do(MoveKind::kNotReady, Actor::kSupervisor, Reason("coaching"));
  EXPECT_EQ(forced.cause, "forced:coaching");
  EXPECT_EQ(status_.reason, "coaching");
  EXPECT_EQ(status_.protected_until, absl::InfinitePast());
  Do(MoveKind::kReady, Actor::kAgent);  // at once

  Do(MoveKind::kReserve, Actor::kDialer, Call("c2"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c2"));
  Do(MoveKind::kEndCall, Actor::kDialer, Protect("c2", "abusive-caller", absl::Hours(1)));
  Do(MoveKind::kLogout, Actor::kAgent);
  EXPECT_EQ(status_.state, AgentState::kLoggedOut);
  EXPECT_EQ(status_.protected_until, absl::InfinitePast());
  Do(MoveKind::kLogin, Actor::kAgent, Station("ext-101"));
  Do(MoveKind::kReady, Actor::kAgent);  // a new session starts unprotected

  // The heartbeat timer logs a silent station out, protection or not.
  Do(MoveKind::kReserve, Actor::kDialer, Call("c3"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c3"));
  Do(MoveKind::kEndCall, Actor::kDialer, Protect("c3", "abusive-caller", absl::Hours(1)));
  now_ = status_.timer;
  Fire();
  EXPECT_EQ(status_.state, AgentState::kLoggedOut);
  EXPECT_EQ(status_.protected_call, "");
}

TEST_F(StateMachineTest, PendingMovesMeetAProtectedEnd) {
  // A logout asked for during the call wins: the agent is gone.
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("c1"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c1"));
  Do(MoveKind::kLogout, Actor::kAgent);
  Do(MoveKind::kEndCall, Actor::kDialer, Protect("c1", "abusive-caller", absl::Minutes(1)));
  EXPECT_EQ(status_.state, AgentState::kLoggedOut);
  EXPECT_EQ(status_.protected_until, absl::InfinitePast());
  // A pending not-ready is replaced by the protected reason.
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("c2"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c2"));
  Do(MoveKind::kNotReady, Actor::kSupervisor, Reason("coaching"));
  Do(MoveKind::kEndCall, Actor::kDialer, Protect("c2", "abusive-caller", absl::Minutes(1)));
  EXPECT_EQ(status_.reason, "abusive-caller");
  EXPECT_EQ(status_.pending_not_ready, "");
  EXPECT_EQ(status_.protected_until, now_ + absl::Minutes(1));
}

TEST_F(StateMachineTest, ABadProtectionIsRefusedByNameAndChangesNothing) {
  LoginReady();
  Do(MoveKind::kReserve, Actor::kDialer, Call("c1"));
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c1"));
  const AgentStatus before = status_;
  const struct {
    std::string reason;
    absl::Duration d;
    const char* field;
    const char* why;
  } cases[] = {
      {"abusive-caller", absl::ZeroDuration(), "protect_for", "VALUE_OUT_OF_RANGE"},
      {"", absl::Minutes(5), "protected_reason", "FIELD_REQUIRED"},
      {"abusive-caller", absl::Milliseconds(999), "protect_for", "VALUE_OUT_OF_RANGE"},
      {"abusive-caller", absl::Hours(1) + absl::Milliseconds(1), "protect_for",
       "VALUE_OUT_OF_RANGE"},
      {"abusive-caller", -absl::Minutes(5), "protect_for", "VALUE_OUT_OF_RANGE"},
      {"Abusive Caller", absl::Minutes(5), "protected_reason", "INVALID_ID"},
      {"missed_reservation", absl::Minutes(5), "protected_reason", "INVALID_ID"},
      {std::string(64, 'a'), absl::Minutes(5), "protected_reason", "INVALID_ID"},
      {"login", absl::Minutes(5), "protected_reason", "RESERVED_REASON_CODE"},
  };
  for (const auto& c : cases) {
    absl::Status st = Try(MoveKind::kEndCall, Actor::kDialer, Protect("c1", c.reason, c.d));
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.reason << " " << c.d;
    EXPECT_EQ(ReasonOf(st), c.why) << c.reason << " " << c.d;
    EXPECT_EQ(FieldOf(st), c.field) << c.reason << " " << c.d;
  }
  EXPECT_EQ(status_.version, before.version);
  // The bounds themselves, and any well-formed code (the tenant's list does
  // not apply: the manager does not consult it for a protected end).
  EXPECT_TRUE(ValidateProtection("abusive-caller", absl::Seconds(1)).ok());
  EXPECT_TRUE(ValidateProtection("x", absl::Hours(1)).ok());
}

// Every (state, move) pair: either refused with a reason, or a result whose
// timer matches its state and whose version moved on by one; no move may put
// a call on an agent that had none except reserve, and nothing leaves a
// logged-in agent without a timer (no agent is ever stuck).
TEST_F(StateMachineTest, EveryStateAndMoveIsDefinedAndNoStateIsWithoutATimer) {
  const std::vector<std::pair<MoveKind, Actor>> moves = {
      {MoveKind::kLogin, Actor::kAgent},     {MoveKind::kLogout, Actor::kAgent},
      {MoveKind::kLogout, Actor::kSupervisor}, {MoveKind::kReady, Actor::kAgent},
      {MoveKind::kNotReady, Actor::kAgent},  {MoveKind::kNotReady, Actor::kSupervisor},
      {MoveKind::kReserve, Actor::kDialer},  {MoveKind::kConfirm, Actor::kDialer},
      {MoveKind::kRelease, Actor::kDialer},  {MoveKind::kEndCall, Actor::kDialer},
      {MoveKind::kHeartbeat, Actor::kAgent}, {MoveKind::kTimer, Actor::kTimer}};
  // Reach every state by a legal path.
  std::map<AgentState, AgentStatus> reached;
  reached[status_.state] = status_;
  LoginReady();
  reached[AgentState::kReady] = status_;
  Do(MoveKind::kNotReady, Actor::kAgent, Reason("break"));
  reached[AgentState::kNotReady] = status_;
  Do(MoveKind::kReady, Actor::kAgent);
  Do(MoveKind::kReserve, Actor::kDialer, Call("c1"));
  reached[AgentState::kReserved] = status_;
  Do(MoveKind::kConfirm, Actor::kDialer, Call("c1"));
  reached[AgentState::kOnCall] = status_;
  Do(MoveKind::kEndCall, Actor::kDialer, Call("c1"));
  reached[AgentState::kWrapUp] = status_;
  ASSERT_EQ(reached.size(), 6u);
  // And a protected NOT_READY (keyed apart: same state, other rules).
  Do(MoveKind::kEndCall, Actor::kDialer, Protect("c1", "abusive-caller", absl::Hours(1)));
  ASSERT_NE(status_.protected_until, absl::InfinitePast());
  std::vector<std::pair<AgentState, AgentStatus>> froms(reached.begin(), reached.end());
  froms.emplace_back(AgentState::kNotReady, status_);

  for (const auto& [state, from] : froms) {
    for (const auto& [kind, actor] : moves) {
      for (absl::Duration later : {absl::ZeroDuration(), absl::Hours(5)}) {
        MoveRequest r = Call("c1");
        r.kind = kind;
        r.actor = actor;
        r.station = "ext-101";
        r.session = "s9";
        r.reason = "break";
        auto m = ApplyMove(from, r, now_ + later, policy_);
        SCOPED_TRACE(std::string(StateName(state)) + " move " +
                     std::to_string(static_cast<int>(kind)));
        if (!m.ok()) {
          EXPECT_FALSE(ReasonOf(m.status()).empty()) << m.status();
          continue;
        }
        EXPECT_EQ(m->next.version, from.version + 1);
        EXPECT_EQ(m->next.timer, TimerFor(m->next, policy_));
        if (m->next.state != AgentState::kLoggedOut) {
          EXPECT_NE(m->next.timer, absl::InfiniteFuture());
        }
        if (from.call_id.empty() && kind != MoveKind::kReserve) {
          EXPECT_EQ(m->next.call_id, "");
        }
        // Protection only ever on NOT_READY, and only the agent's own ready
        // may not end it early.
        if (m->next.protected_until != absl::InfinitePast()) {
          EXPECT_EQ(m->next.state, AgentState::kNotReady);
          EXPECT_FALSE(m->next.protected_call.empty());
        }
        if (from.protected_until != absl::InfinitePast() && later == absl::ZeroDuration()) {
          EXPECT_NE(m->next.state, AgentState::kReady);
        }
      }
    }
  }
}

}  // namespace
}  // namespace dialgrid::agentstate
