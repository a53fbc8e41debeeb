#include "services/agent-state/application/agent_state_manager.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/pages.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/random.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"
#include "services/common/kafka/event_publisher.h"

namespace dialgrid::agentstate {
namespace {


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
  if (s.since != absl::InfinitePast()) *p.mutable_state_time() = ToTimestamp(s.since);
  if (s.timer != absl::InfiniteFuture()) *p.mutable_timer_time() = ToTimestamp(s.timer);
  p.set_pending_not_ready(s.pending_not_ready);
  p.set_pending_logout(s.pending_logout);
  p.set_version(s.version);
  if (s.protected_until != absl::InfinitePast()) {
    *p.mutable_protected_until() = ToTimestamp(s.protected_until);
  }
  return p;
}

AgentStateManager::AgentStateManager(std::shared_ptr<AgentStore> store, const Clock& clock,
                                     AgentStateOptions options)
    : store_(std::move(store)), clock_(clock), options_(std::move(options)) {}

std::string AgentStateManager::NewEtag() const { return RandomHex(8); }

absl::Status AgentStateManager::CreateAgent(const AgentKey& key, const v1::Agent& agent,
                                            int64_t max_agents) {
  v1::Agent stored = agent;
  stored.set_name(AgentName(key));
  stored.clear_status();
  stored.set_etag(NewEtag());
  // A pool agent's campaigns are its grants (SetPoolGrant).
  if (key.scope.empty()) stored.clear_campaigns();
  DG_RETURN_IF_ERROR(ValidateDefinition(key, stored));
  *stored.mutable_create_time() = ToTimestamp(clock_.Now());
  *stored.mutable_update_time() = stored.create_time();
  Events events = {kafka::MakeEnvelope(key.scope, stored.name(), stored, options_.producer, clock_)};
  return store_->CreateAgent(key, stored.SerializeAsString(), max_agents, events);
}

absl::StatusOr<v1::Agent> AgentStateManager::Definition(const AgentKey& key) {
  auto defs = store_->Definitions({key});
  if (!defs.ok()) return defs.status();
  v1::Agent agent;
  if ((*defs)[0].empty()) return NotFound("AGENT_NOT_FOUND", "no such agent");
  if (!agent.ParseFromString((*defs)[0])) {
    return absl::DataLossError("stored agent does not parse");
  }
  return agent;
}

absl::StatusOr<v1::Agent> AgentStateManager::GetAgent(const AgentKey& key) {
  DG_ASSIGN_OR_RETURN(v1::Agent agent, Definition(key));
  auto status = store_->GetStatus(key);
  if (!status.ok()) return status.status();
  *agent.mutable_status() = ToProto(key, *status);
  return agent;
}

absl::StatusOr<AgentStateManager::Page> AgentStateManager::ListAgents(
    absl::string_view parent, absl::string_view team, int page_size,
    absl::string_view page_token) {
  std::string scope;
  if (absl::StartsWith(parent, "agentPools/")) {
    std::string pool(parent.substr(strlen("agentPools/")));
    if (!IsId(pool)) return InvalidField("parent", "MALFORMED_NAME", "must be agentPools/{pool}");
    scope = "";
    // Pool agents' ids are "<pool>/<agent>": list from "<pool>/" on.
    DG_ASSIGN_OR_RETURN(int size, EffectivePageSize(page_size));
    DG_ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token));
    if (!after.empty() && !IsId(after)) {
      return InvalidField("page_token", "INVALID_PAGE_TOKEN", "not a token this service issued");
    }
    return ListScope("", absl::StrCat(pool, "/"), after, team, size);
  }
  DG_ASSIGN_OR_RETURN(scope, TenantOfName("parent", parent));
  if (parent != absl::StrCat("tenants/", scope)) {
    return InvalidField("parent", "MALFORMED_NAME", "must be tenants/{tenant} or agentPools/{pool}");
  }
  DG_ASSIGN_OR_RETURN(int size, EffectivePageSize(page_size));
  DG_ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token));
  if (!after.empty() && !IsId(after)) {
    return InvalidField("page_token", "INVALID_PAGE_TOKEN", "not a token this service issued");
  }
  return ListScope(scope, "", after, team, size);
}

