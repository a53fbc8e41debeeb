#include "services/dialing/telephony/simulated_carrier.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/status_macros.h"

namespace dialgrid::telephony {

namespace {

// FNV-1a: the same on every platform (std::hash is not).
uint64_t Fnv1a(absl::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

absl::Status ValidateDistribution(const sim::Distribution& d, absl::string_view field) {
  const double mean = d.Mean();
  if (!(mean >= 0.0) || !(d.Sd() >= 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": mean and sd must be >= 0"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SimulatedCarrier>> SimulatedCarrier::Create(
    SimulatedCarrierOptions options, Scheduler& scheduler, CallEventSink& sink) {
  if (options.max_concurrent_calls < 1) {
    return absl::InvalidArgumentError("max_concurrent_calls: must be >= 1");
  }
  if (options.scenario.human.points.empty()) {
    return absl::InvalidArgumentError(
        "scenario: no live-answer share (use sim::ParseScenario or LoadScenario)");
  }
  if (options.failure_causes.empty()) {
    return absl::InvalidArgumentError("failure_causes: must not be empty");
  }
  for (const auto& [weight, cause] : options.failure_causes) {
    if (!(weight > 0.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("failure_causes: the weight of ", ToString(cause), " must be > 0"));
    }
  }
  DG_RETURN_IF_ERROR(ValidateDistribution(options.default_patience, "default_patience"));
  DG_RETURN_IF_ERROR(ValidateDistribution(options.machine_hangup, "machine_hangup"));
  DG_RETURN_IF_ERROR(ValidateDistribution(options.connect_delay, "connect_delay"));
  DG_RETURN_IF_ERROR(ValidateDistribution(options.message_length, "message_length"));
  DG_RETURN_IF_ERROR(ValidateDistribution(options.inbound_patience, "inbound_patience"));
  if (!(options.opt_out_share >= 0.0 && options.opt_out_share <= 1.0)) {
    return absl::InvalidArgumentError("opt_out_share: must be within [0, 1]");
  }
  for (const auto& line : options.inbound) {
    if (!IsE164(line.number)) {
      return absl::InvalidArgumentError(
          absl::StrCat("inbound: number \"", line.number, "\" is not E.164"));
    }
    if (!(line.calls_per_hour >= 0.0) || line.calls_per_hour > 360000.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("inbound: calls_per_hour of ", line.number, " must be 0-360000"));
    }
  }
  return std::unique_ptr<SimulatedCarrier>(
      new SimulatedCarrier(std::move(options), scheduler, sink));
}

SimulatedCarrier::SimulatedCarrier(SimulatedCarrierOptions options, Scheduler& scheduler,
                                   CallEventSink& sink)
    : options_(std::move(options)),
      scheduler_(scheduler),
      sink_(sink),
      arrivals_(sim::MixSeed(options_.seed, 0x1b0u, 0)) {
  shift_start_ = options_.shift_start == absl::InfinitePast() ? scheduler_.clock().Now()
                                                             : options_.shift_start;
  for (const auto& entry : options_.failure_causes) failure_weight_total_ += entry.first;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < options_.inbound.size(); ++i) {
    if (options_.inbound[i].calls_per_hour > 0.0) ArmArrivalLocked(i);
  }
}

SimulatedCarrier::~SimulatedCarrier() {
  std::vector<Scheduler::TaskId> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    for (const auto& entry : scheduled_) tasks.push_back(entry.second);
  }
  // Outside the lock: a task under way (ThreadScheduler) takes it to finish,
  // and Cancel waits for that.
  for (Scheduler::TaskId task : tasks) scheduler_.Cancel(task);
}

CallFate SimulatedCarrier::Fate(const CallRequest& request, absl::Time placed_at) const {
  const sim::Scenario& sc = options_.scenario;
  sim::Rng rng(sim::MixSeed(options_.seed, Fnv1a(request.attempt_id.value()), Fnv1a(request.to)));
  auto draw = [&rng](const sim::Distribution& d) {
    return absl::Seconds(std::max(0.0, d.Sample(rng)));
  };
  // A fixed order of draws: a call's fate does not depend on which branch is
  // taken, on the other calls, or on when commands arrive.
  const double u_outcome = rng.Uniform();
  const double u_amd = rng.Uniform();
  const double u_busy = rng.Uniform();
  const double u_cause = rng.Uniform();
  CallFate fate;
  fate.setup = draw(sc.setup);
  const absl::Duration human_ring = draw(sc.human_ring);
  const absl::Duration machine_ring = draw(sc.machine_ring);
  fate.fail = fate.setup + draw(sc.fail);
  const absl::Duration live_talk = draw(sc.talk);
  const absl::Duration machine_talk = draw(sc.machine_talk);
  const absl::Duration patience = draw(sc.patience ? *sc.patience : options_.default_patience);
  const absl::Duration machine_hangup = draw(options_.machine_hangup);
  fate.connect_delay = draw(options_.connect_delay);
  fate.message_length = draw(options_.message_length);
  // Drawn last, so that the draws above (and every fate) stay as they were.
  const double u_opt_out = rng.Uniform();
  fate.opt_out_at = rng.Uniform();
  fate.amd_delay = absl::Seconds(std::max(0.0, sc.amd.decision_delay_s));

  double u_c = u_cause * failure_weight_total_;
  fate.failure_cause = options_.failure_causes.back().second;
  for (const auto& [weight, cause] : options_.failure_causes) {
    if (u_c < weight) {
      fate.failure_cause = cause;
      break;
    }
    u_c -= weight;
  }

  const bool amd = request.amd == AmdMode::kOn;
  const double human = sc.human.At(std::max(0.0, absl::ToDoubleSeconds(placed_at - shift_start_)));
  double u = u_outcome;
  if (u < human) {
    // A number labelled as spam: fewer of the live callees pick up; the
    // draws stay as they were, so every other call's fate is unchanged.
    auto factor = options_.answer_factor_by_caller_id.find(request.caller_id);
    if (factor != options_.answer_factor_by_caller_id.end() && u >= human * factor->second) {
      return fate;  // kNoAnswer
    }
    if (human_ring <= request.ring_timeout) {
      fate.callee = CallFate::Callee::kLive;
      fate.presses_opt_out = u_opt_out < options_.opt_out_share;
      fate.ring = human_ring;
      fate.talk = live_talk;
      fate.callee_hangup = patience;
      if (amd) {
        fate.verdict = u_amd < sc.amd.false_positive ? AmdVerdict::kMachine : AmdVerdict::kLive;
      }
    }
    return fate;
  }
  u -= human;
  if (u < sc.machine) {
    if (machine_ring <= request.ring_timeout) {
      fate.callee = CallFate::Callee::kMachine;
      fate.ring = machine_ring;
      fate.talk = machine_talk;
      fate.callee_hangup = machine_hangup;
      if (amd) {
        fate.verdict = u_amd < sc.amd.false_negative ? AmdVerdict::kLive : AmdVerdict::kMachine;
      }
    }
    return fate;
  }
  u -= sc.machine;
  if (u < sc.busy_failed) {
    fate.callee = u_busy < sc.busy_share ? CallFate::Callee::kBusy : CallFate::Callee::kFailed;
  }
  return fate;
}

SimulatedCarrierStats SimulatedCarrier::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SimulatedCarrierStats stats = stats_;
  stats.in_progress = static_cast<int64_t>(calls_.size());
  return stats;
}

absl::string_view SimulatedCarrier::StateName(State state) {
  switch (state) {
    case State::kDialing:
    case State::kRinging:
    case State::kPickedUp:
      return "not answered yet";
    case State::kAnswered:
      return "answered";
    case State::kConnecting:
      return "connecting to an agent";
    case State::kConnected:
      return "connected to an agent";
    case State::kMessage:
      return "playing a message";
    case State::kEnding:
      return "hanging up";
    case State::kOffered:
      return "offered, not answered";
    case State::kAccepting:
      return "being answered";
  }
  return "unknown";
}

absl::StatusOr<SimulatedCarrier::Call*> SimulatedCarrier::FindLocked(const AttemptId& attempt) {
  auto it = calls_.find(attempt);
  if (it == calls_.end()) {
    return absl::NotFoundError(absl::StrCat("call ", attempt.value(),
                                            ": not known to the carrier (never placed, or ended)"));
  }
  return &it->second;
}

absl::Status SimulatedCarrier::PlaceCall(const CallRequest& request) {
  DG_RETURN_IF_ERROR(ValidateCallRequest(request));
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return absl::UnavailableError("carrier: shutting down");
  if (calls_.contains(request.attempt_id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("call ", request.attempt_id.value(), ": already in progress"));
  }
  if (static_cast<int64_t>(calls_.size()) >= options_.max_concurrent_calls) {
    stats_.refused_at_capacity++;
    return absl::ResourceExhaustedError(
        absl::StrCat("carrier at capacity: ", calls_.size(), " of ",
                     options_.max_concurrent_calls,
                     " concurrent calls in progress; place it when one ends"));
  }
  const absl::Time now = scheduler_.clock().Now();
  Call call;
  call.request = request;
  call.fate = Fate(request, now);
  auto attestation = options_.attestation_by_caller_id.find(request.caller_id);
  call.attestation = attestation != options_.attestation_by_caller_id.end()
                         ? attestation->second
                         : options_.default_attestation;
  call.placed_at = now;
  auto [it, inserted] = calls_.emplace(request.attempt_id, std::move(call));
  (void)inserted;
  stats_.placed++;
  stats_.peak_in_progress =
      std::max(stats_.peak_in_progress, static_cast<int64_t>(calls_.size()));
  ArmLocked(it->first, it->second);
  return absl::OkStatus();
}

absl::Status SimulatedCarrier::ConnectToAgent(const AttemptId& attempt, const AgentId& agent) {
  if (agent.empty()) return absl::InvalidArgumentError("agent_id: must not be empty");
  std::lock_guard<std::mutex> lock(mu_);
  Call* call;
  DG_ASSIGN_OR_RETURN(call, FindLocked(attempt));
  if (call->state != State::kAnswered) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", attempt.value(), " is ", StateName(call->state),
                     ": ConnectToAgent needs an answered call, not yet connected"));
  }
  call->agent = agent;
  call->connect_requested_at = scheduler_.clock().Now();
  call->state = State::kConnecting;
  call->generation++;
  ArmLocked(attempt, *call);
  return absl::OkStatus();
}

