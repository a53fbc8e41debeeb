#include "services/dialing/application/dialer.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <future>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "dialgrid/dialing/v1/call_events.pb.h"
#include "services/common/core/amd.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/names.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/random.h"
#include "services/common/kafka/event_publisher.h"
#include "services/dialing/domain/call_rules.h"
#include "services/dialing/domain/caller_id_health.h"
#include "services/dialing/domain/campaign_rules.h"

namespace dialgrid::dialing {
namespace {

using agentstate::v1::State;
using Events = std::vector<event::v1::Envelope>;

pacing::DialingMode PacingMode(v1::CampaignMode mode) {
  switch (mode) {
    case v1::CAMPAIGN_MODE_PROGRESSIVE: return pacing::DialingMode::kProgressive;
    case v1::CAMPAIGN_MODE_POWER: return pacing::DialingMode::kPower;
    case v1::CAMPAIGN_MODE_PREDICTIVE: return pacing::DialingMode::kPredictive;
    case v1::CAMPAIGN_MODE_AGENTLESS: return pacing::DialingMode::kAgentless;
    default: return pacing::DialingMode::kPreview;  // dials nothing by itself
  }
}

pacing::PacingSettings SettingsOf(const v1::Campaign& c, absl::Duration grace) {
  pacing::PacingSettings s;
  s.mode = PacingMode(c.mode());
  s.abandon_cap = c.abandon_target().max_rate() > 0 ? c.abandon_target().max_rate()
                                                    : kLegalAbandonCeiling;
  s.ledger_window_days =
      c.abandon_target().measurement() == v1::ABANDON_MEASUREMENT_PER_DAY ? 1 : 30;
  s.grace_s = absl::ToDoubleSeconds(grace);
  s.max_lines_per_agent = c.max_lines_per_agent() > 0 ? c.max_lines_per_agent()
                                                      : kDefaultLinesPerAgent;
  s.power_ratio = c.power_ratio() > 0 ? std::min(c.power_ratio(), s.max_lines_per_agent) : 1.0;
  s.agentless_lines = c.max_lines();
  return s;
}

bool SameSettings(const pacing::PacingSettings& a, const pacing::PacingSettings& b) {
  return a.mode == b.mode && a.abandon_cap == b.abandon_cap &&
         a.ledger_window_days == b.ledger_window_days && a.grace_s == b.grace_s &&
         a.max_lines_per_agent == b.max_lines_per_agent && a.power_ratio == b.power_ratio &&
         a.agentless_lines == b.agentless_lines;
}

int64_t DayIndex(absl::Time now, const std::string& zone_name) {
  absl::TimeZone zone = absl::UTCTimeZone();
  absl::LoadTimeZone(zone_name, &zone);
  return absl::ToCivilDay(now, zone) - absl::CivilDay(1970, 1, 1);
}

compliance::v1::Callee CalleeOf(const contacts::v1::Contact& c) {
  compliance::v1::Callee callee;
  if (!c.time_zone().empty()) {
    callee.add_time_zones(c.time_zone());
  } else {
    for (const auto& z : c.candidate_time_zones()) callee.add_time_zones(z);
  }
  callee.set_region(c.region());
  callee.set_postal_code(c.postal_code());
  callee.set_country(c.country());
  callee.set_time_zone_source(c.time_zone_source());
  return callee;
}

v1::AmdResult AmdOf(telephony::AmdVerdict v) {
  switch (v) {
    case telephony::AmdVerdict::kLive: return v1::AMD_RESULT_LIVE;
    case telephony::AmdVerdict::kMachine: return v1::AMD_RESULT_MACHINE;
    case telephony::AmdVerdict::kUndecided: return v1::AMD_RESULT_UNDECIDED;
    default: return v1::AMD_RESULT_UNSPECIFIED;
  }
}

v1::CallerIdAttestation AttestationOf(telephony::Attestation a) {
  switch (a) {
    case telephony::Attestation::kFull: return v1::CALLER_ID_ATTESTATION_FULL;
    case telephony::Attestation::kPartial: return v1::CALLER_ID_ATTESTATION_PARTIAL;
    case telephony::Attestation::kGateway: return v1::CALLER_ID_ATTESTATION_GATEWAY;
    default: return v1::CALLER_ID_ATTESTATION_UNSPECIFIED;
  }
}

v1::CallerIdStatus StatusOf(const std::string& caller_id, const CallerIdStats& st) {
  v1::CallerIdStatus out;
  out.set_caller_id(caller_id);
  out.set_attempts(st.attempts);
  out.set_answers(st.answers);
  out.set_short_calls(st.short_calls);
  out.set_answer_rate(st.answer_rate());
  out.set_short_call_share(st.short_share());
  if (st.resting_until != absl::InfinitePast()) {
    *out.mutable_resting_until() = ToTimestamp(st.resting_until);
  }
  return out;
}

CallerIdStats StatsOf(const v1::CallerIdStatus& s) {
  CallerIdStats out;
  out.attempts = std::max(0.0, s.attempts());
  out.answers = std::clamp(s.answers(), 0.0, out.attempts);
  out.short_calls = std::clamp(s.short_calls(), 0.0, out.answers);
  if (s.has_resting_until()) out.resting_until = FromTimestamp(s.resting_until());
  return out;
}

// The `dialing` topic's record of an ended call, for compliance's caps and
// abandon ledger.
v1::CallAttemptEnded AttemptEnded(const v1::Call& call) {
  v1::CallAttemptEnded e;
  e.set_call(call.name());
  e.set_campaign(call.campaign());
  e.set_contact(call.contact());
  e.set_phone_number(call.phone_number());
  e.set_decision_id(call.decision_id());
  e.set_outcome(call.outcome());
  e.set_dialing_mode(call.dialing_mode());
  *e.mutable_dial_time() = call.dial_time();
  if (call.has_answer_time()) *e.mutable_answer_time() = call.answer_time();
  *e.mutable_end_time() = call.end_time();
  e.set_debt(call.debt());
  e.set_amd_false_positive_rate(call.amd_false_positive_rate());
  return e;
}

std::string DenialCode(const compliance::v1::DialDecision& d) {
  return d.reasons().empty() ? std::string("DENIED") : d.reasons(0).code();
}

}  // namespace

struct Dialer::Runner {
  std::string tenant, id, name, member;
  uint64_t key = 0;
  Scheduler::TaskId tick_task = 0;

  std::mutex mu;  // everything below, and the fields of this runner's attempts
  int64_t token = 0;
  bool dialing = true;  // owned and RUNNING
  bool lost = false;    // another replica owns the campaign now
  // Let go to balance the replicas: no new dials; the lease goes once its
  // calls have ended, the hopper stays in Redis for the next owner.
  bool handing_off = false;
  std::shared_ptr<const v1::Campaign> campaign;
  std::string etag;
  absl::Time campaign_read_at = absl::InfinitePast();
  std::unique_ptr<pacing::Pacer> pacer;
  pacing::PacingSettings settings;
  absl::Time origin;
  std::deque<LeasedContact> hopper;
  size_t next_list = 0;
  bool dry = false;
  absl::Time refill_after = absl::InfinitePast();
  int last_lines = 0;
  std::vector<AgentSnapshot> agents;
  bool agents_ok = false;
  absl::Time agents_read_at = absl::InfinitePast();
  absl::flat_hash_map<std::string, AgentSnapshot> agent_last;  // wrap-up lengths
  absl::flat_hash_map<std::string, double> last_talk_s;  // an agent's last call, for its wrap-up
  double wrap_mean_s = 0.0;
  int wrap_samples = 0;
  absl::flat_hash_map<std::string, std::shared_ptr<Attempt>> live;
  absl::Time checks_blocked_until = absl::InfinitePast();
  absl::Time compliance_logged_at = absl::InfinitePast();
  // Compliance refused predictive dials for the campaign's abandon rate:
  // until then it dials progressively (one line per free agent, asked of
  // compliance as PROGRESSIVE), which cannot abandon for want of an agent.
  absl::Time progressive_until = absl::InfinitePast();
  uint64_t caller_turn = 0;
  CallerIdHealth caller_ids;
  // CallerIdRested events whose atomic write with the rest failed: sent with
  // the next caller-ID write, so a rest is never kept without its notice.
  std::vector<event::v1::Envelope> unsent_caller_id_events;
  // The live watch: counters since the claim, compliance's ledger.
  v1::CampaignProgress progress;  // the counters and the ledger; the rest at each write
  absl::Time progress_at = absl::InfinitePast();
  absl::Time ledger_at = absl::InfinitePast();
  // Agent-owned callbacks (contact -> agent, due), read every refresh.
  std::map<std::string, CallStore::AgentCallback> owned;
  absl::Time owned_read_at = absl::InfinitePast();
  // Blended: ready agents held back for the inbound queue beyond its
  // waiting callers, learnt from the service level of the inbound calls
  // that ended in the window (their end, whether within the threshold).
  int inbound_reserve = 0;
  int held_for_inbound = 0;
  absl::Time reserve_at = absl::InfinitePast();
  std::deque<std::pair<absl::Time, bool>> service_window;
};

struct Dialer::Attempt {
  std::shared_ptr<Runner> runner;
  std::string id;
  StoredCall stored;
  LeasedContact lease;
  std::shared_ptr<const v1::Campaign> campaign;
  absl::Time created_at;
  // Guarded by runner->mu.
  bool in_flight = true;     // dialing, ringing or being classified (the pacer's view)
  bool waiting_agent = false;
  bool live = false;         // a person answered (or was hung up on as a machine)
  std::string opt_out_key;   // the key the message playing offers for the opt-out ("" none)
  bool machine = false;      // AMD said machine and it was not routed
  bool invalid_number = false;
  bool connected = false;
  // An agent's own dial (preview, manual): the agent is on the line from the
  // dial (no reservation on answer, no abandon), and the pacer does not
  // count it. Empty for the pacer's dials.
  std::string agent;
  bool previewing = false;  // a preview held for the agent, not dialed yet
  bool message_played = false;  // AGENTLESS: a person answered and got the message
  bool owned_callback = false;  // the contact's agent-owned callback, for `agent`
  double routed_age_s = -1.0;   // the attempt's age when its answer came to need an agent
  // Inbound (a caller dialed one of the campaign's numbers): not the
  // pacer's, never a dial; refused as blocked; sent to the overflow message.
  bool inbound = false;
  bool blocked = false;
  bool overflowed = false;
  // Flagged abusive: its agent leaves the call for a protected not-ready.
  bool abusive = false;
  // The callee pressed the opt-out key during a recorded message.
  bool opted_out = false;
};

Dialer::Dialer(DialerPorts ports, Scheduler& scheduler, Executor& executor,
               DialerOptions options)
    : ports_(std::move(ports)),
      scheduler_(scheduler),
      executor_(executor),
      options_(std::move(options)) {}

Dialer::~Dialer() { Stop(); }

uint64_t Dialer::KeyOf(absl::string_view id) const {
  return std::hash<std::string_view>()(std::string_view(id.data(), id.size()));
}

void Dialer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  ownership_task_ = scheduler_.Every(options_.ownership_period, [this] {
    executor_.Post(0, [this] { OwnershipRound(); });
  });
  sweep_task_ = scheduler_.Every(options_.disposition_sweep, [this] {
    executor_.Post(0, [this] { SweepDispositions(); });
  });
}

void Dialer::SweepDispositions() {
  // The replica that ended a call closes it on time; what is a sweep period
  // overdue has nobody else to close it.
  const absl::Time cutoff =
      scheduler_.clock().Now() - options_.disposition_timeout - options_.disposition_sweep;
  auto overdue = ports_.calls->AwaitingDisposition(cutoff, 200);
  if (!overdue.ok()) return;
  for (const auto& [tenant, call_id] : *overdue) {
    executor_.Post(KeyOf(call_id), [this, tenant = tenant, call_id = call_id] {
      ExpireDisposition(tenant, call_id);
    });
  }
}

void Dialer::Stop() {
  std::vector<std::shared_ptr<Runner>> runners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    started_ = false;
    for (auto& [member, r] : runners_) runners.push_back(r);
    runners_.clear();
  }
  scheduler_.Cancel(ownership_task_);
  scheduler_.Cancel(sweep_task_);
  // Calls still awaiting a disposition are closed by another replica's
  // sweep; nothing scheduled may run on this dialer once it is gone.
  std::map<std::string, Scheduler::TaskId> timeouts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    timeouts.swap(disposition_timeouts_);
  }
  for (const auto& [key, task] : timeouts) scheduler_.Cancel(task);
  for (auto& r : runners) {
    scheduler_.Cancel(r->tick_task);
    std::deque<LeasedContact> hopper;
    {
      std::lock_guard<std::mutex> lock(r->mu);
      r->dialing = false;
      hopper.swap(r->hopper);
    }
    for (const auto& lease : hopper) GiveBack(*r, lease);
    (void)ports_.calls->Disown(r->tenant, r->id, options_.instance);
  }
}

DialerStats Dialer::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  DialerStats s = stats_;
  s.owned_campaigns = static_cast<int64_t>(runners_.size());
  s.in_flight = static_cast<int64_t>(attempts_.size());
  return s;
}

// --- Ownership ---------------------------------------------------------------

