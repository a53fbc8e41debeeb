// Logic tests of the call path (application/dialer.h) in virtual time: the
// real pacing engine and the simulated carrier on a ManualScheduler, the
// other services and the store as in-memory fakes that keep what they were
// asked, so each rule of the call path is checked from the outside: no dial
// without an allowed decision taken just before it, no dial while compliance
// or agent state cannot answer, abandons after the grace period, outcomes
// to contacts and compliance, dispositions, fencing and takeover.
#include "services/dialing/application/dialer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dialgrid/dialing/v1/call_events.pb.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/scheduler.h"
#include "services/dialing/domain/campaign_rules.h"
#include "services/dialing/telephony/simulated_carrier.h"

namespace dialgrid::dialing {
namespace {

using nlohmann::json;
using agentstate::v1::State;

json Constant(double value) { return {{"type", "constant"}, {"value", value}}; }

// Every callee a live person who answers after 5 s and talks 20 s.
json Scenario(double human, double machine, double busy_failed) {
  return json{{"name", "dialer-test"},
              {"agents", 1},
              {"shift_hours", 8},
              {"days_per_seed", 1},
              {"tuning_seeds", json::array()},
              {"reporting_seeds", {1}},
              {"outcomes", {{"human", human}, {"machine", machine}, {"busy_failed", busy_failed}}},
              {"times",
               {{"setup", Constant(1)},
                {"human_ring", Constant(5)},
                {"machine_ring", Constant(6)},
                {"fail", Constant(3)},
                {"talk", Constant(20)},
                {"wrap", Constant(5)},
                {"patience", Constant(30)}}},
              {"no_answer_timeout_s", 25},
              {"machine_handling", {{"talk", Constant(8)}, {"wrap", Constant(5)}}},
              {"amd",
               {{"enabled", false},
                {"decision_delay_s", 2.0},
                {"greeting_s", 1.0},
                {"false_positive", 0.0},
                {"false_negative", 0.0}}},
              {"tick_s", 1},
              {"max_lines_per_agent", 3.0},
              {"abandon_cap", 0.03},
              {"grace_s", 2.0}};
}

class FakeCampaigns final : public CampaignStore {
 public:
  absl::StatusOr<Created> Create(const std::string&, const std::string&, const StoredCampaign&,
                                 absl::string_view, absl::string_view, const Events&) override {
    return absl::UnimplementedError("not used");
  }
  absl::StatusOr<StoredCampaign> Get(const std::string& tenant, const std::string& id) override {
    auto it = campaigns.find(tenant + "/" + id);
    if (it == campaigns.end()) return NotFound("CAMPAIGN_NOT_FOUND", "no such campaign");
    return StoredCampaign{it->second.SerializeAsString(), absl::StrCat("e", version)};
  }
  absl::StatusOr<std::vector<std::string>> ListIds(const std::string&, absl::string_view,
                                                   int) override {
    return std::vector<std::string>{};
  }
  absl::Status Replace(const std::string&, const std::string&, absl::string_view,
                       const StoredCampaign&, bool, const Events&) override {
    return absl::UnimplementedError("not used");
  }
  absl::Status Delete(const std::string&, const std::string&, absl::string_view,
                      const Events&) override {
    return absl::UnimplementedError("not used");
  }
  absl::StatusOr<std::vector<std::string>> Running() override {
    std::vector<std::string> out;
    for (const auto& [k, c] : campaigns) {
      if (c.state() == v1::CAMPAIGN_STATE_RUNNING) out.push_back(k);
    }
    return out;
  }
  absl::StatusOr<std::string> InboundNumberHolder(const std::string& number) override {
    return holders[number];
  }
  absl::StatusOr<bool> SwapInboundNumberHolder(const std::string& number, const std::string& expected,
                                               const std::string& holder) override {
    if (holders[number] != expected) return false;
    holders[number] = holder;
    return true;
  }
  std::map<std::string, v1::Campaign> campaigns;
  std::map<std::string, std::string> holders;
  int version = 1;
};

class FakeCalls final : public CallStore {
 public:
  absl::StatusOr<int64_t> Own(const std::string& tenant, const std::string& campaign,
                              const std::string& instance, absl::Duration) override {
    auto& o = owners[tenant + "/" + campaign];
    if (o.second.empty() || o.second == instance) {
      if (o.second.empty()) o.first = ++fence;
      o.second = instance;
      return o.first;
    }
    return 0;
  }
  absl::Status Disown(const std::string& tenant, const std::string& campaign,
                      const std::string& instance) override {
    auto& o = owners[tenant + "/" + campaign];
    if (o.second == instance) o.second.clear();
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> AwaitingDisposition(
      absl::Time ended_before, int max) override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [id, c] : calls) {
      if (c.call.awaiting_disposition() && FromTimestamp(c.call.end_time()) <= ended_before &&
          static_cast<int>(out.size()) < max) {
        out.emplace_back(c.call.name().substr(8, c.call.name().find("/calls/") - 8), id);
      }
    }
    return out;
  }
  absl::Status ForgetAwaiting(const std::string&, const std::string&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<int> Advertise(const std::string& instance, const std::string& address,
                                absl::Duration) override {
    addresses[instance] = address;
    return static_cast<int>(addresses.size());
  }
  absl::StatusOr<Owner> CampaignOwner(const std::string& tenant,
                                      const std::string& campaign) override {
    Owner o;
    o.instance = owners[tenant + "/" + campaign].second;
    if (!o.instance.empty()) o.address = addresses[o.instance];
    return o;
  }
  absl::Status Put(const std::string& tenant, const std::string& campaign_id,
                   const StoredCall& call, int64_t token,
                   const std::vector<event::v1::Envelope>& ev, int64_t max_lines) override {
    if (down) return Unavailable("REDIS_UNAVAILABLE", "down");
    const std::string id = call.call.name().substr(call.call.name().rfind('/') + 1);
    const bool holds = call.call.state() != v1::CALL_STATE_ENDED;
    if (holds && !lines.count(id)) {
      if (max_lines > 0 && static_cast<int64_t>(lines.size()) >= max_lines) {
        return QuotaExceeded("max_concurrent_lines", "all lines in use");
      }
    }
    if (token != 0) {
      if (owners[tenant + "/" + campaign_id].first != token) return FailedPrecondition("FENCED", "fenced");
    } else if (!calls[id].call.awaiting_disposition()) {
      return FailedPrecondition("CALL_NOT_AWAITING_DISPOSITION", "no");
    }
    calls[id] = call;
    if (holds) {
      lines.insert(id);
      peak_lines = std::max(peak_lines, lines.size());
    } else {
      lines.erase(id);
    }
    hopper.erase(campaign_id + "|" + call.call.contact());
    for (const auto& e : ev) events.push_back(e);
    return absl::OkStatus();
  }
  absl::Status AddToHopper(const std::string&, const std::string& campaign_id,
                           const std::vector<LeasedContact>& leases) override {
    for (const auto& l : leases) hopper[campaign_id + "|" + l.contact.name()] = l;
    return absl::OkStatus();
  }
  absl::Status RemoveFromHopper(const std::string&, const std::string& campaign_id,
                                const std::string& contact) override {
    hopper.erase(campaign_id + "|" + contact);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<LeasedContact>> Hopper(const std::string&,
                                                    const std::string& campaign_id) override {
    std::vector<LeasedContact> out;
    for (const auto& [k, l] : hopper) {
      if (absl::StartsWith(k, campaign_id + "|")) out.push_back(l);
    }
    return out;
  }
  absl::Status Publish(const std::string&, const std::vector<event::v1::Envelope>& ev) override {
    for (const auto& e : ev) events.push_back(e);
    return absl::OkStatus();
  }
  absl::StatusOr<StoredCall> Get(const std::string&, const std::string& id) override {
    auto it = calls.find(id);
    if (it == calls.end()) return NotFound("CALL_NOT_FOUND", "no such call");
    return it->second;
  }
  absl::StatusOr<std::vector<StoredCall>> Open(const std::string&,
                                               const std::string& campaign_id) override {
    std::vector<StoredCall> out;
    for (const auto& [id, c] : calls) {
      if (absl::EndsWith(c.call.campaign(), "/" + campaign_id) &&
          (c.call.state() != v1::CALL_STATE_ENDED || c.call.awaiting_disposition())) {
        out.push_back(c);
      }
    }
    return out;
  }
  absl::Status PutProgress(const std::string&, const std::string& campaign_id,
                           const v1::CampaignProgress& p, absl::Duration) override {
    progress[campaign_id] = p;
    return absl::OkStatus();
  }
  absl::StatusOr<v1::CampaignProgress> GetProgress(const std::string&,
                                                   const std::string& campaign_id) override {
    auto it = progress.find(campaign_id);
    if (it == progress.end()) return NotFound("NO_PROGRESS", "none");
    return it->second;
  }
  std::map<std::string, v1::CampaignProgress> progress;
  absl::Status PutCallerIds(const std::string&, const std::string& campaign_id,
                            const std::vector<v1::CallerIdStatus>& statuses,
                            const std::vector<event::v1::Envelope>& ev) override {
    if (caller_ids_down) return Unavailable("REDIS_UNAVAILABLE", "down");
    for (const auto& st : statuses) caller_ids[campaign_id][st.caller_id()] = st;
    for (const auto& e : ev) events.push_back(e);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<v1::CallerIdStatus>> GetCallerIds(
      const std::string&, const std::string& campaign_id) override {
    if (caller_ids_down) return Unavailable("REDIS_UNAVAILABLE", "down");
    std::vector<v1::CallerIdStatus> out;
    for (const auto& [id, st] : caller_ids[campaign_id]) out.push_back(st);
    return out;
  }
  std::map<std::string, std::map<std::string, v1::CallerIdStatus>> caller_ids;
  bool caller_ids_down = false;
  absl::Status PutAgentCallback(const std::string&, const std::string&, const std::string& contact,
                                const AgentCallback& cb) override {
    callbacks[contact] = cb;
    return absl::OkStatus();
  }
  absl::Status RemoveAgentCallback(const std::string&, const std::string&,
                                   const std::string& contact) override {
    callbacks.erase(contact);
    return absl::OkStatus();
  }
  absl::StatusOr<std::map<std::string, AgentCallback>> AgentCallbacks(const std::string&,
                                                                      const std::string&) override {
    return callbacks;
  }
  std::map<std::string, AgentCallback> callbacks;
  absl::Status BlockNumber(const std::string&, const v1::BlockedNumber& b,
                           const std::vector<event::v1::Envelope>& ev) override {
    if (down) return Unavailable("REDIS_UNAVAILABLE", "down");
    blocked[b.number().substr(1)] = b;
    for (const auto& e : ev) events.push_back(e);
    return absl::OkStatus();
  }
  absl::StatusOr<v1::BlockedNumber> GetBlockedNumber(const std::string&,
                                                     const std::string& digits) override {
    auto it = blocked.find(digits);
    if (it == blocked.end()) return NotFound("BLOCKED_NUMBER_NOT_FOUND", "not blocked");
    return it->second;
  }
  absl::Status UnblockNumber(const std::string&, const std::string& digits,
                             const std::vector<event::v1::Envelope>& ev) override {
    blocked.erase(digits);
    for (const auto& e : ev) events.push_back(e);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<v1::BlockedNumber>> BlockedNumbers(const std::string&) override {
    std::vector<v1::BlockedNumber> out;
    for (const auto& [d, b] : blocked) out.push_back(b);
    return out;
  }
  std::map<std::string, v1::BlockedNumber> blocked;
  // The steps written for a call, in order.
  std::vector<std::string> Steps(const std::string& call_name) const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      v1::CallUpdated u;
      if (e.type() == "dialgrid.dialing.v1.CallUpdated" && e.payload().UnpackTo(&u) &&
          u.call().name() == call_name) {
        out.push_back(u.step());
      }
    }
    return out;
  }
  std::vector<std::string> EventTypes(absl::string_view type) const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (e.type() == type) out.push_back(e.subject());
    }
    return out;
  }
  std::vector<v1::CallAttemptEnded> Ended() const {
    std::vector<v1::CallAttemptEnded> out;
    for (const auto& e : events) {
      v1::CallAttemptEnded x;
      if (e.type() == "dialgrid.dialing.v1.CallAttemptEnded" && e.payload().UnpackTo(&x)) {
        out.push_back(x);
      }
    }
    return out;
  }