absl::Status SimulatedCarrier::PlayMessageAndHangUp(const AttemptId& attempt,
                                                    const MessageRequest& message) {
  if (message.message_id.empty()) {
    return absl::InvalidArgumentError("message_id: must not be empty");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Call* call;
  DG_ASSIGN_OR_RETURN(call, FindLocked(attempt));
  if (call->state != State::kAnswered) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", attempt.value(), " is ", StateName(call->state),
                     ": PlayMessageAndHangUp needs an answered call, not connected"));
  }
  if (!message.opt_out_key.empty() &&
      (message.opt_out_key.size() != 1 || !absl::StrContains("0123456789*#", message.opt_out_key))) {
    return absl::InvalidArgumentError("opt_out_key: one of 0-9, *, #");
  }
  call->message_started_at = scheduler_.clock().Now();
  call->message_opt_out_key = message.opt_out_key;
  call->state = State::kMessage;
  call->generation++;
  ArmLocked(attempt, *call);
  return absl::OkStatus();
}

absl::Status SimulatedCarrier::HangUp(const AttemptId& attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  Call* call;
  DG_ASSIGN_OR_RETURN(call, FindLocked(attempt));
  if (call->state == State::kEnding) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", attempt.value(), " is already hanging up"));
  }
  call->hangup_at = scheduler_.clock().Now();
  call->state = State::kEnding;
  call->generation++;
  ArmLocked(attempt, *call);
  return absl::OkStatus();
}

