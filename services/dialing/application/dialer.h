#pragma once

// The call path: for every running campaign this replica owns, a hopper of
// leased contacts, the pacing engine's lines each tick, a compliance
// decision just before every dial (no decision, no dial), the call through
// the telephony port with a caller ID from the campaign's pool, an agent
// reserved and connected on a live answer within the grace period (else the
// abandon message and an abandoned call, counted), the outcome to contacts
// and, on the `dialing` topic, to compliance; every step of a call an event
// on the `calls` topic under its stable id. One replica owns a running
// campaign at a time (a lease with a fencing token); a replica that takes a
// campaign over ends the calls the previous owner left open from what was
// stored of them, and never dials them again. services/dialing/README.md
// describes it; docs/architecture.md has the picture.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/core/clock.h"
#include "services/common/core/scheduler.h"
#include "services/dialing/application/executor.h"
#include "services/dialing/pacing/pacer.h"
#include "services/dialing/ports/call_path.h"
#include "services/dialing/ports/campaign_store.h"
#include "services/dialing/telephony/telephony_port.h"

namespace dialgrid::dialing {

struct DialerPorts {
  std::shared_ptr<CampaignStore> campaigns;
  std::shared_ptr<CallStore> calls;
  std::shared_ptr<ContactSource> contacts;
  std::shared_ptr<ComplianceGate> compliance;
  std::shared_ptr<AgentRouter> agents;
};

struct DialerOptions {
  std::string instance = "dialing";  // this replica (lease holder, event producer)
  // Where this replica serves gRPC, for the others to forward what only a
  // campaign's owner serves (agents' own dials, abusive flags); asked each
  // ownership round (the port may be known only once serving). Unset or
  // empty: nothing is forwarded here.
  std::function<std::string()> advertise_address;
  absl::Duration tick = absl::Milliseconds(250);      // pacing decisions
  absl::Duration ownership_period = absl::Seconds(1);  // claim, renew, let go
  absl::Duration lease_ttl = absl::Seconds(6);         // a dead owner's campaigns wait this long
  absl::Duration campaign_refresh = absl::Seconds(2);  // settings changes reach the runner
  // A running campaign this replica has left to the others (it is at its
  // share) and still sees unclaimed this long is taken anyway: a replica
  // that is alive but cannot claim must not strand it.
  absl::Duration rescue_after = absl::Seconds(30);
  // A replica that took a campaign over its share hands none off for this
  // long (no hand-off and rescue loop with a replica that cannot claim).
  absl::Duration handoff_hold = absl::Minutes(5);
  absl::Duration agent_refresh = absl::Milliseconds(500);
  absl::Duration grace = absl::Seconds(2);             // answer -> agent, else abandoned
  // AMD's false-positive rate reported for a screened call whose campaign
  // gives none (machine.false_positive_rate 0): compliance counts the
  // estimated hang-ups on live persons as abandoned calls.
  double amd_false_positive_rate = 0.03;
  absl::Duration reserve_retry = absl::Milliseconds(100);
  absl::Duration contact_lease = absl::Hours(1);
  // A hopper contact whose lease ends within this is not dialed (dropped).
  absl::Duration lease_margin = absl::Minutes(20);
  absl::Duration disposition_timeout = absl::Minutes(15);
  // How often every replica looks for calls whose disposition timed out more
  // than a period ago without being closed (their replica died, or their
  // campaign stopped with them), and closes them.
  absl::Duration disposition_sweep = absl::Minutes(1);
  absl::Duration compliance_backoff = absl::Seconds(1);  // after compliance failed to answer
  // After compliance refused a predictive dial for the campaign's abandon
  // rate: progressive dialing this long (then predictive is asked again).
  absl::Duration progressive_hold = absl::Minutes(5);
  int hopper_min = 20;    // refill when fewer contacts wait than this or 2 ticks' lines
  int hopper_batch = 100;
  std::string abandon_message = "abandon";  // the prompt the carrier plays on an abandon
  // The key a callee presses during a recorded message (agentless, abandon)
  // to be put on the tenant's do-not-call list (the automated opt-out the
  // TCPA asks of prerecorded telemarketing), for campaigns that name none
  // (Campaign.opt_out_key); the messages must say so.
  std::string opt_out_digit = "9";
  // Played to both parties once connected when the call must announce its
  // recording (compliance's decision, or a blended campaign's setting).
  std::string recording_announcement = "recording-announcement";
  pacing::ControllerOptions controller;
  // Called with the seconds from a live answer to the agent's connection
  // being asked of the carrier (reservation included), for a histogram.
  std::function<void(double)> on_answer_to_connect;
  // The tenant's max_concurrent_lines (0: no limit), shared by all its
  // campaigns and replicas: checked atomically with a call's first write.
  std::function<int64_t(const std::string& tenant)> tenant_max_lines;
  absl::Duration line_quota_backoff = absl::Seconds(1);
  // A PREVIEW campaign's contact held for an agent is skipped after this.
  absl::Duration preview_timeout = absl::Minutes(2);
  // The live figures of each owned campaign are written this often (kept
  // 5 times as long), and compliance's abandon ledger read this often.
  absl::Duration progress_period = absl::Seconds(1);
  absl::Duration ledger_period = absl::Seconds(5);
  // An agent-owned callback waits this long after its time for its agent,
  // then any agent takes it.
  absl::Duration callback_grace = absl::Minutes(15);
  // Blended campaigns: how often the reserve of ready agents held back for
  // the inbound queue is adjusted, over which window of inbound calls the
  // service level is measured, and how many calls the window needs before
  // the reserve grows.
  absl::Duration reserve_period = absl::Seconds(30);
  absl::Duration service_level_window = absl::Minutes(30);
  int service_level_min_calls = 5;
  // An agent who flagged an abusive caller is not ready this long (agent
  // state refuses its SetReady until then) under this reason.
  absl::Duration abusive_protect_for = absl::Minutes(10);
  std::string abusive_reason_code = "abusive-caller";
};

// A contact held for an agent of a PREVIEW campaign.
struct Preview {
  v1::Call call;
  contacts::v1::Contact contact;
  absl::Time expire_time;
};

struct DialerStats {
  int64_t checks = 0, denied = 0, check_errors = 0, placed = 0, place_errors = 0;
  int64_t answered = 0, connected = 0, abandoned = 0, machines = 0, ended = 0;
  int64_t hopper_dry = 0, fenced = 0, reconciled = 0, dispositions = 0, store_errors = 0;
  int64_t caller_ids_rested = 0, line_quota = 0;
  int64_t previews = 0, previews_skipped = 0, agent_dials = 0, messages = 0;
  int64_t inbound_offered = 0, inbound_refused = 0, inbound_blocked = 0, inbound_connected = 0;
  int64_t abusive_flagged = 0;
  int64_t opted_out = 0, opt_outs_not_recorded = 0;  // the opt-out key during a message
  int64_t owned_campaigns = 0, in_flight = 0;
  int64_t handoffs = 0;  // campaigns let go to balance the replicas
  int64_t rescued = 0;   // campaigns taken over the share, left unclaimed
};

class Dialer final : public telephony::CallEventSink {
 public:
  Dialer(DialerPorts ports, Scheduler& scheduler, Executor& executor, DialerOptions options);
  ~Dialer() override;
  Dialer(const Dialer&) = delete;
  Dialer& operator=(const Dialer&) = delete;