  std::map<std::string, std::pair<int64_t, std::string>> owners;
  std::map<std::string, std::string> addresses;  // advertised replicas
  int64_t fence = 0;
  std::map<std::string, StoredCall> calls;
  std::vector<event::v1::Envelope> events;
  std::map<std::string, LeasedContact> hopper;  // "<campaign id>|<contact>"
  std::set<std::string> lines;
  size_t peak_lines = 0;
  bool down = false;
};

struct Report {
  std::string contact;
  contacts::v1::OutcomeKind kind;
  std::string outcome;
  absl::Time next;
};

class FakeContacts final : public ContactSource {
 public:
  void Add(int n, const std::string& prefix = "+1312555") {
    for (int i = 0; i < n; ++i) {
      contacts::v1::Contact c;
      c.set_name(absl::StrCat("tenants/t1/contactLists/l1/contacts/c", next_id));
      auto* p = c.add_phones();
      p->mutable_number()->set_e164(absl::StrCat(prefix, 1000 + next_id));
      p->set_callable(true);
      c.set_time_zone("America/Chicago");
      c.set_country("US");
      ++next_id;
      queue.push_back(c);
    }
  }
  absl::StatusOr<std::vector<LeasedContact>> Lease(const std::string&, int count,
                                                   const std::string&, absl::Duration) override {
    if (down) return Unavailable("PEER_UNAVAILABLE", "contacts down");
    std::vector<LeasedContact> out;
    while (count-- > 0 && !queue.empty()) {
      LeasedContact l;
      l.contact = queue.front();
      queue.pop_front();
      l.lease_id = absl::StrCat("lease-", ++leases);
      l.expire_time = absl::InfiniteFuture();
      leased[l.contact.name()] = l.lease_id;
      out.push_back(l);
    }
    return out;
  }
  absl::Status Report(const std::string& contact, const std::string& lease_id,
                      contacts::v1::OutcomeKind kind, const std::string& outcome,
                      absl::Time next) override {
    if (leased[contact] != lease_id) {
      ++refused;
      return FailedPrecondition("LEASE_NOT_HELD", "no");
    }
    leased.erase(contact);
    reports.push_back({contact, kind, outcome, next});
    return absl::OkStatus();
  }
  int next_id = 0;
  int leases = 0;
  int refused = 0;  // reports under a lease not held
  bool down = false;
  std::deque<contacts::v1::Contact> queue;
  std::map<std::string, std::string> leased;
  std::vector<dialing::Report> reports;
};

struct Check {
  std::string request_id, number;
  bool allowed;
  absl::Time at;
};

class FakeCompliance final : public ComplianceGate {
 public:
  explicit FakeCompliance(const Clock& clock) : clock_(clock) {}
  absl::StatusOr<compliance::v1::DialDecision> CheckDial(
      const compliance::v1::CheckDialRequest& r) override {
    if (down) return Unavailable("PEER_UNAVAILABLE", "compliance down");
    compliance::v1::DialDecision d;
    d.set_decision_id(absl::StrCat("d", checks.size() + 1));
    const bool over_cap = abandon_rate_exceeded &&
                          r.dialing_mode() == type::v1::DIALING_MODE_PREDICTIVE;
    const bool allowed = denied.count(r.phone_number()) == 0 && !over_cap;
    d.set_allowed(allowed);
    d.set_recording_announcement_required(announce.count(r.phone_number()) > 0);
    d.mutable_phone_number()->set_e164(r.phone_number());
    modes.push_back(r.dialing_mode());
    requests.push_back(r);
    if (over_cap) {
      auto* reason = d.add_reasons();
      reason->set_code("ABANDON_RATE_EXCEEDED");
      reason->set_detail("24h 9/100 over 0.03");
    } else if (!allowed) {
      d.add_reasons()->set_code("OUTSIDE_CALLING_HOURS");
      *d.mutable_next_allowed_time() = ToTimestamp(clock_.Now() + absl::Hours(3));
    }
    checks.push_back({r.request_id(), r.phone_number(), allowed, clock_.Now()});
    return d;
  }
  absl::StatusOr<compliance::v1::AbandonRate> AbandonRate(const std::string& campaign) override {
    if (down) return Unavailable("PEER_UNAVAILABLE", "compliance down");
    compliance::v1::AbandonRate r;
    r.set_campaign(campaign);
    r.mutable_last_24_hours()->set_abandoned(1);
    r.mutable_last_24_hours()->set_live_answers(50);
    r.mutable_last_24_hours()->set_rate(0.02);
    r.set_max_abandon_rate(0.03);
    return r;
  }
  absl::Status RecordNotPlaced(const std::string&, const v1::CallAttemptEnded& call) override {
    if (down) return Unavailable("PEER_UNAVAILABLE", "compliance down");
    not_placed.push_back(call);
    return absl::OkStatus();
  }
  std::vector<v1::CallAttemptEnded> not_placed;
  absl::Status AddOptOut(const std::string&, const std::string& number,
                         const std::string&) override {
    if (down) return Unavailable("PEER_UNAVAILABLE", "compliance down");
    opt_outs.push_back(number);
    return absl::OkStatus();
  }
  const Clock& clock_;
  bool down = false;
  bool abandon_rate_exceeded = false;
  std::vector<type::v1::DialingMode> modes;
  std::vector<compliance::v1::CheckDialRequest> requests;
  std::set<std::string> denied;
  std::set<std::string> announce;  // all-party consent places
  std::vector<Check> checks;
  std::vector<std::string> opt_outs;
};

// Agents who answer, talk and wrap: EndCall puts one in wrap-up, and it is
// ready again `wrap` later.
class FakeAgents final : public AgentRouter {
 public:
  FakeAgents(Scheduler& scheduler, int n) : scheduler_(scheduler) {
    for (int i = 0; i < n; ++i) {
      agents[absl::StrCat("tenants/t1/agents/a", i)] = {State::STATE_READY, scheduler.clock().Now()};
    }
  }
  absl::StatusOr<std::string> Reserve(const std::string&, const std::vector<v1::SkillRequirement>&,
                                      const std::string& call, const std::string& agent) override {
    if (down) return Unavailable("PEER_UNAVAILABLE", "agent state down");
    if (refuse_inbound && absl::StrContains(call, "/calls/i")) {
      return FailedPrecondition("NO_AGENT_AVAILABLE", "held back by the test");
    }
    if (!agent.empty()) {  // an agent's own dial: that agent, ready
      auto it = agents.find(agent);
      if (it == agents.end()) return FailedPrecondition("AGENT_NOT_ELIGIBLE", "no such agent");
      if (it->second.first != State::STATE_READY) {
        return FailedPrecondition("AGENT_NOT_READY", "not ready");
      }
      it->second = {State::STATE_RESERVED, scheduler_.clock().Now()};
      holder[agent] = call;
      return agent;
    }
    for (auto& [name, a] : agents) {
      if (a.first == State::STATE_READY) {
        a = {State::STATE_RESERVED, scheduler_.clock().Now()};
        holder[name] = call;
        return name;
      }
    }
    return NotFound("NO_AGENT_AVAILABLE", "nobody ready");
  }
  absl::Status Confirm(const std::string& agent, const std::string& call) override {
    if (holder[agent] != call) return FailedPrecondition("NOT_RESERVED", "no");
    agents[agent] = {State::STATE_ON_CALL, scheduler_.clock().Now()};
    return absl::OkStatus();
  }
  absl::Status Release(const std::string& agent, const std::string&) override {
    agents[agent] = {State::STATE_READY, scheduler_.clock().Now()};
    return absl::OkStatus();
  }
  absl::Status EndCall(const std::string& agent, const std::string& call,
                       const std::string& protected_reason, absl::Duration protect_for) override {
    if (holder[agent] != call) return FailedPrecondition("NOT_ON_CALL", "no");
    ended.push_back(call);
    if (protect_for > absl::ZeroDuration()) {
      // Not ready, and not made ready here before the protection ends.
      agents[agent] = {State::STATE_NOT_READY, scheduler_.clock().Now()};
      protected_agents[agent] = {protected_reason, protect_for};
      return absl::OkStatus();
    }
    agents[agent] = {State::STATE_WRAP_UP, scheduler_.clock().Now()};
    scheduler_.After(wrap, [this, agent] {
      agents[agent] = {State::STATE_READY, scheduler_.clock().Now()};
    });
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<AgentSnapshot>> Agents(const std::string&,
                                                    const std::string&) override {
    if (down) return Unavailable("PEER_UNAVAILABLE", "agent state down");
    std::vector<AgentSnapshot> out;
    for (const auto& [name, a] : agents) out.push_back({name, a.first, a.second});
    return out;
  }
  Scheduler& scheduler_;
  absl::Duration wrap = absl::Seconds(5);
  bool down = false;
  std::map<std::string, std::pair<State, absl::Time>> agents;
  std::map<std::string, std::string> holder;
  std::vector<std::string> ended;
  std::map<std::string, std::pair<std::string, absl::Duration>> protected_agents;
  bool refuse_inbound = false;  // inbound callers find nobody (they wait)
};

// The carrier behind a recorder of every PlaceCall and message.
class RecordingPort final : public telephony::TelephonyPort {
 public:
  RecordingPort(const Clock& clock) : clock_(clock) {}
  absl::Status PlaceCall(const telephony::CallRequest& r) override {
    placed.push_back({r.attempt_id.value(), r.to, r.caller_id, clock_.Now()});
    return inner->PlaceCall(r);
  }
  absl::Status ConnectToAgent(const telephony::AttemptId& a, const telephony::AgentId& g) override {
    return inner->ConnectToAgent(a, g);
  }
  absl::Status PlayMessageAndHangUp(const telephony::AttemptId& a,
                                    const telephony::MessageRequest& m) override {
    messages.push_back(m.message_id);
    message_keys.push_back(m.opt_out_key);
    return inner->PlayMessageAndHangUp(a, m);
  }
  absl::Status HangUp(const telephony::AttemptId& a) override { return inner->HangUp(a); }
  absl::Status AnswerIncoming(const telephony::AttemptId& a) override {
    return inner->AnswerIncoming(a);
  }
  absl::Status PlayAnnouncement(const telephony::AttemptId& a,
                                const telephony::MessageRequest& m) override {
    announced.push_back(a.value());
    return inner->PlayAnnouncement(a, m);
  }
  std::vector<std::string> announced;
  struct Placed {
    std::string attempt, to, caller_id;
    absl::Time at;
  };
  const Clock& clock_;
  telephony::TelephonyPort* inner = nullptr;
  std::vector<Placed> placed;
  std::vector<std::string> messages;
  std::vector<std::string> message_keys;  // the opt-out key each message offered
};

class DialerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Inside the campaign's window: 2026-01-05 (Monday) 15:00 UTC.
    clock_.Set(absl::FromUnixSeconds(1767625200));
    campaigns_ = std::make_shared<FakeCampaigns>();
    calls_ = std::make_shared<FakeCalls>();
    contacts_ = std::make_shared<FakeContacts>();
    compliance_ = std::make_shared<FakeCompliance>(clock_);
  }
  void TearDown() override {
    if (dialer_) dialer_->Stop();
    carrier_.reset();
    dialer_.reset();
  }

  v1::Campaign& AddCampaign(v1::CampaignMode mode = v1::CAMPAIGN_MODE_PROGRESSIVE) {
    v1::Campaign c;
    c.set_name("tenants/t1/campaigns/c1");
    c.add_contact_lists("tenants/t1/contactLists/l1");
    c.set_mode(mode);
    c.set_max_lines(20);
    c.set_max_lines_per_agent(3);
    c.set_power_ratio(2);
    c.add_caller_ids("+14155550100");
    c.add_caller_ids("+13125550100");
    c.set_time_zone("America/Chicago");
    c.set_state(v1::CAMPAIGN_STATE_RUNNING);
    auto* d = c.add_dispositions();
    d->set_code("sale");
    d->set_outcome(v1::DISPOSITION_OUTCOME_SUCCESS);
    d = c.add_dispositions();
    d->set_code("dnc");
    d->set_outcome(v1::DISPOSITION_OUTCOME_DO_NOT_CALL);
    d = c.add_dispositions();
    d->set_code("later");
    d->set_outcome(v1::DISPOSITION_OUTCOME_CALLBACK);
    return campaigns_->campaigns["t1/c1"] = c;
  }
  // An AGENTLESS campaign playing "renewal-reminder" on at most `max_lines`.
  v1::Campaign& AddAgentlessCampaign(int max_lines) {
    v1::Campaign& c = AddCampaign(v1::CAMPAIGN_MODE_AGENTLESS);
    c.set_agentless_message_id("renewal-reminder");
    c.set_max_lines(max_lines);
    return c;
  }

  // Three campaigns alike (c1, c2, c3), all running.
  void AddThreeCampaigns() {
    v1::Campaign c = AddCampaign();
    for (const char* id : {"c2", "c3"}) {
      c.set_name(absl::StrCat("tenants/t1/campaigns/", id));
      campaigns_->campaigns[absl::StrCat("t1/", id)] = c;
    }
  }