absl::StatusOr<AgentStateManager::Page> AgentStateManager::ListScope(
    const std::string& scope, const std::string& prefix, std::string after,
    absl::string_view team, int size) {
  Page page;
  // Reads ids in batches until the page is full (a team filter may skip
  // many); the bound keeps one call from scanning a huge tenant, and the
  // token says where to go on.
  int scanned = 0;
  while (static_cast<int>(page.agents.size()) < size && scanned < 20 * kMaxPageSize) {
    DG_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        store_->ListIds(scope, absl::StrCat(prefix, after), size));
    std::vector<AgentKey> keys;
    for (const auto& id : ids) {
      if (!absl::StartsWith(id, prefix)) break;
      keys.push_back(AgentKey{scope, id});
    }
    scanned += static_cast<int>(keys.size());
    DG_ASSIGN_OR_RETURN(std::vector<std::string> defs, store_->Definitions(keys));
    std::vector<bool> found;
    DG_ASSIGN_OR_RETURN(std::vector<AgentStatus> statuses, store_->Statuses(keys, &found));
    for (size_t i = 0; i < keys.size() && static_cast<int>(page.agents.size()) < size; ++i) {
      after = keys[i].id.substr(prefix.size());
      v1::Agent agent;
      if (defs[i].empty() || !found[i] || !agent.ParseFromString(defs[i])) continue;  // deleted
      if (!team.empty() && agent.team() != team) continue;
      *agent.mutable_status() = ToProto(keys[i], statuses[i]);
      page.agents.push_back(std::move(agent));
    }
    if (keys.size() < ids.size() || static_cast<int>(ids.size()) < size) {
      // The scope ends here (unless the page filled before its last id).
      if (keys.empty() || after == keys.back().id.substr(prefix.size())) return page;
    }
  }
  page.next_page_token = EncodePageToken(after);
  return page;
}

absl::StatusOr<v1::Agent> AgentStateManager::UpdateAgent(
    const v1::Agent& update, const std::vector<std::string>& update_mask) {
  DG_ASSIGN_OR_RETURN(AgentKey key, ParseAgentName(update.name()));
  if (update_mask.empty()) return InvalidField("update_mask", "FIELD_REQUIRED", "name the fields to update");
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    DG_ASSIGN_OR_RETURN(v1::Agent agent, Definition(key));
    if (!update.etag().empty() && update.etag() != agent.etag()) {
      return Aborted("ETAG_MISMATCH", "the agent was changed since it was read");
    }
    const std::string etag = agent.etag();
    for (const auto& path : update_mask) {
      if (path == "display_name") {
        agent.set_display_name(update.display_name());
      } else if (path == "team") {
        agent.set_team(update.team());
      } else if (path == "skills") {
        *agent.mutable_skills() = update.skills();
      } else if (path == "targets") {
        *agent.mutable_targets() = update.targets();
      } else if (path == "campaigns") {
        if (key.scope.empty()) {
          return InvalidField("update_mask", "FIELD_NOT_UPDATABLE",
                              "a pool agent's campaigns are its grants: use SetPoolGrant");
        }
        *agent.mutable_campaigns() = update.campaigns();
      } else {
        return InvalidField("update_mask", "FIELD_NOT_UPDATABLE",
                            absl::StrCat("\"", path, "\" cannot be updated (display_name, team, "
                                         "skills, campaigns, targets)"));
      }
    }
    DG_RETURN_IF_ERROR(ValidateDefinition(key, agent));
    agent.set_etag(NewEtag());
    *agent.mutable_update_time() = ToTimestamp(clock_.Now());
    Events events = {kafka::MakeEnvelope(key.scope, agent.name(), agent, options_.producer, clock_)};
    absl::Status st = store_->UpdateDefinition(key, etag, agent.SerializeAsString(), agent.team(),
                                               {}, {}, events);
    if (st.ok()) return GetAgent(key);
    // Another update came first: with no etag given, apply the mask again.
    if (ReasonOf(st) != "ETAG_MISMATCH" || !update.etag().empty()) return st;
  }
  return Aborted("ETAG_MISMATCH", "the agent keeps changing; retry");
}