  // The carrier (created with this dialer as its sink); before Start.
  void SetTelephony(telephony::TelephonyPort* telephony) { telephony_ = telephony; }
  // Starts claiming running campaigns and pacing them.
  void Start();
  // Stops dialing and gives every campaign up (calls in progress are not
  // waited for: a replica that takes the campaigns ends them).
  void Stop();

  void OnCallEvent(const telephony::CallEvent& event) override;

  // SetDisposition (any replica; `agent_callback`: the callback is the
  // call's agent's own): NOT_FOUND CALL_NOT_FOUND,
  // FAILED_PRECONDITION CALL_NOT_AWAITING_DISPOSITION, INVALID_ARGUMENT
  // UNKNOWN_DISPOSITION / callback_time; UNAVAILABLE when contacts or
  // compliance cannot take it (nothing written: retry).
  absl::StatusOr<v1::Call> SetDisposition(const std::string& tenant, const std::string& call_id,
                                          const std::string& code, absl::Time callback_time,
                                          const std::string& actor, bool agent_callback = false);
  absl::StatusOr<v1::Call> GetCall(const std::string& tenant, const std::string& call_id);
  // The campaign's live figures as its owner last wrote them (any replica):
  // `dialing` false when none are fresh. NOT_FOUND CAMPAIGN_NOT_FOUND.
  absl::StatusOr<v1::CampaignProgress> Progress(const std::string& tenant,
                                                const std::string& campaign_id);