  void StartDialer(int agents, const json& scenario, const std::string& instance = "r1",
                   int64_t tenant_lines = 0) {
    agents_ = std::make_shared<FakeAgents>(scheduler_, agents);
    DialerPorts ports{campaigns_, calls_, contacts_, compliance_, agents_};
    DialerOptions options;
    options.instance = instance;
    if (tenant_lines > 0) {
      options.tenant_max_lines = [tenant_lines](const std::string&) { return tenant_lines; };
    }
    dialer_ = std::make_unique<Dialer>(ports, scheduler_, executor_, options);
    auto parsed = sim::ParseScenario(scenario.dump());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    telephony::SimulatedCarrierOptions co;
    co.scenario = *parsed;
    co.seed = 3;
    co.connect_delay = sim::Distribution::Constant(0.05);
    co.message_length = sim::Distribution::Constant(4);
    co.inbound_patience = sim::Distribution::Constant(600);
    co.opt_out_share = opt_out_share_;
    for (const auto& [id, factor] : answer_factor_) co.answer_factor_by_caller_id[id] = factor;
    auto carrier = telephony::SimulatedCarrier::Create(co, scheduler_, *dialer_);
    ASSERT_TRUE(carrier.ok()) << carrier.status();
    carrier_ = *std::move(carrier);
    port_ = std::make_unique<RecordingPort>(clock_);
    port_->inner = carrier_.get();
    dialer_->SetTelephony(port_.get());
    dialer_->Start();
  }

  // Every placed call had an allowed decision for its number, asked under
  // its attempt id, at most `within` before the dial.
  void ExpectEveryDialAllowed(absl::Duration within = absl::Seconds(1)) {
    for (const auto& p : port_->placed) {
      bool found = false;
      for (const auto& c : compliance_->checks) {
        if (absl::StartsWith(c.request_id, p.attempt + "-") && c.number == p.to && c.allowed &&
            c.at <= p.at && p.at - c.at <= within) {
          found = true;
        }
      }
      EXPECT_TRUE(found) << "dial of " << p.to << " (" << p.attempt << ") without a decision";
    }
  }

  FakeClock clock_;
  ManualScheduler scheduler_{clock_};
  InlineExecutor executor_;
  double opt_out_share_ = 0.0;  // the carrier's callees who press the opt-out key
  std::map<std::string, double> answer_factor_;  // caller IDs labelled as spam
  std::shared_ptr<FakeCampaigns> campaigns_;
  std::shared_ptr<FakeCalls> calls_;
  std::shared_ptr<FakeContacts> contacts_;
  std::shared_ptr<FakeCompliance> compliance_;
  std::shared_ptr<FakeAgents> agents_;
  std::unique_ptr<Dialer> dialer_;
  std::unique_ptr<telephony::SimulatedCarrier> carrier_;
  std::unique_ptr<RecordingPort> port_;
};

TEST_F(DialerTest, ProgressiveDialsOnePerFreeAgentEachAfterAnAllowedDecision) {
  AddCampaign();
  contacts_->Add(50);
  StartDialer(3, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  // Three free agents: three lines, no more while they are in flight.
  EXPECT_EQ(port_->placed.size(), 3u);
  scheduler_.AdvanceBy(absl::Minutes(5));
  EXPECT_GT(port_->placed.size(), 10u);
  ExpectEveryDialAllowed();
  // Local presence: Chicago callees (+1312) get the Chicago caller ID.
  for (const auto& p : port_->placed) EXPECT_EQ(p.caller_id, "+13125550100");
  // Everyone answered live and reached an agent: no abandon.
  auto ended = calls_->Ended();
  ASSERT_FALSE(ended.empty());
  for (const auto& e : ended) EXPECT_EQ(e.outcome(), v1::CALL_OUTCOME_ANSWERED_CONNECTED);
  EXPECT_EQ(dialer_->Stats().abandoned, 0);
  // Each connected call ended with its agent in wrap-up and awaits its disposition.
  EXPECT_EQ(agents_->ended.size(), ended.size());
  const std::string id = ended[0].call().substr(ended[0].call().rfind('/') + 1);
  auto call = dialer_->GetCall("t1", id);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_TRUE(call->awaiting_disposition());
  EXPECT_FALSE(call->agent().empty());
  EXPECT_TRUE(call->has_connect_time());
}

TEST_F(DialerTest, ACalleeWhereEveryPartyMustConsentHearsTheRecordingAnnouncement) {
  AddCampaign();
  contacts_->Add(2);
  compliance_->announce.insert("+13125551000");
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Minutes(1));
  ASSERT_EQ(port_->placed.size(), 2u);
  for (const auto& p : port_->placed) {
    auto call = dialer_->GetCall("t1", p.attempt);
    ASSERT_TRUE(call.ok()) << call.status();
    const bool announced = std::count(port_->announced.begin(), port_->announced.end(), p.attempt) == 1;
    EXPECT_EQ(call->recording_announcement(), p.to == "+13125551000") << p.to;
    EXPECT_EQ(announced, p.to == "+13125551000") << p.to;
  }
  EXPECT_EQ(carrier_->Stats().announcements, 1);
}

TEST_F(DialerTest, AnAllowedDialWhoseFirstWriteFailsIsGivenBackToCompliance) {
  AddCampaign();
  contacts_->Add(3);
  calls_->down = true;  // Redis: nothing can be written
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  EXPECT_TRUE(port_->placed.empty());
  ASSERT_FALSE(compliance_->checks.empty());
  // Every allowed decision of a call never written comes back as NOT_PLACED
  // under its decision id.
  std::set<std::string> decided, given_back;
  for (size_t i = 0; i < compliance_->checks.size(); ++i) decided.insert(absl::StrCat("d", i + 1));
  for (const auto& c : compliance_->not_placed) {
    EXPECT_EQ(c.outcome(), v1::CALL_OUTCOME_NOT_PLACED);
    given_back.insert(c.decision_id());
  }
  EXPECT_EQ(given_back, decided);
}

TEST_F(DialerTest, EveryStepIsAnEventUnderTheCallsStableId) {
  AddCampaign();
  contacts_->Add(1);
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Minutes(1));
  ASSERT_EQ(port_->placed.size(), 1u);
  std::vector<std::string> steps;
  for (const auto& e : calls_->events) {
    v1::CallUpdated u;
    if (e.type() == "dialgrid.dialing.v1.CallUpdated" && e.payload().UnpackTo(&u)) {
      EXPECT_EQ(u.call().name(), "tenants/t1/calls/" + port_->placed[0].attempt);
      EXPECT_EQ(e.subject(), u.call().name());
      steps.push_back(u.step());
    }
  }
  EXPECT_EQ(steps, (std::vector<std::string>{"DIALED", "RINGING", "ANSWERED", "CONNECTED", "ENDED"}));
  ASSERT_EQ(calls_->Ended().size(), 1u);
  EXPECT_EQ(calls_->Ended()[0].decision_id(), "d1");
}

TEST_F(DialerTest, ComplianceDownMeansNoDialsThenDialingResumes) {
  AddCampaign();
  contacts_->Add(20);
  compliance_->down = true;
  StartDialer(3, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(30));
  EXPECT_TRUE(port_->placed.empty());
  EXPECT_GT(dialer_->Stats().check_errors, 0);
  // The contacts it held were neither dialed nor reported: still leased.
  EXPECT_TRUE(contacts_->reports.empty());
  compliance_->down = false;
  scheduler_.AdvanceBy(absl::Seconds(5));
  EXPECT_EQ(port_->placed.size(), 3u);
  ExpectEveryDialAllowed();
}

TEST_F(DialerTest, AgentStateDownMeansNoDials) {
  AddCampaign();
  contacts_->Add(20);
  StartDialer(3, Scenario(1.0, 0.0, 0.0));
  agents_->down = true;
  scheduler_.AdvanceBy(absl::Seconds(30));
  EXPECT_TRUE(port_->placed.empty());
  agents_->down = false;
  scheduler_.AdvanceBy(absl::Seconds(3));
  EXPECT_EQ(port_->placed.size(), 3u);
}

TEST_F(DialerTest, ADeniedNumberIsNotDialedAndTheContactWaitsForTheNextAllowedTime) {
  AddCampaign();
  contacts_->Add(1);
  compliance_->denied.insert("+13125551000");
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(10));
  EXPECT_TRUE(port_->placed.empty());
  ASSERT_EQ(contacts_->reports.size(), 1u);
  EXPECT_EQ(contacts_->reports[0].kind, contacts::v1::OUTCOME_KIND_RETRY);
  EXPECT_EQ(contacts_->reports[0].outcome, "NOT_ALLOWED_OUTSIDE_CALLING_HOURS");
  EXPECT_EQ(contacts_->reports[0].next, compliance_->checks[0].at + absl::Hours(3));
}

TEST_F(DialerTest, AnAlternateNumberIsCheckedBeforeItIsDialed) {
  AddCampaign();
  contacts_->Add(1);
  auto* alt = contacts_->queue[0].add_phones();
  alt->mutable_number()->set_e164("+13125559999");
  alt->set_callable(true);
  compliance_->denied.insert("+13125551000");
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  ASSERT_EQ(port_->placed.size(), 1u);
  EXPECT_EQ(port_->placed[0].to, "+13125559999");
  ASSERT_EQ(compliance_->checks.size(), 2u);
  ExpectEveryDialAllowed();
}

TEST_F(DialerTest, NoAgentWithinTheGracePeriodPlaysTheMessageAndCountsAnAbandon) {
  AddCampaign(v1::CAMPAIGN_MODE_POWER);  // 2 lines per free agent
  contacts_->Add(2);
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Minutes(1));
  ASSERT_EQ(port_->placed.size(), 2u);
  // Both answer after 5 s: one reaches the agent, the other waits 2 s and
  // hears the abandon message.
  EXPECT_EQ(port_->messages, std::vector<std::string>{"abandon"});
  EXPECT_EQ(port_->message_keys, std::vector<std::string>{"9"});  // the replica's opt-out key
  auto ended = calls_->Ended();
  ASSERT_EQ(ended.size(), 2u);
  std::multiset<int> outcomes;
  for (const auto& e : ended) outcomes.insert(e.outcome());
  EXPECT_EQ(outcomes, (std::multiset<int>{v1::CALL_OUTCOME_ANSWERED_CONNECTED,
                                          v1::CALL_OUTCOME_ABANDONED}));
  EXPECT_EQ(dialer_->Stats().abandoned, 1);
  for (const auto& e : ended) {
    if (e.outcome() != v1::CALL_OUTCOME_ABANDONED) continue;
    const std::string id = e.call().substr(e.call().rfind('/') + 1);
    auto call = dialer_->GetCall("t1", id);
    ASSERT_TRUE(call.ok());
    // Abandoned: answered, never connected, ended after the grace period.
    EXPECT_GE(FromTimestamp(call->end_time()) - FromTimestamp(call->answer_time()), absl::Seconds(2));
    EXPECT_TRUE(call->agent().empty());
    EXPECT_FALSE(call->awaiting_disposition());
  }
}

TEST_F(DialerTest, OutcomesGoToContactsByTheRetryRules) {
  auto& c = AddCampaign();
  auto* rule = c.add_retries();
  rule->set_outcome(v1::RETRY_OUTCOME_BUSY);
  *rule->mutable_delay() = ToDurationProto(absl::Minutes(30));
  rule->set_max_attempts(3);
  campaigns_->campaigns["t1/c1"] = c;
  contacts_->Add(1);
  json busy = Scenario(0.0, 0.0, 1.0);
  busy["outcomes"]["busy_share"] = 1.0;
  StartDialer(1, busy);
  scheduler_.AdvanceBy(absl::Seconds(20));
  ASSERT_EQ(contacts_->reports.size(), 1u);
  EXPECT_EQ(contacts_->reports[0].kind, contacts::v1::OUTCOME_KIND_RETRY);
  EXPECT_EQ(contacts_->reports[0].outcome, "BUSY");
  // 30 minutes after the busy signal (setup 1 s + 3 s after the dial).
  EXPECT_GE(contacts_->reports[0].next - port_->placed[0].at, absl::Minutes(30));
  EXPECT_LE(contacts_->reports[0].next - port_->placed[0].at, absl::Minutes(30) + absl::Seconds(5));
}

