#include "services/recording/application/call_events_handler.h"

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/status_macros.h"

namespace dialgrid::recording {
namespace {

constexpr char kCallUpdated[] = "dialgrid.dialing.v1.CallUpdated";
constexpr char kComponent[] = "recording.calls";

// Worth trying the event again: Redis or the volume unavailable, contention.
bool Retryable(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

bool NoKey(const absl::Status& st) {
  const std::string reason = ReasonOf(st);
  return reason == "KEK_MISSING" || reason == "KEK_MALFORMED";
}

}  // namespace

CallEventsHandler::CallEventsHandler(RecordingManager& manager, CallEventsOptions options)
    : manager_(manager), options_(std::move(options)) {
  if (options_.probe == nullptr) options_.probe = std::make_shared<RecordingProbe>();
}

absl::Status CallEventsHandler::Handle(const event::v1::Envelope& event) {
  if (event.type() != kCallUpdated) {  // campaigns, caller IDs, hoppers share the topic
    options_.probe->CallEvent(CallAction::kNone, CallResult::kIgnored);
    return absl::OkStatus();
  }
  dialing::v1::CallUpdated update;
  if (!event.payload().UnpackTo(&update)) {
    Log(LogLevel::kWarning, kComponent, "call event skipped: payload is not a CallUpdated",
        {{"event_id", event.event_id()}, {"tenant", event.tenant()}});
    options_.probe->CallEvent(CallAction::kNone, CallResult::kRefused);
    return absl::OkStatus();
  }
  const CallStep step = ParseCallStep(update.step());
  if (step == CallStep::kOther) {
    options_.probe->CallEvent(CallAction::kNone, CallResult::kIgnored);
    return absl::OkStatus();
  }
  absl::StatusOr<CallRef> call = ParseCallName(update.call().name());
  if (!call.ok() || (!event.tenant().empty() && event.tenant() != call->tenant)) {
    // A call of another tenant than the envelope's is never acted on.
    Log(LogLevel::kWarning, kComponent, "call event skipped: call name malformed or of another tenant",
        {{"event_id", event.event_id()}, {"tenant", event.tenant()}, {"step", update.step()}});
    options_.probe->CallEvent(CallAction::kNone, CallResult::kRefused);
    return absl::OkStatus();
  }
  const Actor actor{options_.actor, event.event_id()};
  switch (step) {
    case CallStep::kConnected:
      return Settle(CallAction::kStart, StartFor(*call, update.call(), actor), event, *call);
    case CallStep::kEnded:
      return Settle(CallAction::kStop, StopFor(*call, actor), event, *call);
    case CallStep::kAbusiveFlagged: {
      DG_RETURN_IF_ERROR(
          Settle(CallAction::kHold, HoldFor(*call, update.call(), actor), event, *call));
      // The flag ends the call: stop its recording unless an ENDED does it.
      if (update.call().state() != dialing::v1::CALL_STATE_ENDED) return absl::OkStatus();
      return Settle(CallAction::kStop, StopFor(*call, actor), event, *call);
    }
    case CallStep::kOther:
      break;
  }
  return absl::OkStatus();
}

absl::StatusOr<CallResult> CallEventsHandler::StartFor(const CallRef& call,
                                                       const dialing::v1::Call& c,
                                                       const Actor& actor) {
  const RecordingRef ref{call.tenant, CallRecordingId(call.tenant, call.call_id)};
  absl::StatusOr<v1::Recording> there = manager_.Peek(ref);
  if (there.ok()) return CallResult::kRepeat;
  if (ReasonOf(there.status()) != "RECORDING_NOT_FOUND") return there.status();
  v1::Recording r;
  r.set_call_id(call.call_id);
  r.set_campaign(c.campaign());
  r.set_agent(c.agent());
  r.set_contact(c.contact());  // empty for an inbound caller who is no contact
  r.set_audio_format(options_.audio_format);
  r.set_announcement_played(c.recording_announcement());
  CreateOptions create;
  create.id = ref.id;
  absl::StatusOr<v1::Recording> started =
      manager_.Start(call.tenant, r, CallRecordingRequestId(call.tenant, call.call_id), actor,
                     create);
  if (!started.ok()) {
    if (NoKey(started.status())) return CallResult::kNoKey;
    // The same request id with another call content (a second CONNECTED
    // within 24 h whose agent changed): the recording is there.
    if (ReasonOf(started.status()) == "REQUEST_ID_REUSED" && manager_.Peek(ref).ok()) {
      return CallResult::kRepeat;
    }
    return started.status();
  }
  return CallResult::kDone;
}

absl::StatusOr<CallResult> CallEventsHandler::StopFor(const CallRef& call, const Actor& actor) {
  const RecordingRef ref{call.tenant, CallRecordingId(call.tenant, call.call_id)};
  absl::StatusOr<v1::Recording> there = manager_.Peek(ref);
  if (!there.ok()) {
    if (ReasonOf(there.status()) == "RECORDING_NOT_FOUND") return CallResult::kNotRecorded;
    return there.status();
  }
  if (there->has_stop_time()) return CallResult::kRepeat;
  absl::StatusOr<v1::Recording> stopped = manager_.Stop(ref, actor);
  if (!stopped.ok()) return stopped.status();
  return CallResult::kDone;
}

absl::StatusOr<CallResult> CallEventsHandler::HoldFor(const CallRef& call,
                                                      const dialing::v1::Call& c,
                                                      const Actor& actor) {
  const std::string id = AbusiveHoldId(call.tenant, call.call_id);
  absl::StatusOr<v1::LegalHold> there = manager_.PeekHold(call.tenant, id);
  if (there.ok()) return CallResult::kRepeat;
  if (ReasonOf(there.status()) != "HOLD_NOT_FOUND") return there.status();
  v1::LegalHold hold;
  hold.set_scope(v1::HOLD_SCOPE_CALL);
  hold.set_target(call.call_id);
  hold.set_reason(AbusiveHoldReason(c.abusive().flagged_by(), c.abusive().reason()));
  CreateOptions create;
  create.id = id;
  absl::StatusOr<v1::LegalHold> placed = manager_.PlaceHold(
      call.tenant, hold, AbusiveHoldRequestId(call.tenant, call.call_id), actor, create);
  if (!placed.ok()) {
    if (ReasonOf(placed.status()) == "REQUEST_ID_REUSED" &&
        manager_.PeekHold(call.tenant, id).ok()) {
      return CallResult::kRepeat;
    }
    return placed.status();
  }
  return CallResult::kDone;
}

absl::Status CallEventsHandler::Settle(CallAction action, const absl::StatusOr<CallResult>& result,
                                       const event::v1::Envelope& event, const CallRef& call) {
  const char* what = action == CallAction::kStart  ? "start"
                     : action == CallAction::kStop ? "stop"
                                                   : "hold";
  if (result.ok()) {
    options_.probe->CallEvent(action, *result);
    if (*result == CallResult::kNoKey) {
      Log(LogLevel::kWarning, kComponent,
          "call not recorded: the tenant has no key-encryption key in --kek_dir",
          {{"tenant", call.tenant}, {"call", call.call_id}, {"event_id", event.event_id()}});
    } else if (*result == CallResult::kDone) {
      Log(LogLevel::kInfo, kComponent, absl::StrCat("call recording: ", what),
          {{"tenant", call.tenant}, {"call", call.call_id}, {"event_id", event.event_id()}});
    }
    return absl::OkStatus();
  }
  if (Retryable(result.status())) {
    options_.probe->CallEvent(action, CallResult::kFailed);
    return result.status();  // the consumer logs it and retries the event
  }
  options_.probe->CallEvent(action, CallResult::kRefused);
  Log(LogLevel::kWarning, kComponent, absl::StrCat("call event skipped: ", what, " refused"),
      {{"tenant", call.tenant}, {"call", call.call_id}, {"event_id", event.event_id()},
       {"error", result.status().ToString()}});
  return absl::OkStatus();
}

}  // namespace dialgrid::recording