void Dialer::OwnershipRound() {
  auto running = ports_.campaigns->Running();
  std::set<std::string> wanted;
  if (running.ok()) wanted.insert(running->begin(), running->end());
  // Campaigns are spread over the live replicas: this one claims no more
  // than its share (rounded up), so every campaign still finds an owner.
  auto replicas = ports_.calls->Advertise(
      options_.instance, options_.advertise_address ? options_.advertise_address() : "",
      options_.lease_ttl);
  const size_t live = replicas.ok() ? static_cast<size_t>(std::max(1, *replicas)) : 1;
  const size_t share = (wanted.size() + live - 1) / live;
  std::map<std::string, std::shared_ptr<Runner>> mine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    mine = runners_;
  }
  // Renew what we hold; stop dialing what is no longer running or was lost.
  std::vector<std::string> released;
  for (auto& [member, r] : mine) {
    bool still_running = !running.ok() || wanted.count(member) > 0;
    auto token = ports_.calls->Own(r->tenant, r->id, options_.instance, options_.lease_ttl);
    bool drained = false;
    std::deque<LeasedContact> hopper;
    bool lost = false, handing_off = false;
    {
      std::lock_guard<std::mutex> lock(r->mu);
      if (token.ok() && *token == 0) r->lost = true;  // another replica has it
      // Our own lease lapsed and was taken again by us: the new token is ours.
      if (token.ok() && *token > 0) r->token = *token;
      if (r->lost || !still_running || r->handing_off) r->dialing = false;
      lost = r->lost;
      handing_off = r->handing_off && still_running;
      if (!r->dialing) hopper.swap(r->hopper);
      drained = !r->dialing && r->live.empty();
    }
    // A campaign that stopped running gives its hopper back to contacts; a
    // campaign another replica took, or that is handed off, keeps it in
    // Redis for the next owner (it reads the hopper when it claims).
    if (!lost && !handing_off) {
      for (const auto& lease : hopper) GiveBack(*r, lease);
    }
    if (drained) {
      scheduler_.Cancel(r->tick_task);
      if (!lost && token.ok() && *token > 0) {
        (void)ports_.calls->Disown(r->tenant, r->id, options_.instance);
      }
      std::lock_guard<std::mutex> lock(mu_);
      runners_.erase(member);
      released.push_back(member);
      Log(LogLevel::kInfo, "dialing", handing_off ? "campaign handed off" : "campaign released",
          {{"campaign", r->name}});
    }
  }
  for (const auto& member : released) mine.erase(member);
  if (!running.ok()) return;
  const absl::Time now = scheduler_.clock().Now();
  size_t owned = 0;
  for (const auto& [member, r] : mine) owned += wanted.count(member);
  for (auto it = left_since_.begin(); it != left_since_.end();) {
    it = wanted.count(it->first) > 0 && mine.count(it->first) == 0 ? std::next(it)
                                                                    : left_since_.erase(it);
  }
  for (const auto& member : wanted) {
    if (mine.count(member)) continue;
    // At its share, a replica leaves the campaign to the others, but takes
    // it anyway if it is still unclaimed after `rescue_after` (the lease is
    // only won when nobody holds it).
    const bool over = owned >= share;
    if (over) {
      auto [left, fresh] = left_since_.try_emplace(member, now);
      if (fresh || now - left->second < options_.rescue_after) continue;
      left->second = now;  // held by another: looked at again a period later
    }
    std::vector<std::string> parts = absl::StrSplit(member, absl::MaxSplits('/', 1));
    if (parts.size() != 2) continue;
    auto token = ports_.calls->Own(parts[0], parts[1], options_.instance, options_.lease_ttl);
    if (!token.ok() || *token == 0) continue;
    auto r = Claim(parts[0], parts[1], *token);
    if (r == nullptr) {
      (void)ports_.calls->Disown(parts[0], parts[1], options_.instance);
      continue;
    }
    if (!Reconcile(r)) {  // the previous owner's open calls unknown: try again later
      (void)ports_.calls->Disown(parts[0], parts[1], options_.instance);
      continue;
    }
    left_since_.erase(member);
    // Taken over the share: the others are not claiming, so this replica
    // hands nothing off for a while (no hand-off and rescue loop).
    if (over) handoffs_held_until_ = now + options_.handoff_hold;
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    runners_[member] = r;
    mine[member] = r;
    ++owned;
    if (over) ++stats_.rescued;
    r->tick_task = scheduler_.Every(options_.tick, [this, r] {
      executor_.Post(r->key, [this, r] { Tick(r); });
    });
    Log(LogLevel::kInfo, "dialing", over ? "campaign claimed over the share: left unclaimed"
                                         : "campaign claimed",
        {{"campaign", r->name}, {"token", absl::StrCat(*token)}});
  }
  HandOffOverShare(mine, wanted, share, now);
}

// A replica holding more than its share (one came up, or it took campaigns
// while alone) lets one campaign go at a time: the one with the fewest
// calls in progress stops dialing, and once they have ended its lease goes
// (the round above) and a replica under its share claims it within a round.
void Dialer::HandOffOverShare(const std::map<std::string, std::shared_ptr<Runner>>& mine,
                              const std::set<std::string>& wanted, size_t share, absl::Time now) {
  if (now < handoffs_held_until_) return;
  size_t dialing = 0;
  std::shared_ptr<Runner> pick;
  size_t pick_live = 0;
  for (const auto& [member, r] : mine) {
    if (wanted.count(member) == 0) continue;
    std::lock_guard<std::mutex> lock(r->mu);
    if (r->handing_off) return;  // one at a time
    if (!r->dialing) continue;
    ++dialing;
    if (pick == nullptr || r->live.size() < pick_live) {
      pick = r;
      pick_live = r->live.size();
    }
  }
  if (dialing <= share || pick == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(pick->mu);
    pick->handing_off = true;
    pick->dialing = false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.handoffs;
  }
  Log(LogLevel::kInfo, "dialing", "campaign handed off to balance the replicas",
      {{"campaign", pick->name}, {"held", absl::StrCat(dialing)}, {"share", absl::StrCat(share)},
       {"calls_in_progress", absl::StrCat(pick_live)}});
}

std::shared_ptr<Dialer::Runner> Dialer::Claim(const std::string& tenant, const std::string& id,
                                              int64_t token) {
  auto stored = ports_.campaigns->Get(tenant, id);
  if (!stored.ok()) return nullptr;
  auto campaign = std::make_shared<v1::Campaign>();
  if (!campaign->ParseFromString(stored->definition)) return nullptr;
  if (campaign->state() != v1::CAMPAIGN_STATE_RUNNING) return nullptr;
  auto r = std::make_shared<Runner>();
  r->tenant = tenant;
  r->id = id;
  r->name = campaign->name();
  r->member = absl::StrCat(tenant, "/", id);
  r->key = KeyOf(r->member);
  r->token = token;
  r->etag = stored->etag;
  r->campaign_read_at = scheduler_.clock().Now();
  r->origin = r->campaign_read_at;
  r->settings = SettingsOf(*campaign, options_.grace);
  auto pacer = pacing::Pacer::Create(r->settings, options_.controller);
  if (!pacer.ok()) {
    Log(LogLevel::kWarning, "dialing", "campaign not paced: bad settings",
        {{"campaign", r->name}, {"error", pacer.status().ToString()}});
    return nullptr;
  }
  // The caller IDs' health as the last owner left it: a rested number stays
  // rested. Unread, the campaign is not taken (it would present numbers
  // labelled as spam again).
  auto caller_ids = ports_.calls->GetCallerIds(tenant, id);
  if (!caller_ids.ok()) {
    Log(LogLevel::kWarning, "dialing", "campaign not taken: its caller-ID health is unread",
        {{"campaign", campaign->name()}, {"error", caller_ids.status().ToString()}});
    return nullptr;
  }
  for (const auto& s : *caller_ids) r->caller_ids.Restore(s.caller_id(), StatsOf(s));
  r->pacer = *std::move(pacer);
  r->campaign = std::move(campaign);
  r->progress.set_campaign(r->name);
  *r->progress.mutable_counted_since() = ToTimestamp(r->origin);
  return r;
}

// The calls a previous owner left open: those in flight are ended from what
// was stored of them (never dialed again); those awaiting a disposition get
// their timeout here.
bool Dialer::Reconcile(const std::shared_ptr<Runner>& r) {
  const absl::Time now = scheduler_.clock().Now();
  // The contacts the previous owner leased and did not dial: dialed here
  // while their leases last.
  auto kept = ports_.calls->Hopper(r->tenant, r->id);
  if (kept.ok()) {
    for (auto& lease : *kept) {
      if (lease.expire_time < now + absl::Minutes(1)) {
        (void)ports_.calls->RemoveFromHopper(r->tenant, r->id, lease.contact.name());
        continue;
      }
      std::lock_guard<std::mutex> lock(r->mu);
      r->hopper.push_back(std::move(lease));
    }
  }
  auto open = ports_.calls->Open(r->tenant, r->id);
  if (!open.ok()) return false;
  for (auto& stored : *open) {
    const std::string call_id = std::string(absl::StripPrefix(
        stored.call.name(), absl::StrCat("tenants/", r->tenant, "/calls/")));
    if (stored.call.state() == v1::CALL_STATE_ENDED) {
      if (stored.call.awaiting_disposition()) {
        ScheduleDispositionTimeout(r->tenant, call_id, FromTimestamp(stored.call.end_time()));
      }
      continue;
    }
    v1::Call& call = stored.call;
    if (call.state() == v1::CALL_STATE_PREVIEW) {
      // Never dialed: ended as skipped, the contact back to its list.
      call.set_state(v1::CALL_STATE_ENDED);
      call.set_outcome(v1::CALL_OUTCOME_NOT_PLACED);
      *call.mutable_end_time() = ToTimestamp(now);
      call.set_fencing_token(r->token);
      v1::CallUpdated skipped;
      *skipped.mutable_call() = call;
      skipped.set_step("SKIPPED");
      if (!ports_.calls->Put(r->tenant, r->id, stored, r->token,
                             {kafka::MakeEnvelope(r->tenant, call.name(), skipped,
                                                  options_.instance, scheduler_.clock())})
               .ok()) {
        continue;
      }
      (void)ports_.contacts->Report(call.contact(), stored.lease_id,
                                    contacts::v1::OUTCOME_KIND_RELEASED, "NOT_DIALED",
                                    absl::InfinitePast());
      continue;
    }
    v1::CallOutcome outcome = v1::CALL_OUTCOME_FAILED;
    if (call.state() == v1::CALL_STATE_CONNECTED) outcome = v1::CALL_OUTCOME_ANSWERED_CONNECTED;
    if (call.state() == v1::CALL_STATE_ANSWERED) outcome = v1::CALL_OUTCOME_ABANDONED;
    call.set_state(v1::CALL_STATE_ENDED);
    call.set_outcome(outcome);
    *call.mutable_end_time() = ToTimestamp(now);
    const bool awaiting = outcome == v1::CALL_OUTCOME_ANSWERED_CONNECTED;
    call.set_awaiting_disposition(awaiting);
    call.set_fencing_token(r->token);
    v1::CallUpdated updated;
    *updated.mutable_call() = call;
    updated.set_step("RECONCILED");
    const v1::CallAttemptEnded ended = AttemptEnded(call);
    Events events = {
        kafka::MakeEnvelope(r->tenant, call.name(), updated, options_.instance, scheduler_.clock()),
        kafka::MakeEnvelope(r->tenant, call.name(), ended, options_.instance, scheduler_.clock())};
    if (!ports_.calls->Put(r->tenant, r->id, stored, r->token, events).ok()) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.reconciled;
      if (outcome == v1::CALL_OUTCOME_ABANDONED) ++stats_.abandoned;
    }
    if (outcome == v1::CALL_OUTCOME_ABANDONED) {
      std::lock_guard<std::mutex> lock(r->mu);
      r->progress.set_abandoned(r->progress.abandoned() + 1);
    }
    // The agent of a connected call, or of its own dial, is freed.
    if (!call.agent().empty()) (void)ports_.agents->EndCall(call.agent(), call.name());
    if (awaiting) {
      ScheduleDispositionTimeout(r->tenant, call_id, now);
    } else if (!stored.lease_id.empty()) {  // a manual dial has no lease
      ContactNext next = AfterAttempt(*r->campaign, outcome, false,
                                      stored.contact_attempts + 1, now);
      (void)ports_.contacts->Report(call.contact(), stored.lease_id, next.kind, next.outcome,
                                    next.next_callable);
    }
    Log(LogLevel::kInfo, "dialing", "call reconciled after takeover",
        {{"call", call.name()}, {"outcome", OutcomeName(outcome)}});
  }
  return true;
}

void Dialer::RefreshCallbacks(Runner& r, absl::Time now) {
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (now - r.owned_read_at < options_.campaign_refresh) return;
    r.owned_read_at = now;
  }
  auto owned = ports_.calls->AgentCallbacks(r.tenant, r.id);
  if (!owned.ok()) return;  // the last ones known stand
  std::lock_guard<std::mutex> lock(r.mu);
  r.owned = *std::move(owned);
}

// --- The live watch --------------------------------------------------------------

