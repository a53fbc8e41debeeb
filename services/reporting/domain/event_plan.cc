#include "services/reporting/domain/event_plan.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "dialgrid/agentstate/v1/agentstate.pb.h"
#include "dialgrid/dialing/v1/call_events.pb.h"
#include "dialgrid/dialing/v1/dialing.pb.h"
#include "dialgrid/recording/v1/recording.pb.h"
#include "services/common/core/names.h"
#include "services/reporting/domain/report_range.h"

namespace dialgrid::reporting {
namespace {

int64_t Millis(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1000000;
}

EventPlan Ignore(const event::v1::Envelope& e, std::string why) {
  EventPlan p;
  p.tenant = e.tenant();
  p.ignore_reason = std::move(why);
  return p;
}

// The id in "tenants/{tenant}/<collection>/{id}" when the tenant is `tenant`;
// "" when `name` is empty; nullopt-like false when malformed or foreign.
bool IdOf(absl::string_view name, absl::string_view tenant, absl::string_view collection,
          std::string* id) {
  id->clear();
  if (name.empty()) return true;
  auto parts = ParseName("name", name, absl::StrCat("tenants/{tenant}/", collection, "/{id}"));
  if (!parts.ok() || (*parts)[0] != tenant) return false;
  *id = (*parts)[1];
  return true;
}

const char* OutcomeMetric(dialing::v1::CallOutcome o) {
  switch (o) {
    case dialing::v1::CALL_OUTCOME_NO_ANSWER: return "no_answer";
    case dialing::v1::CALL_OUTCOME_BUSY: return "busy";
    case dialing::v1::CALL_OUTCOME_FAILED: return "failed";
    case dialing::v1::CALL_OUTCOME_MACHINE: return "machine";
    case dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED: return "connects";
    case dialing::v1::CALL_OUTCOME_ABANDONED: return "abandoned";
    case dialing::v1::CALL_OUTCOME_MESSAGE_PLAYED: return "messages";
    default: return "";  // any other placed attempt: counted as an attempt only
  }
}

const char* StateName(agentstate::v1::State s) {
  switch (s) {
    case agentstate::v1::STATE_LOGGED_OUT: return "LOGGED_OUT";
    case agentstate::v1::STATE_READY: return "READY";
    case agentstate::v1::STATE_NOT_READY: return "NOT_READY";
    case agentstate::v1::STATE_RESERVED: return "RESERVED";
    case agentstate::v1::STATE_ON_CALL: return "ON_CALL";
    case agentstate::v1::STATE_WRAP_UP: return "WRAP_UP";
    default: return "";
  }
}

// A dial attempt ended (topic `dialing`): the ledger's counts, once per call.
EventPlan AttemptEnded(const event::v1::Envelope& e, const dialing::v1::CallAttemptEnded& a) {
  std::string call, campaign;
  if (!IdOf(a.call(), e.tenant(), "calls", &call) || call.empty() ||
      !IdOf(a.campaign(), e.tenant(), "campaigns", &campaign)) {
    return Ignore(e, "malformed");
  }
  if (a.outcome() >= dialing::v1::CALL_OUTCOME_INBOUND_BLOCKED) return Ignore(e, "inbound");
  EventPlan p;
  p.kind = PlanKind::kAdd;
  p.tenant = e.tenant();
  p.campaign = campaign;
  p.hour = HourOfMillis(a.has_end_time() ? Millis(a.end_time()) : Millis(e.time()));
  p.marker_mode = MarkerMode::kOnce;
  p.marker = "att:" + call;
  const std::string c = campaign.empty() ? "" : absl::StrCat("c:", campaign, ":");
  if (a.outcome() == dialing::v1::CALL_OUTCOME_NOT_PLACED) {
    if (!c.empty()) p.increments.push_back({c + "not_placed", 1});
    if (p.increments.empty()) return Ignore(e, "nothing to count");
    return p;
  }
  p.increments.push_back({"u:attempts", 1});
  if (!c.empty()) {
    p.increments.push_back({c + "attempts", 1});
    const std::string metric = OutcomeMetric(a.outcome());
    if (!metric.empty()) p.increments.push_back({c + metric, 1});
  }
  return p;
}

// A call's step (topic `calls`): its end (talk time), its disposition.
EventPlan CallStep(const event::v1::Envelope& e, const dialing::v1::CallUpdated& u) {
  const dialing::v1::Call& call = u.call();
  std::string call_id, campaign, agent;
  if (!IdOf(call.name(), e.tenant(), "calls", &call_id) || call_id.empty() ||
      !IdOf(call.campaign(), e.tenant(), "campaigns", &campaign)) {
    return Ignore(e, "malformed");
  }
  if (!IdOf(call.agent(), e.tenant(), "agents", &agent)) agent.clear();  // a pool agent
  const std::string c = campaign.empty() ? "" : absl::StrCat("c:", campaign, ":");
  EventPlan p;
  p.kind = PlanKind::kAdd;
  p.tenant = e.tenant();
  p.campaign = campaign;
  if (u.step() == "ENDED" || u.step() == "RECONCILED") {
    if (!call.has_connect_time() || !call.has_end_time()) return Ignore(e, "not connected");
    const int64_t talk =
        std::max<int64_t>(0, Millis(call.end_time()) - Millis(call.connect_time()));
    p.hour = HourOfMillis(Millis(call.end_time()));
    p.marker_mode = MarkerMode::kOnce;
    p.marker = "end:" + call_id;
    p.increments = {{"u:connected_calls", 1},
                    {"u:connected_ms", talk},
                    {"u:billable_min", (talk + 59999) / 60000}};
    if (!c.empty()) {
      p.increments.push_back({c + "handled", 1});
      p.increments.push_back({c + "talk_ms", talk});
    }
    return p;
  }
  if (u.step() == "DISPOSED" && !call.disposition().empty()) {
    p.hour = HourOfMillis(call.has_end_time() ? Millis(call.end_time()) : Millis(e.time()));
    p.marker_mode = MarkerMode::kReplace;  // a corrected disposition moves the count
    p.marker = "disp:" + call_id;
    if (!c.empty()) p.increments.push_back({absl::StrCat(c, "disp:", call.disposition()), 1});
    if (!agent.empty() && !campaign.empty()) {
      p.increments.push_back(
          {absl::StrCat("a:", agent, ":disp:", campaign, ":", call.disposition()), 1});
    }
    if (p.increments.empty()) return Ignore(e, "nothing to count");
    return p;
  }
  return Ignore(e, "step not counted");
}

// A campaign's settings, from a CampaignStateChanged (lifecycle) or the
// Campaign dialing publishes for an UpdateCampaign: costs and sale codes
// changed on a running campaign count from then on.
EventPlan CampaignChanged(const event::v1::Envelope& e, const dialing::v1::Campaign& c) {
  std::string campaign;
  if (!IdOf(c.name(), e.tenant(), "campaigns", &campaign) || campaign.empty()) {
    return Ignore(e, "malformed");
  }
  std::vector<std::string> sales;
  for (const auto& d : c.dispositions()) {
    if (d.sale()) sales.push_back(d.code());
  }
  EventPlan p;
  p.kind = PlanKind::kConfig;
  p.tenant = e.tenant();
  p.campaign = campaign;
  p.config_key = "camp:" + campaign;
  p.config_version = Millis(e.time());
  const auto& costs = c.costs();
  p.config_fields = {{"currency", costs.currency_code()},
                     {"per_minute", std::to_string(costs.per_minute_micros())},
                     {"per_attempt", std::to_string(costs.per_attempt_micros())},
                     {"sales", absl::StrJoin(sales, ",")}};
  return p;
}

EventPlan AgentChanged(const event::v1::Envelope& e, const agentstate::v1::Agent& a) {
  std::string agent;
  if (!IdOf(a.name(), e.tenant(), "agents", &agent) || agent.empty()) {
    return Ignore(e, "pool agent or malformed");
  }
  EventPlan p;
  p.kind = PlanKind::kConfig;
  p.tenant = e.tenant();
  p.config_key = "agent:" + agent;
  p.config_version = Millis(e.time());
  p.config_fields = {{"team", a.team()},
                     {"t_calls", std::to_string(a.targets().calls_handled())},
                     {"t_sales", std::to_string(a.targets().sales())},
                     {"t_occupancy", absl::StrCat(a.targets().occupancy())}};
  p.index = "agents";
  p.index_member = agent;
  return p;
}

EventPlan AgentMoved(const event::v1::Envelope& e, const agentstate::v1::AgentStatus& s) {
  std::string agent, campaign;
  if (!IdOf(s.agent(), e.tenant(), "agents", &agent) || agent.empty()) {
    return Ignore(e, "pool agent or malformed");
  }
  if (!IdOf(s.campaign(), e.tenant(), "campaigns", &campaign)) campaign.clear();
  const char* state = StateName(s.state());
  if (*state == '\0' || !s.has_state_time()) return Ignore(e, "malformed");
  EventPlan p;
  p.kind = PlanKind::kAgentState;
  p.tenant = e.tenant();
  p.campaign = campaign;
  p.move.agent = agent;
  p.move.version = s.version();
  p.move.state = state;
  p.move.reason = s.reason_code();
  p.move.state_time_ms = Millis(s.state_time());
  p.move.campaign = campaign;
  return p;
}

EventPlan RecordingChanged(const event::v1::Envelope& e, const recording::v1::Recording& r,
                           bool deleted) {
  std::string id;
  if (!IdOf(r.name(), e.tenant(), "recordings", &id) || id.empty()) {
    return Ignore(e, "malformed");
  }
  EventPlan p;
  p.kind = PlanKind::kAdd;
  p.tenant = e.tenant();
  p.hour = HourOfMillis(Millis(e.time()));
  if (deleted) {
    p.marker_mode = MarkerMode::kOnce;
    p.marker = "recdel:" + id;
    p.increments = {{"u:rec_bytes_deleted", r.stored_bytes()}};
  } else {
    // A resumed upload stores again with the recording's new total.
    p.marker_mode = MarkerMode::kReplace;
    p.marker = "rec:" + id;
    p.increments = {{"u:recordings", 1}, {"u:rec_bytes_stored", r.stored_bytes()}};
  }
  return p;
}

}  // namespace

EventPlan PlanEvent(const event::v1::Envelope& event) {
  if (event.tenant().empty() || event.event_id().empty()) return Ignore(event, "no tenant");
  const std::string& type = event.type();
  if (type == "dialgrid.dialing.v1.CallAttemptEnded") {
    dialing::v1::CallAttemptEnded a;
    if (!event.payload().UnpackTo(&a)) return Ignore(event, "malformed");
    return AttemptEnded(event, a);
  }
  if (type == "dialgrid.dialing.v1.CallUpdated") {
    dialing::v1::CallUpdated u;
    if (!event.payload().UnpackTo(&u)) return Ignore(event, "malformed");
    return CallStep(event, u);
  }
  if (type == "dialgrid.dialing.v1.CampaignStateChanged") {
    dialing::v1::CampaignStateChanged s;
    if (!event.payload().UnpackTo(&s)) return Ignore(event, "malformed");
    return CampaignChanged(event, s.campaign());
  }
  if (type == "dialgrid.dialing.v1.Campaign") {  // an UpdateCampaign
    dialing::v1::Campaign c;
    if (!event.payload().UnpackTo(&c)) return Ignore(event, "malformed");
    return CampaignChanged(event, c);
  }
  if (type == "dialgrid.agentstate.v1.AgentStatus") {
    agentstate::v1::AgentStatus s;
    if (!event.payload().UnpackTo(&s)) return Ignore(event, "malformed");
    return AgentMoved(event, s);
  }
  if (type == "dialgrid.agentstate.v1.Agent") {
    agentstate::v1::Agent a;
    if (!event.payload().UnpackTo(&a)) return Ignore(event, "malformed");
    return AgentChanged(event, a);
  }
  if (type == "dialgrid.recording.v1.RecordingStored") {
    recording::v1::RecordingStored s;
    if (!event.payload().UnpackTo(&s)) return Ignore(event, "malformed");
    return RecordingChanged(event, s.recording(), false);
  }
  if (type == "dialgrid.recording.v1.RecordingDeleted") {
    recording::v1::RecordingDeleted d;
    if (!event.payload().UnpackTo(&d)) return Ignore(event, "malformed");
    return RecordingChanged(event, d.recording(), true);
  }
  return Ignore(event, "other type");
}

}  // namespace dialgrid::reporting