absl::Status AgentStateManager::DeleteAgent(const AgentKey& key, absl::string_view etag) {
  DG_ASSIGN_OR_RETURN(v1::Agent agent, Definition(key));
  if (!etag.empty() && etag != agent.etag()) {
    return Aborted("ETAG_MISMATCH", "the agent was changed since it was read");
  }
  DG_ASSIGN_OR_RETURN(AgentStatus status, store_->GetStatus(key));
  if (status.state != AgentState::kLoggedOut) {
    return FailedPrecondition("AGENT_LOGGED_IN",
                              absl::StrCat("agent is ", StateName(status.state),
                                           "; log it out before deleting it"));
  }
  std::set<std::string> tenants;
  if (key.scope.empty()) {
    for (const auto& c : agent.campaigns()) {
      auto t = TenantOfName("campaigns", c);
      if (t.ok()) tenants.insert(*t);
    }
  }
  v1::DeleteAgentResponse deleted;
  Events events = {kafka::MakeEnvelope(key.scope, agent.name(), deleted, options_.producer, clock_)};
  return store_->DeleteAgent(key, agent.etag(), status.version,
                             std::vector<std::string>(tenants.begin(), tenants.end()), events);
}

absl::StatusOr<v1::Agent> AgentStateManager::SetPoolGrant(
    const AgentKey& key, const std::string& tenant, const std::vector<std::string>& campaigns) {
  if (!key.scope.empty()) {
    return InvalidField("grant.agent", "MALFORMED_NAME", "must be agentPools/{pool}/agents/{agent}");
  }
  const std::string prefix = absl::StrCat("tenants/", tenant, "/campaigns/");
  for (const auto& c : campaigns) {
    if (!absl::StartsWith(c, prefix) || !IsId(c.substr(prefix.size()))) {
      return InvalidField("grant.campaigns", "MALFORMED_NAME",
                          absl::StrCat("each must be ", prefix, "{campaign} (the grant's tenant)"));
    }
  }
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    DG_ASSIGN_OR_RETURN(v1::Agent agent, Definition(key));
    const std::string etag = agent.etag();
    bool had = false;
    google::protobuf::RepeatedPtrField<std::string> kept;
    for (const auto& c : agent.campaigns()) {
      if (absl::StartsWith(c, prefix)) {
        had = true;
      } else {
        *kept.Add() = c;
      }
    }
    std::set<std::string> fresh(campaigns.begin(), campaigns.end());
    for (const auto& c : fresh) *kept.Add() = c;
    *agent.mutable_campaigns() = std::move(kept);
    agent.set_etag(NewEtag());
    *agent.mutable_update_time() = ToTimestamp(clock_.Now());
    std::vector<std::string> granted, withdrawn;
    if (!fresh.empty() && !had) granted.push_back(tenant);
    if (fresh.empty() && had) withdrawn.push_back(tenant);
    if (!fresh.empty() && had) granted.push_back(tenant);  // SADD is idempotent
    // The event goes to the tenant concerned (and names the vendor's agent).
    v1::PoolGrant grant;
    grant.set_agent(agent.name());
    grant.set_tenant(absl::StrCat("tenants/", tenant));
    for (const auto& c : fresh) grant.add_campaigns(c);
    Events events = {kafka::MakeEnvelope(tenant, agent.name(), grant, options_.producer, clock_)};
    absl::Status st = store_->UpdateDefinition(key, etag, agent.SerializeAsString(), agent.team(),
                                               granted, withdrawn, events);
    if (st.ok()) return GetAgent(key);
    if (ReasonOf(st) != "ETAG_MISMATCH") return st;
  }
  return Aborted("ETAG_MISMATCH", "the agent keeps changing; retry");
}

absl::StatusOr<std::vector<v1::AgentStatus>> AgentStateManager::Snapshot(
    const std::string& tenant, const std::string& pool, const std::string& team,
    std::set<std::string>* pool_agents) {
  std::vector<AgentKey> keys;
  const std::string scope = pool.empty() ? tenant : std::string();
  const std::string prefix = pool.empty() ? std::string() : absl::StrCat(pool, "/");
  std::string after;
  while (true) {
    DG_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        store_->ListIds(scope, absl::StrCat(prefix, after), kMaxPageSize));
    bool more = static_cast<int>(ids.size()) == kMaxPageSize;
    for (const auto& id : ids) {
      if (!absl::StartsWith(id, prefix)) {
        more = false;
        break;
      }
      keys.push_back(AgentKey{scope, id});
      after = id.substr(prefix.size());
    }
    if (!more) break;
  }
  if (pool.empty()) {
    DG_ASSIGN_OR_RETURN(std::vector<std::string> granted, store_->PoolAgentsGrantedTo(tenant));
    for (const auto& id : granted) {
      keys.push_back(AgentKey{"", id});
      pool_agents->insert(AgentName(keys.back()));
    }
  }
  std::vector<bool> found;
  DG_ASSIGN_OR_RETURN(std::vector<AgentStatus> statuses, store_->Statuses(keys, &found));
  std::vector<std::string> defs;
  if (!team.empty()) {
    DG_ASSIGN_OR_RETURN(defs, store_->Definitions(keys));
  }
  std::vector<v1::AgentStatus> out;
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!found[i]) continue;
    if (!team.empty()) {
      v1::Agent agent;
      if (!agent.ParseFromString(defs[i]) || agent.team() != team) continue;
    }
    out.push_back(ToProto(keys[i], statuses[i]));
  }
  return out;
}

