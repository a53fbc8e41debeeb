#include "services/dialing/telephony/telephony_port.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace dialgrid::telephony {

absl::string_view ToString(CallEventType type) {
  switch (type) {
    case CallEventType::kRinging:
      return "ringing";
    case CallEventType::kAnswered:
      return "answered";
    case CallEventType::kBusy:
      return "busy";
    case CallEventType::kNoAnswer:
      return "no_answer";
    case CallEventType::kFailed:
      return "failed";
    case CallEventType::kAgentConnected:
      return "agent_connected";
    case CallEventType::kRemoteHangup:
      return "remote_hangup";
    case CallEventType::kEnded:
      return "ended";
    case CallEventType::kIncoming:
      return "incoming";
    case CallEventType::kKeyPressed:
      return "key_pressed";
  }
  return "unknown";
}

absl::string_view ToString(AmdVerdict verdict) {
  switch (verdict) {
    case AmdVerdict::kNotRun:
      return "not_run";
    case AmdVerdict::kLive:
      return "live";
    case AmdVerdict::kMachine:
      return "machine";
    case AmdVerdict::kUndecided:
      return "undecided";
  }
  return "unknown";
}

absl::string_view ToString(Attestation attestation) {
  switch (attestation) {
    case Attestation::kNotReported:
      return "not_reported";
    case Attestation::kFull:
      return "A";
    case Attestation::kPartial:
      return "B";
    case Attestation::kGateway:
      return "C";
  }
  return "unknown";
}

absl::string_view ToString(FailureCause cause) {
  switch (cause) {
    case FailureCause::kNetwork:
      return "network";
    case FailureCause::kInvalidNumber:
      return "invalid_number";
    case FailureCause::kRejected:
      return "rejected";
    case FailureCause::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

absl::string_view ToString(EndCause cause) {
  switch (cause) {
    case EndCause::kBusy:
      return "busy";
    case EndCause::kNoAnswer:
      return "no_answer";
    case EndCause::kFailed:
      return "failed";
    case EndCause::kRemoteHangup:
      return "remote_hangup";
    case EndCause::kLocalHangup:
      return "local_hangup";
    case EndCause::kMessagePlayed:
      return "message_played";
  }
  return "unknown";
}

bool IsE164(absl::string_view number) {
  if (number.size() < 8 || number.size() > 16 || number[0] != '+' || number[1] == '0') {
    return false;
  }
  for (char c : number.substr(1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status ValidateCallRequest(const CallRequest& request) {
  if (request.attempt_id.empty()) {
    return absl::InvalidArgumentError("attempt_id: must not be empty");
  }
  if (!IsE164(request.caller_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("caller_id: not an E.164 number (\"+\" then 7 to 15 digits)"));
  }
  if (!IsE164(request.to)) {
    return absl::InvalidArgumentError("to: not an E.164 number (\"+\" then 7 to 15 digits)");
  }
  if (request.ring_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ring_timeout: must be > 0 (got ", absl::FormatDuration(request.ring_timeout),
                     ")"));
  }
  return absl::OkStatus();
}

}  // namespace dialgrid::telephony