void Dialer::PublishProgress(Runner& r, absl::Time now) {
  bool ask_ledger = false;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (now - r.progress_at < options_.progress_period) return;
    r.progress_at = now;
    if (ports_.compliance != nullptr && now - r.ledger_at >= options_.ledger_period) {
      r.ledger_at = now;
      ask_ledger = true;
    }
    name = r.name;
  }
  if (ask_ledger) {
    auto ledger = ports_.compliance->AbandonRate(name);
    if (ledger.ok()) {
      std::lock_guard<std::mutex> lock(r.mu);
      v1::CampaignProgress& p = r.progress;
      p.set_ledger_known(true);
      p.set_abandoned_24h(ledger->last_24_hours().abandoned());
      p.set_live_answers_24h(ledger->last_24_hours().live_answers());
      p.set_abandon_rate_24h(ledger->last_24_hours().rate());
      p.set_abandoned_30d(ledger->last_30_days().abandoned());
      p.set_live_answers_30d(ledger->last_30_days().live_answers());
      p.set_abandon_rate_30d(ledger->last_30_days().rate());
      p.set_max_abandon_rate(ledger->max_abandon_rate());
      p.set_over_abandon_cap(ledger->over_cap());
    }
  }
  v1::CampaignProgress p;
  std::vector<v1::CallerIdStatus> changed;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    p = r.progress;
    p.set_state(r.campaign->state());
    p.set_dialing(r.dialing);
    *p.mutable_update_time() = ToTimestamp(now);
    p.set_dialing_mode(now < r.progressive_until ? v1::CAMPAIGN_MODE_PROGRESSIVE
                                                 : r.campaign->mode());
    p.set_calls_in_progress(static_cast<int32_t>(r.live.size()));
    p.set_max_lines(r.campaign->max_lines());
    p.set_lines_last_tick(r.last_lines);
    p.set_hopper_contacts(static_cast<int32_t>(r.hopper.size()));
    p.set_hopper_dry(r.dry);
    for (const auto& a : r.agents) {
      switch (a.state) {
        case agentstate::v1::STATE_READY: p.set_agents_ready(p.agents_ready() + 1); break;
        case agentstate::v1::STATE_RESERVED:
        case agentstate::v1::STATE_ON_CALL: p.set_agents_on_call(p.agents_on_call() + 1); break;
        case agentstate::v1::STATE_WRAP_UP: p.set_agents_wrap_up(p.agents_wrap_up() + 1); break;
        case agentstate::v1::STATE_NOT_READY:
          p.set_agents_not_ready(p.agents_not_ready() + 1);
          break;
        default: break;
      }
    }
    if (r.campaign->inbound().numbers_size() > 0) {
      int waiting = 0;
      absl::Duration longest = absl::ZeroDuration();
      for (const auto& [id, a] : r.live) {
        if (!a->inbound || !a->waiting_agent) continue;
        ++waiting;
        longest = std::max(longest, now - FromTimestamp(a->stored.call.queue_time()));
      }
      p.set_inbound_waiting(waiting);
      *p.mutable_inbound_longest_wait() = ToDurationProto(longest);
      p.set_service_level_target(r.campaign->inbound().service_level_target());
      p.set_agents_held_for_inbound(r.held_for_inbound);
      const int64_t counted =
          p.inbound_answered() + p.inbound_abandoned() + p.inbound_overflowed();
      if (counted > 0) {
        p.set_service_level(static_cast<double>(p.inbound_answered_within()) /
                            static_cast<double>(counted));
      }
    }
    for (const auto& id : r.campaign->caller_ids()) {
      const CallerIdStats* st = r.caller_ids.Stats(id);
      *p.add_caller_ids() = StatusOf(id, st != nullptr ? *st : CallerIdStats{});
    }
    for (const auto& id : r.caller_ids.TakeChanged()) {
      const CallerIdStats* st = r.caller_ids.Stats(id);
      if (st != nullptr) changed.push_back(StatusOf(id, *st));
    }
    p.set_answer_rate(r.pacer->learned_answer_probability());
    *p.mutable_mean_talk() = ToDurationProto(absl::Seconds(r.pacer->learned_mean_talk_s()));
    *p.mutable_mean_wrap() = ToDurationProto(absl::Seconds(r.pacer->learned_mean_wrap_s()));
  }
  (void)ports_.calls->PutProgress(r.tenant, r.id, p, 5 * options_.progress_period);
  std::vector<event::v1::Envelope> unsent;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    unsent.swap(r.unsent_caller_id_events);
  }
  if ((!changed.empty() || !unsent.empty()) &&
      !ports_.calls->PutCallerIds(r.tenant, r.id, changed, unsent).ok()) {
    std::vector<std::string> again;
    for (const auto& c : changed) again.push_back(c.caller_id());
    std::lock_guard<std::mutex> lock(r.mu);
    r.caller_ids.MarkChanged(again);  // saved at the next write
    r.unsent_caller_id_events.insert(r.unsent_caller_id_events.begin(),
                                     std::make_move_iterator(unsent.begin()),
                                     std::make_move_iterator(unsent.end()));
  }
}

absl::StatusOr<v1::CampaignProgress> Dialer::Progress(const std::string& tenant,
                                                      const std::string& campaign_id) {
  auto stored = ports_.campaigns->Get(tenant, campaign_id);
  if (!stored.ok()) return stored.status();
  v1::Campaign campaign;
  if (!campaign.ParseFromString(stored->definition)) {
    return absl::InternalError("stored campaign does not parse");
  }
  auto kept = ports_.calls->GetProgress(tenant, campaign_id);
  v1::CampaignProgress p;
  if (kept.ok()) {
    p = *std::move(kept);
  } else if (kept.status().code() != absl::StatusCode::kNotFound) {
    return kept.status();
  }
  p.set_campaign(campaign.name());
  p.set_state(campaign.state());
  const bool fresh = p.has_update_time() && scheduler_.clock().Now() - FromTimestamp(p.update_time()) <=
                                                5 * options_.progress_period;
  p.set_dialing(p.dialing() && fresh && campaign.state() == v1::CAMPAIGN_STATE_RUNNING);
  return p;
}

// --- Pacing ------------------------------------------------------------------

void Dialer::RefreshCampaign(Runner& r, absl::Time now) {
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (now - r.campaign_read_at < options_.campaign_refresh) return;
    r.campaign_read_at = now;
  }
  auto stored = ports_.campaigns->Get(r.tenant, r.id);
  std::lock_guard<std::mutex> lock(r.mu);
  if (!stored.ok()) {
    if (stored.status().code() == absl::StatusCode::kNotFound) r.dialing = false;
    return;
  }
  if (stored->etag == r.etag) return;
  auto campaign = std::make_shared<v1::Campaign>();
  if (!campaign->ParseFromString(stored->definition)) return;
  r.etag = stored->etag;
  if (campaign->state() != v1::CAMPAIGN_STATE_RUNNING) r.dialing = false;
  pacing::PacingSettings settings = SettingsOf(*campaign, options_.grace);
  if (!SameSettings(settings, r.settings)) {
    auto pacer = pacing::Pacer::Create(settings, options_.controller);
    if (pacer.ok()) {
      r.pacer = *std::move(pacer);
      r.settings = settings;
    }
  }
  r.campaign = std::move(campaign);
}

void Dialer::RefreshAgents(Runner& r, absl::Time now) {
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (now - r.agents_read_at < options_.agent_refresh) return;
    r.agents_read_at = now;
  }
  auto agents = ports_.agents->Agents(r.tenant, r.name);
  std::lock_guard<std::mutex> lock(r.mu);
  if (!agents.ok()) {
    r.agents_ok = false;  // agent state unknown: no dials
    return;
  }
  for (const auto& a : *agents) {
    auto it = r.agent_last.find(a.agent);
    if (it != r.agent_last.end() && it->second.state == agentstate::v1::STATE_ON_CALL &&
        a.state == agentstate::v1::STATE_WRAP_UP && a.since > it->second.since) {
      // A short call (a machine, a wrong number) wraps up faster: the pacer
      // is told how long the call before a wrap-up talked.
      r.last_talk_s[a.agent] = absl::ToDoubleSeconds(a.since - it->second.since);
    } else if (a.state == agentstate::v1::STATE_WRAP_UP &&
               (it == r.agent_last.end() || it->second.state != agentstate::v1::STATE_WRAP_UP)) {
      r.last_talk_s.erase(a.agent);  // its call was not seen: unknown, not an older one
    }
    if (it != r.agent_last.end() && it->second.state == agentstate::v1::STATE_WRAP_UP &&
        a.state != agentstate::v1::STATE_WRAP_UP && a.since > it->second.since) {
      double s = absl::ToDoubleSeconds(a.since - it->second.since);
      r.wrap_mean_s = r.wrap_samples == 0 ? s : 0.9 * r.wrap_mean_s + 0.1 * s;
      ++r.wrap_samples;
    }
    r.agent_last[a.agent] = a;
  }
  r.agents = *std::move(agents);
  r.agents_ok = true;
}

void Dialer::RefillHopper(Runner& r, absl::Time now) {
  std::vector<std::string> lists;
  size_t start = 0;
  int want = 0;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (!r.dialing || now < r.refill_after) return;
    // Agent-owned callbacks waiting for their agents do not feed the others.
    int waiting = 0;
    for (const auto& l : r.hopper) {
      auto own = r.owned.find(l.contact.name());
      waiting += own != r.owned.end() && now < own->second.due + options_.callback_grace;
    }
    const int dialable = static_cast<int>(r.hopper.size()) - waiting;
    const int low = std::max(options_.hopper_min, 2 * r.last_lines);
    if (dialable >= low) return;
    want = std::max(options_.hopper_batch, low) - dialable;
    lists.assign(r.campaign->contact_lists().begin(), r.campaign->contact_lists().end());
    start = r.next_list;
  }
  std::vector<LeasedContact> got;
  bool unavailable = false;
  const std::string holder = absl::StrCat("dialing/", options_.instance, "/", r.id);
  for (size_t i = 0; i < lists.size() && static_cast<int>(got.size()) < want; ++i) {
    const std::string& list = lists[(start + i) % lists.size()];
    auto leased = ports_.contacts->Lease(list, std::min(1000, want - static_cast<int>(got.size())),
                                         holder, options_.contact_lease);
    if (!leased.ok()) {
      unavailable = true;
      continue;
    }
    for (auto& l : *leased) got.push_back(std::move(l));
  }
  if (!got.empty() && !ports_.calls->AddToHopper(r.tenant, r.id, got).ok()) {
    // Not kept: a replica taking over would not know them. Give them back.
    for (const auto& l : got) GiveBack(r, l);
    got.clear();
  }
  std::string reason;
  bool changed = false, now_dry = false;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.next_list = lists.empty() ? 0 : (start + 1) % lists.size();
    for (auto& l : got) r.hopper.push_back(std::move(l));
    if (r.hopper.empty() && !r.dry) {
      r.dry = changed = now_dry = true;
      reason = unavailable ? "CONTACTS_UNAVAILABLE" : "NO_CALLABLE_CONTACTS";
    } else if (!r.hopper.empty() && r.dry) {
      r.dry = false;
      changed = true;
    }
    if (got.empty()) r.refill_after = now + (unavailable ? absl::Seconds(1) : absl::Seconds(2));
  }
  if (!changed) return;
  v1::CampaignHopperChanged e;
  e.set_campaign(r.name);
  e.set_empty(now_dry);
  e.set_reason(reason);
  (void)ports_.calls->Publish(
      r.tenant, {kafka::MakeEnvelope(r.tenant, r.name, e, options_.instance, scheduler_.clock())});
  if (now_dry) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.hopper_dry;
  }
  Log(LogLevel::kInfo, "dialing", now_dry ? "hopper dry" : "hopper refilled",
      {{"campaign", r.name}, {"reason", reason}});
}

void Dialer::Tick(const std::shared_ptr<Runner>& r) {
  const absl::Time now = scheduler_.clock().Now();
  RefreshCampaign(*r, now);
  RefreshAgents(*r, now);
  RefreshCallbacks(*r, now);
  RefillHopper(*r, now);
  PublishProgress(*r, now);
  std::vector<std::shared_ptr<Attempt>> to_dial;
  std::vector<std::string> expired, stale;
  {
    std::lock_guard<std::mutex> lock(r->mu);
    if (!r->dialing || now < r->checks_blocked_until) return;
    if (!InActiveWindow(*r->campaign, now)) return;
    const bool agentless = r->campaign->mode() == v1::CAMPAIGN_MODE_AGENTLESS;
    if (!r->agents_ok && !agentless) return;  // every other mode needs agents
    std::vector<pacing::AgentView> agents;
    for (const auto& a : r->agents) {
      pacing::AgentView v;
      v.elapsed_s = std::max(0.0, absl::ToDoubleSeconds(now - a.since));
      switch (a.state) {
        case agentstate::v1::STATE_READY: v.state = pacing::AgentState::kIdle; break;
        case agentstate::v1::STATE_RESERVED:
        case agentstate::v1::STATE_ON_CALL: v.state = pacing::AgentState::kTalking; break;
        case agentstate::v1::STATE_WRAP_UP: {
          v.state = pacing::AgentState::kWrapUp;
          auto talk = r->last_talk_s.find(a.agent);
          if (talk != r->last_talk_s.end()) v.talk_s = talk->second;
          break;
        }
        default: continue;  // not ready, logged out
      }
      agents.push_back(v);
    }
    std::vector<double> ages;
    int queued = 0;
    for (const auto& [id, a] : r->live) {
      if (a->in_flight) ages.push_back(std::max(0.0, absl::ToDoubleSeconds(now - a->created_at)));
      if (a->waiting_agent && !a->inbound) ++queued;
    }
    // Blended: inbound callers come first; the ready agents they will take
    // (and a learnt reserve) are not the pacer's to dial for.
    {
      int idle = 0;
      for (const auto& v : agents) idle += v.state == pacing::AgentState::kIdle;
      int held = HeldForInbound(*r, idle, now);
      for (auto it = agents.begin(); held > 0 && it != agents.end();) {
        if (it->state == pacing::AgentState::kIdle) {
          it = agents.erase(it);
          --held;
        } else {
          ++it;
        }
      }
    }
    pacing::CampaignSnapshot snap;
    snap.now_s = absl::ToDoubleSeconds(now - r->origin);
    snap.day = DayIndex(now, r->campaign->time_zone());
    snap.agents = agents;
    snap.attempts_in_flight_age_s = ages;
    snap.queued_answers = queued;
    pacing::PacingDecision decision = r->pacer->Decide(snap);
    if (now < r->progressive_until) {
      // One line per free agent, counting the lines already in flight.
      int idle = 0;
      for (const auto& v : agents) idle += v.state == pacing::AgentState::kIdle;
      decision.lines = std::max(0, idle - static_cast<int>(ages.size()) - queued);
    }
    const int room = r->campaign->max_lines() - static_cast<int>(r->live.size());
    const int lines = std::max(0, std::min({decision.lines, room, static_cast<int>(r->hopper.size())}));
    r->last_lines = std::max(decision.lines, 0);
    // Agents free to take an agent-owned callback this tick.
    std::set<std::string> ready;
    for (const auto& a : r->agents) {
      if (a.state == agentstate::v1::STATE_READY) ready.insert(a.agent);
    }
    for (int i = 0; i < lines;) {
      // The first contact that may be dialed now: an agent-owned callback
      // waits in the hopper for its agent (until its grace ends).
      auto it = r->hopper.begin();
      std::string owner;
      while (it != r->hopper.end()) {
        if (it->expire_time < now + options_.lease_margin) {
          // Its lease ends before the call would: not ours to dial any more.
          expired.push_back(it->contact.name());
          it = r->hopper.erase(it);
          continue;
        }
        auto own = r->owned.find(it->contact.name());
        if (own == r->owned.end()) break;
        if (now >= own->second.due + options_.callback_grace) {
          stale.push_back(own->first);  // its agent never came: anyone's now
          r->owned.erase(own);
          break;
        }
        if (ready.erase(own->second.agent) > 0) {
          owner = own->second.agent;
          break;
        }
        ++it;
      }
      if (it == r->hopper.end()) break;
      auto a = std::make_shared<Attempt>();
      a->runner = r;
      a->id = absl::StrCat("c", RandomHex(10));  // resource ids start with a letter
      a->lease = std::move(*it);
      r->hopper.erase(it);
      a->campaign = r->campaign;
      a->created_at = now;
      if (!owner.empty()) {  // the agent is reserved before the dial: not the pacer's
        a->agent = owner;
        a->owned_callback = true;
        a->in_flight = false;
      }
      r->live[a->id] = a;
      to_dial.push_back(std::move(a));
      ++i;
    }
  }
  for (const auto& contact : expired) (void)ports_.calls->RemoveFromHopper(r->tenant, r->id, contact);
  for (const auto& contact : stale) (void)ports_.calls->RemoveAgentCallback(r->tenant, r->id, contact);
  if (!to_dial.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& a : to_dial) attempts_[a->id] = a;
  }
  for (auto& a : to_dial) {
    executor_.Post(KeyOf(a->id), [this, a] { Dial(a); });
  }
}

