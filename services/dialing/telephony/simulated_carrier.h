#pragma once

// The embedded default carrier: every call's fate is drawn from a scenario of
// the pacing simulator (tools/simulator, scenario.h) and played out on a
// Scheduler: in virtual time under ManualScheduler and a FakeClock (tests,
// benchmarks), in real time under ThreadScheduler (the local platform). The
// parameters and where they come from: this folder's README.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/core/scheduler.h"
#include "services/dialing/telephony/scenario.h"
#include "services/dialing/telephony/telephony_port.h"

namespace dialgrid::telephony {

struct SimulatedCarrierOptions {
  // Outcome shares, ring, failure and talk times, AMD delay and errors, and
  // (if present) the patience of live callees. The request's AmdMode switches
  // AMD per call; scenario.amd.enabled and no_answer_timeout_s are the
  // simulator's and are not used (the request carries the ring timeout).
  sim::Scenario scenario;
  // Same seed, same calls (attempt id and number) -> same events.
  uint64_t seed = 1;
  // Calls in progress (placed and not yet Ended) at most; more are refused.
  int max_concurrent_calls = 1000;
  // Hour 0 of a live-answer share that varies over the shift;
  // InfinitePast: when the carrier is created.
  absl::Time shift_start = absl::InfinitePast();

  // Not in the scenario schema (assumptions, README "Parameters"):
  // a live callee's patience when the scenario has no times.patience;
  sim::Distribution default_patience = sim::Distribution::Gamma(6.0, 3.0);
  // how long an answering machine stays on the line (greeting, beep,
  // recording limit) when nobody connects or plays a message;
  sim::Distribution machine_hangup = sim::Distribution::Constant(30.0);
  // ConnectToAgent -> AgentConnected (the bridge);
  sim::Distribution connect_delay = sim::Distribution::Constant(0.05);
  // the length of a message played by PlayMessageAndHangUp;
  sim::Distribution message_length = sim::Distribution::Constant(6.0);
  // the share of live callees who, hearing a message that offers an
  // opt-out key (MessageRequest::opt_out_key: an agentless campaign's, the
  // abandon message), press that key at a uniformly drawn point of it
  // (KeyPressed); 0: nobody does;
  double opt_out_share = 0.0;
  // the mix of failure causes among failed calls (weights > 0).
  std::vector<std::pair<double, FailureCause>> failure_causes = {
      {0.4, FailureCause::kNetwork},
      {0.4, FailureCause::kInvalidNumber},
      {0.1, FailureCause::kRejected},
      {0.1, FailureCause::kUnavailable}};
  // Attestation reported on every event of a call: per caller ID, else the
  // default (kNotReported: the carrier does not report it).
  Attestation default_attestation = Attestation::kFull;
  absl::flat_hash_map<std::string, Attestation> attestation_by_caller_id;
  // Caller IDs that phones label as spam: a live callee picks up a call
  // from one with this factor (0-1) times the scenario's live-answer share
  // and lets the others ring out (no answer). Machines answer as ever.
  absl::flat_hash_map<std::string, double> answer_factor_by_caller_id;

  // Inbound calls the carrier offers by itself (the local platform's
  // blended campaigns): per number, arrivals at random (Poisson) at this
  // rate, from callers with random US numbers. Tests call OfferInbound.
  struct InboundLine {
    std::string number;  // E.164, the number dialed
    double calls_per_hour = 0.0;
  };
  std::vector<InboundLine> inbound;
  // An inbound caller's patience, counted from the offer (queue music
  // included); then it hangs up unless an agent took it. Its talk time is
  // the scenario's.
  sim::Distribution inbound_patience = sim::Distribution::Gamma(90.0, 60.0);
};

// Who a call reaches and how it plays out: drawn once per call from the seed,
// the attempt id and the number, in a fixed order, before the call starts.
// The ground truth the port does not carry (an AMD verdict may be wrong), for
// tests and for measuring a dialer against the simulation.
struct CallFate {
  enum class Callee { kLive, kMachine, kBusy, kFailed, kNoAnswer };
  Callee callee = Callee::kNoAnswer;  // kNoAnswer also when the ring outlasts the timeout
  absl::Duration setup;          // placed -> Ringing
  absl::Duration ring;           // Ringing -> picked up (live, machine)
  absl::Duration fail;           // placed -> Busy / Failed
  AmdVerdict verdict = AmdVerdict::kNotRun;  // what AMD will say (when on)
  absl::Duration amd_delay;      // picked up -> verdict
  FailureCause failure_cause = FailureCause::kNetwork;
  absl::Duration talk;           // AgentConnected -> RemoteHangup
  absl::Duration callee_hangup;  // picked up -> the callee gives up unattended
  absl::Duration connect_delay;
  absl::Duration message_length;
  // A live callee who presses the opt-out key while a message plays, and
  // when (this share of the message's length after it starts).
  bool presses_opt_out = false;
  double opt_out_at = 0.0;
};

// Counters, all in one place.
struct SimulatedCarrierStats {
  int64_t placed = 0;
  int64_t refused_at_capacity = 0;
  int64_t in_progress = 0;
  int64_t peak_in_progress = 0;
  int64_t ended = 0;
  int64_t inbound_offered = 0;
  int64_t announcements = 0;  // prompts played on connected calls
};

// Thread-safe. Events are delivered by the scheduler's tasks, so on the
// scheduler's thread (ThreadScheduler) or the thread advancing the clock
// (ManualScheduler), one at a time, each call's in order; the carrier's lock
// is not held while the sink runs. The scheduler must run its tasks one at a
// time (both of ours do). Destroying the carrier cancels what it scheduled
// (waiting for a delivery under way); never destroy it from its sink.
class SimulatedCarrier final : public TelephonyPort {
 public:
  // `scheduler` and `sink` must outlive the carrier.
  static absl::StatusOr<std::unique_ptr<SimulatedCarrier>> Create(
      SimulatedCarrierOptions options, Scheduler& scheduler, CallEventSink& sink);
  ~SimulatedCarrier() override;
  SimulatedCarrier(const SimulatedCarrier&) = delete;
  SimulatedCarrier& operator=(const SimulatedCarrier&) = delete;