  // Dials an agent makes itself (preview, manual), each through CheckDial
  // just before it is placed; served by the replica that owns the campaign
  // (elsewhere UNAVAILABLE NOT_CAMPAIGN_OWNER: retry). FAILED_PRECONDITION
  // DIAL_NOT_ALLOWED (compliance refused: nothing dialed), AGENT_NOT_READY /
  // AGENT_NOT_ELIGIBLE (agent state), NOT_PREVIEW_CAMPAIGN,
  // CALL_NOT_IN_PREVIEW, HOPPER_EMPTY; UNAVAILABLE NO_DECISION (compliance
  // did not answer: nothing dialed).
  absl::StatusOr<Preview> PreviewContact(const std::string& tenant, const std::string& campaign_id,
                                         const std::string& agent);
  absl::StatusOr<v1::Call> DialPreview(const std::string& tenant, const std::string& call_id);
  absl::StatusOr<v1::Call> SkipPreview(const std::string& tenant, const std::string& call_id,
                                       const std::string& reason);
  absl::StatusOr<v1::Call> ManualDial(const std::string& tenant, const std::string& campaign_id,
                                      const std::string& agent, const std::string& number,
                                      const std::string& contact, const std::string& debt = "");

  // An agent or supervisor (`actor`) flags the caller of a connected call
  // as abusive: the number is blocked for the tenant's inbound calls (with
  // an InboundNumberBlockChanged event), the call is marked and written
  // (step ABUSIVE_FLAGGED), then hung up; its agent gets a protected
  // not-ready period. Served where the call is handled: elsewhere
  // UNAVAILABLE NOT_CALL_OWNER (retry); NOT_FOUND CALL_NOT_FOUND;
  // FAILED_PRECONDITION CALL_NOT_CONNECTED (not with an agent, or ended).
  // Flagged already: the call as it is.
  absl::StatusOr<v1::Call> FlagAbusiveCaller(const std::string& tenant, const std::string& call_id,
                                             const std::string& actor, const std::string& reason);

  // Rests a number of the campaign's caller-ID pool for `rest` from now, or
  // (`rest` zero) ends its rest and gives it a clean slate; the status is
  // stored with its event (CallerIdRested or CallerIdRestEnded) before it is
  // applied. On the campaign's owner only: UNAVAILABLE NOT_CAMPAIGN_OWNER
  // elsewhere; INVALID_ARGUMENT CALLER_ID_NOT_IN_POOL; FAILED_PRECONDITION
  // LAST_CALLER_ID (it would leave the campaign no number to present).
  absl::StatusOr<v1::CallerIdStatus> SetCallerIdRest(const std::string& tenant,
                                                     const std::string& campaign_id,
                                                     const std::string& caller_id,
                                                     absl::Duration rest,
                                                     const std::string& reason,
                                                     const std::string& actor);

  // The tenant's inbound block list (any replica); taking a number off it
  // (`id` "n<digits>"): NOT_FOUND BLOCKED_NUMBER_NOT_FOUND.
  absl::StatusOr<std::vector<v1::BlockedNumber>> BlockedNumbers(const std::string& tenant);
  absl::StatusOr<v1::BlockedNumber> UnblockNumber(const std::string& tenant, const std::string& id,
                                                  const std::string& actor,
                                                  const std::string& reason);

  // Where the replica that owns the campaign (or the call's campaign)
  // serves, for a call this replica cannot serve (NOT_CAMPAIGN_OWNER,
  // NOT_CALL_OWNER): empty when this replica owns it, nobody does, or the
  // owner advertised no address. NOT_FOUND CALL_NOT_FOUND.
  absl::StatusOr<std::string> OwnerAddress(const std::string& tenant,
                                           const std::string& campaign_id);
  absl::StatusOr<std::string> CallOwnerAddress(const std::string& tenant,
                                               const std::string& call_id);

  DialerStats Stats() const;
  // For the live watch: its timers, and how often the figures change.
  Scheduler& scheduler() { return scheduler_; }
  absl::Duration progress_period() const { return options_.progress_period; }

 private:
  struct Runner;
  struct Attempt;

