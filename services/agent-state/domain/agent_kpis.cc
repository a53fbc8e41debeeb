#include "services/agent-state/domain/agent_kpis.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dialgrid::agentstate {
namespace {

// An interval longer than this is cut (a status that old is a store from
// another era; it must not make a write add thousands of days).
constexpr absl::Duration kLongestInterval = absl::Hours(24 * 40);

// The counters time in `s`'s state goes to; `confirmed` says whether a
// reservation led to the call (a released or missed one was waiting time).
std::vector<std::string> TimeFields(const AgentStatus& s, bool confirmed) {
  switch (s.state) {
    case AgentState::kLoggedOut: return {};
    case AgentState::kReady: return {"logged_in", "ready"};
    case AgentState::kNotReady: return {"logged_in", absl::StrCat("nr:", s.reason)};
    case AgentState::kReserved: return {"logged_in", confirmed ? "talk" : "ready"};
    case AgentState::kOnCall: return {"logged_in", "talk"};
    case AgentState::kWrapUp: return {"logged_in", "wrap_up"};
  }
  return {};
}

bool ServesACall(const AgentStatus& s) {
  return (s.state == AgentState::kReserved || s.state == AgentState::kOnCall ||
          s.state == AgentState::kWrapUp) &&
         !s.call_tenant.empty();
}

// Adds the time of [from, to) in `s`'s state, split by day.
void AddTime(const AgentStatus& s, bool confirmed, absl::Time from, absl::Time to,
             absl::TimeZone zone, bool pool_agent, std::vector<KpiIncrement>& out) {
  if (from == absl::InfinitePast() || to <= from) return;
  from = std::max(from, to - kLongestInterval);
  const std::vector<std::string> fields = TimeFields(s, confirmed);
  if (fields.empty()) return;
  const std::string tenant_part = pool_agent && ServesACall(s) ? s.call_tenant : std::string();
  while (from < to) {
    const absl::CivilDay day = absl::ToCivilDay(from, zone);
    const absl::Time next_midnight = absl::FromCivil(day + 1, zone);
    const absl::Time end = std::min(to, next_midnight);
    const int64_t ms = absl::ToInt64Milliseconds(end - from);
    const std::string name = absl::FormatCivilTime(day);
    if (ms > 0) {
      for (const auto& f : fields) {
        out.push_back({name, "", f, ms});
        if (!tenant_part.empty()) out.push_back({name, tenant_part, f, ms});
      }
    }
    if (end <= from) break;  // a zone transition that does not advance: stop
    from = end;
  }
}

}  // namespace

std::string DayOf(absl::Time t, absl::TimeZone zone) {
  return absl::FormatCivilTime(absl::ToCivilDay(t, zone));
}

std::vector<KpiIncrement> KpiIncrements(const AgentStatus& before, const Move& move,
                                        absl::Time now, absl::TimeZone zone, bool pool_agent) {
  std::vector<KpiIncrement> out;
  if (move.next.since != before.since) {
    const bool confirmed = move.next.state == AgentState::kOnCall;
    AddTime(before, confirmed, before.since, std::min(now, move.next.since), zone, pool_agent, out);
  }
  const std::string today = DayOf(now, zone);
  auto count = [&](const char* field) {
    out.push_back({today, "", field, 1});
    if (pool_agent && !before.call_tenant.empty()) {
      out.push_back({today, before.call_tenant, field, 1});
    }
  };
  if (before.state == AgentState::kOnCall && move.next.state != AgentState::kOnCall) count("calls");
  if (move.reservation_missed) count("missed");
  return out;
}

std::vector<KpiIncrement> OpenInterval(const AgentStatus& status, absl::Time now,
                                       absl::TimeZone zone, bool pool_agent) {
  std::vector<KpiIncrement> out;
  AddTime(status, /*confirmed=*/true, status.since, now, zone, pool_agent, out);
  return out;
}

}  // namespace dialgrid::agentstate
