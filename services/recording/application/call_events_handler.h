#pragma once

// The `calls` consumer's logic (issue 18: the dialer's connected calls are
// recorded): each CallUpdated envelope of topic `calls` is turned into the
// recording manager's own calls.
//   CONNECTED           -> Start (the call's recording, id from the call)
//   ENDED, RECONCILED   -> Stop (when it was started)
//   ABUSIVE_FLAGGED     -> PlaceHold (scope CALL, reason ABUSIVE_CALLER: ...);
//                          and Stop when the call is over already
//   anything else       -> nothing
// Idempotent by call: the recording and the hold are named after the call
// (domain/call_recording.h), so a redelivery, a replay after a rebalance or
// a second CONNECTED finds what the first did and changes nothing. An event
// that can never succeed (malformed, another tenant's names, a tenant without
// a key-encryption key) is logged, counted and skipped; only errors worth
// retrying (Redis unavailable, contention) are returned, for the consumer to
// retry the event.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "dialgrid/dialing/v1/dialing.pb.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "dialgrid/recording/v1/recording.pb.h"
#include "services/recording/application/recording_manager.h"
#include "services/recording/domain/call_recording.h"
#include "services/recording/ports/recording_probe.h"

namespace dialgrid::recording {

struct CallEventsOptions {
  // The format of the recordings started for calls (what the media server sends).
  v1::AudioFormat audio_format = v1::AUDIO_FORMAT_G711_MULAW;
  // The actor on the chain entries and events it causes (no spaces).
  std::string actor = "system:calls";
  // Where CallEvent is counted; nullptr: nowhere.
  std::shared_ptr<RecordingProbe> probe;
};

class CallEventsHandler {
 public:
  CallEventsHandler(RecordingManager& manager, CallEventsOptions options);

  // One envelope of topic `calls`: OK when done with it (acted on, found
  // done before, or skipped for good); UNAVAILABLE, ABORTED,
  // DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED to have it retried.
  absl::Status Handle(const event::v1::Envelope& event);

 private:
  absl::StatusOr<CallResult> StartFor(const CallRef& call, const dialing::v1::Call& c,
                                      const Actor& actor);
  absl::StatusOr<CallResult> StopFor(const CallRef& call, const Actor& actor);
  absl::StatusOr<CallResult> HoldFor(const CallRef& call, const dialing::v1::Call& c,
                                     const Actor& actor);
  // Counts and logs what became of `action`; the error to retry, or OK.
  absl::Status Settle(CallAction action, const absl::StatusOr<CallResult>& result,
                      const event::v1::Envelope& event, const CallRef& call);

  RecordingManager& manager_;
  CallEventsOptions options_;
};

}  // namespace dialgrid::recording
