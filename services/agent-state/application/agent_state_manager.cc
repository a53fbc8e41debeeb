#include "services/agent-state/application/agent_state_manager.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/kafka/event_publisher.h"

namespace dialgrid::agentstate {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

v1::State ToProtoState(AgentState s) {
  switch (s) {
    case AgentState::kLoggedOut: return v1::STATE_LOGGED_OUT;
    case AgentState::kReady: return v1::STATE_READY;
    case AgentState::kNotReady: return v1::STATE_NOT_READY;
    case AgentState::kReserved: return v1::STATE_RESERVED;
    case AgentState::kOnCall: return v1::STATE_ON_CALL;
    case AgentState::kWrapUp: return v1::STATE_WRAP_UP;
  }
  return v1::STATE_UNSPECIFIED;
}

bool IsId(absl::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

std::string AgentName(const AgentKey& key) {
  if (key.scope.empty()) {
    std::pair<std::string, std::string> p = absl::StrSplit(key.id, absl::MaxSplits('/', 1));
    return absl::StrCat("agentPools/", p.first, "/agents/", p.second);
  }
  return absl::StrCat("tenants/", key.scope, "/agents/", key.id);
}

absl::StatusOr<AgentKey> ParseAgentName(absl::string_view name) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() == 4 && parts[2] == "agents" && IsId(parts[1]) && IsId(parts[3])) {
    if (parts[0] == "tenants") return AgentKey{std::string(parts[1]), std::string(parts[3])};
    if (parts[0] == "agentPools") return AgentKey{"", absl::StrCat(parts[1], "/", parts[3])};
  }
  return InvalidField("name", "MALFORMED_NAME",
                      "must be tenants/{tenant}/agents/{agent} or agentPools/{pool}/agents/{agent}");
}

v1::AgentStatus ToProto(const AgentKey& key, const AgentStatus& s) {
  v1::AgentStatus p;
  p.set_agent(AgentName(key));
  p.set_state(ToProtoState(s.state));
  p.set_reason_code(s.reason);
  p.set_station(s.station);
  p.set_call_id(s.call_id);
  p.set_call_tenant(s.call_tenant);
  p.set_campaign(s.campaign);
  if (s.since != absl::InfinitePast()) *p.mutable_state_time() = Ts(s.since);
  if (s.timer != absl::InfiniteFuture()) *p.mutable_timer_time() = Ts(s.timer);
  p.set_pending_not_ready(s.pending_not_ready);
  p.set_pending_logout(s.pending_logout);
  p.set_version(s.version);
  return p;
}

AgentStateManager::AgentStateManager(std::shared_ptr<AgentStore> store, const Clock& clock,
                                     AgentStateOptions options)
    : store_(std::move(store)), clock_(clock), options_(std::move(options)) {}

absl::Status AgentStateManager::CreateAgent(const AgentKey& key, const v1::Agent& agent,
                                            int64_t max_agents) {
  v1::Agent stored = agent;
  stored.set_name(AgentName(key));
  stored.clear_status();
  *stored.mutable_create_time() = Ts(clock_.Now());
  *stored.mutable_update_time() = stored.create_time();
  Events events = {kafka::MakeEnvelope(key.scope, stored.name(), stored, options_.producer, clock_)};
  return store_->CreateAgent(key, stored.SerializeAsString(), max_agents, events);
}

absl::StatusOr<v1::Agent> AgentStateManager::GetAgent(const AgentKey& key) {
  auto defs = store_->Definitions({key});
  if (!defs.ok()) return defs.status();
  v1::Agent agent;
  if ((*defs)[0].empty()) return NotFound("AGENT_NOT_FOUND", "no such agent");
  if (!agent.ParseFromString((*defs)[0])) {
    return absl::DataLossError("stored agent does not parse");
  }
  auto status = store_->GetStatus(key);
  if (!status.ok()) return status.status();
  *agent.mutable_status() = ToProto(key, *status);
  return agent;
}

Events AgentStateManager::EventsOf(const AgentKey& key, const Move& move) const {
  // A pool agent's change belongs to the tenant of its call, else the vendor.
  const std::string tenant = key.scope.empty() ? move.next.call_tenant : key.scope;
  return {kafka::MakeEnvelope(tenant, AgentName(key), ToProto(key, move.next), options_.producer,
                              clock_)};
}