// --- One call ----------------------------------------------------------------

void Dialer::GiveBack(Runner& r, const LeasedContact& lease) {
  (void)ports_.calls->RemoveFromHopper(r.tenant, r.id, lease.contact.name());
  (void)ports_.contacts->Report(lease.contact.name(), lease.lease_id,
                                contacts::v1::OUTCOME_KIND_RELEASED, "NOT_DIALED",
                                absl::InfinitePast());
}

std::shared_ptr<Dialer::Attempt> Dialer::FindAttempt(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = attempts_.find(id);
  return it == attempts_.end() ? nullptr : it->second;
}

void Dialer::DropAttempt(const std::string& id) {
  std::shared_ptr<Attempt> a;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = attempts_.find(id);
    if (it == attempts_.end()) return;
    a = it->second;
    attempts_.erase(it);
  }
  std::lock_guard<std::mutex> lock(a->runner->mu);
  a->runner->live.erase(id);
}

absl::Status Dialer::Store(Attempt& a, absl::string_view step,
                           std::vector<event::v1::Envelope> extra) {
  Runner& r = *a.runner;
  int64_t token;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    token = r.token;
  }
  a.stored.call.set_fencing_token(token);
  v1::CallUpdated updated;
  *updated.mutable_call() = a.stored.call;
  updated.set_step(std::string(step));
  Events events = {kafka::MakeEnvelope(r.tenant, a.stored.call.name(), updated,
                                       options_.instance, scheduler_.clock())};
  for (auto& e : extra) events.push_back(std::move(e));
  const int64_t max_lines =
      options_.tenant_max_lines ? options_.tenant_max_lines(r.tenant) : 0;
  absl::Status st;
  for (int i = 0; i < 3; ++i) {
    st = ports_.calls->Put(r.tenant, r.id, a.stored, token, events, max_lines);
    if (st.ok() || st.code() != absl::StatusCode::kUnavailable) break;
  }
  if (st.ok() || st.code() == absl::StatusCode::kResourceExhausted) return st;
  std::lock_guard<std::mutex> lock(mu_);
  if (st.code() == absl::StatusCode::kFailedPrecondition) {
    ++stats_.fenced;
    std::lock_guard<std::mutex> rlock(r.mu);
    r.dialing = false;  // another replica owns the campaign now
    r.lost = true;
  } else {
    ++stats_.store_errors;
  }
  Log(LogLevel::kWarning, "dialing", "call not stored",
      {{"call", a.stored.call.name()}, {"step", std::string(step)}, {"error", st.ToString()}});
  return st;
}

absl::StatusOr<compliance::v1::DialDecision> Dialer::Check(
    const compliance::v1::CheckDialRequest& request) {
  auto decision = ports_.compliance->CheckDial(request);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.checks;
  if (!decision.ok()) ++stats_.check_errors;
  return decision;
}

// No decision, no dial: the contact goes back to the front of the hopper and
// the campaign waits before it asks again (logged once a minute while it
// lasts).
void Dialer::NoDecision(Attempt& a, const absl::Status& why) {
  Runner& r = *a.runner;
  if (a.owned_callback) {
    (void)ports_.agents->Release(a.agent, absl::StrCat("tenants/", r.tenant, "/calls/", a.id));
  }
  DropAttempt(a.id);
  const absl::Time now = scheduler_.clock().Now();
  bool log = false;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.hopper.push_front(a.lease);
    r.checks_blocked_until = now + options_.compliance_backoff;
    if (now - r.compliance_logged_at >= absl::Minutes(1)) {
      r.compliance_logged_at = now;
      log = true;
    }
  }
  if (log) {
    Log(LogLevel::kWarning, "dialing", "no compliance decision: not dialing",
        {{"campaign", r.name}, {"error", why.ToString()}});
  }
}

// An attempt allowed but not placed: ended as NOT_PLACED, so compliance
// gives back the attempt its decision counted.
void Dialer::EndNotPlaced(Attempt& a, absl::Time now) {
  v1::Call& call = a.stored.call;
  call.set_state(v1::CALL_STATE_ENDED);
  call.set_outcome(v1::CALL_OUTCOME_NOT_PLACED);
  *call.mutable_end_time() = ToTimestamp(now);
  (void)Store(a, "ENDED", {kafka::MakeEnvelope(a.runner->tenant, call.name(), AttemptEnded(call),
                                               options_.instance, scheduler_.clock())});
}

void Dialer::ScheduleDispositionTimeout(const std::string& tenant, const std::string& call_id,
                                        absl::Time ended) {
  // Kept so that Stop cancels it (a stopped dialer's sweep-less calls are
  // closed by another replica's sweep). Cancel waits for a running task,
  // which takes mu_: never called with mu_ held.
  const std::string key = absl::StrCat(tenant, "/", call_id);
  const Scheduler::TaskId id =
      scheduler_.At(ended + options_.disposition_timeout, [this, tenant, call_id, key] {
        {
          std::lock_guard<std::mutex> lock(mu_);
          disposition_timeouts_.erase(key);
        }
        executor_.Post(KeyOf(call_id),
                       [this, tenant, call_id] { ExpireDisposition(tenant, call_id); });
      });
  Scheduler::TaskId cancel = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      cancel = id;
    } else {
      Scheduler::TaskId& slot = disposition_timeouts_[key];
      cancel = slot;  // an earlier timeout of the same call
      slot = id;
    }
  }
  if (cancel != 0) scheduler_.Cancel(cancel);
}

void Dialer::Dial(const std::shared_ptr<Attempt>& a) {
  Runner& r = *a->runner;
  const v1::Campaign& campaign = *a->campaign;
  const contacts::v1::Contact& contact = a->lease.contact;
  type::v1::DialingMode mode = ComplianceMode(campaign.mode());
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (scheduler_.clock().Now() < r.progressive_until) mode = type::v1::DIALING_MODE_PROGRESSIVE;
  }
  const std::string debt = DebtOf(campaign, contact);
  if (campaign.purpose() == type::v1::CALL_PURPOSE_DEBT_COLLECTION && debt.empty()) {
    // Compliance counts Reg F per debt: a call about no known debt is not
    // asked for, and not dialed. A corrected import brings it back.
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.denied;
    }
    DropAttempt(a->id);
    (void)ports_.calls->RemoveFromHopper(r.tenant, r.id, contact.name());
    (void)ports_.contacts->Report(contact.name(), a->lease.lease_id,
                                  contacts::v1::OUTCOME_KIND_RETRY, "NOT_ALLOWED_NO_DEBT",
                                  scheduler_.clock().Now() + absl::Hours(24));
    return;
  }
  const std::string call_name = absl::StrCat("tenants/", r.tenant, "/calls/", a->id);
  if (a->owned_callback) {
    // The callback's own agent first, reserved for this call (it is on the
    // line from the dial: asked of compliance as PROGRESSIVE, one line for
    // one waiting agent).
    std::vector<v1::SkillRequirement> skills(campaign.skills().begin(), campaign.skills().end());
    auto reserved = ports_.agents->Reserve(r.name, skills, call_name, a->agent);
    if (!reserved.ok()) {  // not ready after all: it waits in the hopper for its agent
      DropAttempt(a->id);
      std::lock_guard<std::mutex> lock(r.mu);
      r.hopper.push_front(a->lease);
      return;
    }
    mode = type::v1::DIALING_MODE_PROGRESSIVE;
  }
  compliance::v1::DialDecision allowed;
  bool found = false;
  absl::Time retry_at = absl::InfinitePast();
  std::string denial;
  int index = 0;
  for (const auto& phone : contact.phones()) {
    ++index;
    if (!phone.callable() || phone.number().e164().empty()) continue;
    compliance::v1::CheckDialRequest req;
    req.set_campaign(r.name);
    req.set_contact(contact.name());
    req.set_phone_number(phone.number().e164());
    req.set_dialing_mode(mode);
    *req.mutable_callee() = CalleeOf(contact);
    req.set_purpose(campaign.purpose());
    req.set_debt(debt);
    req.set_product(campaign.product());
    req.set_request_id(absl::StrCat(a->id, "-", index));
    auto decision = Check(req);
    if (!decision.ok()) {
      NoDecision(*a, decision.status());
      return;
    }
    if (!decision->allowed() && DenialCode(*decision) == "ABANDON_RATE_EXCEEDED" &&
        mode != type::v1::DIALING_MODE_PROGRESSIVE) {
      // The campaign, not the contact, is over its abandon cap: dial
      // progressively for a while, this contact too (asked again as such).
      {
        std::lock_guard<std::mutex> lock(r.mu);
        r.progressive_until = scheduler_.clock().Now() + options_.progressive_hold;
      }
      Log(LogLevel::kWarning, "dialing", "abandon rate over the cap: dialing progressively",
          {{"campaign", r.name}, {"detail", decision->reasons(0).detail()}});
      mode = type::v1::DIALING_MODE_PROGRESSIVE;
      req.set_dialing_mode(mode);
      req.set_request_id(absl::StrCat(a->id, "-", index, "-p"));
      decision = Check(req);
      if (!decision.ok()) {
        NoDecision(*a, decision.status());
        return;
      }
    }
    if (decision->allowed()) {
      allowed = *std::move(decision);
      found = true;
      break;
    }
    if (denial.empty()) denial = DenialCode(*decision);
    if (decision->has_next_allowed_time()) {
      absl::Time t = FromTimestamp(decision->next_allowed_time());
      retry_at = retry_at == absl::InfinitePast() ? t : std::min(retry_at, t);
    }
  }
  const absl::Time now = scheduler_.clock().Now();
  if (!found) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.denied;
    }
    {
      std::lock_guard<std::mutex> lock(r.mu);
      r.progress.set_refused(r.progress.refused() + 1);
    }
    if (a->owned_callback) (void)ports_.agents->Release(a->agent, call_name);
    DropAttempt(a->id);
    (void)ports_.calls->RemoveFromHopper(r.tenant, r.id, contact.name());
    if (denial.empty()) denial = "NO_CALLABLE_NUMBER";
    const bool later = retry_at != absl::InfinitePast();
    (void)ports_.contacts->Report(
        contact.name(), a->lease.lease_id,
        later ? contacts::v1::OUTCOME_KIND_RETRY : contacts::v1::OUTCOME_KIND_COMPLETED,
        absl::StrCat("NOT_ALLOWED_", denial), later ? retry_at : absl::InfinitePast());
    return;
  }
  std::string caller_id;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    caller_id = PickCallerId(campaign, allowed.phone_number().e164(), r.caller_turn++,
                             r.caller_ids.Resting(scheduler_.clock().Now()));
  }
  v1::Call& call = a->stored.call;
  call.set_name(call_name);
  call.set_campaign(r.name);
  call.set_contact(contact.name());
  if (a->owned_callback) {
    call.set_agent(a->agent);
    call.set_callback_agent(a->agent);
  }
  call.set_phone_number(allowed.phone_number().e164());
  call.set_caller_id(caller_id);
  call.set_decision_id(allowed.decision_id());
  // Where a party has an all-party consent law, the callee hears the
  // recording announcement (compliance decides; the recording is marked).
  call.set_recording_announcement(allowed.recording_announcement_required());
  call.set_state(v1::CALL_STATE_DIALING);
  call.set_dialing_mode(mode);
  call.set_debt(debt);
  *call.mutable_dial_time() = ToTimestamp(now);
  // Screened by AMD (PlaceCall below): its end reports the false-positive
  // estimate, so compliance counts the live persons AMD may hang up on.
  if (campaign.machine().detect() && !a->owned_callback) {
    const double fp = campaign.machine().false_positive_rate();
    call.set_amd_false_positive_rate(fp > 0.0 ? fp : options_.amd_false_positive_rate);
  }
  a->stored.lease_id = a->lease.lease_id;
  a->stored.contact_attempts = contact.attempts();
  absl::Status stored = Store(*a, "DIALED");
  if (stored.code() == absl::StatusCode::kResourceExhausted) {
    // Every line of the tenant is in use (max_concurrent_lines, all its
    // campaigns): not placed. Compliance gets its attempt back, the contact
    // waits at the front of the hopper, and the campaign waits a moment.
    EndNotPlaced(*a, now);
    if (a->owned_callback) (void)ports_.agents->Release(a->agent, call_name);
    DropAttempt(a->id);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.line_quota;
    }
    std::lock_guard<std::mutex> lock(r.mu);
    r.hopper.push_front(a->lease);
    r.checks_blocked_until = now + options_.line_quota_backoff;
    return;
  }
  if (!stored.ok()) {
    // Nothing written, nothing dialed: compliance, which counted the
    // attempt when it allowed it, is told directly (the outbox is what
    // failed, or is no longer ours).
    call.set_state(v1::CALL_STATE_ENDED);
    call.set_outcome(v1::CALL_OUTCOME_NOT_PLACED);
    *call.mutable_end_time() = ToTimestamp(now);
    absl::Status told = ports_.compliance->RecordNotPlaced(r.tenant, AttemptEnded(call));
    if (!told.ok()) {
      Log(LogLevel::kWarning, "dialing", "compliance not told of an attempt never placed",
          {{"call", call_name}, {"error", told.ToString()}});
    }
    if (a->owned_callback) (void)ports_.agents->Release(a->agent, call_name);
    DropAttempt(a->id);
    bool lost;
    {
      std::lock_guard<std::mutex> lock(r.mu);
      lost = r.lost;
    }
    // Fenced: the contact stays in the Redis hopper for the new owner.
    if (!lost) GiveBack(r, a->lease);
    return;
  }
  if (a->owned_callback) {
    // Dialed: the callback is done as the agent's own; the agent is on it.
    (void)ports_.calls->RemoveAgentCallback(r.tenant, r.id, contact.name());
    {
      std::lock_guard<std::mutex> lock(r.mu);
      r.owned.erase(contact.name());
    }
    absl::Status confirmed = ports_.agents->Confirm(a->agent, call_name);
    if (!confirmed.ok()) {
      Log(LogLevel::kWarning, "dialing", "callback's agent reservation not confirmed",
          {{"call", call_name}, {"agent", a->agent}, {"error", confirmed.ToString()}});
    }
  }
  telephony::CallRequest req;
  req.attempt_id = telephony::AttemptId(a->id);
  req.caller_id = caller_id;
  req.to = call.phone_number();
  req.ring_timeout = campaign.has_ring_timeout() ? FromDurationProto(campaign.ring_timeout())
                                                 : absl::Seconds(25);
  req.amd = campaign.machine().detect() && !a->owned_callback ? telephony::AmdMode::kOn
                                                               : telephony::AmdMode::kOff;
  absl::Status placed = telephony_ == nullptr ? Unavailable("NO_CARRIER", "no telephony port")
                                              : telephony_->PlaceCall(req);
  if (!placed.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.place_errors;
    }
    EndNotPlaced(*a, now);
    if (a->owned_callback) (void)ports_.agents->EndCall(a->agent, call_name);
    DropAttempt(a->id);
    GiveBack(r, a->lease);
    Log(LogLevel::kWarning, "dialing", "call not placed",
        {{"call", call.name()}, {"error", placed.ToString()}});
    return;
  }
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.progress.set_dials(r.progress.dials() + 1);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.placed;
}