TEST_F(DialerTest, DispositionsReachContactsAndComplianceOnce) {
  AddCampaign();
  contacts_->Add(2);
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(40));
  auto ended = calls_->Ended();
  ASSERT_EQ(ended.size(), 2u);
  const std::string a = ended[0].call().substr(ended[0].call().rfind('/') + 1);
  const std::string b = ended[1].call().substr(ended[1].call().rfind('/') + 1);

  auto unknown = dialer_->SetDisposition("t1", a, "nope", absl::InfinitePast(), "agent");
  EXPECT_EQ(ReasonOf(unknown.status()), "UNKNOWN_DISPOSITION");
  auto no_time = dialer_->SetDisposition("t1", a, "later", absl::InfinitePast(), "agent");
  EXPECT_EQ(ReasonOf(no_time.status()), "FIELD_REQUIRED");
  compliance_->down = true;
  auto down = dialer_->SetDisposition("t1", a, "dnc", absl::InfinitePast(), "agent");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(contacts_->reports.empty());  // nothing half-done
  compliance_->down = false;

  auto dnc = dialer_->SetDisposition("t1", a, "dnc", absl::InfinitePast(), "agent");
  ASSERT_TRUE(dnc.ok()) << dnc.status();
  EXPECT_EQ(dnc->disposition(), "dnc");
  EXPECT_FALSE(dnc->awaiting_disposition());
  EXPECT_EQ(compliance_->opt_outs, std::vector<std::string>{ended[0].phone_number()});
  ASSERT_EQ(contacts_->reports.size(), 1u);
  EXPECT_EQ(contacts_->reports[0].kind, contacts::v1::OUTCOME_KIND_DO_NOT_CALL);
  // The same again answers as it is; another code is refused.
  EXPECT_TRUE(dialer_->SetDisposition("t1", a, "dnc", absl::InfinitePast(), "agent").ok());
  EXPECT_EQ(compliance_->opt_outs.size(), 1u);
  EXPECT_EQ(ReasonOf(dialer_->SetDisposition("t1", a, "sale", absl::InfinitePast(), "agent").status()),
            "CALL_NOT_AWAITING_DISPOSITION");

  const absl::Time at = clock_.Now() + absl::Hours(26);
  auto later = dialer_->SetDisposition("t1", b, "later", at, "agent");
  ASSERT_TRUE(later.ok()) << later.status();
  ASSERT_EQ(contacts_->reports.size(), 2u);
  EXPECT_EQ(contacts_->reports[1].kind, contacts::v1::OUTCOME_KIND_RETRY);
  EXPECT_EQ(contacts_->reports[1].next, at);
  EXPECT_EQ(ReasonOf(dialer_->GetCall("t1", "missing").status()), "CALL_NOT_FOUND");
}

TEST_F(DialerTest, AConnectedCallWithoutDispositionIsClosedAfterTheTimeout) {
  AddCampaign();
  contacts_->Add(1);
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(40));
  ASSERT_EQ(calls_->Ended().size(), 1u);
  EXPECT_TRUE(contacts_->reports.empty());
  scheduler_.AdvanceBy(absl::Minutes(16));
  ASSERT_EQ(contacts_->reports.size(), 1u);
  EXPECT_EQ(contacts_->reports[0].outcome, "NO_DISPOSITION");
}