absl::StatusOr<Move> AgentStateManager::Apply(const AgentKey& key, const MoveRequest& request) {
  absl::Status last;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    auto current = store_->GetStatus(key);
    if (!current.ok()) return current.status();
    auto move = ApplyMove(*current, request, clock_.Now(), options_.policy);
    if (!move.ok()) return move.status();
    const bool new_call =
        request.kind == MoveKind::kReserve && move->next.call_id != current->call_id;
    // Heartbeats and repeated moves change nothing anyone watches: no event.
    const bool visible = move->cause != "heartbeat" && !absl::EndsWith(move->cause, ":again");
    last = store_->PutStatus(key, move->next, visible ? EventsOf(key, *move) : Events(),
                             new_call ? absl::StrCat(request.call_tenant, "/", request.call_id)
                                      : std::string());
    if (last.ok()) return move;
    if (ReasonOf(last) != "VERSION_CONFLICT") return last;
  }
  return last;
}

bool AgentStateManager::Eligible(const v1::Agent& agent, const ReserveRequest& r) const {
  if (std::find(agent.campaigns().begin(), agent.campaigns().end(), r.campaign) ==
      agent.campaigns().end()) {
    return false;
  }
  for (const auto& [name, level] : r.skills) {
    bool ok = false;
    for (const auto& s : agent.skills()) ok = ok || (s.name() == name && s.level() >= level);
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<Reserved> AgentStateManager::Reserve(const ReserveRequest& r) {
  if (r.call_id.empty()) return InvalidField("call_id", "FIELD_REQUIRED", "a call id is required");
  if (!absl::StartsWith(r.campaign, absl::StrCat("tenants/", r.tenant, "/campaigns/"))) {
    return InvalidField("campaign", "MALFORMED_NAME", "must be tenants/{tenant}/campaigns/{id}");
  }
  const std::string call_ref = absl::StrCat(r.tenant, "/", r.call_id);
  // A retry for a call already reserved: the same agent.
  for (const std::string& scope : {r.tenant, std::string()}) {
    auto held = store_->AgentOfCall(scope, call_ref);
    if (held.ok()) {
      auto st = store_->GetStatus(*held);
      if (!st.ok()) return st.status();
      if (st->call_id == r.call_id && st->call_tenant == r.tenant) {
        return Reserved{*held, *st, absl::ZeroDuration(), true};
      }
    } else if (held.status().code() != absl::StatusCode::kNotFound) {
      return held.status();
    }
  }
  // Candidates from both scopes, longest ready first.
  std::vector<ReadyAgent> ready;
  for (const std::string& scope : {r.tenant, std::string()}) {
    auto some = store_->ReadyAgents(scope, options_.reserve_candidates);
    if (!some.ok()) return some.status();
    ready.insert(ready.end(), some->begin(), some->end());
  }
  std::stable_sort(ready.begin(), ready.end(), [](const ReadyAgent& a, const ReadyAgent& b) {
    return a.ready_since < b.ready_since;
  });
  std::vector<AgentKey> keys;
  for (const auto& c : ready) keys.push_back(c.key);
  auto defs = store_->Definitions(keys);
  if (!defs.ok()) return defs.status();
  MoveRequest move;
  move.kind = MoveKind::kReserve;
  move.actor = Actor::kDialer;
  move.call_id = r.call_id;
  move.call_tenant = r.tenant;
  move.campaign = r.campaign;
  for (size_t i = 0; i < ready.size(); ++i) {
    v1::Agent agent;
    if ((*defs)[i].empty() || !agent.ParseFromString((*defs)[i]) || !Eligible(agent, r)) continue;
    auto m = Apply(ready[i].key, move);
    if (m.ok()) {
      return Reserved{ready[i].key, m->next, m->next.since - ready[i].ready_since, false};
    }
    // Taken by another reservation meanwhile, or no longer ready: next one.
    if (m.status().code() != absl::StatusCode::kFailedPrecondition &&
        m.status().code() != absl::StatusCode::kAborted) {
      return m.status();
    }
  }
  return FailedPrecondition("NO_AGENT_AVAILABLE", "no ready agent is eligible for this campaign");
}

absl::StatusOr<int> AgentStateManager::FireDueTimers(int max) {
  auto due = store_->DueTimers(clock_.Now(), max);
  if (!due.ok()) return due.status();
  int moved = 0;
  MoveRequest timer;
  timer.kind = MoveKind::kTimer;
  timer.actor = Actor::kTimer;
  for (const auto& d : *due) {
    auto m = Apply(d.key, timer);
    if (m.ok()) {
      ++moved;
    } else if (m.status().code() != absl::StatusCode::kFailedPrecondition &&
               m.status().code() != absl::StatusCode::kNotFound) {
      return m.status();  // TIMER_NOT_DUE: another replica fired it, or it moved on
    }
  }
  return moved;
}

}  // namespace dialgrid::agentstate
