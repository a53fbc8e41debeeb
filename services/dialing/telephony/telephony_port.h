#pragma once

// The dialer's telephony port: what the dialer asks of a carrier (place a
// call, connect it to an agent, play a message then hang up, hang up) and the
// events the carrier sends back, per call and in order. Narrow on purpose: a
// SIP adapter implements it later without a change to the dialer. The
// contract in full: services/dialing/telephony/README.md.
//
// Standard library and Abseil only (no gRPC, Redis, Kafka or protobuf).

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dialgrid::telephony {

// A string id that does not mix with other ids.
template <typename Tag>
class StringId {
 public:
  StringId() = default;
  explicit StringId(std::string value) : value_(std::move(value)) {}
  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend bool operator==(const StringId& a, const StringId& b) { return a.value_ == b.value_; }
  friend bool operator!=(const StringId& a, const StringId& b) { return a.value_ != b.value_; }
  friend bool operator<(const StringId& a, const StringId& b) { return a.value_ < b.value_; }
  template <typename H>
  friend H AbslHashValue(H h, const StringId& id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  std::string value_;
};

// The dialer's stable id of one dial attempt; the carrier's handle on the call.
using AttemptId = StringId<struct AttemptIdTag>;
using AgentId = StringId<struct AgentIdTag>;

enum class AmdMode { kOff, kOn };

struct CallRequest {
  AttemptId attempt_id;
  std::string caller_id;  // E.164 ("+15551230000"), the number presented
  std::string to;         // E.164, the callee
  // How long the callee's phone may ring, counted from the Ringing event;
  // then NoAnswer. > 0. (The campaign enforces the regulatory >= 15 s.)
  absl::Duration ring_timeout = absl::ZeroDuration();
  AmdMode amd = AmdMode::kOff;
};

struct MessageRequest {
  // What to play (a prompt the adapter resolves: the abandon message, a
  // campaign's machine message). Not empty.
  std::string message_id;
  // The key the message offers for the automated opt-out (one of 0-9, *,
  // #); empty: it offers none. A KeyPressed of another key is ignored.
  std::string opt_out_key;
};

enum class CallEventType {
  kRinging,         // the callee's phone rings
  kAnswered,        // picked up; with AMD on, sent when the verdict is known
  kBusy,            // final: busy
  kNoAnswer,        // final: rang for ring_timeout without an answer
  kFailed,          // final: the call could not be set up (failure_cause)
  kAgentConnected,  // the agent and the callee hear each other
  kRemoteHangup,    // the callee hung up
  kEnded,           // always the last event of a call (end_cause)
  kIncoming,        // an inbound call is offered (from, to): the first event of it
  kKeyPressed,      // the callee pressed a key (DTMF, `digits`) while a message played
};

enum class AmdVerdict {
  kNotRun,     // AMD off: the carrier does not know who answered
  kLive,       // classified as a live person
  kMachine,    // classified as an answering machine
  kUndecided,  // the callee hung up before AMD decided
};

// STIR/SHAKEN attestation of the caller ID, where the carrier reports it.
enum class Attestation { kNotReported, kFull /* A */, kPartial /* B */, kGateway /* C */ };

enum class FailureCause {
  kNetwork,        // congestion, no route, trunk or carrier error (SIP 5xx, 408)
  kInvalidNumber,  // not in service / vacant (SIP 404, 484, 410, SIT vacant)
  kRejected,       // declined or barred (SIP 403, 603, 607, 608)
  kUnavailable,    // temporarily unavailable (SIP 480)
};

enum class EndCause {
  kBusy,
  kNoAnswer,
  kFailed,
  kRemoteHangup,   // the callee hung up (after RemoteHangup)
  kLocalHangup,    // our HangUp
  kMessagePlayed,  // PlayMessageAndHangUp finished
};

struct CallEvent {
  CallEventType type = CallEventType::kEnded;
  AttemptId attempt_id;
  absl::Time at;      // the carrier's timestamp of the event
  int sequence = 0;   // 1, 2, ... within the call
  Attestation attestation = Attestation::kNotReported;
  // kAnswered: when the callee picked up, the verdict and when it was known
  // (== at with AMD on; InfinitePast when not run or undecided).
  absl::Time answered_at = absl::InfinitePast();
  AmdVerdict amd_verdict = AmdVerdict::kNotRun;
  absl::Time amd_decided_at = absl::InfinitePast();
  FailureCause failure_cause = FailureCause::kNetwork;  // kFailed
  AgentId agent_id;                                     // kAgentConnected
  EndCause end_cause = EndCause::kLocalHangup;          // kEnded
  // kIncoming: the caller's number and the number it dialed (E.164; `from`
  // may be empty when the caller withheld it).
  std::string from, to;
  // kKeyPressed: the key, one of "0"-"9", "*", "#".
  std::string digits;
};

absl::string_view ToString(CallEventType type);
absl::string_view ToString(AmdVerdict verdict);
absl::string_view ToString(Attestation attestation);
absl::string_view ToString(FailureCause cause);
absl::string_view ToString(EndCause cause);

// Where a carrier delivers its events. Events of one call arrive in order and
// one at a time; an implementation documents on which thread. The sink may
// call the port's commands from inside OnCallEvent (they never call the sink
// back synchronously), but must not destroy the port there.
class CallEventSink {
 public:
  virtual ~CallEventSink() = default;
  virtual void OnCallEvent(const CallEvent& event) = 0;
};

// Per call, the events are one of (X* = optional):
//   Busy, Ended(kBusy)
//   Failed, Ended(kFailed)
//   Ringing, NoAnswer, Ended(kNoAnswer)
//   Ringing, Answered, [AgentConnected], RemoteHangup, Ended(kRemoteHangup)
//   Ringing, Answered, [AgentConnected], Ended(kLocalHangup)   after HangUp
//   Ringing, Answered, [KeyPressed...], Ended(kMessagePlayed)
//                                                     after PlayMessageAndHangUp
//   Ringing, Answered, KeyPressed..., Ended(kLocalHangup)
//                                                     HangUp while the message played
// and HangUp before the answer cuts the sequence short with
// Ended(kLocalHangup). Answered(kUndecided) is always followed by
// RemoteHangup. No event follows Ended; the carrier then forgets the call.
//
// An inbound call is named by the carrier: its AttemptId is 2-40 characters
// of [a-z0-9], starting with "i", and not reused for as long as calls are
// kept (a SIP adapter maps its Call-IDs to such ids). Its events are one of:
//   Incoming, Ended(kLocalHangup)                      after HangUp (refused)
//   Incoming, RemoteHangup, Ended(kRemoteHangup)       the caller gave up
//   Incoming, Answered(kNotRun), then as an answered outbound call (the
//   caller may hang up while waiting: RemoteHangup, Ended(kRemoteHangup))
// after AnswerIncoming.
//
// Commands return at once; what they cause arrives as events. Errors:
//   INVALID_ARGUMENT    a malformed request (the message names the field)
//   ALREADY_EXISTS      PlaceCall with an attempt id already in progress
//   RESOURCE_EXHAUSTED  the carrier's concurrent-call limit is reached
//   NOT_FOUND           a call the carrier does not know (never placed, or
//                       its Ended event has been sent)
//   FAILED_PRECONDITION a command the call's state does not allow (connect
//                       before the answer, twice, or while a message plays);
//                       the callee may have hung up just before: its events
//                       are on their way
//   UNAVAILABLE         the carrier cannot be reached (retry later)
// Implementations are thread-safe: any thread may call any command.
class TelephonyPort {
 public:
  virtual ~TelephonyPort() = default;

  virtual absl::Status PlaceCall(const CallRequest& request) = 0;
  // Bridges an answered call to `agent`; AgentConnected follows once both
  // hear each other. Allowed after Answered, once.
  virtual absl::Status ConnectToAgent(const AttemptId& attempt, const AgentId& agent) = 0;
  // Plays the message to the callee, then hangs up: Ended(kMessagePlayed).
  // Allowed after Answered and before any connect (abandons, machine
  // messages).
  virtual absl::Status PlayMessageAndHangUp(const AttemptId& attempt,
                                            const MessageRequest& message) = 0;
  // Ends the call in any state (cancels a ringing call): Ended(kLocalHangup).
  virtual absl::Status HangUp(const AttemptId& attempt) = 0;
  // Picks up an offered inbound call (the caller hears the queue):
  // Answered(kNotRun) follows. Allowed after Incoming, once.
  virtual absl::Status AnswerIncoming(const AttemptId& attempt) = 0;
  // Plays a prompt to both parties of a connected call (the recording
  // announcement); the call goes on, no event follows. Allowed after
  // AgentConnected.
  virtual absl::Status PlayAnnouncement(const AttemptId& attempt,
                                        const MessageRequest& message) = 0;
};

// "+" then 7 to 15 digits (country code included), the first not 0.
bool IsE164(absl::string_view number);

// The checks every implementation makes on a request (INVALID_ARGUMENT naming
// the field).
absl::Status ValidateCallRequest(const CallRequest& request);

}  // namespace dialgrid::telephony