absl::Status AgentStateManager::ValidateDefinition(const AgentKey& key, const v1::Agent& agent) const {
  if (agent.display_name().empty()) {
    return InvalidField("agent.display_name", "FIELD_REQUIRED", "is required");
  }
  if (agent.display_name().size() > 200) {
    return InvalidField("agent.display_name", "FIELD_TOO_LONG", "at most 200 characters");
  }
  DG_RETURN_IF_ERROR(ValidateText("agent.display_name", agent.display_name()));
  if (!agent.team().empty() && !IsId(agent.team())) {
    return InvalidField("agent.team", "INVALID_ID", "1-63 characters of [a-z0-9-]");
  }
  if (agent.skills_size() > 50) return InvalidField("agent.skills", "TOO_MANY_VALUES", "at most 50 skills");
  for (const auto& sk : agent.skills()) {
    if (!IsId(sk.name())) return InvalidField("agent.skills.name", "INVALID_ID", "1-63 characters of [a-z0-9-]");
    if (sk.level() < 1 || sk.level() > 10) {
      return InvalidField("agent.skills.level", "VALUE_OUT_OF_RANGE", "must be 1-10");
    }
  }
  if (agent.campaigns_size() > 500) {
    return InvalidField("agent.campaigns", "TOO_MANY_VALUES", "at most 500 campaigns");
  }
  if (!key.scope.empty()) {
    const std::string prefix = absl::StrCat("tenants/", key.scope, "/campaigns/");
    for (const auto& c : agent.campaigns()) {
      if (!absl::StartsWith(c, prefix) || !IsId(c.substr(prefix.size()))) {
        return InvalidField("agent.campaigns", "MALFORMED_NAME",
                            absl::StrCat("each must be ", prefix, "{campaign}"));
      }
    }
  }
  const auto& t = agent.targets();
  if (t.calls_handled() < 0 || t.sales() < 0 || !(t.occupancy() >= 0 && t.occupancy() <= 1)) {
    return InvalidField("agent.targets", "VALUE_OUT_OF_RANGE",
                        "counts must not be negative and occupancy is 0-1");
  }
  return absl::OkStatus();
}

Events AgentStateManager::EventsOf(const AgentKey& key, const Move& move) const {
  // A pool agent's change belongs to the tenant of its call, else the vendor.
  const std::string tenant = key.scope.empty() ? move.next.call_tenant : key.scope;
  return {kafka::MakeEnvelope(tenant, AgentName(key), ToProto(key, move.next), options_.producer,
                              clock_)};
}

namespace {

// Reason codes only the service sets.
bool SystemReason(absl::string_view code) {
  return code == "login" || code == "missed_reservation";
}

std::string SettingsName(const std::string& scope) {
  return scope.empty() ? "agentPools/-/agentSettings"
                       : absl::StrCat("tenants/", scope, "/agentSettings");
}

absl::StatusOr<std::string> ScopeOfSettings(absl::string_view name) {
  if (name == "agentPools/-/agentSettings") return std::string();
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() == 3 && parts[0] == "tenants" && parts[2] == "agentSettings" &&
      ValidateTenantId(parts[1]).ok()) {
    return std::string(parts[1]);
  }
  return InvalidField("name", "MALFORMED_NAME",
                      "must be tenants/{tenant}/agentSettings or agentPools/-/agentSettings");
}