TEST_F(DialerTest, ACallLeftAwaitingItsDispositionByADeadReplicaIsClosedByAnother) {
  // The replica that ended the call died before its timer fired, and the
  // campaign was stopped since: nobody takes the campaign over, the sweep of
  // any replica closes the call.
  v1::Campaign& c = AddCampaign();
  c.set_state(v1::CAMPAIGN_STATE_STOPPED);
  StoredCall left;
  left.call.set_name("tenants/t1/calls/x1");
  left.call.set_campaign("tenants/t1/campaigns/c1");
  left.call.set_contact("tenants/t1/contactLists/l1/contacts/k1");
  left.call.set_state(v1::CALL_STATE_ENDED);
  left.call.set_awaiting_disposition(true);
  *left.call.mutable_end_time() = ToTimestamp(scheduler_.clock().Now() - absl::Minutes(3));
  left.lease_id = "lease-k1";
  calls_->calls["x1"] = left;
  contacts_->leased[left.call.contact()] = left.lease_id;
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  // Not before its time (15 minutes, plus a sweep period of slack).
  scheduler_.AdvanceBy(absl::Minutes(10));
  EXPECT_TRUE(contacts_->reports.empty());
  EXPECT_TRUE(calls_->calls["x1"].call.awaiting_disposition());
  scheduler_.AdvanceBy(absl::Minutes(6));
  ASSERT_EQ(contacts_->reports.size(), 1u);
  EXPECT_EQ(contacts_->reports[0].outcome, "NO_DISPOSITION");
  EXPECT_FALSE(calls_->calls["x1"].call.awaiting_disposition());
  bool timed_out = false;
  for (const auto& e : calls_->events) {
    v1::CallUpdated u;
    if (e.payload().UnpackTo(&u) && u.step() == "DISPOSITION_TIMED_OUT") timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  // Once: the next sweeps find nothing more to do.
  scheduler_.AdvanceBy(absl::Minutes(3));
  EXPECT_EQ(contacts_->reports.size(), 1u);
}

TEST_F(DialerTest, AReplicaThatLostTheCampaignDialsNoMore) {
  AddCampaign();
  contacts_->Add(100);
  StartDialer(3, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  ASSERT_EQ(port_->placed.size(), 3u);
  // Another replica takes the campaign (our lease lapsed): a new token.
  calls_->owners["t1/c1"] = {++calls_->fence, "r2"};
  scheduler_.AdvanceBy(absl::Minutes(2));
  EXPECT_EQ(port_->placed.size(), 3u);
  EXPECT_GT(dialer_->Stats().fenced, 0);
}

TEST_F(DialerTest, TakeoverEndsWhatTheDeadOwnerLeftOpenWithoutRedialing) {
  AddCampaign();
  // What a dead replica left: one ringing, one answered and waiting for an
  // agent, one connected.
  const char* ids[] = {"ring1", "wait1", "talk1"};
  const v1::CallState states[] = {v1::CALL_STATE_RINGING, v1::CALL_STATE_ANSWERED,
                                  v1::CALL_STATE_CONNECTED};
  for (int i = 0; i < 3; ++i) {
    StoredCall s;
    s.call.set_name(absl::StrCat("tenants/t1/calls/", ids[i]));
    s.call.set_campaign("tenants/t1/campaigns/c1");
    s.call.set_contact(absl::StrCat("tenants/t1/contactLists/l1/contacts/old", i));
    s.call.set_phone_number("+13125550000");
    s.call.set_state(states[i]);
    *s.call.mutable_dial_time() = ToTimestamp(clock_.Now() - absl::Seconds(20));
    if (i > 0) *s.call.mutable_answer_time() = ToTimestamp(clock_.Now() - absl::Seconds(5));
    if (i == 2) s.call.set_agent("tenants/t1/agents/a0");
    s.lease_id = absl::StrCat("old-lease-", i);
    contacts_->leased[s.call.contact()] = s.lease_id;
    calls_->calls[ids[i]] = s;
  }
  // And a contact it had leased but not dialed yet: dialed here, once.
  contacts_->Add(1, "+1415555");
  auto left = contacts_->Lease("l1", 1, "r0", absl::Hours(1));
  ASSERT_TRUE(left.ok());
  calls_->hopper["c1|" + (*left)[0].contact.name()] = (*left)[0];
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  agents_->holder["tenants/t1/agents/a0"] = "tenants/t1/calls/talk1";
  scheduler_.AdvanceBy(absl::Seconds(2));
  EXPECT_EQ(dialer_->Stats().reconciled, 3);
  std::map<std::string, int> outcome;
  for (const auto& e : calls_->Ended()) outcome[e.call()] = e.outcome();
  EXPECT_EQ(outcome["tenants/t1/calls/ring1"], v1::CALL_OUTCOME_FAILED);
  EXPECT_EQ(outcome["tenants/t1/calls/wait1"], v1::CALL_OUTCOME_ABANDONED);
  EXPECT_EQ(outcome["tenants/t1/calls/talk1"], v1::CALL_OUTCOME_ANSWERED_CONNECTED);
  EXPECT_TRUE(calls_->calls["talk1"].call.awaiting_disposition());
  EXPECT_EQ(agents_->ended, std::vector<std::string>{"tenants/t1/calls/talk1"});
  for (const auto& p : port_->placed) EXPECT_NE(p.to, "+13125550000");  // never redialed
  // Ringing and abandoned reported; the connected waits for its disposition.
  EXPECT_EQ(contacts_->reports.size(), 2u);
  scheduler_.AdvanceBy(absl::Minutes(1));
  ASSERT_EQ(port_->placed.size(), 1u);
  EXPECT_EQ(port_->placed[0].to, "+14155551000");
  EXPECT_TRUE(calls_->hopper.empty());
}

TEST_F(DialerTest, ACallerIdLabelledAsSpamIsRestedAndStaysRestedAfterATakeover) {
  AddCampaign();  // pool: +14155550100, +13125550100
  const std::string labelled = "+13125550100";
  answer_factor_[labelled] = 0.1;  // its live answers drop from 40 % to 4 %
  contacts_->Add(900, "+1202555");  // no local number: the pool rotates
  StartDialer(10, Scenario(0.4, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Minutes(20));
  ASSERT_EQ(dialer_->Stats().caller_ids_rested, 1);
  ASSERT_EQ(calls_->EventTypes("dialgrid.dialing.v1.CallerIdRested").size(), 1u);
  const v1::CallerIdStatus kept = calls_->caller_ids["c1"][labelled];
  ASSERT_TRUE(kept.has_resting_until());
  EXPECT_EQ(FromTimestamp(kept.resting_until()) - clock_.Now() <= absl::Hours(24), true);
  EXPECT_GT(calls_->caller_ids["c1"]["+14155550100"].attempts(), 100);  // the counts are kept too
  // The supervisor's view shows the pool's health.
  scheduler_.AdvanceBy(absl::Seconds(5));
  auto progress = dialer_->Progress("t1", "c1");
  ASSERT_TRUE(progress.ok()) << progress.status();
  ASSERT_EQ(progress->caller_ids_size(), 2);
  EXPECT_EQ(progress->caller_ids(1).caller_id(), labelled);
  EXPECT_TRUE(progress->caller_ids(1).has_resting_until());
  // It keeps the figures that rested it while it rests.
  EXPECT_GE(progress->caller_ids(1).attempts(), 100.0);
  EXPECT_LT(progress->caller_ids(1).answer_rate(), progress->caller_ids(0).answer_rate());
  EXPECT_FALSE(progress->caller_ids(0).has_resting_until());

  // The replica dies; another takes the campaign over: the number stays
  // rested there (it would be presented at every other dial otherwise).
  dialer_->Stop();
  carrier_.reset();
  dialer_.reset();
  calls_->owners.clear();
  const size_t before = port_->placed.size();
  auto old_port = std::move(port_);
  auto old_agents = agents_;  // its wrap-up timers may still run
  StartDialer(10, Scenario(0.4, 0.0, 0.0), "r2");
  scheduler_.AdvanceBy(absl::Minutes(5));
  ASSERT_GT(port_->placed.size(), 20u);
  for (const auto& p : port_->placed) EXPECT_NE(p.caller_id, labelled) << p.attempt;
  EXPECT_GT(before, 0u);
}

TEST_F(DialerTest, ARestWhoseWriteFailedIsStoredWithItsEventOnceRedisIsBack) {
  AddCampaign();
  const std::string labelled = "+13125550100";
  answer_factor_[labelled] = 0.1;
  contacts_->Add(900, "+1202555");
  StartDialer(10, Scenario(0.4, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(10));  // claimed, health read
  calls_->caller_ids_down = true;           // every caller-ID write fails from now
  scheduler_.AdvanceBy(absl::Minutes(20));
  ASSERT_EQ(dialer_->Stats().caller_ids_rested, 1);
  EXPECT_TRUE(calls_->EventTypes("dialgrid.dialing.v1.CallerIdRested").empty());
  EXPECT_FALSE(calls_->caller_ids["c1"][labelled].has_resting_until());
  calls_->caller_ids_down = false;
  scheduler_.AdvanceBy(absl::Seconds(5));  // the next progress write
  EXPECT_EQ(calls_->EventTypes("dialgrid.dialing.v1.CallerIdRested").size(), 1u);
  EXPECT_TRUE(calls_->caller_ids["c1"][labelled].has_resting_until());
  scheduler_.AdvanceBy(absl::Seconds(5));  // sent once, not at every write
  EXPECT_EQ(calls_->EventTypes("dialgrid.dialing.v1.CallerIdRested").size(), 1u);
}

TEST_F(DialerTest, ACallerIdRestedByHandIsNotPresentedUntilItsRestEnds) {
  AddCampaign();  // pool: +14155550100, +13125550100
  const std::string flagged = "+13125550100";
  contacts_->Add(900, "+1202555");  // no local number: the pool rotates
  StartDialer(10, Scenario(0.4, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(30));
  // Not in the pool; the campaign of another replica (not claimed here).
  EXPECT_EQ(ReasonOf(dialer_->SetCallerIdRest("t1", "c1", "+19995550100", absl::Hours(1), "x", "k")
                         .status()),
            "CALLER_ID_NOT_IN_POOL");
  EXPECT_EQ(ReasonOf(dialer_->SetCallerIdRest("t1", "c9", flagged, absl::Hours(1), "x", "k")
                         .status()),
            "CAMPAIGN_NOT_FOUND");
  // Redis down: refused, nothing changed.
  calls_->caller_ids_down = true;
  EXPECT_FALSE(dialer_->SetCallerIdRest("t1", "c1", flagged, absl::Hours(1), "x", "k").ok());
  calls_->caller_ids_down = false;
  auto rested = dialer_->SetCallerIdRest("t1", "c1", flagged, absl::Hours(1),
                                         "carrier label: Spam Likely", "tenants/t1/credentials/k");
  ASSERT_TRUE(rested.ok()) << rested.status();
  EXPECT_EQ(FromTimestamp(rested->resting_until()), clock_.Now() + absl::Hours(1));
  EXPECT_TRUE(calls_->caller_ids["c1"][flagged].has_resting_until());  // stored
  const auto events = calls_->EventTypes("dialgrid.dialing.v1.CallerIdRested");
  ASSERT_EQ(events.size(), 1u);
  v1::CallerIdRested e;
  for (const auto& env : calls_->events) {
    if (env.payload().UnpackTo(&e)) break;
  }
  EXPECT_EQ(e.reason(), "carrier label: Spam Likely");
  EXPECT_EQ(e.actor(), "tenants/t1/credentials/k");
  // The last number not resting cannot be rested.
  EXPECT_EQ(ReasonOf(dialer_->SetCallerIdRest("t1", "c1", "+14155550100", absl::Hours(1), "x", "k")
                         .status()),
            "LAST_CALLER_ID");
  const size_t before = port_->placed.size();
  scheduler_.AdvanceBy(absl::Minutes(10));
  ASSERT_GT(port_->placed.size(), before + 20);
  for (size_t i = before; i < port_->placed.size(); ++i) {
    EXPECT_NE(port_->placed[i].caller_id, flagged) << port_->placed[i].attempt;
  }
  // Ended by hand: presented again.
  auto ended = dialer_->SetCallerIdRest("t1", "c1", flagged, absl::ZeroDuration(), "label removed",
                                        "tenants/t1/credentials/k");
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_FALSE(ended->has_resting_until());
  EXPECT_EQ(calls_->EventTypes("dialgrid.dialing.v1.CallerIdRestEnded").size(), 1u);
  const size_t after = port_->placed.size();
  scheduler_.AdvanceBy(absl::Minutes(5));
  int presented = 0;
  for (size_t i = after; i < port_->placed.size(); ++i) presented += port_->placed[i].caller_id == flagged;
  EXPECT_GT(presented, 5);
}

TEST_F(DialerTest, ACampaignWhoseCallerIdHealthCannotBeReadIsNotTaken) {
  AddCampaign();
  contacts_->Add(10);
  calls_->caller_ids_down = true;
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(10));
  EXPECT_TRUE(port_->placed.empty());
  calls_->caller_ids_down = false;
  scheduler_.AdvanceBy(absl::Seconds(10));
  EXPECT_FALSE(port_->placed.empty());
}

TEST_F(DialerTest, ADryHopperIsAnEventAndDialingResumesWhenContactsCome) {
  AddCampaign();
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(5));
  EXPECT_EQ(calls_->EventTypes("dialgrid.dialing.v1.CampaignHopperChanged").size(), 1u);
  EXPECT_EQ(dialer_->Stats().hopper_dry, 1);
  contacts_->Add(2);
  scheduler_.AdvanceBy(absl::Seconds(5));
  EXPECT_EQ(port_->placed.size(), 2u);
  // Dry, refilled (the two dialed), dry again.
  std::vector<bool> empty;
  for (const auto& e : calls_->events) {
    v1::CampaignHopperChanged h;
    if (e.payload().UnpackTo(&h)) empty.push_back(h.empty());
  }
  EXPECT_EQ(empty, (std::vector<bool>{true, false, true}));
}

TEST_F(DialerTest, AttemptsAmdScreensReportItsFalsePositiveRateForTheAbandonLedger) {
  AddCampaign();
  auto& campaign = campaigns_->campaigns["t1/c1"];
  campaign.mutable_machine()->set_detect(true);  // no estimate of its own
  ++campaigns_->version;
  contacts_->Add(40);
  StartDialer(4, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Minutes(2));
  auto ended = calls_->Ended();
  ASSERT_FALSE(ended.empty());
  for (const auto& e : ended) EXPECT_DOUBLE_EQ(e.amd_false_positive_rate(), 0.03) << e.call();
  // The campaign's own estimate, once it has one; none without AMD.
  campaign.mutable_machine()->set_false_positive_rate(0.01);
  ++campaigns_->version;
  scheduler_.AdvanceBy(absl::Seconds(5));  // the settings reach the runner
  const size_t before = calls_->Ended().size();
  scheduler_.AdvanceBy(absl::Minutes(2));
  ended = calls_->Ended();
  ASSERT_GT(ended.size(), before);
  for (size_t i = before; i < ended.size(); ++i) {
    if (absl::ToUnixSeconds(FromTimestamp(ended[i].dial_time())) <
        absl::ToUnixSeconds(clock_.Now() - absl::Minutes(1))) {
      continue;  // dialed before the change
    }
    EXPECT_DOUBLE_EQ(ended[i].amd_false_positive_rate(), 0.01) << ended[i].call();
  }
  campaign.mutable_machine()->set_detect(false);
  campaign.mutable_machine()->set_false_positive_rate(0);
  ++campaigns_->version;
  scheduler_.AdvanceBy(absl::Seconds(5));
  const size_t off = calls_->Ended().size();
  scheduler_.AdvanceBy(absl::Minutes(2));
  ended = calls_->Ended();
  ASSERT_GT(ended.size(), off);
  EXPECT_DOUBLE_EQ(ended.back().amd_false_positive_rate(), 0.0);
}

TEST_F(DialerTest, APausedCampaignStopsDialingAndGivesItsHopperBack) {
  AddCampaign();
  contacts_->Add(30);
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  ASSERT_EQ(port_->placed.size(), 2u);
  campaigns_->campaigns["t1/c1"].set_state(v1::CAMPAIGN_STATE_PAUSED);
  ++campaigns_->version;
  scheduler_.AdvanceBy(absl::Minutes(3));
  EXPECT_EQ(port_->placed.size(), 2u);
  int released = 0;
  for (const auto& r : contacts_->reports) released += r.kind == contacts::v1::OUTCOME_KIND_RELEASED;
  EXPECT_GT(released, 0);
  EXPECT_TRUE(contacts_->leased.size() <= 2u);  // only the two calls' contacts (awaiting disposition)
}

namespace dialgrid::dialing {
namespace {

// The predictive engine live: 10 agents, 25 % live answers, two hours of
// virtual time. Abandons stay under the 3 % cap and the engine dials more
// lines than free agents.
TEST_F(DialerTest, PredictiveKeepsAbandonsUnderTheCapAndDialsAhead) {
  AddCampaign(v1::CAMPAIGN_MODE_PREDICTIVE);
  contacts_->Add(20000);
  StartDialer(10, Scenario(0.25, 0.0, 0.15));
  agents_->wrap = absl::Seconds(10);
  scheduler_.AdvanceBy(absl::Hours(2));
  int live = 0, abandoned = 0;
  for (const auto& e : calls_->Ended()) {
    live += e.outcome() == v1::CALL_OUTCOME_ANSWERED_CONNECTED ||
            e.outcome() == v1::CALL_OUTCOME_ABANDONED;
    abandoned += e.outcome() == v1::CALL_OUTCOME_ABANDONED;
  }
  std::cout << "predictive, 10 agents, 2 h: placed " << port_->placed.size() << ", live answers "
            << live << ", abandoned " << abandoned << "\n";
  ASSERT_GT(live, 500);
  EXPECT_LE(static_cast<double>(abandoned) / live, 0.03) << abandoned << " of " << live;
  // Progressive would place at most one call per agent cycle (~ 20 s talk +
  // 10 s wrap + ring): about 10 * 7200 / 40 / 0.25 ~ 7,200 with a 25 %
  // answer rate only if it dialed ahead; it cannot exceed one line per agent.
  EXPECT_GT(static_cast<double>(port_->placed.size()), 2.0 * live);
  ExpectEveryDialAllowed();
}

}  // namespace
}  // namespace dialgrid::dialing

namespace dialgrid::dialing {
namespace {

// Compliance refuses predictive dials for the campaign's abandon rate: the
// contacts are not used up; the campaign dials progressively (asked as such)
// and no more lines than free agents.
TEST_F(DialerTest, OverTheAbandonCapTheCampaignDialsProgressivelyAndKeepsItsContacts) {
  AddCampaign(v1::CAMPAIGN_MODE_PREDICTIVE);
  contacts_->Add(30);
  compliance_->abandon_rate_exceeded = true;
  StartDialer(3, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  ASSERT_EQ(port_->placed.size(), 3u);  // one per free agent
  for (const auto& r : contacts_->reports) {
    EXPECT_FALSE(absl::StartsWith(r.outcome, "NOT_ALLOWED")) << r.contact << " " << r.outcome;
  }
  ExpectEveryDialAllowed();
  EXPECT_EQ(compliance_->modes.front(), type::v1::DIALING_MODE_PREDICTIVE);
  EXPECT_EQ(compliance_->modes.back(), type::v1::DIALING_MODE_PROGRESSIVE);
  scheduler_.AdvanceBy(absl::Minutes(2));
  EXPECT_EQ(dialer_->Stats().abandoned, 0);
  EXPECT_GT(port_->placed.size(), 6u);
  int not_allowed = 0;
  for (const auto& r : contacts_->reports) not_allowed += absl::StartsWith(r.outcome, "NOT_ALLOWED");
  EXPECT_EQ(not_allowed, 0);
}

}  // namespace
}  // namespace dialgrid::dialing

namespace dialgrid::dialing {
namespace {

// The tenant's max_concurrent_lines holds across its calls: a POWER campaign
// that would dial more waits, the attempts it could not place are reported
// to compliance as NOT_PLACED, and no contact is used up.
TEST_F(DialerTest, TheTenantsConcurrentLineQuotaIsNeverExceeded) {
  AddCampaign(v1::CAMPAIGN_MODE_POWER);  // 2 lines per free agent
  contacts_->Add(40);
  StartDialer(4, Scenario(0.0, 0.0, 0.0), "r1", /*tenant_lines=*/3);  // all ring out
  scheduler_.AdvanceBy(absl::Minutes(2));
  EXPECT_LE(calls_->peak_lines, 3u);
  EXPECT_GE(calls_->peak_lines, 3u);
  EXPECT_GT(dialer_->Stats().line_quota, 0);
  int not_placed = 0;
  for (const auto& e : calls_->Ended()) not_placed += e.outcome() == v1::CALL_OUTCOME_NOT_PLACED;
  EXPECT_EQ(not_placed, dialer_->Stats().line_quota);
  for (const auto& r : contacts_->reports) EXPECT_NE(r.outcome, "NOT_PLACED") << r.contact;
  ExpectEveryDialAllowed();
}

}  // namespace
}  // namespace dialgrid::dialing

// --- Agents' own dials: every one through CheckDial ------------------------

TEST_F(DialerTest, APreviewIsDialedOnlyAfterAnAllowedDecisionWithItsAgentOnTheLine) {
  AddCampaign(v1::CAMPAIGN_MODE_PREVIEW);
  contacts_->Add(5);
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  EXPECT_TRUE(port_->placed.empty());  // a PREVIEW campaign dials nothing by itself
  const std::string agent = "tenants/t1/agents/a1";
  auto preview = dialer_->PreviewContact("t1", "c1", agent);
  ASSERT_TRUE(preview.ok()) << preview.status();
  EXPECT_EQ(preview->call.state(), v1::CALL_STATE_PREVIEW);
  EXPECT_EQ(preview->call.agent(), agent);
  EXPECT_EQ(preview->call.contact(), preview->contact.name());
  // Asked again (a retry): the same preview, not a second contact.
  auto again = dialer_->PreviewContact("t1", "c1", agent);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->call.name(), preview->call.name());
  // Held for the agent: out of the hopper, no line taken, nothing checked yet.
  EXPECT_TRUE(compliance_->checks.empty());
  const std::string id = preview->call.name().substr(preview->call.name().rfind('/') + 1);
  EXPECT_EQ(calls_->calls[id].call.state(), v1::CALL_STATE_PREVIEW);

  auto dialed = dialer_->DialPreview("t1", id);
  ASSERT_TRUE(dialed.ok()) << dialed.status();
  EXPECT_EQ(dialed->state(), v1::CALL_STATE_DIALING);
  ASSERT_EQ(port_->placed.size(), 1u);
  ASSERT_EQ(compliance_->modes.size(), 1u);
  EXPECT_EQ(compliance_->modes[0], type::v1::DIALING_MODE_PREVIEW);
  ExpectEveryDialAllowed();
  // The agent is on the call from the dial; a second dial of it is refused.
  EXPECT_EQ(agents_->agents[agent].first, State::STATE_ON_CALL);
  EXPECT_EQ(ReasonOf(dialer_->DialPreview("t1", id).status()), "CALL_NOT_IN_PREVIEW");
  scheduler_.AdvanceBy(absl::Minutes(2));
  auto ended = calls_->Ended();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].outcome(), v1::CALL_OUTCOME_ANSWERED_CONNECTED);
  EXPECT_EQ(ended[0].dialing_mode(), type::v1::DIALING_MODE_PREVIEW);
  EXPECT_EQ(agents_->ended, std::vector<std::string>{preview->call.name()});
  EXPECT_EQ(dialer_->Stats().abandoned, 0);
  EXPECT_EQ(port_->placed.size(), 1u);  // still nothing dialed by the pacer
  auto disposed = dialer_->SetDisposition("t1", id, "sale", absl::InfinitePast(), "agent");
  ASSERT_TRUE(disposed.ok()) << disposed.status();
  ASSERT_FALSE(contacts_->reports.empty());
  EXPECT_EQ(contacts_->reports.back().contact, preview->contact.name());
}

TEST_F(DialerTest, ARefusedPreviewIsNotDialedAndTheContactWaitsForTheAllowedTime) {
  AddCampaign(v1::CAMPAIGN_MODE_PREVIEW);
  contacts_->Add(1);
  compliance_->denied.insert("+13125551000");
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  auto preview = dialer_->PreviewContact("t1", "c1", "tenants/t1/agents/a0");
  ASSERT_TRUE(preview.ok()) << preview.status();
  const std::string id = preview->call.name().substr(preview->call.name().rfind('/') + 1);
  auto dialed = dialer_->DialPreview("t1", id);
  EXPECT_EQ(ReasonOf(dialed.status()), "DIAL_NOT_ALLOWED");
  EXPECT_NE(dialed.status().message().find("OUTSIDE_CALLING_HOURS"), std::string::npos);
  EXPECT_TRUE(port_->placed.empty());
  EXPECT_EQ(calls_->calls[id].call.state(), v1::CALL_STATE_ENDED);
  ASSERT_EQ(contacts_->reports.size(), 1u);
  EXPECT_EQ(contacts_->reports[0].kind, contacts::v1::OUTCOME_KIND_RETRY);
  EXPECT_EQ(contacts_->reports[0].next, compliance_->checks[0].at + absl::Hours(3));
  // The agent was never taken.
  EXPECT_EQ(agents_->agents["tenants/t1/agents/a0"].first, State::STATE_READY);
}

TEST_F(DialerTest, ComplianceDownMeansAPreviewIsNotDialedAndStaysWithItsAgent) {
  AddCampaign(v1::CAMPAIGN_MODE_PREVIEW);
  contacts_->Add(1);
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  auto preview = dialer_->PreviewContact("t1", "c1", "tenants/t1/agents/a0");
  ASSERT_TRUE(preview.ok()) << preview.status();
  const std::string id = preview->call.name().substr(preview->call.name().rfind('/') + 1);
  compliance_->down = true;
  EXPECT_EQ(ReasonOf(dialer_->DialPreview("t1", id).status()), "NO_DECISION");
  EXPECT_TRUE(port_->placed.empty());
  compliance_->down = false;
  ASSERT_TRUE(dialer_->DialPreview("t1", id).ok());
  EXPECT_EQ(port_->placed.size(), 1u);
  ExpectEveryDialAllowed();
}

TEST_F(DialerTest, ASkippedOrTimedOutPreviewGoesBackUndialed) {
  AddCampaign(v1::CAMPAIGN_MODE_PREVIEW);
  contacts_->Add(2);
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  auto first = dialer_->PreviewContact("t1", "c1", "tenants/t1/agents/a0");
  ASSERT_TRUE(first.ok());
  const std::string id = first->call.name().substr(first->call.name().rfind('/') + 1);
  auto skipped = dialer_->SkipPreview("t1", id, "wrong product");
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ(skipped->outcome(), v1::CALL_OUTCOME_NOT_PLACED);
  ASSERT_EQ(contacts_->reports.size(), 1u);
  EXPECT_EQ(contacts_->reports[0].kind, contacts::v1::OUTCOME_KIND_RELEASED);
  EXPECT_EQ(ReasonOf(dialer_->SkipPreview("t1", id, "").status()), "CALL_NOT_IN_PREVIEW");
  // Another agent previews and walks away: skipped after the timeout.
  auto second = dialer_->PreviewContact("t1", "c1", "tenants/t1/agents/a1");
  ASSERT_TRUE(second.ok());
  scheduler_.AdvanceBy(absl::Minutes(3));
  ASSERT_EQ(contacts_->reports.size(), 2u);
  EXPECT_EQ(contacts_->reports[1].outcome, "PREVIEW_TIMED_OUT");
  EXPECT_TRUE(port_->placed.empty());
  EXPECT_TRUE(compliance_->checks.empty());  // no dial, no attempt
  // Preview is for PREVIEW campaigns; the agent must be ready to dial.
  EXPECT_EQ(dialer_->Stats().previews_skipped, 2);
}

TEST_F(DialerTest, AManualDialIsCheckedAsManualAndRefusedWhenCompliancesSaysNo) {
  AddCampaign(v1::CAMPAIGN_MODE_PREDICTIVE);
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  EXPECT_EQ(ReasonOf(dialer_->PreviewContact("t1", "c1", "tenants/t1/agents/a0").status()),
            "NOT_PREVIEW_CAMPAIGN");
  compliance_->denied.insert("+13125550123");
  auto refused = dialer_->ManualDial("t1", "c1", "tenants/t1/agents/a0", "+13125550123", "");
  EXPECT_EQ(ReasonOf(refused.status()), "DIAL_NOT_ALLOWED");
  EXPECT_TRUE(port_->placed.empty());
  EXPECT_EQ(agents_->agents["tenants/t1/agents/a0"].first, State::STATE_READY);
  compliance_->down = true;
  EXPECT_EQ(ReasonOf(dialer_->ManualDial("t1", "c1", "tenants/t1/agents/a0", "+13125550124", "")
                         .status()),
            "NO_DECISION");
  EXPECT_TRUE(port_->placed.empty());
  compliance_->down = false;
  auto call = dialer_->ManualDial("t1", "c1", "tenants/t1/agents/a0", "+13125550124", "");
  ASSERT_TRUE(call.ok()) << call.status();
  ASSERT_EQ(port_->placed.size(), 1u);
  EXPECT_EQ(compliance_->modes.back(), type::v1::DIALING_MODE_MANUAL);
  ExpectEveryDialAllowed();
  // The agent is busy with it: a second manual dial by it is refused by agent state.
  EXPECT_EQ(ReasonOf(dialer_->ManualDial("t1", "c1", "tenants/t1/agents/a0", "+13125550125", "")
                         .status()),
            "AGENT_NOT_READY");
  EXPECT_EQ(port_->placed.size(), 1u);
  scheduler_.AdvanceBy(absl::Minutes(2));
  bool ended = false;
  for (const auto& e : calls_->Ended()) {
    if (e.call() == call->name()) {
      ended = true;
      EXPECT_EQ(e.dialing_mode(), type::v1::DIALING_MODE_MANUAL);
      EXPECT_EQ(e.outcome(), v1::CALL_OUTCOME_ANSWERED_CONNECTED);
    }
  }
  EXPECT_TRUE(ended);
  ExpectEveryDialAllowed();
}

TEST_F(DialerTest, AnAgentDialOnAReplicaThatDoesNotOwnTheCampaignIsRetryable) {
  AddCampaign(v1::CAMPAIGN_MODE_PREVIEW);
  contacts_->Add(1);
  calls_->owners["t1/c1"] = {++calls_->fence, "other"};
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  EXPECT_EQ(ReasonOf(dialer_->PreviewContact("t1", "c1", "tenants/t1/agents/a0").status()),
            "NOT_CAMPAIGN_OWNER");
  EXPECT_EQ(ReasonOf(dialer_->ManualDial("t1", "c1", "tenants/t1/agents/a0", "+13125550124", "")
                         .status()),
            "NOT_CAMPAIGN_OWNER");
  EXPECT_TRUE(port_->placed.empty());
  EXPECT_TRUE(compliance_->checks.empty());
  // Where the owner serves, for the server to forward the call there: none
  // advertised yet, then its address; nothing for a campaign this replica owns.
  auto where = dialer_->OwnerAddress("t1", "c1");
  ASSERT_TRUE(where.ok()) << where.status();
  EXPECT_EQ(*where, "");
  calls_->addresses["other"] = "10.0.0.7:7005";
  EXPECT_EQ(*dialer_->OwnerAddress("t1", "c1"), "10.0.0.7:7005");
  calls_->owners["t1/c1"].second = "r1";
  EXPECT_EQ(*dialer_->OwnerAddress("t1", "c1"), "");
}

TEST_F(DialerTest, RunningCampaignsAreSpreadOverTheLiveReplicas) {
  AddThreeCampaigns();  // c1, c2, c3
  // Another replica is alive (it advertised): this one takes 2 of the 3
  // campaigns (its share rounded up), the third waits for the other.
  calls_->addresses["other"] = "10.0.0.7:7005";
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  EXPECT_EQ(dialer_->Stats().owned_campaigns, 2);
  int ours = 0;
  for (const auto& [campaign, owner] : calls_->owners) ours += owner.second == "r1";
  EXPECT_EQ(ours, 2);
  EXPECT_EQ(calls_->addresses.count("r1"), 1u);  // it advertised itself too
  // The other replica is gone (its entry expired): this one takes the rest.
  calls_->addresses.erase("other");
  scheduler_.AdvanceBy(absl::Seconds(3));
  EXPECT_EQ(dialer_->Stats().owned_campaigns, 3);
}

TEST_F(DialerTest, AReplicaOverItsShareHandsACampaignOffAndLeavesNoneStranded) {
  AddThreeCampaigns();  // c1, c2, c3
  contacts_->Add(1000);
  StartDialer(3, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  ASSERT_EQ(dialer_->Stats().owned_campaigns, 3);  // alone: all of them
  EXPECT_EQ(dialer_->Stats().hopper_dry, 0);
  // A second replica comes up: the share is 2. One campaign stops dialing
  // and, once its calls have ended (talk 20 s), its lease goes.
  calls_->addresses["other"] = "10.0.0.7:7005";
  scheduler_.AdvanceBy(absl::Seconds(2));
  EXPECT_EQ(dialer_->Stats().handoffs, 1);
  for (int s = 0; s < 60 && dialer_->Stats().owned_campaigns > 2; ++s) {
    scheduler_.AdvanceBy(absl::Seconds(1));
  }
  ASSERT_EQ(dialer_->Stats().owned_campaigns, 2);
  std::string let_go;
  for (const auto& [campaign, owner] : calls_->owners) {
    if (owner.second.empty()) let_go = campaign;
  }
  ASSERT_FALSE(let_go.empty());
  const std::string let_go_name = "tenants/t1/campaigns/" + let_go.substr(3);
  // Let go, it is not dialed here any more, nor taken back at once; its
  // calls all ended here, and the other two campaigns dial on.
  for (const auto& [id, c] : calls_->calls) {
    if (c.call.campaign() == let_go_name) {
      EXPECT_EQ(c.call.state(), v1::CALL_STATE_ENDED) << id;
    }
  }
  std::set<std::string> before;
  for (const auto& c : calls_->calls) before.insert(c.first);
  scheduler_.AdvanceBy(absl::Seconds(25));
  for (const auto& [id, c] : calls_->calls) {
    if (before.count(id) == 0) {
      EXPECT_NE(c.call.campaign(), let_go_name) << id;
    }
  }
  EXPECT_EQ(dialer_->Stats().owned_campaigns, 2);
  EXPECT_EQ(dialer_->Stats().rescued, 0);
  // The other replica never claims it (alive but unable): 30 s after it
  // was let go this one takes it over its share, and then hands nothing
  // off for 5 minutes (no hand-off and rescue loop).
  scheduler_.AdvanceBy(absl::Seconds(6));
  EXPECT_EQ(dialer_->Stats().owned_campaigns, 3);
  EXPECT_EQ(dialer_->Stats().rescued, 1);
  EXPECT_EQ(calls_->owners[let_go].second, "r1");
  scheduler_.AdvanceBy(absl::Minutes(4));
  EXPECT_EQ(dialer_->Stats().owned_campaigns, 3);
  EXPECT_EQ(dialer_->Stats().handoffs, 1);
  std::set<std::string> dialed_since;
  for (const auto& [id, c] : calls_->calls) {
    if (before.count(id) == 0) dialed_since.insert(c.call.campaign());
  }
  EXPECT_EQ(dialed_since.size(), 3u);  // the other two dialed on, and it again
  // Every outcome reached contacts under the lease it was dialed with.
  EXPECT_FALSE(contacts_->reports.empty());
  EXPECT_EQ(contacts_->refused, 0);
  ExpectEveryDialAllowed();
}

TEST_F(DialerTest, ADebtCollectionCallNamesItsDebtToComplianceAndIsNotDialedWithoutOne) {
  v1::Campaign& c = AddCampaign();
  c.set_purpose(type::v1::CALL_PURPOSE_DEBT_COLLECTION);
  c.set_debt_attribute("account");
  c.set_product("auto-loan");
  contacts_->Add(2);
  (*contacts_->queue[0].mutable_attributes())["account"] = "ACC-1001";
  (*contacts_->queue[1].mutable_attributes())["account"] = "no spaces allowed";
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Minutes(1));
  // One call, about ACC-1001, asked as debt collection; the other contact
  // was never asked about nor dialed.
  ASSERT_EQ(compliance_->requests.size(), 1u);
  EXPECT_EQ(compliance_->requests[0].purpose(), type::v1::CALL_PURPOSE_DEBT_COLLECTION);
  EXPECT_EQ(compliance_->requests[0].product(), "auto-loan");
  EXPECT_EQ(compliance_->requests[0].debt(), "ACC-1001");
  ASSERT_EQ(port_->placed.size(), 1u);
  auto ended = calls_->Ended();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].debt(), "ACC-1001");  // compliance's Reg F ledger reads it
  bool no_debt = false;
  for (const auto& r : contacts_->reports) {
    if (r.outcome == "NOT_ALLOWED_NO_DEBT") {
      no_debt = true;
      EXPECT_EQ(r.kind, contacts::v1::OUTCOME_KIND_RETRY);
    }
  }
  EXPECT_TRUE(no_debt);
  // A manual dial of such a campaign names its debt.
  EXPECT_EQ(ReasonOf(dialer_->ManualDial("t1", "c1", "tenants/t1/agents/a1", "+13125550124", "")
                         .status()),
            "DEBT_REQUIRED");
  EXPECT_EQ(port_->placed.size(), 1u);
}