  absl::Status PlaceCall(const CallRequest& request) override;
  absl::Status ConnectToAgent(const AttemptId& attempt, const AgentId& agent) override;
  absl::Status PlayMessageAndHangUp(const AttemptId& attempt,
                                    const MessageRequest& message) override;
  absl::Status HangUp(const AttemptId& attempt) override;
  absl::Status AnswerIncoming(const AttemptId& attempt) override;
  absl::Status PlayAnnouncement(const AttemptId& attempt, const MessageRequest& message) override;

  // Offers an inbound call from `from` to `to` (E.164): Incoming follows;
  // answers the carrier's id of the call. RESOURCE_EXHAUSTED at capacity.
  absl::StatusOr<AttemptId> OfferInbound(const std::string& from, const std::string& to);

  // The fate `request` would meet if placed at `placed_at` (a pure function
  // of the options, the request and the time).
  CallFate Fate(const CallRequest& request, absl::Time placed_at) const;
  SimulatedCarrierStats Stats() const;

 private:
  enum class State {
    kDialing,     // placed, not ringing yet
    kRinging,
    kPickedUp,    // answered, AMD still listening (the dialer knows nothing yet)
    kAnswered,    // Answered sent
    kConnecting,  // ConnectToAgent accepted
    kConnected,   // AgentConnected sent
    kMessage,     // PlayMessageAndHangUp accepted
    kEnding,      // HangUp accepted
    kOffered,     // inbound: Incoming sent, not answered
    kAccepting,   // inbound: AnswerIncoming accepted
  };
  enum class Step {
    kBusy, kFailed, kRing, kNoAnswer, kPickUp, kVerdict, kCalleeGivesUp, kAgentConnected,
    kTalkEnd, kMessageDone, kLocalEnd, kOffer, kAccept, kKeyPress
  };
  struct Call {
    CallRequest request;
    CallFate fate;
    Attestation attestation = Attestation::kNotReported;
    State state = State::kDialing;
    uint64_t generation = 0;  // a scheduled step runs only if still current
    int sequence = 0;
    absl::Time placed_at, answered_at = absl::InfinitePast();
    absl::Time connect_requested_at, connected_at, message_started_at, hangup_at;
    std::string message_opt_out_key;  // the key the playing message offers ("" none)
    absl::Time accept_requested_at;
    AgentId agent;
    std::string inbound_from;  // inbound: the caller (request.to: the number dialed)
    bool key_pressed = false;  // the opt-out key was sent
  };

  SimulatedCarrier(SimulatedCarrierOptions options, Scheduler& scheduler, CallEventSink& sink);
  static absl::string_view StateName(State state);
  // The next step of `call` in its state and when; schedules it. Locked.
  void ArmLocked(const AttemptId& id, Call& call);
  void Run(const AttemptId& id, uint64_t generation, Step step, uint64_t token);
  // Runs `step`, appending the events it sends; false when the call ends.
  bool ApplyLocked(Call& call, Step step, absl::Time now, std::vector<CallEvent>& out);
  CallEvent NewEventLocked(Call& call, CallEventType type, absl::Time now);
  absl::StatusOr<Call*> FindLocked(const AttemptId& attempt);
  // Schedules the next arrival on inbound line `line`. Locked.
  void ArmArrivalLocked(size_t line);
  void RunArrival(size_t line, uint64_t token);

  const SimulatedCarrierOptions options_;
  Scheduler& scheduler_;
  CallEventSink& sink_;
  absl::Time shift_start_;
  double failure_weight_total_ = 0.0;

  mutable std::mutex mu_;
  bool stopped_ = false;
  absl::flat_hash_map<AttemptId, Call> calls_;
  uint64_t next_token_ = 1;
  absl::flat_hash_map<uint64_t, Scheduler::TaskId> scheduled_;  // token -> task
  SimulatedCarrierStats stats_;
  uint64_t inbound_sequence_ = 0;
  sim::Rng arrivals_;  // inter-arrival times and callers' numbers
};

}  // namespace dialgrid::telephony