void Dialer::OnCallEvent(const telephony::CallEvent& event) {
  executor_.Post(KeyOf(event.attempt_id.value()), [this, event] { Handle(event); });
}

void Dialer::Handle(const telephony::CallEvent& e) {
  auto a = FindAttempt(e.attempt_id.value());
  if (a == nullptr) {
    if (e.type == telephony::CallEventType::kIncoming) Incoming(e);
    return;  // else not ours (any more)
  }
  if (a->inbound) {
    if (e.type == telephony::CallEventType::kEnded) {
      FinishInbound(a, e);
    } else {
      HandleInbound(a, e);
    }
    return;
  }
  Runner& r = *a->runner;
  v1::Call& call = a->stored.call;
  using T = telephony::CallEventType;
  const double age = absl::ToDoubleSeconds(e.at - a->created_at);
  switch (e.type) {
    case T::kRinging:
      call.set_state(v1::CALL_STATE_RINGING);
      call.set_attestation(AttestationOf(e.attestation));
      (void)Store(*a, "RINGING");
      return;
    case T::kBusy:
    case T::kNoAnswer:
    case T::kFailed: {
      std::lock_guard<std::mutex> lock(r.mu);
      a->invalid_number = e.type == T::kFailed &&
                          e.failure_cause == telephony::FailureCause::kInvalidNumber;
      if (a->in_flight) {
        a->in_flight = false;
        r.pacer->OnAttemptFinished({std::max(0.0, age), false});
      }
      return;
    }
    case T::kAnswered: {
      call.set_amd_result(AmdOf(e.amd_verdict));
      *call.mutable_answer_time() =
          ToTimestamp(e.answered_at == absl::InfinitePast() ? e.at : e.answered_at);
      bool route = true;
      std::string message;
      std::string offered_key;  // the opt-out key the message offers
      {
        std::lock_guard<std::mutex> lock(r.mu);
        const bool machine = e.amd_verdict == telephony::AmdVerdict::kMachine;
        const auto action = a->campaign->machine().action();
        if (machine && action != v1::MACHINE_ACTION_ROUTE_TO_AGENT) {
          route = false;
          a->machine = true;
          if (action == v1::MACHINE_ACTION_LEAVE_MESSAGE) message = a->campaign->machine().message_id();
        } else if (a->campaign->mode() == v1::CAMPAIGN_MODE_AGENTLESS && a->agent.empty()) {
          // No agent is to take it: the person hears the recorded message.
          route = false;
          a->message_played = true;
          message = a->campaign->agentless_message_id();
          a->opt_out_key = offered_key = OptOutKeyOf(*a->campaign);
        }
        a->live = !machine;
        r.progress.set_answered(r.progress.answered() + 1);
        if (a->machine) r.progress.set_machines(r.progress.machines() + 1);
        if (a->message_played) r.progress.set_messages_played(r.progress.messages_played() + 1);
        if (a->in_flight) {
          a->in_flight = false;
          r.pacer->OnAttemptFinished({std::max(0.0, age), route});
        }
        a->waiting_agent = route && e.amd_verdict != telephony::AmdVerdict::kUndecided;
        if (route) a->routed_age_s = std::max(0.0, age);
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.answered;
        if (a->machine) ++stats_.machines;
        if (a->message_played) ++stats_.messages;
      }
      if (route) call.set_state(v1::CALL_STATE_ANSWERED);
      (void)Store(*a, "ANSWERED");
      if (!a->agent.empty()) {
        // The agent dialed it and is on the line: connected at once.
        {
          std::lock_guard<std::mutex> lock(r.mu);
          a->waiting_agent = false;
        }
        absl::Status st = telephony_->ConnectToAgent(e.attempt_id, telephony::AgentId(a->agent));
        (void)st;  // the callee may be gone already: Ended follows either way
        return;
      }
      if (!route) {
        absl::Status st = message.empty()
                              ? telephony_->HangUp(e.attempt_id)
                              : telephony_->PlayMessageAndHangUp(e.attempt_id,
                                                                 {message, offered_key});
        (void)st;  // the callee may be gone already: Ended follows either way
        return;
      }
      if (e.amd_verdict != telephony::AmdVerdict::kUndecided) TryConnect(a->id);
      return;
    }
    case T::kAgentConnected: {
      {
        std::lock_guard<std::mutex> lock(r.mu);
        a->connected = true;
        r.progress.set_connected(r.progress.connected() + 1);
      }
      call.set_state(v1::CALL_STATE_CONNECTED);
      *call.mutable_connect_time() = ToTimestamp(e.at);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.connected;
      }
      (void)Store(*a, "CONNECTED");
      Announce(*a);
      return;
    }
    case T::kRemoteHangup: {
      std::lock_guard<std::mutex> lock(r.mu);
      a->waiting_agent = false;
      return;
    }
    case T::kEnded:
      Finish(a, e);
      return;
    case T::kIncoming:
      return;  // a carrier's repeat: the call is known
    case T::kKeyPressed:
      OptOutKey(a, e);
      return;
  }
}

// The automated opt-out: a live callee who presses the key while a recorded
// message plays goes on the tenant's do-not-call list at once, and the call
// ends. Any other key, or a key during a conversation, does nothing.
void Dialer::OptOutKey(const std::shared_ptr<Attempt>& a, const telephony::CallEvent& e) {
  Runner& r = *a->runner;
  v1::Call& call = a->stored.call;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (a->opt_out_key.empty() || e.digits != a->opt_out_key || !a->live || a->connected ||
        a->opted_out) {
      return;  // not the key this call's message offers
    }
    a->opted_out = true;
  }
  absl::Status st = ports_.compliance == nullptr
                        ? Unavailable("NO_COMPLIANCE", "this replica has no compliance peer")
                        : ports_.compliance->AddOptOut(
                              r.tenant, call.phone_number(),
                              absl::StrCat("opt-out key pressed during the message of ", call.name()));
  if (!st.ok()) {
    // The contact still leaves the campaign as do-not-call (Finish); the
    // tenant's list misses the number until someone adds it: said loudly.
    Log(LogLevel::kError, "dialing", "opt-out not recorded with compliance",
        {{"call", call.name()}, {"error", st.ToString()}});
  }
  call.set_opted_out(true);
  (void)Store(*a, "OPTED_OUT");
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.opted_out;
    if (!st.ok()) ++stats_.opt_outs_not_recorded;
  }
  (void)telephony_->HangUp(e.attempt_id);  // Ended follows either way
}

void Dialer::TryConnect(const std::string& id) {
  auto a = FindAttempt(id);
  if (a == nullptr) return;
  Runner& r = *a->runner;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (!a->waiting_agent) return;
  }
  std::vector<v1::SkillRequirement> skills(a->campaign->skills().begin(),
                                           a->campaign->skills().end());
  auto agent = ports_.agents->Reserve(r.name, skills, a->stored.call.name());
  if (agent.ok()) {
    absl::Status st = telephony_->ConnectToAgent(telephony::AttemptId(id), telephony::AgentId(*agent));
    if (!st.ok()) {
      (void)ports_.agents->Release(*agent, a->stored.call.name());  // the callee is gone
      return;
    }
    {
      std::lock_guard<std::mutex> lock(r.mu);
      a->waiting_agent = false;
    }
    if (options_.on_answer_to_connect) {
      options_.on_answer_to_connect(absl::ToDoubleSeconds(
          scheduler_.clock().Now() - FromTimestamp(a->stored.call.answer_time())));
    }
    a->stored.call.set_agent(*agent);
    absl::Status confirmed = ports_.agents->Confirm(*agent, a->stored.call.name());
    if (!confirmed.ok()) {
      Log(LogLevel::kWarning, "dialing", "reservation not confirmed",
          {{"call", a->stored.call.name()}, {"agent", *agent}, {"error", confirmed.ToString()}});
    }
    return;
  }
  const absl::Time now = scheduler_.clock().Now();
  // An answered outbound call waits the grace period for an agent; an
  // inbound caller waits in the queue up to the campaign's max wait.
  const absl::Time deadline =
      a->inbound ? FromTimestamp(a->stored.call.queue_time()) +
                       FromDurationProto(a->campaign->inbound().max_wait())
                 : FromTimestamp(a->stored.call.answer_time()) + options_.grace;
  if (now + options_.reserve_retry < deadline) {
    scheduler_.After(options_.reserve_retry, [this, id] {
      executor_.Post(KeyOf(id), [this, id] { TryConnect(id); });
    });
    return;
  }
  // Nobody within the grace period: the required message (it offers the
  // opt-out key), then hang up. Inbound: the overflow message (none).
  std::string key;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    a->waiting_agent = false;
    a->overflowed = a->inbound;
    if (!a->inbound) a->opt_out_key = key = OptOutKeyOf(*a->campaign);
  }
  const std::string message =
      a->inbound ? a->campaign->inbound().overflow_message_id() : options_.abandon_message;
  (void)telephony_->PlayMessageAndHangUp(telephony::AttemptId(id), {message, key});
}

void Dialer::Finish(const std::shared_ptr<Attempt>& a, const telephony::CallEvent& ended) {
  Runner& r = *a->runner;
  v1::Call& call = a->stored.call;
  v1::CallOutcome outcome;
  bool live, connected, machine, invalid, message;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    live = a->live;
    connected = a->connected;
    machine = a->machine;
    message = a->message_played;
    invalid = a->invalid_number;
    if (a->in_flight) {  // cancelled before any answer
      a->in_flight = false;
      r.pacer->OnAttemptFinished(
          {std::max(0.0, absl::ToDoubleSeconds(ended.at - a->created_at)), false});
    }
  }
  switch (ended.end_cause) {
    case telephony::EndCause::kBusy: outcome = v1::CALL_OUTCOME_BUSY; break;
    case telephony::EndCause::kNoAnswer: outcome = v1::CALL_OUTCOME_NO_ANSWER; break;
    case telephony::EndCause::kFailed: outcome = v1::CALL_OUTCOME_FAILED; break;
    default:
      if (connected) {
        outcome = v1::CALL_OUTCOME_ANSWERED_CONNECTED;
      } else if (machine) {
        outcome = v1::CALL_OUTCOME_MACHINE;
      } else if (message) {
        outcome = v1::CALL_OUTCOME_MESSAGE_PLAYED;
      } else if (call.has_answer_time()) {
        // A live answer that never reached an agent: abandoned (also when
        // the callee hung up first, and when AMD could not decide).
        outcome = v1::CALL_OUTCOME_ABANDONED;
        live = true;
      } else {
        outcome = v1::CALL_OUTCOME_NO_ANSWER;  // hung up by us before an answer
      }
  }
  const bool awaiting = outcome == v1::CALL_OUTCOME_ANSWERED_CONNECTED;
  call.set_state(v1::CALL_STATE_ENDED);
  call.set_outcome(outcome);
  call.set_awaiting_disposition(awaiting);
  *call.mutable_end_time() = ToTimestamp(ended.at);
  (void)Store(*a, "ENDED", {kafka::MakeEnvelope(r.tenant, call.name(), AttemptEnded(call),
                                                options_.instance, scheduler_.clock())});
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.ended;
    if (outcome == v1::CALL_OUTCOME_ABANDONED) ++stats_.abandoned;
  }
  std::vector<RestedCallerId> rested;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    const absl::Duration talk = call.has_connect_time()
                                    ? ended.at - FromTimestamp(call.connect_time())
                                    : absl::ZeroDuration();
    r.caller_ids.Record(call.caller_id(), call.has_answer_time(),
                        connected ? talk : absl::InfiniteDuration(), ended.at);
    if (outcome == v1::CALL_OUTCOME_ABANDONED) r.progress.set_abandoned(r.progress.abandoned() + 1);
    const std::vector<std::string> pool(a->campaign->caller_ids().begin(),
                                        a->campaign->caller_ids().end());
    rested = r.caller_ids.Evaluate(pool, ended.at);
    if ((live || connected) && a->agent.empty()) {  // the pacer's own dials
      pacing::FinishedCall fc;
      fc.live_person = live;
      fc.abandoned = outcome == v1::CALL_OUTCOME_ABANDONED;
      fc.reached_agent = connected;
      if (connected && call.has_connect_time()) {
        fc.talk_s = std::max(0.0, absl::ToDoubleSeconds(ended.at - FromTimestamp(call.connect_time())));
        fc.wrap_s = r.wrap_mean_s;
      }
      fc.day = DayIndex(ended.at, a->campaign->time_zone());
      fc.routed_age_s = a->routed_age_s;
      if (live) {
        fc.estimated_amd_hangups = EstimatedAmdHangupsPerLiveAnswer(call.amd_false_positive_rate());
      }
      r.pacer->OnCallFinished(fc);
    }
  }
  std::vector<v1::CallerIdStatus> rested_status;
  std::vector<event::v1::Envelope> rested_events;
  for (const auto& c : rested) {
    v1::CallerIdRested e;
    e.set_campaign(r.name);
    e.set_caller_id(c.caller_id);
    e.set_answer_rate(c.answer_rate);
    e.set_pool_answer_rate(c.pool_answer_rate);
    e.set_short_call_share(c.short_share);
    e.set_attempts(c.attempts);
    *e.mutable_until() = ToTimestamp(c.until);
    rested_events.push_back(
        kafka::MakeEnvelope(r.tenant, r.name, e, options_.instance, scheduler_.clock()));
    {
      std::lock_guard<std::mutex> lock(r.mu);
      const CallerIdStats* st = r.caller_ids.Stats(c.caller_id);
      if (st != nullptr) rested_status.push_back(StatusOf(c.caller_id, *st));
    }
    Log(LogLevel::kWarning, "dialing", "caller ID rested: its answer rate collapsed",
        {{"campaign", r.name}, {"caller_id", c.caller_id},
         {"answer_rate", absl::StrCat(c.answer_rate)}, {"pool", absl::StrCat(c.pool_answer_rate)}});
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.caller_ids_rested;
  }
  // The rest is kept with the campaign, its event in the same step: the
  // next owner does not present the number before `until` either.
  if (!rested.empty() &&
      !ports_.calls->PutCallerIds(r.tenant, r.id, rested_status, rested_events).ok()) {
    Log(LogLevel::kWarning, "dialing", "caller ID rest not stored; retried with the progress",
        {{"campaign", r.name}});
    std::vector<std::string> again;
    for (const auto& c : rested) again.push_back(c.caller_id);
    std::lock_guard<std::mutex> lock(r.mu);
    r.caller_ids.MarkChanged(again);
    for (auto& e : rested_events) r.unsent_caller_id_events.push_back(std::move(e));
  }
  DropAttempt(a->id);
  // The agent of a connected call, or of its own dial (on the line from the
  // dial), goes to wrap-up.
  if ((connected || !a->agent.empty()) && !call.agent().empty()) EndAgentCall(*a);
  if (awaiting) {
    ScheduleDispositionTimeout(r.tenant, a->id, scheduler_.clock().Now());
    return;
  }
  if (a->lease.lease_id.empty()) return;  // a manual dial: no contact lease
  ContactNext next = AfterAttempt(*a->campaign, outcome, invalid, a->stored.contact_attempts + 1,
                                  scheduler_.clock().Now());
  if (call.opted_out()) next = OptedOut();
  absl::Status st = ports_.contacts->Report(call.contact(), a->lease.lease_id, next.kind,
                                            next.outcome, next.next_callable);
  if (!st.ok()) {
    Log(LogLevel::kWarning, "dialing", "outcome not reported to contacts",
        {{"call", call.name()}, {"error", st.ToString()}});
  }
}