absl::Duration DurationOf(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace

absl::StatusOr<v1::AgentSettings> AgentStateManager::ReadSettings(const std::string& scope) {
  DG_ASSIGN_OR_RETURN(AgentStore::StoredSettings stored, store_->GetSettings(scope));
  v1::AgentSettings s;
  if (!stored.definition.empty() && !s.ParseFromString(stored.definition)) {
    return absl::DataLossError("stored agent settings do not parse");
  }
  s.set_name(SettingsName(scope));
  s.set_etag(stored.etag);
  return s;
}

absl::StatusOr<v1::AgentSettings> AgentStateManager::CachedSettings(const std::string& scope) {
  const absl::Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(settings_mu_);
    auto it = settings_cache_.find(scope);
    if (it != settings_cache_.end() && now - it->second.first < absl::Seconds(2)) {
      return it->second.second;
    }
  }
  DG_ASSIGN_OR_RETURN(v1::AgentSettings s, ReadSettings(scope));
  std::lock_guard<std::mutex> lock(settings_mu_);
  settings_cache_[scope] = {now, s};
  return s;
}

absl::Status AgentStateManager::CheckReasonCode(const AgentKey& key, const std::string& code) {
  if (code.empty()) return absl::OkStatus();  // the state machine asks for one
  if (code.size() > 63 || !IsId(code)) {
    return InvalidField("reason_code", "INVALID_ID", "1-63 characters of [a-z0-9-]");
  }
  DG_ASSIGN_OR_RETURN(v1::AgentSettings settings, CachedSettings(key.scope));
  if (settings.reason_codes_size() == 0) return absl::OkStatus();
  for (const auto& r : settings.reason_codes()) {
    if (r.code() == code) return absl::OkStatus();
  }
  return InvalidField("reason_code", "UNKNOWN_REASON_CODE",
                      absl::StrCat("\"", code, "\" is not one of the reason codes in ",
                                   settings.name()));
}

absl::StatusOr<v1::AgentSettings> AgentStateManager::GetSettings(absl::string_view name) {
  DG_ASSIGN_OR_RETURN(std::string scope, ScopeOfSettings(name));
  return ReadSettings(scope);
}

absl::StatusOr<v1::AgentSettings> AgentStateManager::UpdateSettings(
    const v1::AgentSettings& patch, const std::vector<std::string>& mask) {
  DG_ASSIGN_OR_RETURN(std::string scope, ScopeOfSettings(patch.name()));
  if (mask.empty()) return InvalidField("update_mask", "FIELD_REQUIRED", "name the fields to update");
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    DG_ASSIGN_OR_RETURN(v1::AgentSettings current, ReadSettings(scope));
    if (!patch.etag().empty() && patch.etag() != current.etag()) {
      return Aborted("ETAG_MISMATCH", "the settings were changed since they were read");
    }
    const std::string etag = current.etag();
    v1::AgentSettings next = current;
    for (const auto& path : mask) {
      if (path == "reason_codes") {
        *next.mutable_reason_codes() = patch.reason_codes();
      } else if (path == "idle_alert") {
        *next.mutable_idle_alert() = patch.idle_alert();
      } else if (path == "not_ready_alert") {
        *next.mutable_not_ready_alert() = patch.not_ready_alert();
      } else {
        return InvalidField("update_mask", "FIELD_NOT_UPDATABLE",
                            absl::StrCat("\"", path, "\" cannot be updated (reason_codes, "
                                         "idle_alert, not_ready_alert)"));
      }
    }
    if (next.reason_codes_size() > 100) {
      return InvalidField("settings.reason_codes", "TOO_MANY_VALUES", "at most 100 reason codes");
    }
    std::set<std::string> codes;
    for (const auto& r : next.reason_codes()) {
      if (!IsId(r.code())) {
        return InvalidField("settings.reason_codes.code", "INVALID_ID",
                            "1-63 characters of [a-z0-9-]");
      }
      if (SystemReason(r.code())) {
        return InvalidField("settings.reason_codes.code", "RESERVED_REASON_CODE",
                            "\"login\" and \"missed_reservation\" are the service's own");
      }
      if (!codes.insert(r.code()).second) {
        return InvalidField("settings.reason_codes.code", "DUPLICATE_VALUE",
                            absl::StrCat(r.code(), " twice"));
      }
      if (r.display_name().empty() || r.display_name().size() > 200) {
        return InvalidField("settings.reason_codes.display_name", "FIELD_REQUIRED",
                            "1-200 characters");
      }
      DG_RETURN_IF_ERROR(ValidateText("settings.reason_codes.display_name", r.display_name()));
    }
    for (const auto& [field, d] : {std::pair<const char*, const google::protobuf::Duration*>{
                                       "settings.idle_alert", &next.idle_alert()},
                                   {"settings.not_ready_alert", &next.not_ready_alert()}}) {
      const absl::Duration v = DurationOf(*d);
      if (v < absl::ZeroDuration() || v > absl::Hours(24)) {
        return InvalidField(field, "VALUE_OUT_OF_RANGE", "must be 0 (the default) to 24 hours");
      }
    }
    next.clear_etag();
    next.set_name(SettingsName(scope));
    const std::string new_etag = NewEtag();
    v1::AgentSettings event = next;
    event.set_etag(new_etag);
    Events events = {kafka::MakeEnvelope(scope, next.name(), event, options_.producer, clock_)};
    absl::Status st =
        store_->PutSettings(scope, etag, {next.SerializeAsString(), new_etag}, events);
    if (st.ok()) {
      std::lock_guard<std::mutex> lock(settings_mu_);
      settings_cache_.erase(scope);
      return event;
    }
    if (ReasonOf(st) != "ETAG_MISMATCH" || !patch.etag().empty()) return st;
  }
  return Aborted("ETAG_MISMATCH", "the settings keep changing; retry");
}