  void OwnershipRound();
  void HandOffOverShare(const std::map<std::string, std::shared_ptr<Runner>>& mine,
                        const std::set<std::string>& wanted, size_t share, absl::Time now);
  void SweepDispositions();
  std::shared_ptr<Runner> Claim(const std::string& tenant, const std::string& id, int64_t token);
  bool Reconcile(const std::shared_ptr<Runner>& runner);
  void Tick(const std::shared_ptr<Runner>& runner);
  void RefreshCampaign(Runner& runner, absl::Time now);
  void RefreshAgents(Runner& runner, absl::Time now);
  void RefillHopper(Runner& runner, absl::Time now);
  void PublishProgress(Runner& runner, absl::Time now);
  void RefreshCallbacks(Runner& runner, absl::Time now);
  void Dial(const std::shared_ptr<Attempt>& attempt);
  absl::StatusOr<compliance::v1::DialDecision> Check(const compliance::v1::CheckDialRequest& request);
  void NoDecision(Attempt& attempt, const absl::Status& why);
  void EndNotPlaced(Attempt& attempt, absl::Time now);
  // ExpireDisposition of the call `disposition_timeout` after `ended`.
  void ScheduleDispositionTimeout(const std::string& tenant, const std::string& call_id,
                                  absl::Time ended);
  absl::StatusOr<std::shared_ptr<Runner>> OwnedRunner(const std::string& tenant,
                                                      const std::string& campaign_id);
  absl::StatusOr<std::shared_ptr<Attempt>> PreviewAttempt(const std::string& tenant,
                                                          const std::string& call_id);
  // An agent's dial of `numbers` (the first allowed one), placed with the
  // agent on the line from the start.
  absl::StatusOr<v1::Call> AgentDial(const std::shared_ptr<Attempt>& attempt,
                                     const std::vector<std::string>& numbers);
  // Ends a preview undialed: the contact back to its list.
  absl::StatusOr<v1::Call> EndPreview(const std::shared_ptr<Attempt>& attempt,
                                      absl::string_view why);
  void Handle(const telephony::CallEvent& event);
  // Inbound calls (blended campaigns): offered, queued, connected, ended.
  void Incoming(const telephony::CallEvent& event);
  void HandleInbound(const std::shared_ptr<Attempt>& attempt, const telephony::CallEvent& event);
  void OptOutKey(const std::shared_ptr<Attempt>& attempt, const telephony::CallEvent& event);
  // The key a campaign's messages offer for the opt-out: its own, else the
  // replica's (DialerOptions::opt_out_digit).
  std::string OptOutKeyOf(const v1::Campaign& campaign) const {
    return campaign.opt_out_key().empty() ? options_.opt_out_digit : campaign.opt_out_key();
  }
  void FinishInbound(const std::shared_ptr<Attempt>& attempt, const telephony::CallEvent& ended);
  // Ready agents the pacer leaves free for the inbound queue (locked).
  int HeldForInbound(Runner& runner, int idle, absl::Time now);
  // The call's agent leaves it: wrap-up, or a protected not-ready after an
  // abusive caller.
  void EndAgentCall(Attempt& attempt);
  // Plays the recording announcement on a connected call that needs it.
  void Announce(Attempt& attempt);
  absl::StatusOr<v1::Call> FlagOnExecutor(const std::shared_ptr<Attempt>& attempt,
                                          const std::string& actor, const std::string& reason);
  void TryConnect(const std::string& attempt_id);
  void Finish(const std::shared_ptr<Attempt>& attempt, const telephony::CallEvent& ended);
  void ExpireDisposition(const std::string& tenant, const std::string& call_id);
  // Writes the attempt's call with its step event (and `extra`); fenced:
  // the campaign stops dialing here; RESOURCE_EXHAUSTED: the tenant's lines
  // are all in use (a new call only).
  absl::Status Store(Attempt& attempt, absl::string_view step,
                     std::vector<event::v1::Envelope> extra = {});
  void GiveBack(Runner& runner, const LeasedContact& lease);
  std::shared_ptr<Attempt> FindAttempt(const std::string& id);
  void DropAttempt(const std::string& id);
  uint64_t KeyOf(absl::string_view id) const;

  DialerPorts ports_;
  Scheduler& scheduler_;
  Executor& executor_;
  DialerOptions options_;
  telephony::TelephonyPort* telephony_ = nullptr;

  mutable std::mutex mu_;  // runners_, attempts_, stats_, started_
  bool started_ = false;
  Scheduler::TaskId ownership_task_ = 0;
  Scheduler::TaskId sweep_task_ = 0;
  std::map<std::string, std::shared_ptr<Runner>> runners_;  // "<tenant>/<campaign>"
  // Running campaigns left to the others (at the share), since when; only
  // the ownership round reads and writes it.
  std::map<std::string, absl::Time> left_since_;
  // Pending disposition timeouts by "<tenant>/<call>", cancelled by Stop.
  std::map<std::string, Scheduler::TaskId> disposition_timeouts_;
  // No hand-off before: set when this replica took a campaign over its share.
  absl::Time handoffs_held_until_ = absl::InfinitePast();
  absl::flat_hash_map<std::string, std::shared_ptr<Attempt>> attempts_;
  DialerStats stats_;
  std::atomic<uint64_t> sequence_{0};
};

}  // namespace dialgrid::dialing
