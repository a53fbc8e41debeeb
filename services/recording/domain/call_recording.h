#pragma once

// The dialer's calls as the vault records them (the `calls` consumer and the
// media simulator): which CallUpdated steps matter, and the recording and the
// abusive-caller hold of a call named from the call alone, so every replica,
// a redelivered event and the simulator all name the same ones.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dialgrid::recording {

// A dialer call: "tenants/{tenant}/calls/{call}".
struct CallRef {
  std::string tenant;
  std::string call_id;  // the {call} segment: the recording's call_id
};

// INVALID_ARGUMENT (MALFORMED_NAME) unless `name` is "tenants/{t}/calls/{c}".
absl::StatusOr<CallRef> ParseCallName(absl::string_view name);

// The CallUpdated steps (dialing.proto) the vault acts on.
enum class CallStep {
  kConnected,       // "CONNECTED": start the call's recording
  kEnded,           // "ENDED" or "RECONCILED": stop it
  kAbusiveFlagged,  // "ABUSIVE_FLAGGED": hold the call's recordings
  kOther,           // any other step (DIALED, RINGING, QUEUED, ..., unknown ones): nothing
};
CallStep ParseCallStep(absl::string_view step);

// The id of the call's recording: "r" + 24 hex digits of SHA-256 over the
// tenant and the call id (the shape of a random id, so nothing downstream
// can tell them apart).
std::string CallRecordingId(absl::string_view tenant, absl::string_view call_id);
// The id of the call's abusive-caller hold: "h" + 24 hex digits likewise.
std::string AbusiveHoldId(absl::string_view tenant, absl::string_view call_id);
// The request ids the consumer starts and holds with (StartRecording and
// PlaceHold idempotency, 24 h).
std::string CallRecordingRequestId(absl::string_view tenant, absl::string_view call_id);
std::string AbusiveHoldRequestId(absl::string_view tenant, absl::string_view call_id);

// The hold's reason: "ABUSIVE_CALLER: caller flagged as abusive by <who>:
// <why>", at most `max_chars` bytes (cut on a UTF-8 boundary); a part that
// is not plain text (core/text.h) is replaced by "(not plain text)".
std::string AbusiveHoldReason(absl::string_view flagged_by, absl::string_view why,
                              size_t max_chars = 500);

}  // namespace dialgrid::recording