absl::StatusOr<Move> AgentStateManager::Apply(const AgentKey& key, const MoveRequest& request) {
  if (request.kind == MoveKind::kNotReady && request.actor != Actor::kTimer) {
    DG_RETURN_IF_ERROR(CheckReasonCode(key, request.reason));
  }
  // An EndCall's protected reason is the platform's (the dialer's), like
  // "login": the tenant's list does not apply, only its form
  // (ValidateProtection, before anything is read).
  if (request.kind == MoveKind::kEndCall &&
      (!request.protected_reason.empty() || request.protect_for != absl::ZeroDuration())) {
    DG_RETURN_IF_ERROR(ValidateProtection(request.protected_reason, request.protect_for));
  }
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
    const auto kpis = KpiIncrements(*current, *move, clock_.Now(), ZoneOf(key), key.scope.empty());
    last = store_->PutStatus(key, move->next, visible ? EventsOf(key, *move) : Events(),
                             new_call ? absl::StrCat(request.call_tenant, "/", request.call_id)
                                      : std::string(),
                             kpis);
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
  // One round trip: who holds the call already, and the campaign's ready
  // agents (the tenant's and the pools'), longest ready first.
  DG_ASSIGN_OR_RETURN(AgentStore::ReserveView view,
                      store_->ReserveCandidates(r.tenant, r.campaign, call_ref,
                                                options_.reserve_candidates));
  for (const AgentKey& held : view.held) {  // a retry for a call already reserved
    auto st = store_->GetStatus(held);
    if (!st.ok()) {
      if (st.status().code() == absl::StatusCode::kNotFound) continue;
      return st.status();
    }
    if (st->call_id == r.call_id && st->call_tenant == r.tenant) {
      return Reserved{held, *st, absl::ZeroDuration(), true};
    }
  }
  MoveRequest move;
  move.kind = MoveKind::kReserve;
  move.actor = Actor::kDialer;
  move.call_id = r.call_id;
  move.call_tenant = r.tenant;
  move.campaign = r.campaign;
  if (!r.agent.empty()) return ReserveNamed(r, move);
  std::vector<ReadyAgent>& ready = view.ready;
  std::stable_sort(ready.begin(), ready.end(), [](const ReadyAgent& a, const ReadyAgent& b) {
    return a.ready_since < b.ready_since;
  });
  // The index is by campaign; skills, when asked for, need the definitions.
  std::vector<std::string> defs;
  if (!r.skills.empty()) {
    std::vector<AgentKey> keys;
    for (const auto& c : ready) keys.push_back(c.key);
    DG_ASSIGN_OR_RETURN(defs, store_->Definitions(keys));
  }
  for (size_t i = 0; i < ready.size(); ++i) {
    if (!r.skills.empty()) {
      v1::Agent agent;
      if (defs[i].empty() || !agent.ParseFromString(defs[i]) || !Eligible(agent, r)) continue;
    }
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

// The agent an agent's own dial names: it must take the campaign's calls
// (the tenant's agent, or a pool agent granted to the campaign) with the
// skills asked, and be ready.
absl::StatusOr<Reserved> AgentStateManager::ReserveNamed(const ReserveRequest& r,
                                                         const MoveRequest& move) {
  DG_ASSIGN_OR_RETURN(AgentKey key, ParseAgentName(r.agent));
  if (!key.scope.empty() && key.scope != r.tenant) {
    return PermissionDenied("AGENT_OF_ANOTHER_TENANT", "the agent is not the campaign's tenant's");
  }
  auto agent = Definition(key);
  if (!agent.ok()) {
    if (agent.status().code() == absl::StatusCode::kNotFound) {
      return FailedPrecondition("AGENT_NOT_ELIGIBLE", "no such agent takes this campaign's calls");
    }
    return agent.status();
  }
  if (!Eligible(*agent, r)) {
    return FailedPrecondition("AGENT_NOT_ELIGIBLE",
                              "the agent does not take this campaign's calls with its skills");
  }
  auto before = store_->GetStatus(key);
  if (!before.ok()) return before.status();
  const absl::Time ready_since = before->since;
  auto m = Apply(key, move);
  if (!m.ok()) {
    if (m.status().code() == absl::StatusCode::kFailedPrecondition ||
        m.status().code() == absl::StatusCode::kAborted) {
      return FailedPrecondition("AGENT_NOT_READY", "the agent is not ready for a call");
    }
    return m.status();
  }
  return Reserved{key, m->next, m->next.since - ready_since, false};
}

absl::TimeZone AgentStateManager::ZoneOf(const AgentKey& key) const {
  if (key.scope.empty() || !options_.zone_of) return absl::UTCTimeZone();
  return options_.zone_of(key.scope);
}

namespace {

int64_t Counter(const std::map<std::string, int64_t>& c, const std::string& f) {
  auto it = c.find(f);
  return it == c.end() ? 0 : it->second;
}

// The counters as the API shows them.
v1::AgentKpis KpisOf(const std::map<std::string, int64_t>& c) {
  v1::AgentKpis k;
  auto ms = [&](const std::string& f) { return ToDurationProto(absl::Milliseconds(Counter(c, f))); };
  *k.mutable_logged_in() = ms("logged_in");
  *k.mutable_ready() = ms("ready");
  *k.mutable_talk() = ms("talk");
  *k.mutable_wrap_up() = ms("wrap_up");
  for (const auto& [f, v] : c) {
    if (absl::StartsWith(f, "nr:")) (*k.mutable_not_ready())[f.substr(3)] = ms(f);
  }
  k.set_calls_handled(static_cast<int32_t>(Counter(c, "calls")));
  k.set_missed_reservations(static_cast<int32_t>(Counter(c, "missed")));
  const int64_t logged_in = Counter(c, "logged_in");
  k.set_occupancy(logged_in > 0 ? static_cast<double>(Counter(c, "talk")) / logged_in : 0);
  return k;
}

}  // namespace

absl::StatusOr<v1::AgentKpis> AgentStateManager::GetAgentKpis(const AgentKey& key,
                                                             absl::CivilDay day,
                                                             const std::string& part) {
  DG_ASSIGN_OR_RETURN(v1::Agent agent, Definition(key));
  const std::string name = absl::FormatCivilTime(day);
  DG_ASSIGN_OR_RETURN(auto counters, store_->KpiCounters(key, name, part));
  // The state the agent is in now has not been counted yet: its time up to
  // now that falls on the day is.
  DG_ASSIGN_OR_RETURN(AgentStatus status, store_->GetStatus(key));
  for (const auto& inc : OpenInterval(status, clock_.Now(), ZoneOf(key), key.scope.empty())) {
    if (inc.day == name && inc.part == part) counters[inc.field] += inc.delta;
  }
  v1::AgentKpis k = KpisOf(counters);
  k.set_agent(agent.name());
  *k.mutable_targets() = agent.targets();
  return k;
}

absl::StatusOr<v1::TeamKpis> AgentStateManager::GetTeamKpis(absl::string_view parent,
                                                            absl::string_view team,
                                                            absl::CivilDay day) {
  v1::TeamKpis out;
  std::map<std::string, int64_t> total;
  std::string token;
  do {
    DG_ASSIGN_OR_RETURN(Page page, ListAgents(parent, team, kMaxPageSize, token));
    for (const auto& a : page.agents) {
      DG_ASSIGN_OR_RETURN(AgentKey key, ParseAgentName(a.name()));
      DG_ASSIGN_OR_RETURN(v1::AgentKpis k, GetAgentKpis(key, day, ""));
      auto add = [&](const char* f, const google::protobuf::Duration& d) {
        total[f] += d.seconds() * 1000 + d.nanos() / 1000000;
      };
      add("logged_in", k.logged_in());
      add("ready", k.ready());
      add("talk", k.talk());
      add("wrap_up", k.wrap_up());
      for (const auto& [reason, d] : k.not_ready()) {
        total["nr:" + reason] += d.seconds() * 1000 + d.nanos() / 1000000;
      }
      total["calls"] += k.calls_handled();
      total["missed"] += k.missed_reservations();
      auto* t = out.mutable_total()->mutable_targets();
      t->set_calls_handled(t->calls_handled() + k.targets().calls_handled());
      t->set_sales(t->sales() + k.targets().sales());
      *out.add_agents() = std::move(k);
    }
    token = page.next_page_token;
  } while (!token.empty());
  v1::ShiftTargets targets = out.total().targets();
  *out.mutable_total() = KpisOf(total);
  // Occupancy targets do not add up: the team's is the agents' average.
  double occupancy = 0;
  for (const auto& a : out.agents()) occupancy += a.targets().occupancy();
  if (out.agents_size() > 0) targets.set_occupancy(occupancy / out.agents_size());
  *out.mutable_total()->mutable_targets() = targets;
  return out;
}

absl::StatusOr<AgentStateManager::AlertSweep> AgentStateManager::SweepAlerts() {
  AlertSweep sweep;
  const absl::Time now = clock_.Now();
  DG_ASSIGN_OR_RETURN(std::vector<std::string> scopes, store_->Scopes());
  std::vector<std::tuple<AgentKey, AgentStatus, absl::Duration, absl::Duration>> long_ones;
  for (const auto& scope : scopes) {
    // The scope's own thresholds, else the service's.
    absl::Duration idle = options_.idle_alert;
    absl::Duration away = options_.not_ready_alert;
    auto settings = CachedSettings(scope);
    if (settings.ok()) {
      if (DurationOf(settings->idle_alert()) > absl::ZeroDuration()) {
        idle = DurationOf(settings->idle_alert());
      }
      if (DurationOf(settings->not_ready_alert()) > absl::ZeroDuration()) {
        away = DurationOf(settings->not_ready_alert());
      }
    }
    absl::Duration shortest = absl::InfiniteDuration();
    if (idle > absl::ZeroDuration()) shortest = std::min(shortest, idle);
    if (away > absl::ZeroDuration()) shortest = std::min(shortest, away);
    if (shortest == absl::InfiniteDuration()) continue;
    DG_ASSIGN_OR_RETURN(auto some, store_->InStateSince(scope, now - shortest, 10000));
    for (auto& [key, status] : some) long_ones.emplace_back(key, status, idle, away);
  }
  for (const auto& [key, status, idle, away] : long_ones) {
    absl::Duration threshold;
    if (status.state == AgentState::kReady && idle > absl::ZeroDuration()) {
      threshold = idle;
    } else if (status.state == AgentState::kNotReady && away > absl::ZeroDuration()) {
      threshold = away;
    } else {
      continue;
    }
    const absl::Duration in_state = now - status.since;
    if (in_state < threshold) continue;
    ++sweep.over_threshold[status.state];
    v1::AgentAlert alert;
    *alert.mutable_status() = ToProto(key, status);
    *alert.mutable_in_state() = ToDurationProto(in_state);
    *alert.mutable_threshold() = ToDurationProto(threshold);
    // A pool agent's alert is the vendor's (it serves no call now).
    Events events = {kafka::MakeEnvelope(key.scope, AgentName(key), alert, options_.producer, clock_)};
    DG_ASSIGN_OR_RETURN(bool raised, store_->MarkAlerted(key, status.version, events));
    if (raised) ++sweep.raised;
  }
  return sweep;
}

absl::StatusOr<std::map<AgentState, int64_t>> AgentStateManager::StateCounts() {
  return store_->StateCounts();
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
