// KPI accounting: the time of each state closed by a move, by local day.
#include "services/agent-state/domain/agent_kpis.h"

#include <gtest/gtest.h>

#include <map>

namespace dialgrid::agentstate {
namespace {

absl::TimeZone NewYork() {
  absl::TimeZone z;
  EXPECT_TRUE(absl::LoadTimeZone("America/New_York", &z));
  return z;
}

// day|part|field -> sum
std::map<std::string, int64_t> Sum(const std::vector<KpiIncrement>& incs) {
  std::map<std::string, int64_t> out;
  for (const auto& i : incs) out[i.day + "|" + i.part + "|" + i.field] += i.delta;
  return out;
}

TEST(AgentKpis, TheStateLeftIsCountedAndSplitAtTheAgentsMidnight) {
  const absl::TimeZone ny = NewYork();
  AgentStatus before;
  before.state = AgentState::kReady;
  // 23:30 local on 2026-12-02 to 00:45 on 2026-12-03.
  before.since = absl::FromCivil(absl::CivilMinute(2026, 12, 2, 23, 30), ny);
  const absl::Time now = absl::FromCivil(absl::CivilMinute(2026, 12, 3, 0, 45), ny);
  Move move;
  move.next = before;
  move.next.state = AgentState::kNotReady;
  move.next.reason = "lunch";
  move.next.since = now;
  auto sums = Sum(KpiIncrements(before, move, now, ny, false));
  EXPECT_EQ(sums["2026-12-02||ready"], 30 * 60 * 1000);
  EXPECT_EQ(sums["2026-12-03||ready"], 45 * 60 * 1000);
  EXPECT_EQ(sums["2026-12-02||logged_in"], 30 * 60 * 1000);
  EXPECT_EQ(sums["2026-12-03||logged_in"], 45 * 60 * 1000);
  EXPECT_EQ(sums.size(), 4u);  // no calls, nothing missed
  // In UTC the same interval is one day (04:30-05:45).
  auto utc = Sum(KpiIncrements(before, move, now, absl::UTCTimeZone(), false));
  EXPECT_EQ(utc["2026-12-03||ready"], 75 * 60 * 1000);
}

TEST(AgentKpis, AMoveThatKeepsTheStateAddsNothing) {
  AgentStatus before;
  before.state = AgentState::kReady;
  before.since = absl::FromUnixSeconds(1'800'000'000);
  Move heartbeat;
  heartbeat.next = before;  // same since
  EXPECT_TRUE(KpiIncrements(before, heartbeat, before.since + absl::Minutes(5),
                            absl::UTCTimeZone(), false)
                  .empty());
}

TEST(AgentKpis, CallsAndMissedReservationsCountAndAPoolAgentHasATenantPart) {
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);  // 2027-01-15 08:00 UTC
  AgentStatus on_call;
  on_call.state = AgentState::kOnCall;
  on_call.call_id = "c1";
  on_call.call_tenant = "acme";
  on_call.since = t0;
  Move end;
  end.next = on_call;
  end.next.state = AgentState::kWrapUp;
  end.next.since = t0 + absl::Minutes(3);
  auto sums = Sum(KpiIncrements(on_call, end, end.next.since, absl::UTCTimeZone(), true));
  const std::string day = DayOf(t0, absl::UTCTimeZone());
  EXPECT_EQ(sums[day + "||talk"], 180000);
  EXPECT_EQ(sums[day + "|acme|talk"], 180000);
  EXPECT_EQ(sums[day + "|acme|logged_in"], 180000);
  EXPECT_EQ(sums[day + "||calls"], 1);
  EXPECT_EQ(sums[day + "|acme|calls"], 1);
  // A tenant's own agent has no parts.
  auto own = Sum(KpiIncrements(on_call, end, end.next.since, absl::UTCTimeZone(), false));
  EXPECT_EQ(own.count(day + "|acme|talk"), 0u);

  AgentStatus reserved = on_call;
  reserved.state = AgentState::kReserved;
  Move missed;
  missed.next = reserved;
  missed.next.state = AgentState::kNotReady;
  missed.next.since = t0 + absl::Seconds(5);
  missed.reservation_missed = true;
  auto m = Sum(KpiIncrements(reserved, missed, missed.next.since, absl::UTCTimeZone(), true));
  EXPECT_EQ(m[day + "||missed"], 1);
  // A missed reservation's seconds were waiting, not talking.
  EXPECT_EQ(m[day + "||ready"], 5000);
  EXPECT_EQ(m[day + "||talk"], 0);
  Move confirm;
  confirm.next = reserved;
  confirm.next.state = AgentState::kOnCall;
  confirm.next.since = t0 + absl::Seconds(2);
  auto c = Sum(KpiIncrements(reserved, confirm, confirm.next.since, absl::UTCTimeZone(), false));
  EXPECT_EQ(c[day + "||talk"], 2000);
  EXPECT_EQ(m[day + "|acme|missed"], 1);
  EXPECT_EQ(m[day + "||calls"], 0);
}

// A call ended protected (an abusive caller): the call counts as handled, its
// talk as talk (the tenant's part too), and the protected time as not ready
// under the protected reason, open and closed alike.
TEST(AgentKpis, AProtectedEndCountsTheCallAndTheProtectedTimeAsNotReadyUnderItsReason) {
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  const std::string day = DayOf(t0, absl::UTCTimeZone());
  AgentStatus on_call;
  on_call.state = AgentState::kOnCall;
  on_call.call_id = "c1";
  on_call.call_tenant = "acme";
  on_call.station = "ext-1";
  on_call.since = t0;
  on_call.last_heartbeat = t0;
  MoveRequest end;
  end.kind = MoveKind::kEndCall;
  end.actor = Actor::kDialer;
  end.call_id = "c1";
  end.protected_reason = "abusive-caller";
  end.protect_for = absl::Minutes(10);
  const absl::Time t1 = t0 + absl::Minutes(2);
  auto m = ApplyMove(on_call, end, t1, StatePolicy());
  ASSERT_TRUE(m.ok()) << m.status();
  auto sums = Sum(KpiIncrements(on_call, *m, t1, absl::UTCTimeZone(), true));
  EXPECT_EQ(sums[day + "||talk"], 120000);
  EXPECT_EQ(sums[day + "|acme|talk"], 120000);
  EXPECT_EQ(sums[day + "||calls"], 1);
  EXPECT_EQ(sums[day + "|acme|calls"], 1);
  EXPECT_EQ(sums.count(day + "||wrap_up"), 0u);
  // Still protected, five minutes in: open, under its reason, the vendor's
  // own (not the call's tenant's part).
  const absl::Time t2 = t1 + absl::Minutes(5);
  auto open = Sum(OpenInterval(m->next, t2, absl::UTCTimeZone(), true));
  EXPECT_EQ(open[day + "||nr:abusive-caller"], 300000);
  EXPECT_EQ(open[day + "||logged_in"], 300000);
  EXPECT_EQ(open.count(day + "|acme|nr:abusive-caller"), 0u);
  // Ready once it is over: the ten minutes closed under the reason.
  MoveRequest ready;
  ready.kind = MoveKind::kReady;
  ready.actor = Actor::kAgent;
  const absl::Time t3 = t1 + absl::Minutes(10);
  auto r = ApplyMove(m->next, ready, t3, StatePolicy());
  ASSERT_TRUE(r.ok()) << r.status();
  auto closed = Sum(KpiIncrements(m->next, *r, t3, absl::UTCTimeZone(), true));
  EXPECT_EQ(closed[day + "||nr:abusive-caller"], 600000);
  EXPECT_EQ(closed[day + "||logged_in"], 600000);
}

TEST(AgentKpis, TheOpenIntervalAndAncientStatusesAreBounded) {
  AgentStatus s;
  s.state = AgentState::kNotReady;
  s.reason = "break";
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  s.since = now - absl::Minutes(10);
  auto open = Sum(OpenInterval(s, now, absl::UTCTimeZone(), false));
  EXPECT_EQ(open[DayOf(now, absl::UTCTimeZone()) + "||nr:break"], 600000);
  // A status from years ago adds at most 40 days of counters.
  s.since = now - absl::Hours(24 * 365 * 3);
  EXPECT_LE(OpenInterval(s, now, absl::UTCTimeZone(), false).size(), 2u * 41);
  // Logged out: nothing.
  s.state = AgentState::kLoggedOut;
  EXPECT_TRUE(OpenInterval(s, now, absl::UTCTimeZone(), false).empty());
}

}  // namespace
}  // namespace dialgrid::agentstate