absl::Status SimulatedCarrier::AnswerIncoming(const AttemptId& attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  Call* call;
  DG_ASSIGN_OR_RETURN(call, FindLocked(attempt));
  if (call->state != State::kOffered) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", attempt.value(), " is ", StateName(call->state),
                     ": AnswerIncoming needs an offered inbound call"));
  }
  call->accept_requested_at = scheduler_.clock().Now();
  call->state = State::kAccepting;
  call->generation++;
  ArmLocked(attempt, *call);
  return absl::OkStatus();
}

absl::Status SimulatedCarrier::PlayAnnouncement(const AttemptId& attempt,
                                                const MessageRequest& message) {
  if (message.message_id.empty()) return absl::InvalidArgumentError("message_id: must not be empty");
  std::lock_guard<std::mutex> lock(mu_);
  Call* call;
  DG_ASSIGN_OR_RETURN(call, FindLocked(attempt));
  if (call->state != State::kConnected) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", attempt.value(), " is ", StateName(call->state),
                     ": PlayAnnouncement needs a call connected to an agent"));
  }
  // Heard by both while they talk: the call's course does not change.
  stats_.announcements++;
  return absl::OkStatus();
}

absl::StatusOr<AttemptId> SimulatedCarrier::OfferInbound(const std::string& from,
                                                         const std::string& to) {
  if (!IsE164(to)) return absl::InvalidArgumentError("to: must be E.164");
  if (!from.empty() && !IsE164(from)) return absl::InvalidArgumentError("from: must be E.164");
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return absl::UnavailableError("carrier: shutting down");
  if (static_cast<int64_t>(calls_.size()) >= options_.max_concurrent_calls) {
    stats_.refused_at_capacity++;
    return absl::ResourceExhaustedError(
        absl::StrCat("carrier at capacity: ", calls_.size(), " of ",
                     options_.max_concurrent_calls, " concurrent calls in progress"));
  }
  const absl::Time now = scheduler_.clock().Now();
  // Unique for the carrier's life and, through the time, across restarts.
  const uint64_t n = ++inbound_sequence_;
  const uint64_t mixed =
      sim::MixSeed(options_.seed, n, static_cast<uint64_t>(absl::ToUnixNanos(now)));
  AttemptId id(absl::StrCat("i", absl::Hex(mixed, absl::kZeroPad16)));
  sim::Rng rng(sim::MixSeed(options_.seed, Fnv1a(id.value()), Fnv1a(to)));
  auto draw = [&rng](const sim::Distribution& d) {
    return absl::Seconds(std::max(0.0, d.Sample(rng)));
  };
  Call call;
  call.request.attempt_id = id;
  call.request.to = to;
  call.inbound_from = from;
  call.fate.callee = CallFate::Callee::kLive;
  call.fate.talk = draw(options_.scenario.talk);
  call.fate.callee_hangup = draw(options_.inbound_patience);
  call.fate.connect_delay = draw(options_.connect_delay);
  call.fate.message_length = draw(options_.message_length);
  call.attestation = Attestation::kNotReported;
  call.placed_at = now;
  call.answered_at = now;  // the caller's patience runs from the offer
  call.state = State::kOffered;
  auto [it, inserted] = calls_.emplace(id, std::move(call));
  (void)inserted;
  stats_.inbound_offered++;
  stats_.peak_in_progress =
      std::max(stats_.peak_in_progress, static_cast<int64_t>(calls_.size()));
  // Incoming goes out from a task, like every event (never from a command).
  const uint64_t token = next_token_++;
  const uint64_t generation = it->second.generation;
  scheduled_[token] = scheduler_.At(
      now, [this, id, generation, token] { Run(id, generation, Step::kOffer, token); });
  return id;
}