// --- Agents' own dials ---------------------------------------------------------

absl::StatusOr<std::shared_ptr<Dialer::Runner>> Dialer::OwnedRunner(
    const std::string& tenant, const std::string& campaign_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = runners_.find(absl::StrCat(tenant, "/", campaign_id));
    if (it != runners_.end()) {
      std::lock_guard<std::mutex> rlock(it->second->mu);
      if (it->second->dialing) return it->second;
    }
  }
  auto stored = ports_.campaigns->Get(tenant, campaign_id);
  if (!stored.ok()) return stored.status();
  v1::Campaign campaign;
  if (!campaign.ParseFromString(stored->definition)) {
    return absl::InternalError("stored campaign does not parse");
  }
  if (campaign.state() != v1::CAMPAIGN_STATE_RUNNING) {
    return FailedPrecondition("CAMPAIGN_NOT_RUNNING", "the campaign is not running");
  }
  return Unavailable("NOT_CAMPAIGN_OWNER",
                     "the campaign is dialed by another replica or not claimed yet: retry");
}

absl::StatusOr<v1::CallerIdStatus> Dialer::SetCallerIdRest(const std::string& tenant,
                                                           const std::string& campaign_id,
                                                           const std::string& caller_id,
                                                           absl::Duration rest,
                                                           const std::string& reason,
                                                           const std::string& actor) {
  DG_ASSIGN_OR_RETURN(std::shared_ptr<Runner> r, OwnedRunner(tenant, campaign_id));
  const absl::Time now = scheduler_.clock().Now();
  const absl::Time until = rest > absl::ZeroDuration() ? now + rest : absl::InfinitePast();
  CallerIdStats next;
  {
    std::lock_guard<std::mutex> lock(r->mu);
    const std::vector<std::string> pool(r->campaign->caller_ids().begin(),
                                        r->campaign->caller_ids().end());
    if (std::find(pool.begin(), pool.end(), caller_id) == pool.end()) {
      return InvalidField("caller_id", "CALLER_ID_NOT_IN_POOL",
                          "the number is not in the campaign's caller-ID pool");
    }
    const CallerIdStats* st = r->caller_ids.Stats(caller_id);
    const bool resting = st != nullptr && st->resting_until > now;
    if (until > now && !resting && r->caller_ids.Usable(pool, now) <= 1) {
      return FailedPrecondition("LAST_CALLER_ID",
                                "the campaign would have no caller ID left to present");
    }
    next = r->caller_ids.WithRest(caller_id, until, now);
  }
  event::v1::Envelope envelope;
  if (until > now) {
    v1::CallerIdRested e;
    e.set_campaign(r->name);
    e.set_caller_id(caller_id);
    e.set_answer_rate(next.answer_rate());
    e.set_short_call_share(next.short_share());
    e.set_attempts(static_cast<int32_t>(next.attempts + 0.5));
    *e.mutable_until() = ToTimestamp(until);
    e.set_reason(reason);
    e.set_actor(actor);
    envelope = kafka::MakeEnvelope(tenant, r->name, e, options_.instance, scheduler_.clock());
  } else {
    v1::CallerIdRestEnded e;
    e.set_campaign(r->name);
    e.set_caller_id(caller_id);
    e.set_reason(reason);
    e.set_actor(actor);
    envelope = kafka::MakeEnvelope(tenant, r->name, e, options_.instance, scheduler_.clock());
  }
  const v1::CallerIdStatus status = StatusOf(caller_id, next);
  DG_RETURN_IF_ERROR(ports_.calls->PutCallerIds(tenant, r->id, {status}, {envelope}));
  {
    std::lock_guard<std::mutex> lock(r->mu);
    r->caller_ids.ApplyRest(caller_id, until, now);
  }
  Log(LogLevel::kInfo, "dialing", until > now ? "caller ID rested by hand" : "caller ID rest ended",
      {{"campaign", r->name}, {"caller_id", caller_id}, {"actor", actor}, {"reason", reason}});
  return status;
}

absl::StatusOr<Preview> Dialer::PreviewContact(const std::string& tenant,
                                               const std::string& campaign_id,
                                               const std::string& agent) {
  DG_ASSIGN_OR_RETURN(std::shared_ptr<Runner> r, OwnedRunner(tenant, campaign_id));
  const absl::Time now = scheduler_.clock().Now();
  std::shared_ptr<Attempt> a;
  std::vector<std::string> expired;
  {
    std::lock_guard<std::mutex> lock(r->mu);
    if (r->campaign->mode() != v1::CAMPAIGN_MODE_PREVIEW) {
      return FailedPrecondition("NOT_PREVIEW_CAMPAIGN",
                                "only a PREVIEW campaign's contacts are previewed");
    }
    for (const auto& [id, held] : r->live) {  // a retry: the agent's preview as it is
      if (held->previewing && held->agent == agent) {
        return Preview{held->stored.call, held->lease.contact,
                       held->created_at + options_.preview_timeout};
      }
    }
    // The agent's own due callback first, else the first contact whose
    // callback is nobody else's.
    auto pick = r->hopper.end();
    for (auto it = r->hopper.begin(); it != r->hopper.end();) {
      if (it->expire_time < now + options_.lease_margin) {
        expired.push_back(it->contact.name());
        it = r->hopper.erase(it);
        continue;
      }
      auto own = r->owned.find(it->contact.name());
      const bool owned = own != r->owned.end() && now < own->second.due + options_.callback_grace;
      if (owned && own->second.agent == agent) {
        pick = it;
        break;
      }
      if (!owned && pick == r->hopper.end()) pick = it;
      ++it;
    }
    if (pick != r->hopper.end()) {
      a = std::make_shared<Attempt>();
      a->runner = r;
      a->id = absl::StrCat("c", RandomHex(10));
      a->lease = std::move(*pick);
      r->hopper.erase(pick);
      a->campaign = r->campaign;
      a->created_at = now;
      a->in_flight = false;
      a->agent = agent;
      a->previewing = true;
      r->live[a->id] = a;
    }
  }
  for (const auto& contact : expired) (void)ports_.calls->RemoveFromHopper(tenant, campaign_id, contact);
  if (a == nullptr) {
    return FailedPrecondition("HOPPER_EMPTY", "no callable contact to preview now: try again");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    attempts_[a->id] = a;
  }
  v1::Call& call = a->stored.call;
  call.set_name(absl::StrCat("tenants/", tenant, "/calls/", a->id));
  call.set_campaign(r->name);
  call.set_contact(a->lease.contact.name());
  call.set_agent(agent);
  call.set_state(v1::CALL_STATE_PREVIEW);
  call.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  a->stored.lease_id = a->lease.lease_id;
  a->stored.contact_attempts = a->lease.contact.attempts();
  absl::Status st = Store(*a, "PREVIEWED");
  if (!st.ok()) {
    DropAttempt(a->id);
    std::lock_guard<std::mutex> lock(r->mu);
    if (!r->lost) r->hopper.push_front(a->lease);  // still in the Redis hopper
    return Unavailable("CALL_NOT_STORED", "the preview could not be stored: retry");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.previews;
  }
  const std::string id = a->id;
  scheduler_.After(options_.preview_timeout, [this, tenant, id] {
    executor_.Post(KeyOf(id), [this, tenant, id] {
      auto held = PreviewAttempt(tenant, id);
      if (held.ok()) (void)EndPreview(*held, "TIMED_OUT");
    });
  });
  return Preview{call, a->lease.contact, now + options_.preview_timeout};
}

// The preview `call_id` of this replica, taken from its agent (previewing
// false) so that one dial or skip wins.
absl::StatusOr<std::shared_ptr<Dialer::Attempt>> Dialer::PreviewAttempt(
    const std::string& tenant, const std::string& call_id) {
  auto a = FindAttempt(call_id);
  if (a != nullptr && a->runner->tenant == tenant) {
    std::lock_guard<std::mutex> lock(a->runner->mu);
    if (!a->previewing) {  // being dialed or skipped right now
      return FailedPrecondition("CALL_NOT_IN_PREVIEW",
                                "the call is not a preview waiting for its agent");
    }
    a->previewing = false;
    return a;
  }
  auto stored = ports_.calls->Get(tenant, call_id);
  if (!stored.ok()) return stored.status();
  if (stored->call.state() != v1::CALL_STATE_PREVIEW) {
    return FailedPrecondition("CALL_NOT_IN_PREVIEW", "the call is not a preview waiting for its agent");
  }
  return Unavailable("NOT_CAMPAIGN_OWNER",
                     "the preview is held by another replica of the campaign: retry");
}

absl::StatusOr<v1::Call> Dialer::EndPreview(const std::shared_ptr<Attempt>& a,
                                            absl::string_view why) {
  v1::Call& call = a->stored.call;
  call.set_state(v1::CALL_STATE_ENDED);
  call.set_outcome(v1::CALL_OUTCOME_NOT_PLACED);
  *call.mutable_end_time() = ToTimestamp(scheduler_.clock().Now());
  absl::Status st = Store(*a, "SKIPPED");
  DropAttempt(a->id);
  if (!st.ok()) return st;
  (void)ports_.contacts->Report(call.contact(), a->lease.lease_id,
                                contacts::v1::OUTCOME_KIND_RELEASED,
                                absl::StrCat("PREVIEW_", why), absl::InfinitePast());
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.previews_skipped;
  return call;
}

absl::StatusOr<v1::Call> Dialer::SkipPreview(const std::string& tenant, const std::string& call_id,
                                             const std::string& reason) {
  DG_ASSIGN_OR_RETURN(std::shared_ptr<Attempt> a, PreviewAttempt(tenant, call_id));
  Log(LogLevel::kInfo, "dialing", "preview skipped",
      {{"call", a->stored.call.name()}, {"agent", a->agent}, {"reason", reason}});
  return EndPreview(a, "SKIPPED");
}

absl::StatusOr<v1::Call> Dialer::DialPreview(const std::string& tenant, const std::string& call_id) {
  DG_ASSIGN_OR_RETURN(std::shared_ptr<Attempt> a, PreviewAttempt(tenant, call_id));
  std::vector<std::string> numbers;
  for (const auto& phone : a->lease.contact.phones()) {
    if (phone.callable() && !phone.number().e164().empty()) numbers.push_back(phone.number().e164());
  }
  a->stored.call.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  a->stored.call.set_debt(DebtOf(*a->campaign, a->lease.contact));
  return AgentDial(a, numbers);
}

absl::StatusOr<v1::Call> Dialer::ManualDial(const std::string& tenant,
                                            const std::string& campaign_id,
                                            const std::string& agent, const std::string& number,
                                            const std::string& contact, const std::string& debt) {
  DG_ASSIGN_OR_RETURN(std::shared_ptr<Runner> r, OwnedRunner(tenant, campaign_id));
  auto a = std::make_shared<Attempt>();
  a->runner = r;
  a->id = absl::StrCat("c", RandomHex(10));
  a->created_at = scheduler_.clock().Now();
  a->in_flight = false;
  a->agent = agent;
  a->lease.contact.set_name(contact);
  {
    std::lock_guard<std::mutex> lock(r->mu);
    a->campaign = r->campaign;
    r->live[a->id] = a;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    attempts_[a->id] = a;
  }
  v1::Call& call = a->stored.call;
  call.set_name(absl::StrCat("tenants/", tenant, "/calls/", a->id));
  call.set_campaign(r->name);
  call.set_contact(contact);
  call.set_agent(agent);
  call.set_dialing_mode(type::v1::DIALING_MODE_MANUAL);
  if (a->campaign->purpose() == type::v1::CALL_PURPOSE_DEBT_COLLECTION) call.set_debt(debt);
  return AgentDial(a, {number});
}

