#include "services/agent-state/adapters/redis_agent_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/agent-state/adapters/lua/create_agent.lua.h"
#include "services/agent-state/adapters/lua/delete_agent.lua.h"
#include "services/agent-state/adapters/lua/mark_alerted.lua.h"
#include "services/agent-state/adapters/lua/put_settings.lua.h"
#include "services/agent-state/adapters/lua/put_status.lua.h"
#include "services/agent-state/adapters/lua/update_agent.lua.h"
#include "services/agent-state/application/agent_state_manager.h"
#include "services/agent-state/application/agent_watch.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/common/events/outbox_record.h"

namespace dialgrid::agentstate {
namespace {

// The scope as kept in the scopes set: "" (the vendor's pools) as "-".
std::string ScopeMember(absl::string_view scope) {
  return scope.empty() ? "-" : std::string(scope);
}
std::string ScopeOfMember(const std::string& m) { return m == "-" ? "" : m; }

std::string AgentKeyName(const AgentKey& k) {
  return absl::StrCat(TenantHashTag(k.scope), ":agent:", k.id);
}
std::string ReadyKey(absl::string_view scope) {
  return absl::StrCat(TenantHashTag(scope), ":agent-ready");
}
std::string TimersKey(absl::string_view scope) {
  return absl::StrCat(TenantHashTag(scope), ":agent-timers");
}
std::string IndexKey(absl::string_view scope) {
  return absl::StrCat(TenantHashTag(scope), ":agents");
}
// The pool agents granted to a tenant (in the vendor's slot, with the pools).
std::string GrantsKey(absl::string_view tenant) {
  return absl::StrCat(TenantHashTag(""), ":pool-grants:", tenant);
}
std::string SinceKey(absl::string_view scope) {
  return absl::StrCat(TenantHashTag(scope), ":agent-since");
}
std::string StateCountsKey(absl::string_view scope) {
  return absl::StrCat(TenantHashTag(scope), ":agent-state-counts");
}
std::string KpiKey(const AgentKey& k, absl::string_view day, absl::string_view part) {
  return part.empty() ? absl::StrCat(TenantHashTag(k.scope), ":agent-kpi:", k.id, ":", day)
                      : absl::StrCat(TenantHashTag(k.scope), ":agent-kpi:", k.id, ":", day, ":", part);
}
std::string AlertedKey(const AgentKey& k, int64_t version) {
  return absl::StrCat(TenantHashTag(k.scope), ":agent-alerted:", k.id, ":", version);
}
std::string CallKey(absl::string_view scope, absl::string_view call) {
  return absl::StrCat(TenantHashTag(scope), ":agent-call:", call);
}

std::string Ms(absl::Time t) {
  if (t == absl::InfinitePast()) return "-inf";
  if (t == absl::InfiniteFuture()) return "inf";
  return std::to_string(absl::ToUnixMillis(t));
}
absl::Time FromMs(const std::string& s) {
  if (s == "-inf" || s.empty()) return absl::InfinitePast();
  if (s == "inf") return absl::InfiniteFuture();
  int64_t ms = 0;
  return absl::SimpleAtoi(s, &ms) ? absl::FromUnixMillis(ms) : absl::InfinitePast();
}

const char* const kStateNames[] = {"LOGGED_OUT", "READY", "NOT_READY",
                                   "RESERVED",   "ON_CALL", "WRAP_UP"};
bool ParseState(const std::string& s, AgentState& out) {
  for (int i = 0; i < 6; ++i) {
    if (s == kStateNames[i]) {
      out = static_cast<AgentState>(i);
      return true;
    }
  }
  return false;
}

absl::Status ScriptError(const absl::Status& st, absl::string_view what) {
  if (st.code() == absl::StatusCode::kUnavailable) return st;
  return absl::InternalError(absl::StrCat(what, ": ", st.message()));
}

}  // namespace

RedisAgentStore::RedisAgentStore(std::shared_ptr<redis::Client> redis,
                                 std::shared_ptr<events::RedisOutbox> outbox)
    : redis_(std::move(redis)), outbox_(std::move(outbox)) {}

absl::Status RedisAgentStore::CreateAgent(const AgentKey& key, const std::string& definition,
                                          int64_t max_agents, const Events& events) {
  static const redis::Script* script =
      new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + lua::kCreateAgent);
  v1::Agent parsed;
  if (!parsed.ParseFromString(definition)) return absl::InternalError("definition does not parse");
  std::vector<std::string> args = {key.id,
                                   definition,
                                   std::to_string(max_agents < 0 ? -1 : max_agents),
                                   parsed.team(),
                                   parsed.etag(),
                                   kChangesChannel,
                                   ResyncMessage({key.scope}),
                                   absl::StrJoin(parsed.campaigns(), "\n")};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(
      *script, {AgentKeyName(key), IndexKey(key.scope)}, args,
      key.scope, {{"SADD", kScopesKey, ScopeMember(key.scope)}});
  if (!r.ok()) return ScriptError(r.status(), "creating the agent");
  if (r->str == "EXISTS") return AlreadyExists("AGENT_EXISTS", "the agent already exists");
  if (r->str == "QUOTA") {
    return QuotaExceeded("max_agents", "the tenant has as many agents as its quota allows");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RedisAgentStore::Definitions(
    const std::vector<AgentKey>& keys) {
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(keys.size());
  for (const auto& k : keys) cmds.push_back({"HGET", AgentKeyName(k), "def"});
  if (cmds.empty()) return std::vector<std::string>{};
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  out.reserve(r->size());
  for (const auto& e : *r) out.push_back(e.is_nil() ? std::string() : e.str);
  return out;
}

absl::StatusOr<AgentStatus> RedisAgentStore::GetStatus(const AgentKey& key) {
  auto r = redis_->Command({"HGETALL", AgentKeyName(key)});
  if (!r.ok()) return r.status();
  return ParseStatus(*r);
}

absl::StatusOr<AgentStatus> RedisAgentStore::ParseStatus(const redis::Reply& r) {
  if (r.elements.empty()) return NotFound("AGENT_NOT_FOUND", "no such agent");
  AgentStatus s;
  bool has_def = false;
  std::string since, prot;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    const std::string& f = r.elements[i].str;
    const std::string& v = r.elements[i + 1].str;
    if (f == "def") has_def = true;
    else if (f == "state") {
      if (!ParseState(v, s.state)) return absl::DataLossError("stored agent state does not parse");
    } else if (f == "reason") s.reason = v;
    else if (f == "station") s.station = v;
    else if (f == "session") s.session = v;
    else if (f == "call_id") s.call_id = v;
    else if (f == "call_tenant") s.call_tenant = v;
    else if (f == "campaign") s.campaign = v;
    else if (f == "since") {
      since = v;
      s.since = FromMs(v);
    } else if (f == "prot") prot = v;
    else if (f == "hb") s.last_heartbeat = FromMs(v);
    else if (f == "timer") s.timer = FromMs(v);
    else if (f == "pnr") s.pending_not_ready = v;
    else if (f == "plo") s.pending_logout = v == "1";
    else if (f == "missed") (void)absl::SimpleAtoi(v, &s.missed_reservations);
    else if (f == "ver") (void)absl::SimpleAtoi(v, &s.version);
  }
  if (!has_def) return NotFound("AGENT_NOT_FOUND", "no such agent");
  if (s.timer == absl::InfinitePast()) s.timer = absl::InfiniteFuture();
  // "prot": "<until ms> <since ms> <call id>", the protection of the
  // NOT_READY entered at that `since`. A write by a replica that predates
  // protection leaves the field as it was: the state and `since` it was
  // written with tell whether it still applies.
  if (!prot.empty() && s.state == AgentState::kNotReady) {
    std::vector<std::string> p = absl::StrSplit(prot, absl::MaxSplits(' ', 2));
    if (p.size() == 3 && p[1] == since && !p[0].empty() && p[0] != "-inf") {
      s.protected_until = FromMs(p[0]);
      s.protected_call = p[2];
    }
  }
  return s;
}

absl::Status RedisAgentStore::PutStatus(const AgentKey& key, const AgentStatus& n,
                                        const Events& events, absl::string_view call_ref,
                                        const std::vector<KpiIncrement>& kpis) {
  static const redis::Script* script =
      new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + lua::kPutStatus);
  const std::vector<std::pair<const char*, std::string>> fields = {
      {"state", kStateNames[static_cast<int>(n.state)]},
      {"reason", n.reason},
      {"station", n.station},
      {"session", n.session},
      {"call_id", n.call_id},
      {"call_tenant", n.call_tenant},
      {"campaign", n.campaign},
      {"since", Ms(n.since)},
      {"hb", Ms(n.last_heartbeat)},
      {"timer", Ms(n.timer)},
      {"pnr", n.pending_not_ready},
      {"plo", n.pending_logout ? "1" : "0"},
      {"missed", std::to_string(n.missed_reservations)},
      {"ver", std::to_string(n.version)},
      {"prot", n.protected_until == absl::InfinitePast()
                   ? std::string()
                   : absl::StrCat(Ms(n.protected_until), " ", Ms(n.since), " ", n.protected_call)}};
  std::vector<std::string> args = {
      std::to_string(n.version - 1),
      key.id,
      n.state == AgentState::kReady ? Ms(n.since) : std::string(),
      n.timer == absl::InfiniteFuture() ? std::string() : Ms(n.timer),
      call_ref.empty() ? std::string() : key.id,
      kChangesChannel,
      ToProto(key, n).SerializeAsString(),
      n.state == AgentState::kLoggedOut ? std::string() : Ms(n.since),
      std::to_string(fields.size())};
  for (const auto& [f, v] : fields) {
    args.emplace_back(f);
    args.push_back(v);
  }
  std::vector<std::string> keys = {AgentKeyName(key),           ReadyKey(key.scope),
                                   TimersKey(key.scope),        CallKey(key.scope, call_ref),
                                   SinceKey(key.scope),         StateCountsKey(key.scope)};
  std::map<std::string, size_t> kpi_key_index;  // key -> 1-based index in KEYS
  args.push_back(std::to_string(kpis.size()));
  for (const auto& inc : kpis) {
    const std::string k = KpiKey(key, inc.day, inc.part);
    auto [it, added] = kpi_key_index.emplace(k, keys.size() + 1);
    if (added) keys.push_back(k);
    args.push_back(std::to_string(it->second));
    args.push_back(inc.field);
    args.push_back(std::to_string(inc.delta));
  }
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(*script, std::move(keys), args, key.scope);
  if (!r.ok()) return ScriptError(r.status(), "storing the agent's status");
  if (r->str == "NOT_FOUND") return NotFound("AGENT_NOT_FOUND", "no such agent");
  if (r->str == "VERSION_CONFLICT") {
    return Aborted("VERSION_CONFLICT", "the agent's status changed meanwhile");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RedisAgentStore::ListIds(absl::string_view scope,
                                                                  absl::string_view after,
                                                                  int max) {
  return redis::MembersAfter(*redis_, IndexKey(scope), after, max);
}

absl::Status RedisAgentStore::UpdateDefinition(const AgentKey& key, absl::string_view etag,
                                               const std::string& definition,
                                               absl::string_view team,
                                               const std::vector<std::string>& tenants_granted,
                                               const std::vector<std::string>& tenants_withdrawn,
                                               const Events& events) {
  static const redis::Script* script =
      new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + lua::kUpdateAgent);
  v1::Agent parsed;
  if (!parsed.ParseFromString(definition)) return absl::InternalError("definition does not parse");
  std::vector<std::string> keys = {AgentKeyName(key)};
  std::vector<std::string> scopes = {key.scope};
  for (const auto& t : tenants_granted) keys.push_back(GrantsKey(t));
  for (const auto& t : tenants_withdrawn) keys.push_back(GrantsKey(t));
  // A pool agent's change concerns the pool's watchers and every tenant it
  // serves (or served).
  if (key.scope.empty()) {
    for (const auto& c : parsed.campaigns()) {
      auto t = TenantOfName("campaigns", c);
      if (t.ok()) scopes.push_back(*t);
    }
    scopes.insert(scopes.end(), tenants_withdrawn.begin(), tenants_withdrawn.end());
  }
  std::vector<std::string> args = {std::string(etag),
                                   parsed.etag(),
                                   definition,
                                   std::string(team),
                                   key.id,
                                   std::to_string(tenants_granted.size()),
                                   std::to_string(tenants_withdrawn.size()),
                                   kChangesChannel,
                                   ResyncMessage(scopes),
                                   absl::StrJoin(parsed.campaigns(), "\n"),
                                   TenantHashTag(key.scope)};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(*script, std::move(keys), args, key.scope);
  if (!r.ok()) return ScriptError(r.status(), "updating the agent");
  if (r->str == "NOT_FOUND") return NotFound("AGENT_NOT_FOUND", "no such agent");
  if (r->str == "ETAG_MISMATCH") {
    return Aborted("ETAG_MISMATCH", "the agent was changed meanwhile; read it again");
  }
  return absl::OkStatus();
}

absl::Status RedisAgentStore::DeleteAgent(const AgentKey& key, absl::string_view etag,
                                          int64_t status_version,
                                          const std::vector<std::string>& granted_tenants,
                                          const Events& events) {
  static const redis::Script* script =
      new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + lua::kDeleteAgent);
  std::vector<std::string> keys = {AgentKeyName(key), IndexKey(key.scope), ReadyKey(key.scope),
                                   TimersKey(key.scope)};
  std::vector<std::string> scopes = {key.scope};
  for (const auto& t : granted_tenants) {
    keys.push_back(GrantsKey(t));
    scopes.push_back(t);
  }
  std::vector<std::string> args = {std::string(etag),
                                   std::to_string(status_version),
                                   key.id,
                                   std::to_string(granted_tenants.size()),
                                   kChangesChannel,
                                   ResyncMessage(scopes)};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(*script, std::move(keys), args, key.scope);
  if (!r.ok()) return ScriptError(r.status(), "deleting the agent");
  if (r->str == "NOT_FOUND") return NotFound("AGENT_NOT_FOUND", "no such agent");
  if (r->str == "ETAG_MISMATCH") {
    return Aborted("ETAG_MISMATCH", "the agent was changed meanwhile; read it again");
  }
  if (r->str == "VERSION_CONFLICT") {
    return Aborted("VERSION_CONFLICT", "the agent's status changed meanwhile");
  }
  if (r->str == "BUSY") {
    return FailedPrecondition("AGENT_LOGGED_IN", "log the agent out before deleting it");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RedisAgentStore::PoolAgentsGrantedTo(
    absl::string_view tenant) {
  auto r = redis_->Command({"SMEMBERS", GrantsKey(tenant)});
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (const auto& e : r->elements) out.push_back(e.str);
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<AgentStatus>> RedisAgentStore::Statuses(
    const std::vector<AgentKey>& keys, std::vector<bool>* found) {
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(keys.size());
  for (const auto& k : keys) cmds.push_back({"HGETALL", AgentKeyName(k)});
  std::vector<AgentStatus> out;
  found->assign(keys.size(), false);
  if (cmds.empty()) return out;
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  out.resize(keys.size());
  for (size_t i = 0; i < r->size(); ++i) {
    auto st = ParseStatus((*r)[i]);
    if (st.ok()) {
      out[i] = *std::move(st);
      (*found)[i] = true;
    } else if (st.status().code() != absl::StatusCode::kNotFound) {
      return st.status();
    }
  }
  return out;
}

absl::StatusOr<std::map<std::string, int64_t>> RedisAgentStore::KpiCounters(
    const AgentKey& key, absl::string_view day, absl::string_view part) {
  auto r = redis_->Command({"HGETALL", KpiKey(key, day, part)});
  if (!r.ok()) return r.status();
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(r->elements[i + 1].str, &v)) {
      return absl::DataLossError("a KPI counter does not parse");
    }
    out[r->elements[i].str] = v;
  }
  return out;
}

absl::StatusOr<AgentStore::StoredSettings> RedisAgentStore::GetSettings(absl::string_view scope) {
  auto r = redis_->Command(
      {"HMGET", absl::StrCat(TenantHashTag(scope), ":agent-settings"), "def", "etag"});
  if (!r.ok()) return r.status();
  StoredSettings out;
  if (r->elements.size() == 2 && !r->elements[0].is_nil()) {
    out.definition = r->elements[0].str;
    out.etag = r->elements[1].str;
  }
  return out;
}

absl::Status RedisAgentStore::PutSettings(absl::string_view scope, absl::string_view etag,
                                          const StoredSettings& settings, const Events& events) {
  static const redis::Script* script =
      new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + lua::kPutSettings);
  std::vector<std::string> args = {std::string(etag), settings.definition, settings.etag};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(
      *script, {absl::StrCat(TenantHashTag(scope), ":agent-settings")}, args, scope);
  if (!r.ok()) return ScriptError(r.status(), "storing the agent settings");
  if (r->str == "ETAG_MISMATCH") {
    return Aborted("ETAG_MISMATCH", "the settings were changed meanwhile; read them again");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RedisAgentStore::Scopes() {
  auto scopes = redis_->Command({"SMEMBERS", kScopesKey});
  if (!scopes.ok()) return scopes.status();
  std::vector<std::string> out;
  for (const auto& m : scopes->elements) out.push_back(ScopeOfMember(m.str));
  return out;
}

absl::StatusOr<std::map<AgentState, int64_t>> RedisAgentStore::StateCounts() {
  DG_ASSIGN_OR_RETURN(std::vector<std::string> scopes, Scopes());
  std::vector<std::vector<std::string>> cmds;
  for (const auto& sc : scopes) cmds.push_back({"HGETALL", StateCountsKey(sc)});
  std::map<AgentState, int64_t> out;
  if (cmds.empty()) return out;
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  for (const auto& reply : *r) {
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      AgentState st;
      int64_t v = 0;
      if (ParseState(reply.elements[i].str, st) && absl::SimpleAtoi(reply.elements[i + 1].str, &v)) {
        out[st] += v;
      }
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<AgentKey, AgentStatus>>> RedisAgentStore::InStateSince(
    const std::string& scope, absl::Time before, int max) {
  auto r = redis_->Command({"ZRANGE", SinceKey(scope), "-inf", absl::StrCat("(", Ms(before)),
                            "BYSCORE", "LIMIT", "0", std::to_string(max)});
  if (!r.ok()) return r.status();
  std::vector<AgentKey> keys;
  for (const auto& e : r->elements) keys.push_back(AgentKey{scope, e.str});
  std::vector<bool> found;
  DG_ASSIGN_OR_RETURN(std::vector<AgentStatus> statuses, Statuses(keys, &found));
  std::vector<std::pair<AgentKey, AgentStatus>> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (found[i]) out.emplace_back(keys[i], statuses[i]);
  }
  return out;
}

absl::StatusOr<bool> RedisAgentStore::MarkAlerted(const AgentKey& key, int64_t version,
                                                  const Events& events) {
  static const redis::Script* script =
      new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + lua::kMarkAlerted);
  std::vector<std::string> args;
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(*script, {AlertedKey(key, version)}, args, key.scope);
  if (!r.ok()) return ScriptError(r.status(), "recording the alert");
  return r->str == "OK";
}

absl::StatusOr<AgentStore::ReserveView> RedisAgentStore::ReserveCandidates(
    absl::string_view tenant, absl::string_view campaign, absl::string_view call_ref, int max) {
  const std::string n = std::to_string(max - 1);
  auto r = redis_->Pipeline(
      {{"GET", CallKey(tenant, call_ref)},
       {"GET", CallKey("", call_ref)},
       {"ZRANGE", absl::StrCat(TenantHashTag(tenant), ":ready-c:", campaign), "0", n, "WITHSCORES"},
       {"ZRANGE", absl::StrCat(TenantHashTag(""), ":ready-c:", campaign), "0", n, "WITHSCORES"}});
  if (!r.ok()) return r.status();
  ReserveView view;
  if (!(*r)[0].is_nil()) view.held.push_back(AgentKey{std::string(tenant), (*r)[0].str});
  if (!(*r)[1].is_nil()) view.held.push_back(AgentKey{"", (*r)[1].str});
  for (int i : {2, 3}) {
    const auto& el = (*r)[i].elements;
    for (size_t j = 0; j + 1 < el.size(); j += 2) {
      view.ready.push_back({AgentKey{i == 2 ? std::string(tenant) : std::string(), el[j].str},
                            FromMs(el[j + 1].str)});
    }
  }
  return view;
}

absl::StatusOr<AgentKey> RedisAgentStore::AgentOfCall(absl::string_view scope,
                                                      absl::string_view call_ref) {
  auto r = redis_->Command({"GET", CallKey(scope, call_ref)});
  if (!r.ok()) return r.status();
  if (r->is_nil()) return NotFound("CALL_NOT_FOUND", "no agent holds this call");
  return AgentKey{std::string(scope), r->str};
}

absl::StatusOr<std::vector<ReadyAgent>> RedisAgentStore::ReadyAgents(absl::string_view scope,
                                                                     int max) {
  auto r = redis_->Command({"ZRANGE", ReadyKey(scope), "0", std::to_string(max - 1), "WITHSCORES"});
  if (!r.ok()) return r.status();
  std::vector<ReadyAgent> out;
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    out.push_back({AgentKey{std::string(scope), r->elements[i].str},
                   FromMs(r->elements[i + 1].str)});
  }
  return out;
}

absl::StatusOr<std::vector<DueTimer>> RedisAgentStore::DueTimers(absl::Time now, int max) {
  DG_ASSIGN_OR_RETURN(std::vector<std::string> names, Scopes());
  std::vector<std::vector<std::string>> cmds;
  for (const auto& name : names) {
    cmds.push_back({"ZRANGE", TimersKey(name), "-inf", Ms(now), "BYSCORE", "LIMIT", "0",
                    std::to_string(max), "WITHSCORES"});
  }
  std::vector<DueTimer> out;
  if (cmds.empty()) return out;
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  for (size_t s = 0; s < r->size(); ++s) {
    const auto& el = (*r)[s].elements;
    for (size_t i = 0; i + 1 < el.size(); i += 2) {
      out.push_back({AgentKey{names[s], el[i].str}, FromMs(el[i + 1].str)});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const DueTimer& a, const DueTimer& b) { return a.due < b.due; });
  if (static_cast<int>(out.size()) > max) out.resize(max);
  return out;
}

}  // namespace dialgrid::agentstate