TEST_F(DialerTest, AnAgentlessCampaignPlaysItsMessageWithNoAgentsAndAbandonsNothing) {
  AddAgentlessCampaign(4);
  contacts_->Add(12);
  StartDialer(0, Scenario(1.0, 0.0, 0.0));
  agents_->down = true;  // no agents are needed: agent state is not asked
  scheduler_.AdvanceBy(absl::Seconds(2));
  EXPECT_EQ(port_->placed.size(), 4u);  // max_lines at once
  scheduler_.AdvanceBy(absl::Minutes(5));
  EXPECT_EQ(port_->placed.size(), 12u);
  ExpectEveryDialAllowed();
  for (auto m : compliance_->modes) EXPECT_EQ(m, type::v1::DIALING_MODE_AGENTLESS);
  auto ended = calls_->Ended();
  ASSERT_EQ(ended.size(), 12u);
  for (const auto& e : ended) EXPECT_EQ(e.outcome(), v1::CALL_OUTCOME_MESSAGE_PLAYED);
  EXPECT_EQ(std::count(port_->messages.begin(), port_->messages.end(), "renewal-reminder"), 12);
  EXPECT_EQ(dialer_->Stats().abandoned, 0);
  EXPECT_EQ(dialer_->Stats().messages, 12);
  for (const auto& r : contacts_->reports) {
    EXPECT_EQ(r.kind, contacts::v1::OUTCOME_KIND_COMPLETED);
    EXPECT_EQ(r.outcome, "MESSAGE_PLAYED");
  }
}