absl::StatusOr<v1::Call> Dialer::AgentDial(const std::shared_ptr<Attempt>& a,
                                           const std::vector<std::string>& numbers) {
  Runner& r = *a->runner;
  v1::Call& call = a->stored.call;
  const bool preview = call.state() == v1::CALL_STATE_PREVIEW;
  // Nothing dialed: a preview goes back to its agent, a manual dial leaves
  // no trace.
  auto undo = [&] {
    if (!preview) {
      DropAttempt(a->id);
      return;
    }
    std::lock_guard<std::mutex> lock(r.mu);
    a->previewing = true;
  };
  if (a->campaign->purpose() == type::v1::CALL_PURPOSE_DEBT_COLLECTION &&
      call.debt().empty()) {
    undo();
    return InvalidField(preview ? "name" : "debt", "DEBT_REQUIRED",
                        preview ? "the contact has no valid debt in the campaign's debt_attribute"
                                : "a debt-collection campaign's manual dial names its debt");
  }
  compliance::v1::DialDecision allowed;
  bool found = false;
  std::vector<std::string> refusals;
  absl::Time retry_at = absl::InfinitePast();
  for (size_t i = 0; i < numbers.size() && !found; ++i) {
    compliance::v1::CheckDialRequest req;
    req.set_campaign(r.name);
    req.set_contact(call.contact());
    req.set_phone_number(numbers[i]);
    req.set_dialing_mode(call.dialing_mode());
    req.set_purpose(a->campaign->purpose());
    req.set_debt(call.debt());
    req.set_product(a->campaign->product());
    if (preview) *req.mutable_callee() = CalleeOf(a->lease.contact);
    req.set_request_id(absl::StrCat(a->id, "-", i + 1));
    auto decision = Check(req);
    if (!decision.ok()) {
      undo();
      return Unavailable("NO_DECISION",
                         absl::StrCat("compliance did not answer, nothing was dialed: ",
                                      decision.status().message()));
    }
    if (decision->allowed()) {
      allowed = *std::move(decision);
      found = true;
      break;
    }
    for (const auto& reason : decision->reasons()) {
      refusals.push_back(absl::StrCat(numbers[i], " ", reason.code(),
                                      reason.detail().empty() ? "" : ": ", reason.detail()));
    }
    if (decision->has_next_allowed_time()) {
      const absl::Time t = FromTimestamp(decision->next_allowed_time());
      retry_at = retry_at == absl::InfinitePast() ? t : std::min(retry_at, t);
    }
  }
  const absl::Time now = scheduler_.clock().Now();
  if (!found) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.denied;
    }
    std::string message = numbers.empty() ? "the contact has no callable number"
                                           : absl::StrJoin(refusals, "; ");
    if (retry_at != absl::InfinitePast()) {
      absl::StrAppend(&message, " (allowed from ", absl::FormatTime(retry_at), ")");
    }
    if (preview) {
      // The contact waits for the time compliance names, as the pacer's
      // refused dials do; the preview is over.
      call.set_state(v1::CALL_STATE_ENDED);
      call.set_outcome(v1::CALL_OUTCOME_NOT_PLACED);
      *call.mutable_end_time() = ToTimestamp(now);
      (void)Store(*a, "NOT_ALLOWED");
      const bool later = retry_at != absl::InfinitePast();
      (void)ports_.contacts->Report(
          call.contact(), a->lease.lease_id,
          later ? contacts::v1::OUTCOME_KIND_RETRY : contacts::v1::OUTCOME_KIND_COMPLETED,
          "NOT_ALLOWED", later ? retry_at : absl::InfinitePast());
    }
    DropAttempt(a->id);
    return FailedPrecondition("DIAL_NOT_ALLOWED", message);
  }
  // The agent first: it is on the line from the dial.
  std::vector<v1::SkillRequirement> skills(a->campaign->skills().begin(),
                                           a->campaign->skills().end());
  call.set_phone_number(allowed.phone_number().e164());
  call.set_decision_id(allowed.decision_id());
  // Where a party has an all-party consent law, the callee hears the
  // recording announcement (compliance decides; the recording is marked).
  call.set_recording_announcement(allowed.recording_announcement_required());
  *call.mutable_dial_time() = ToTimestamp(now);
  auto reserved = ports_.agents->Reserve(r.name, skills, call.name(), a->agent);
  absl::Status agent_ok = reserved.status();
  if (agent_ok.ok()) agent_ok = ports_.agents->Confirm(a->agent, call.name());
  if (!agent_ok.ok()) {
    // Allowed but not placed: compliance gets its attempt back.
    if (preview) {
      EndNotPlaced(*a, now);
      GiveBack(r, a->lease);
    } else {  // a manual dial has no call record yet: the event alone
      call.set_state(v1::CALL_STATE_ENDED);
      call.set_outcome(v1::CALL_OUTCOME_NOT_PLACED);
      *call.mutable_end_time() = ToTimestamp(now);
      (void)ports_.calls->Publish(r.tenant, {kafka::MakeEnvelope(r.tenant, call.name(),
                                                                 AttemptEnded(call),
                                                                 options_.instance,
                                                                 scheduler_.clock())});
    }
    if (reserved.ok()) (void)ports_.agents->Release(a->agent, call.name());
    DropAttempt(a->id);
    return agent_ok;
  }
  std::string caller_id;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    caller_id = PickCallerId(*a->campaign, call.phone_number(), r.caller_turn++,
                             r.caller_ids.Resting(now));
  }
  call.set_caller_id(caller_id);
  call.set_state(v1::CALL_STATE_DIALING);
  absl::Status stored = Store(*a, "DIALED");
  absl::Status placed = stored;
  if (stored.ok()) {
    telephony::CallRequest req;
    req.attempt_id = telephony::AttemptId(a->id);
    req.caller_id = caller_id;
    req.to = call.phone_number();
    req.ring_timeout = a->campaign->has_ring_timeout()
                           ? FromDurationProto(a->campaign->ring_timeout())
                           : absl::Seconds(25);
    req.amd = telephony::AmdMode::kOff;  // the agent hears who answers
    placed = telephony_ == nullptr ? Unavailable("NO_CARRIER", "no telephony port")
                                   : telephony_->PlaceCall(req);
  }
  if (!placed.ok()) {
    if (stored.ok() || stored.code() == absl::StatusCode::kResourceExhausted) EndNotPlaced(*a, now);
    (void)ports_.agents->EndCall(a->agent, call.name());
    DropAttempt(a->id);
    if (preview) {
      bool lost;
      {
        std::lock_guard<std::mutex> lock(r.mu);
        lost = r.lost;
      }
      if (!lost) GiveBack(r, a->lease);
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++(stored.code() == absl::StatusCode::kResourceExhausted ? stats_.line_quota
                                                              : stats_.place_errors);
    return placed;
  }
  bool callback_done = false;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.progress.set_dials(r.progress.dials() + 1);
    auto own = r.owned.find(call.contact());
    if (preview && own != r.owned.end() && own->second.agent == a->agent) {
      r.owned.erase(own);  // the agent's own callback, dialed as its preview
      callback_done = true;
    }
  }
  if (callback_done) (void)ports_.calls->RemoveAgentCallback(r.tenant, r.id, call.contact());
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.placed;
  ++stats_.agent_dials;
  return call;
}

// --- Dispositions --------------------------------------------------------------

absl::StatusOr<v1::Call> Dialer::GetCall(const std::string& tenant, const std::string& call_id) {
  auto stored = ports_.calls->Get(tenant, call_id);
  if (!stored.ok()) return stored.status();
  return stored->call;
}

absl::StatusOr<v1::Call> Dialer::SetDisposition(const std::string& tenant,
                                                const std::string& call_id,
                                                const std::string& code,
                                                absl::Time callback_time,
                                                const std::string& actor, bool agent_callback) {
  auto stored = ports_.calls->Get(tenant, call_id);
  if (!stored.ok()) return stored.status();
  v1::Call& call = stored->call;
  if (!call.awaiting_disposition()) {
    if (!call.disposition().empty() && call.disposition() == code) return call;  // a retry
    return FailedPrecondition("CALL_NOT_AWAITING_DISPOSITION",
                              call.disposition().empty()
                                  ? "the call was not connected to an agent, or is not over yet"
                                  : "the call already has its disposition");
  }
  const std::string prefix = absl::StrCat("tenants/", tenant, "/campaigns/");
  const std::string campaign_id(absl::StripPrefix(call.campaign(), prefix));
  auto def = ports_.campaigns->Get(tenant, campaign_id);
  if (!def.ok()) return def.status();
  v1::Campaign campaign;
  if (!campaign.ParseFromString(def->definition)) {
    return absl::InternalError("stored campaign does not parse");
  }
  const v1::Disposition* d = FindDisposition(campaign, code);
  if (d == nullptr) {
    return InvalidField("code", "UNKNOWN_DISPOSITION",
                        absl::StrCat("'", code, "' is not a disposition code of the campaign"));
  }
  const absl::Time now = scheduler_.clock().Now();
  if (d->outcome() == v1::DISPOSITION_OUTCOME_CALLBACK) {
    if (callback_time == absl::InfinitePast()) {
      return InvalidField("callback_time", "FIELD_REQUIRED", "a callback code needs callback_time");
    }
    if (callback_time <= now || callback_time > now + absl::Hours(24 * 90)) {
      return InvalidField("callback_time", "VALUE_OUT_OF_RANGE",
                          "callback_time must be in the future, at most 90 days on");
    }
  }
  if (agent_callback) {
    if (d->outcome() != v1::DISPOSITION_OUTCOME_CALLBACK) {
      return InvalidField("agent_callback", "FIELD_NOT_APPLICABLE",
                          "agent_callback is for CALLBACK codes only");
    }
    if (call.agent().empty() || call.contact().empty() || stored->lease_id.empty()) {
      return InvalidField("agent_callback", "FIELD_NOT_APPLICABLE",
                          "the call has no agent or no contact of the campaign's lists to own");
    }
    // Kept before the contact is told: if this fails nothing is written.
    DG_RETURN_IF_ERROR(ports_.calls->PutAgentCallback(
        tenant, campaign_id, call.contact(), CallStore::AgentCallback{call.agent(), callback_time}));
    call.set_callback_agent(call.agent());
  }
  ContactNext next = AfterDisposition(*d, callback_time);
  if (d->outcome() == v1::DISPOSITION_OUTCOME_DO_NOT_CALL) {
    if (ports_.compliance == nullptr) {
      return Unavailable("NO_COMPLIANCE", "this replica has no compliance peer (--compliance)");
    }
    absl::Status st = ports_.compliance->AddOptOut(
        tenant, call.phone_number(), absl::StrCat("do-not-call disposition on ", call.name()));
    if (!st.ok()) return st;  // nothing written: the agent retries
  }
  absl::Status reported =
      stored->lease_id.empty()  // a manual dial: no contact lease to report against
          ? absl::OkStatus()
          : ports_.contacts->Report(call.contact(), stored->lease_id, next.kind, next.outcome,
                                    next.next_callable);
  if (reported.code() == absl::StatusCode::kUnavailable) return reported;
  if (!reported.ok()) {
    Log(LogLevel::kWarning, "dialing", "disposition not reported to contacts",
        {{"call", call.name()}, {"error", reported.ToString()}});
  }
  call.set_disposition(code);
  if (d->outcome() == v1::DISPOSITION_OUTCOME_CALLBACK) {
    *call.mutable_callback_time() = ToTimestamp(callback_time);
  }
  call.set_awaiting_disposition(false);
  v1::CallUpdated updated;
  *updated.mutable_call() = call;
  updated.set_step("DISPOSED");
  absl::Status st = ports_.calls->Put(
      tenant, campaign_id, *stored, 0,
      {kafka::MakeEnvelope(tenant, call.name(), updated, actor, scheduler_.clock())});
  if (!st.ok()) {
    if (st.code() == absl::StatusCode::kFailedPrecondition) return GetCall(tenant, call_id);
    return st;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.dispositions;
  return call;
}

void Dialer::ExpireDisposition(const std::string& tenant, const std::string& call_id) {
  auto stored = ports_.calls->Get(tenant, call_id);
  if (stored.status().code() == absl::StatusCode::kNotFound) {
    (void)ports_.calls->ForgetAwaiting(tenant, call_id);
    return;
  }
  if (!stored.ok() || !stored->call.awaiting_disposition()) return;
  v1::Call& call = stored->call;
  if (!stored->lease_id.empty()) {
    (void)ports_.contacts->Report(call.contact(), stored->lease_id,
                                  contacts::v1::OUTCOME_KIND_COMPLETED, "NO_DISPOSITION",
                                  absl::InfinitePast());
  }
  call.set_awaiting_disposition(false);
  v1::CallUpdated updated;
  *updated.mutable_call() = call;
  updated.set_step("DISPOSITION_TIMED_OUT");
  const std::string campaign_id(
      absl::StripPrefix(call.campaign(), absl::StrCat("tenants/", tenant, "/campaigns/")));
  (void)ports_.calls->Put(tenant, campaign_id, *stored, 0,
                          {kafka::MakeEnvelope(tenant, call.name(), updated, options_.instance,
                                               scheduler_.clock())});
}

// --- Inbound calls (blended campaigns) ------------------------------------------

void Dialer::Incoming(const telephony::CallEvent& e) {
  const std::string& id = e.attempt_id.value();
  std::shared_ptr<Runner> r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.inbound_offered;
    for (const auto& [key, runner] : runners_) {
      std::lock_guard<std::mutex> rlock(runner->mu);
      if (!runner->dialing || runner->campaign == nullptr) continue;
      for (const auto& n : runner->campaign->inbound().numbers()) {
        if (n == e.to) r = runner;
      }
      if (r != nullptr) break;
    }
  }
  // The carrier names inbound calls with ids fit for a call's name
  // (telephony_port.h); anything else, or a number no campaign this replica
  // runs answers to, is refused before anything is written.
  if (r == nullptr || !absl::StartsWith(id, "i") || !ValidateResourceId("call", id).ok()) {
    (void)telephony_->HangUp(e.attempt_id);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.inbound_refused;
    }
    Log(LogLevel::kWarning, "dialing", "inbound call refused: no running campaign here takes it",
        {{"call", id}, {"to", e.to}});
    return;
  }
  auto a = std::make_shared<Attempt>();
  a->runner = r;
  a->id = id;
  a->created_at = e.at;
  a->inbound = true;
  a->in_flight = false;  // never the pacer's
  {
    std::lock_guard<std::mutex> lock(r->mu);
    a->campaign = r->campaign;
  }
  v1::Call& call = a->stored.call;
  call.set_name(absl::StrCat("tenants/", r->tenant, "/calls/", id));
  call.set_campaign(r->name);
  call.set_phone_number(e.from);
  call.set_called_number(e.to);
  call.set_direction(v1::CALL_DIRECTION_INBOUND);
  call.set_state(v1::CALL_STATE_RINGING);
  *call.mutable_dial_time() = ToTimestamp(e.at);
  *call.mutable_queue_time() = ToTimestamp(e.at);
  call.set_recording_announcement(a->campaign->inbound().announce_recording());
  if (!e.from.empty()) {
    auto blocked = ports_.calls->GetBlockedNumber(r->tenant, std::string(absl::StripPrefix(e.from, "+")));
    // The block list protects agents; when it cannot be read the caller is
    // served (and the failure logged).
    a->blocked = blocked.ok();
    if (!blocked.ok() && blocked.status().code() != absl::StatusCode::kNotFound) {
      Log(LogLevel::kWarning, "dialing", "inbound block list not read",
          {{"call", call.name()}, {"error", blocked.status().ToString()}});
    }
  }
  {
    std::lock_guard<std::mutex> lock(r->mu);
    r->live[id] = a;
    r->progress.set_inbound_offered(r->progress.inbound_offered() + 1);
    if (a->blocked) r->progress.set_inbound_blocked(r->progress.inbound_blocked() + 1);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    attempts_[id] = a;
    if (a->blocked) ++stats_.inbound_blocked;
  }
  absl::Status stored = Store(*a, a->blocked ? "BLOCKED" : "OFFERED");
  if (!stored.ok() || a->blocked) {
    // Not written (the tenant's lines are all in use, or the store is
    // down), or blocked: the caller is refused.
    if (!stored.ok()) DropAttempt(id);
    (void)telephony_->HangUp(e.attempt_id);
    return;
  }
  if (!telephony_->AnswerIncoming(e.attempt_id).ok()) (void)telephony_->HangUp(e.attempt_id);
}