void SimulatedCarrier::ArmArrivalLocked(size_t line) {
  const double rate = options_.inbound[line].calls_per_hour / 3600.0;
  const double u = arrivals_.Uniform();
  const absl::Duration gap = absl::Seconds(-std::log(1.0 - u) / rate);
  const uint64_t token = next_token_++;
  scheduled_[token] = scheduler_.At(scheduler_.clock().Now() + gap,
                                    [this, line, token] { RunArrival(line, token); });
}

void SimulatedCarrier::RunArrival(size_t line, uint64_t token) {
  std::string from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    scheduled_.erase(token);
    if (stopped_) return;
    // A caller from a US number (+1 NXX NXX XXXX, N = 2-9).
    const uint64_t r = arrivals_.Next();
    from = absl::StrCat("+1", 2 + r % 8, absl::Dec((r / 8) % 100, absl::kZeroPad2),
                        2 + (r / 800) % 8, absl::Dec((r / 6400) % 100, absl::kZeroPad2),
                        absl::Dec((r / 640000) % 10000, absl::kZeroPad4));
    ArmArrivalLocked(line);
  }
  (void)OfferInbound(from, options_.inbound[line].number);  // at capacity: the caller gets busy
}

void SimulatedCarrier::ArmLocked(const AttemptId& id, Call& call) {
  const CallFate& f = call.fate;
  const bool answers =
      f.callee == CallFate::Callee::kLive || f.callee == CallFate::Callee::kMachine;
  const absl::Time gives_up = call.answered_at + f.callee_hangup;
  Step step = Step::kLocalEnd;
  absl::Time when = call.placed_at;
  switch (call.state) {
    case State::kDialing:
      if (f.callee == CallFate::Callee::kBusy || f.callee == CallFate::Callee::kFailed) {
        step = f.callee == CallFate::Callee::kBusy ? Step::kBusy : Step::kFailed;
        when = call.placed_at + f.fail;
      } else {
        step = Step::kRing;
        when = call.placed_at + f.setup;
      }
      break;
    case State::kRinging:
      step = answers ? Step::kPickUp : Step::kNoAnswer;
      when = call.placed_at + f.setup + (answers ? f.ring : call.request.ring_timeout);
      break;
    case State::kPickedUp: {
      const absl::Time verdict_at = call.answered_at + f.amd_delay;
      step = gives_up < verdict_at ? Step::kCalleeGivesUp : Step::kVerdict;
      when = std::min(gives_up, verdict_at);
      break;
    }
    case State::kAnswered:
      step = Step::kCalleeGivesUp;
      when = gives_up;
      break;
    case State::kConnecting: {
      const absl::Time connect_at = call.connect_requested_at + f.connect_delay;
      step = gives_up < connect_at ? Step::kCalleeGivesUp : Step::kAgentConnected;
      when = std::min(gives_up, connect_at);
      break;
    }
    case State::kConnected:
      step = Step::kTalkEnd;
      when = call.connected_at + f.talk;
      break;
    case State::kMessage:
      if (f.callee == CallFate::Callee::kLive && f.presses_opt_out && !call.key_pressed &&
          !call.message_opt_out_key.empty()) {
        step = Step::kKeyPress;
        when = call.message_started_at + f.message_length * f.opt_out_at;
      } else {
        step = Step::kMessageDone;
        when = call.message_started_at + f.message_length;
      }
      break;
    case State::kEnding:
      step = Step::kLocalEnd;
      when = call.hangup_at;
      break;
    case State::kOffered:
      step = Step::kCalleeGivesUp;
      when = gives_up;
      break;
    case State::kAccepting:
      step = gives_up < call.accept_requested_at ? Step::kCalleeGivesUp : Step::kAccept;
      when = std::min(gives_up, call.accept_requested_at);
      break;
  }
  const uint64_t token = next_token_++;
  const uint64_t generation = call.generation;
  // Runs later, never inside this call: the lock is not held by the
  // scheduler while it runs tasks.
  scheduled_[token] = scheduler_.At(
      when, [this, id, generation, step, token] { Run(id, generation, step, token); });
}