// The automated opt-out: callees of an agentless campaign who press the key
// during the message go on the tenant's do-not-call list at once, the call
// is hung up, the contact leaves the campaign as do-not-call; the others
// hear the message to its end.
TEST_F(DialerTest, TheOptOutKeyDuringAnAgentlessMessagePutsTheNumberOnTheDoNotCallList) {
  AddAgentlessCampaign(4);
  contacts_->Add(40);
  opt_out_share_ = 0.5;
  StartDialer(0, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Minutes(10));
  auto ended = calls_->Ended();
  ASSERT_EQ(ended.size(), 40u);
  for (const auto& e : ended) EXPECT_EQ(e.outcome(), v1::CALL_OUTCOME_MESSAGE_PLAYED);
  std::vector<std::string> opted_out;
  for (const auto& [id, stored] : calls_->calls) {
    if (stored.call.opted_out()) opted_out.push_back(stored.call.phone_number());
  }
  // About half of them (the carrier's draw per callee), each recorded once.
  EXPECT_GE(opted_out.size(), 10u);
  EXPECT_LE(opted_out.size(), 30u);
  std::vector<std::string> recorded = compliance_->opt_outs;
  std::sort(recorded.begin(), recorded.end());
  std::sort(opted_out.begin(), opted_out.end());
  EXPECT_EQ(recorded, opted_out);
  EXPECT_EQ(dialer_->Stats().opted_out, static_cast<int64_t>(opted_out.size()));
  int dnc = 0, completed = 0;
  for (const auto& r : contacts_->reports) {
    if (r.kind == contacts::v1::OUTCOME_KIND_DO_NOT_CALL) {
      ++dnc;
      EXPECT_EQ(r.outcome, "OPTED_OUT");
    } else {
      ++completed;
      EXPECT_EQ(r.kind, contacts::v1::OUTCOME_KIND_COMPLETED);
    }
  }
  EXPECT_EQ(dnc, static_cast<int>(opted_out.size()));
  EXPECT_EQ(completed, 40 - dnc);
}

// A campaign's own opt-out key: its messages offer it (the callee presses
// what the message says) and that key puts the number on the list.
TEST_F(DialerTest, ACampaignsOwnOptOutKeyIsTheOneItsMessagesOfferAndHonour) {
  v1::Campaign& c = AddAgentlessCampaign(2);
  c.set_opt_out_key("#");
  contacts_->Add(4);
  opt_out_share_ = 1.0;
  StartDialer(0, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Minutes(3));
  ASSERT_EQ(calls_->Ended().size(), 4u);
  EXPECT_EQ(port_->message_keys, std::vector<std::string>(4, "#"));
  for (const auto& [id, stored] : calls_->calls) EXPECT_TRUE(stored.call.opted_out()) << id;
  EXPECT_EQ(compliance_->opt_outs.size(), 4u);
  EXPECT_EQ(dialer_->Stats().opted_out, 4);
}

// Compliance down when the key is pressed: the call still ends and the
// contact still leaves as do-not-call; the miss is counted (and logged).
TEST_F(DialerTest, AnOptOutComplianceCannotRecordStillEndsTheCallAndTheContact) {
  AddAgentlessCampaign(2);
  contacts_->Add(2);
  opt_out_share_ = 1.0;
  StartDialer(0, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));  // both dialed (checked while compliance was up)
  compliance_->down = true;
  scheduler_.AdvanceBy(absl::Minutes(2));
  auto ended = calls_->Ended();
  ASSERT_EQ(ended.size(), 2u);
  for (const auto& [id, stored] : calls_->calls) EXPECT_TRUE(stored.call.opted_out()) << id;
  EXPECT_TRUE(compliance_->opt_outs.empty());
  EXPECT_EQ(dialer_->Stats().opt_outs_not_recorded, 2);
  for (const auto& r : contacts_->reports) EXPECT_EQ(r.kind, contacts::v1::OUTCOME_KIND_DO_NOT_CALL);
}

TEST_F(DialerTest, TheLiveFiguresOfACampaignAreWrittenEverySecondForAnyReplicaToWatch) {
  AddCampaign();
  contacts_->Add(40);
  StartDialer(3, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(90));
  auto p = dialer_->Progress("t1", "c1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->dialing());
  EXPECT_EQ(p->campaign(), "tenants/t1/campaigns/c1");
  EXPECT_EQ(p->state(), v1::CAMPAIGN_STATE_RUNNING);
  EXPECT_EQ(p->dialing_mode(), v1::CAMPAIGN_MODE_PROGRESSIVE);
  EXPECT_EQ(p->max_lines(), 20);
  EXPECT_EQ(p->agents_ready() + p->agents_on_call() + p->agents_wrap_up(), 3);
  // The counters match what happened.
  EXPECT_EQ(p->dials(), static_cast<int64_t>(port_->placed.size()));
  EXPECT_EQ(p->connected(), dialer_->Stats().connected);
  EXPECT_EQ(p->answered(), dialer_->Stats().answered);
  EXPECT_EQ(p->abandoned(), 0);
  EXPECT_GT(p->dials(), 3);
  EXPECT_LE(p->calls_in_progress(), 3);
  // Compliance's ledger as it answered.
  EXPECT_TRUE(p->ledger_known());
  EXPECT_EQ(p->live_answers_24h(), 50);
  EXPECT_DOUBLE_EQ(p->max_abandon_rate(), 0.03);
  // Figures written at most a second ago.
  EXPECT_LE(clock_.Now() - FromTimestamp(p->update_time()), absl::Seconds(1));
  // A paused campaign is not dialed; once the owner's figures are older than
  // five periods (its replica gone), nobody is dialing it.
  campaigns_->campaigns["t1/c1"].set_state(v1::CAMPAIGN_STATE_PAUSED);
  scheduler_.AdvanceBy(absl::Seconds(5));
  p = dialer_->Progress("t1", "c1");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->dialing());
  EXPECT_EQ(p->state(), v1::CAMPAIGN_STATE_PAUSED);
  EXPECT_EQ(ReasonOf(dialer_->Progress("t1", "none").status()), "CAMPAIGN_NOT_FOUND");
}

// --- Agent-owned callbacks ----------------------------------------------------

TEST_F(DialerTest, AnAgentOwnedCallbackWaitsForItsAgentAndIsCheckedBeforeItIsDialed) {
  AddCampaign();
  contacts_->Add(1);
  const std::string contact = contacts_->queue[0].name();
  const std::string owner = "tenants/t1/agents/a1";
  calls_->callbacks[contact] = {owner, clock_.Now() - absl::Minutes(1)};
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  agents_->agents[owner] = {State::STATE_NOT_READY, clock_.Now()};
  scheduler_.AdvanceBy(absl::Minutes(1));
  // a0 is ready and idle, but the callback is a1's: nothing dialed, nothing asked.
  EXPECT_TRUE(port_->placed.empty());
  EXPECT_TRUE(compliance_->checks.empty());
  agents_->agents[owner] = {State::STATE_READY, clock_.Now()};
  scheduler_.AdvanceBy(absl::Seconds(3));
  ASSERT_EQ(port_->placed.size(), 1u);
  ExpectEveryDialAllowed();
  EXPECT_EQ(compliance_->modes.back(), type::v1::DIALING_MODE_PROGRESSIVE);
  EXPECT_EQ(agents_->holder[owner], "tenants/t1/calls/" + port_->placed[0].attempt);
  EXPECT_EQ(agents_->agents["tenants/t1/agents/a0"].first, State::STATE_READY);
  EXPECT_TRUE(calls_->callbacks.empty());  // done as the agent's own
  scheduler_.AdvanceBy(absl::Minutes(1));
  auto ended = calls_->Ended();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].outcome(), v1::CALL_OUTCOME_ANSWERED_CONNECTED);
  const std::string id = port_->placed[0].attempt;
  auto call = dialer_->GetCall("t1", id);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->agent(), owner);
  EXPECT_EQ(call->callback_agent(), owner);
}