void Dialer::HandleInbound(const std::shared_ptr<Attempt>& a, const telephony::CallEvent& e) {
  Runner& r = *a->runner;
  v1::Call& call = a->stored.call;
  using T = telephony::CallEventType;
  switch (e.type) {
    case T::kAnswered:
      // Picked up: the caller hears the queue until an agent is free.
      call.set_state(v1::CALL_STATE_ANSWERED);
      *call.mutable_answer_time() = ToTimestamp(e.at);
      {
        std::lock_guard<std::mutex> lock(r.mu);
        a->waiting_agent = true;
      }
      (void)Store(*a, "QUEUED");
      TryConnect(a->id);
      return;
    case T::kAgentConnected: {
      const absl::Duration waited = e.at - FromTimestamp(call.queue_time());
      {
        std::lock_guard<std::mutex> lock(r.mu);
        a->connected = true;
        const bool within =
            waited <= FromDurationProto(a->campaign->inbound().service_level_threshold());
        r.progress.set_inbound_answered(r.progress.inbound_answered() + 1);
        if (within) r.progress.set_inbound_answered_within(r.progress.inbound_answered_within() + 1);
        r.service_window.emplace_back(e.at, within);
      }
      call.set_state(v1::CALL_STATE_CONNECTED);
      *call.mutable_connect_time() = ToTimestamp(e.at);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.inbound_connected;
      }
      (void)Store(*a, "CONNECTED");
      Announce(*a);
      return;
    }
    case T::kRemoteHangup: {
      std::lock_guard<std::mutex> lock(r.mu);
      a->waiting_agent = false;
      return;
    }
    default:
      return;  // nothing else comes on an inbound call before Ended
  }
}

void Dialer::FinishInbound(const std::shared_ptr<Attempt>& a, const telephony::CallEvent& ended) {
  Runner& r = *a->runner;
  v1::Call& call = a->stored.call;
  v1::CallOutcome outcome;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    a->waiting_agent = false;
    if (a->blocked) {
      outcome = v1::CALL_OUTCOME_INBOUND_BLOCKED;
    } else if (a->connected) {
      outcome = v1::CALL_OUTCOME_ANSWERED_CONNECTED;
    } else if (a->overflowed) {
      outcome = v1::CALL_OUTCOME_INBOUND_OVERFLOW;
      r.progress.set_inbound_overflowed(r.progress.inbound_overflowed() + 1);
      r.service_window.emplace_back(ended.at, false);
    } else {
      outcome = v1::CALL_OUTCOME_INBOUND_ABANDONED;  // the caller gave up waiting
      r.progress.set_inbound_abandoned(r.progress.inbound_abandoned() + 1);
      r.service_window.emplace_back(ended.at, false);
    }
  }
  const bool awaiting = outcome == v1::CALL_OUTCOME_ANSWERED_CONNECTED;
  call.set_state(v1::CALL_STATE_ENDED);
  call.set_outcome(outcome);
  call.set_awaiting_disposition(awaiting);
  *call.mutable_end_time() = ToTimestamp(ended.at);
  // Not a dial: nothing on the `dialing` topic (compliance's caps and
  // abandon ledger count the calls we place).
  (void)Store(*a, "ENDED");
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.ended;
  }
  DropAttempt(a->id);
  if (awaiting && !call.agent().empty()) EndAgentCall(*a);
  if (awaiting) ScheduleDispositionTimeout(r.tenant, a->id, scheduler_.clock().Now());
}

int Dialer::HeldForInbound(Runner& r, int idle, absl::Time now) {
  const v1::InboundSettings& in = r.campaign->inbound();
  if (in.numbers_size() == 0) {
    r.inbound_reserve = r.held_for_inbound = 0;
    return 0;
  }
  while (!r.service_window.empty() &&
         r.service_window.front().first < now - options_.service_level_window) {
    r.service_window.pop_front();
  }
  if (now - r.reserve_at >= options_.reserve_period) {
    // One agent more while the window's service level is under the target,
    // one less once it is comfortably over it (or there is too little
    // traffic to tell): a slow, bounded controller.
    r.reserve_at = now;
    const int n = static_cast<int>(r.service_window.size());
    int within = 0;
    for (const auto& [at, ok] : r.service_window) within += ok;
    const double level = n == 0 ? 1.0 : static_cast<double>(within) / n;
    if (n >= options_.service_level_min_calls && level < in.service_level_target()) {
      r.inbound_reserve = std::min(r.inbound_reserve + 1, static_cast<int>(r.agents.size()));
    } else if (level >= std::min(1.0, in.service_level_target() + 0.05) ||
               n < options_.service_level_min_calls) {
      r.inbound_reserve = std::max(0, r.inbound_reserve - 1);
    }
  }
  int waiting = 0;
  for (const auto& [id, a] : r.live) waiting += a->inbound && a->waiting_agent;
  r.held_for_inbound = std::min(idle, waiting + r.inbound_reserve);
  return r.held_for_inbound;
}

void Dialer::Announce(Attempt& a) {
  if (!a.stored.call.recording_announcement()) return;
  absl::Status st = telephony_->PlayAnnouncement(telephony::AttemptId(a.id),
                                                 {options_.recording_announcement, ""});
  if (!st.ok()) {  // the caller may be gone already
    Log(LogLevel::kWarning, "dialing", "recording announcement not played",
        {{"call", a.stored.call.name()}, {"error", st.ToString()}});
  }
}

void Dialer::EndAgentCall(Attempt& a) {
  bool abusive;
  {
    std::lock_guard<std::mutex> lock(a.runner->mu);
    abusive = a.abusive;
  }
  const v1::Call& call = a.stored.call;
  absl::Status st =
      abusive ? ports_.agents->EndCall(call.agent(), call.name(), options_.abusive_reason_code,
                                       options_.abusive_protect_for)
              : ports_.agents->EndCall(call.agent(), call.name());
  if (abusive && st.code() == absl::StatusCode::kInvalidArgument) {
    // Refused protection (an agent state that does not take it this way):
    // the agent still leaves the call.
    Log(LogLevel::kWarning, "dialing", "protected not-ready refused; ending the call plainly",
        {{"call", call.name()}, {"error", st.ToString()}});
    st = ports_.agents->EndCall(call.agent(), call.name());
  }
  if (!st.ok()) {
    Log(LogLevel::kWarning, "dialing", "agent state not told the call ended",
        {{"call", call.name()}, {"agent", call.agent()}, {"error", st.ToString()}});
  }
}

// --- Abusive callers -------------------------------------------------------------

absl::StatusOr<std::string> Dialer::OwnerAddress(const std::string& tenant,
                                                 const std::string& campaign_id) {
  auto owner = ports_.calls->CampaignOwner(tenant, campaign_id);
  if (!owner.ok()) return owner.status();
  if (owner->instance == options_.instance) return std::string();
  return owner->address;
}

absl::StatusOr<std::string> Dialer::CallOwnerAddress(const std::string& tenant,
                                                     const std::string& call_id) {
  auto stored = ports_.calls->Get(tenant, call_id);
  if (!stored.ok()) return stored.status();
  const std::string prefix = absl::StrCat("tenants/", tenant, "/campaigns/");
  if (!absl::StartsWith(stored->call.campaign(), prefix)) return std::string();
  return OwnerAddress(tenant, stored->call.campaign().substr(prefix.size()));
}

absl::StatusOr<v1::Call> Dialer::FlagAbusiveCaller(const std::string& tenant,
                                                   const std::string& call_id,
                                                   const std::string& actor,
                                                   const std::string& reason) {
  auto a = FindAttempt(call_id);
  if (a == nullptr || a->runner->tenant != tenant) {
    auto stored = ports_.calls->Get(tenant, call_id);
    if (!stored.ok()) return stored.status();
    if (stored->call.has_abusive()) return stored->call;  // flagged already
    if (stored->call.state() == v1::CALL_STATE_ENDED || stored->call.state() == v1::CALL_STATE_PREVIEW ||
        !stored->call.has_connect_time()) {
      return FailedPrecondition("CALL_NOT_CONNECTED",
                                "only a call connected to an agent, not ended, can be flagged");
    }
    return Unavailable("NOT_CALL_OWNER", "the call is handled by another replica: retry");
  }
  // On the call's own executor, in order with its carrier events.
  std::promise<absl::StatusOr<v1::Call>> done;
  auto result = done.get_future();
  executor_.Post(KeyOf(call_id), [&] { done.set_value(FlagOnExecutor(a, actor, reason)); });
  return result.get();
}

absl::StatusOr<v1::Call> Dialer::FlagOnExecutor(const std::shared_ptr<Attempt>& a,
                                                const std::string& actor,
                                                const std::string& reason) {
  Runner& r = *a->runner;
  v1::Call& call = a->stored.call;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (a->abusive) return call;  // flagged already
    if (!a->connected || call.agent().empty()) {
      return FailedPrecondition("CALL_NOT_CONNECTED",
                                "only a call connected to an agent, not ended, can be flagged");
    }
  }
  const absl::Time now = scheduler_.clock().Now();
  v1::BlockedNumber blocked;
  if (!call.phone_number().empty()) {
    blocked.set_name(absl::StrCat("tenants/", r.tenant, "/blockedNumbers/n",
                                  absl::StripPrefix(call.phone_number(), "+")));
    blocked.set_number(call.phone_number());
    blocked.set_call(call.name());
    blocked.set_flagged_by(actor);
    blocked.set_reason(reason);
    *blocked.mutable_block_time() = ToTimestamp(now);
    v1::InboundNumberBlockChanged changed;
    *changed.mutable_blocked_number() = blocked;
    changed.set_blocked(true);
    changed.set_changed_by(actor);
    changed.set_reason(reason);
    // The block first: once the flag is acknowledged the number is blocked.
    DG_RETURN_IF_ERROR(ports_.calls->BlockNumber(
        r.tenant, blocked,
        {kafka::MakeEnvelope(r.tenant, blocked.name(), changed, options_.instance, scheduler_.clock())}));
  }
  v1::AbusiveCallerFlag* flag = call.mutable_abusive();
  flag->set_flagged_by(actor);
  flag->set_reason(reason);
  *flag->mutable_flag_time() = ToTimestamp(now);
  absl::Status st = Store(*a, "ABUSIVE_FLAGGED");
  if (!st.ok()) {
    call.clear_abusive();
    return st;
  }
  {
    std::lock_guard<std::mutex> lock(r.mu);
    a->abusive = true;
    r.progress.set_abusive_flagged(r.progress.abusive_flagged() + 1);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.abusive_flagged;
  }
  Log(LogLevel::kInfo, "dialing", "abusive caller flagged: call ended, number blocked",
      {{"call", call.name()}, {"agent", call.agent()}, {"by", actor}});
  (void)telephony_->HangUp(telephony::AttemptId(a->id));  // Ended follows
  return call;
}

absl::StatusOr<std::vector<v1::BlockedNumber>> Dialer::BlockedNumbers(const std::string& tenant) {
  return ports_.calls->BlockedNumbers(tenant);
}

absl::StatusOr<v1::BlockedNumber> Dialer::UnblockNumber(const std::string& tenant,
                                                        const std::string& id,
                                                        const std::string& actor,
                                                        const std::string& reason) {
  if (id.size() < 2 || id[0] != 'n' ||
      !std::all_of(id.begin() + 1, id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return NotFound("BLOCKED_NUMBER_NOT_FOUND", "the number is not blocked");
  }
  const std::string digits = id.substr(1);
  DG_ASSIGN_OR_RETURN(v1::BlockedNumber blocked, ports_.calls->GetBlockedNumber(tenant, digits));
  v1::InboundNumberBlockChanged changed;
  *changed.mutable_blocked_number() = blocked;
  changed.set_blocked(false);
  changed.set_changed_by(actor);
  changed.set_reason(reason);
  DG_RETURN_IF_ERROR(ports_.calls->UnblockNumber(
      tenant, digits,
      {kafka::MakeEnvelope(tenant, blocked.name(), changed, options_.instance, scheduler_.clock())}));
  return blocked;
}

}  // namespace dialgrid::dialing