void SimulatedCarrier::Run(const AttemptId& id, uint64_t generation, Step step,
                           uint64_t token) {
  std::vector<CallEvent> events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(id);
    if (stopped_ || it == calls_.end() || it->second.generation != generation) {
      scheduled_.erase(token);
      return;
    }
    Call& call = it->second;
    call.generation++;
    if (ApplyLocked(call, step, scheduler_.clock().Now(), events)) {
      ArmLocked(id, call);
    } else {
      calls_.erase(it);
      stats_.ended++;
    }
  }
  for (const CallEvent& event : events) sink_.OnCallEvent(event);
  // Only now: the destructor cancels (and so waits for) a task still listed.
  std::lock_guard<std::mutex> lock(mu_);
  scheduled_.erase(token);
}

CallEvent SimulatedCarrier::NewEventLocked(Call& call, CallEventType type, absl::Time now) {
  CallEvent event;
  event.type = type;
  event.attempt_id = call.request.attempt_id;
  event.at = now;
  event.sequence = ++call.sequence;
  event.attestation = call.attestation;
  return event;
}

bool SimulatedCarrier::ApplyLocked(Call& call, Step step, absl::Time now,
                                   std::vector<CallEvent>& out) {
  auto end = [&](EndCause cause) {
    CallEvent event = NewEventLocked(call, CallEventType::kEnded, now);
    event.end_cause = cause;
    out.push_back(std::move(event));
    return false;
  };
  auto answered = [&](AmdVerdict verdict, absl::Time decided_at) {
    CallEvent event = NewEventLocked(call, CallEventType::kAnswered, now);
    event.answered_at = call.answered_at;
    event.amd_verdict = verdict;
    event.amd_decided_at = decided_at;
    out.push_back(std::move(event));
    call.state = State::kAnswered;
  };
  switch (step) {
    case Step::kBusy:
      out.push_back(NewEventLocked(call, CallEventType::kBusy, now));
      return end(EndCause::kBusy);
    case Step::kFailed: {
      CallEvent event = NewEventLocked(call, CallEventType::kFailed, now);
      event.failure_cause = call.fate.failure_cause;
      out.push_back(std::move(event));
      return end(EndCause::kFailed);
    }
    case Step::kRing:
      out.push_back(NewEventLocked(call, CallEventType::kRinging, now));
      call.state = State::kRinging;
      return true;
    case Step::kNoAnswer:
      out.push_back(NewEventLocked(call, CallEventType::kNoAnswer, now));
      return end(EndCause::kNoAnswer);
    case Step::kPickUp:
      call.answered_at = now;
      if (call.request.amd == AmdMode::kOff) {
        answered(AmdVerdict::kNotRun, absl::InfinitePast());
      } else {
        call.state = State::kPickedUp;
      }
      return true;
    case Step::kVerdict:
      answered(call.fate.verdict, now);
      return true;
    case Step::kCalleeGivesUp:
      if (call.state == State::kPickedUp) answered(AmdVerdict::kUndecided, absl::InfinitePast());
      out.push_back(NewEventLocked(call, CallEventType::kRemoteHangup, now));
      return end(EndCause::kRemoteHangup);
    case Step::kAgentConnected: {
      CallEvent event = NewEventLocked(call, CallEventType::kAgentConnected, now);
      event.agent_id = call.agent;
      out.push_back(std::move(event));
      call.state = State::kConnected;
      call.connected_at = now;
      return true;
    }
    case Step::kTalkEnd:
      out.push_back(NewEventLocked(call, CallEventType::kRemoteHangup, now));
      return end(EndCause::kRemoteHangup);
    case Step::kMessageDone:
      return end(EndCause::kMessagePlayed);
    case Step::kKeyPress: {
      CallEvent event = NewEventLocked(call, CallEventType::kKeyPressed, now);
      event.digits = call.message_opt_out_key;
      out.push_back(std::move(event));
      call.key_pressed = true;  // the message plays on until the dialer hangs up
      return true;
    }
    case Step::kLocalEnd:
      return end(EndCause::kLocalHangup);
    case Step::kOffer: {
      CallEvent event = NewEventLocked(call, CallEventType::kIncoming, now);
      event.from = call.inbound_from;
      event.to = call.request.to;
      out.push_back(std::move(event));
      return true;
    }
    case Step::kAccept:
      answered(AmdVerdict::kNotRun, absl::InfinitePast());
      return true;
  }
  return end(EndCause::kLocalHangup);
}

}  // namespace dialgrid::telephony