TEST_F(DialerTest, AnAgentOwnedCallbackWhoseAgentNeverComesIsAnyonesAfterTheGrace) {
  AddCampaign();
  contacts_->Add(1);
  const std::string contact = contacts_->queue[0].name();
  calls_->callbacks[contact] = {"tenants/t1/agents/a1", clock_.Now()};
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  agents_->agents["tenants/t1/agents/a1"] = {State::STATE_NOT_READY, clock_.Now()};
  scheduler_.AdvanceBy(absl::Minutes(14));
  EXPECT_TRUE(port_->placed.empty());
  scheduler_.AdvanceBy(absl::Minutes(2));
  ASSERT_EQ(port_->placed.size(), 1u);
  ExpectEveryDialAllowed();
  EXPECT_TRUE(calls_->callbacks.empty());
}

TEST_F(DialerTest, ADispositionMakesTheCallbackTheAgentsOwn) {
  AddCampaign();
  contacts_->Add(1);
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Minutes(1));
  auto ended = calls_->Ended();
  ASSERT_EQ(ended.size(), 1u);
  const std::string id = ended[0].call().substr(ended[0].call().rfind('/') + 1);
  EXPECT_EQ(ReasonOf(dialer_->SetDisposition("t1", id, "sale", absl::InfinitePast(), "agent", true)
                         .status()),
            "FIELD_NOT_APPLICABLE");
  const absl::Time at = clock_.Now() + absl::Hours(3);
  auto call = dialer_->SetDisposition("t1", id, "later", at, "agent", true);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->callback_agent(), "tenants/t1/agents/a0");
  ASSERT_EQ(calls_->callbacks.count(ended[0].contact()), 1u);
  EXPECT_EQ(calls_->callbacks[ended[0].contact()].agent, "tenants/t1/agents/a0");
  EXPECT_EQ(calls_->callbacks[ended[0].contact()].due, at);
  EXPECT_EQ(contacts_->reports.back().next, at);
}

TEST_F(DialerTest, APreviewOffersTheAgentItsOwnCallbackFirstAndNobodyElse) {
  AddCampaign(v1::CAMPAIGN_MODE_PREVIEW);
  contacts_->Add(2);
  const std::string mine = contacts_->queue[1].name();
  calls_->callbacks[mine] = {"tenants/t1/agents/a1", clock_.Now()};
  StartDialer(2, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(3));
  auto other = dialer_->PreviewContact("t1", "c1", "tenants/t1/agents/a0");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->contact.name(), mine);
  // a0 has the only contact nobody owns; the callback is left for a1.
  auto third = dialer_->SkipPreview("t1", other->call.name().substr(other->call.name().rfind('/') + 1), "");
  ASSERT_TRUE(third.ok());
  auto owned = dialer_->PreviewContact("t1", "c1", "tenants/t1/agents/a1");
  ASSERT_TRUE(owned.ok());
  EXPECT_EQ(owned->contact.name(), mine);
  auto dialed = dialer_->DialPreview(
      "t1", owned->call.name().substr(owned->call.name().rfind('/') + 1));
  ASSERT_TRUE(dialed.ok()) << dialed.status();
  ExpectEveryDialAllowed();
  EXPECT_TRUE(calls_->callbacks.empty());
}

// --- Blended inbound calls and abusive callers -----------------------------------

constexpr char kInboundNumber[] = "+13125550199";
constexpr char kCaller[] = "+14155550123";

class InboundTest : public DialerTest {
 protected:
  v1::Campaign& AddBlended(absl::Duration max_wait = absl::Minutes(5)) {
    v1::Campaign c = AddCampaign();
    c.mutable_inbound()->add_numbers(kInboundNumber);
    *c.mutable_inbound()->mutable_max_wait() = ToDurationProto(max_wait);
    ApplyDefaults(c, "America/Chicago");
    return campaigns_->campaigns["t1/c1"] = c;
  }
  std::string Offer(const std::string& from = kCaller) {
    auto id = carrier_->OfferInbound(from, kInboundNumber);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? id->value() : "";
  }
  v1::Call CallOf(const std::string& id) {
    auto call = dialer_->GetCall("t1", id);
    EXPECT_TRUE(call.ok()) << call.status();
    return call.ok() ? *call : v1::Call();
  }
};

TEST_F(InboundTest, ACallerReachesAReadyAgentAndTheCallIsNeverADial) {
  AddBlended().mutable_inbound()->set_announce_recording(true);
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(2));  // the campaign is claimed
  const std::string id = Offer();
  scheduler_.AdvanceBy(absl::Seconds(2));
  v1::Call call = CallOf(id);
  EXPECT_EQ(call.direction(), v1::CALL_DIRECTION_INBOUND);
  EXPECT_EQ(call.state(), v1::CALL_STATE_CONNECTED);
  EXPECT_EQ(call.phone_number(), kCaller);
  EXPECT_EQ(call.called_number(), kInboundNumber);
  EXPECT_EQ(call.agent(), "tenants/t1/agents/a0");
  EXPECT_TRUE(call.recording_announcement());
  EXPECT_EQ(port_->announced, std::vector<std::string>{id});
  scheduler_.AdvanceBy(absl::Minutes(1));  // talks 20 s
  call = CallOf(id);
  EXPECT_EQ(call.outcome(), v1::CALL_OUTCOME_ANSWERED_CONNECTED);
  EXPECT_TRUE(call.awaiting_disposition());
  EXPECT_EQ(calls_->Steps(call.name()),
            (std::vector<std::string>{"OFFERED", "QUEUED", "CONNECTED", "ENDED"}));
  // Not a dial: no compliance decision asked, nothing on the `dialing` topic.
  EXPECT_TRUE(compliance_->checks.empty());
  EXPECT_TRUE(calls_->Ended().empty());
  EXPECT_EQ(agents_->ended, std::vector<std::string>{call.name()});
  const v1::CampaignProgress& p = calls_->progress["c1"];
  EXPECT_EQ(p.inbound_offered(), 1);
  EXPECT_EQ(p.inbound_answered(), 1);
  EXPECT_EQ(p.inbound_answered_within(), 1);
  EXPECT_DOUBLE_EQ(p.service_level(), 1.0);
  // Its agent gives the disposition as for any call.
  auto disposed = dialer_->SetDisposition("t1", id, "sale", absl::InfinitePast(), "agent");
  ASSERT_TRUE(disposed.ok()) << disposed.status();
  EXPECT_EQ(disposed->disposition(), "sale");
}

TEST_F(InboundTest, ANumberNoRunningCampaignTakesIsRefusedAndNothingIsWritten) {
  AddCampaign();  // outbound only
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(2));
  const std::string id = Offer();
  scheduler_.AdvanceBy(absl::Seconds(2));
  EXPECT_FALSE(dialer_->GetCall("t1", id).ok());
  EXPECT_EQ(dialer_->Stats().inbound_refused, 1);
  EXPECT_EQ(carrier_->Stats().in_progress, 0);  // hung up
}

TEST_F(InboundTest, InboundCallersComeFirstAndTheOverflowMessageEndsAWaitOverMaxWait) {
  AddBlended(absl::Seconds(60));
  contacts_->Add(20);
  StartDialer(3, Scenario(1.0, 0.0, 0.0));
  agents_->refuse_inbound = true;  // the caller keeps waiting
  scheduler_.AdvanceBy(absl::Seconds(3));
  ASSERT_EQ(port_->placed.size(), 3u);  // one line per free agent
  scheduler_.AdvanceBy(absl::Seconds(7));
  const std::string id = Offer();
  // Calls talk 20 s and wrap 5 s: the agents are free again at about 31 s.
  // One caller waits, so the pacer dials for two of them, not three.
  scheduler_.AdvanceBy(absl::Seconds(25));
  EXPECT_EQ(port_->placed.size(), 5u);
  EXPECT_EQ(calls_->progress["c1"].inbound_waiting(), 1);
  EXPECT_GE(calls_->progress["c1"].agents_held_for_inbound(), 1);
  scheduler_.AdvanceBy(absl::Seconds(40));  // past the 60 s max wait
  v1::Call call = CallOf(id);
  EXPECT_EQ(call.outcome(), v1::CALL_OUTCOME_INBOUND_OVERFLOW);
  EXPECT_FALSE(call.awaiting_disposition());
  EXPECT_NE(std::find(port_->messages.begin(), port_->messages.end(), "inbound-overflow"),
            port_->messages.end());
  EXPECT_EQ(calls_->progress["c1"].inbound_overflowed(), 1);
  EXPECT_DOUBLE_EQ(calls_->progress["c1"].service_level(), 0.0);
  ExpectEveryDialAllowed();
}

TEST_F(InboundTest, AnAbusiveCallerIsEndedBlockedAndItsAgentProtected) {
  AddBlended();
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  scheduler_.AdvanceBy(absl::Seconds(2));
  const std::string id = Offer();
  scheduler_.AdvanceBy(absl::Seconds(2));
  ASSERT_EQ(CallOf(id).state(), v1::CALL_STATE_CONNECTED);

  auto flagged = dialer_->FlagAbusiveCaller("t1", id, "tenants/t1/credentials/ann", "threats");
  ASSERT_TRUE(flagged.ok()) << flagged.status();
  EXPECT_EQ(flagged->abusive().flagged_by(), "tenants/t1/credentials/ann");
  EXPECT_EQ(flagged->abusive().reason(), "threats");
  scheduler_.AdvanceBy(absl::Seconds(1));
  v1::Call call = CallOf(id);
  EXPECT_EQ(call.state(), v1::CALL_STATE_ENDED);  // hung up at once, not after 20 s of talk
  EXPECT_EQ(call.outcome(), v1::CALL_OUTCOME_ANSWERED_CONNECTED);
  EXPECT_EQ(calls_->Steps(call.name()),
            (std::vector<std::string>{"OFFERED", "QUEUED", "CONNECTED", "ABUSIVE_FLAGGED", "ENDED"}));
  // The number is blocked (with its event), the agent protected.
  ASSERT_EQ(calls_->blocked.count("14155550123"), 1u);
  EXPECT_EQ(calls_->blocked["14155550123"].call(), call.name());
  EXPECT_EQ(calls_->EventTypes("dialgrid.dialing.v1.InboundNumberBlockChanged").size(), 1u);
  ASSERT_EQ(agents_->protected_agents.count("tenants/t1/agents/a0"), 1u);
  EXPECT_EQ(agents_->protected_agents["tenants/t1/agents/a0"].first, "abusive-caller");
  EXPECT_EQ(agents_->protected_agents["tenants/t1/agents/a0"].second, absl::Minutes(10));
  // Flagging again answers the call as it is.
  auto again = dialer_->FlagAbusiveCaller("t1", id, "tenants/t1/credentials/ann", "threats");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->has_abusive());
  EXPECT_EQ(calls_->EventTypes("dialgrid.dialing.v1.InboundNumberBlockChanged").size(), 1u);

  // The same caller again is refused, and reaches nobody.
  agents_->agents["tenants/t1/agents/a0"] = {State::STATE_READY, clock_.Now()};
  const std::string second = Offer();
  scheduler_.AdvanceBy(absl::Seconds(2));
  v1::Call refused = CallOf(second);
  EXPECT_EQ(refused.outcome(), v1::CALL_OUTCOME_INBOUND_BLOCKED);
  EXPECT_EQ(calls_->Steps(refused.name()), (std::vector<std::string>{"BLOCKED", "ENDED"}));
  EXPECT_TRUE(refused.agent().empty());
  EXPECT_EQ(calls_->progress["c1"].inbound_blocked(), 1);

  // Taken off the list, it is served again.
  auto unblocked = dialer_->UnblockNumber("t1", "n14155550123", "tenants/t1/credentials/ann", "apologised");
  ASSERT_TRUE(unblocked.ok()) << unblocked.status();
  EXPECT_EQ(dialer_->UnblockNumber("t1", "n14155550123", "x", "y").status().code(),
            absl::StatusCode::kNotFound);
  const std::string third = Offer();
  scheduler_.AdvanceBy(absl::Seconds(2));
  EXPECT_EQ(CallOf(third).state(), v1::CALL_STATE_CONNECTED);
}

TEST_F(InboundTest, OnlyACallConnectedToAnAgentCanBeFlagged) {
  AddBlended();
  StartDialer(1, Scenario(1.0, 0.0, 0.0));
  agents_->refuse_inbound = true;
  scheduler_.AdvanceBy(absl::Seconds(2));
  const std::string id = Offer();
  scheduler_.AdvanceBy(absl::Seconds(2));
  EXPECT_EQ(CallOf(id).state(), v1::CALL_STATE_ANSWERED);  // waiting in the queue
  auto queued = dialer_->FlagAbusiveCaller("t1", id, "a", "r");
  EXPECT_EQ(queued.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(queued.status()), "CALL_NOT_CONNECTED");
  EXPECT_TRUE(calls_->blocked.empty());
  EXPECT_EQ(dialer_->FlagAbusiveCaller("t1", "cnosuch", "a", "r").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace dialgrid::dialing
