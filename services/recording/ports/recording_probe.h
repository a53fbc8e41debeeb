#pragma once

// What the recording vault tells its metrics (the adapter is
// adapters/prometheus_recording_probe.h). No tenant, recording, call or
// credential is ever passed: labels stay few and fixed. Calls must be cheap
// and never block: they come from inside uploads and playbacks.

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/recording/domain/recording.h"
#include "services/recording/ports/recording_store.h"

namespace dialgrid::recording {

// How an upload ended.
enum class UploadEnd {
  kComplete,    // the client finished the stream; everything stored
  kIncomplete,  // ended early (broken stream, out of order, quota, ...): stored, INCOMPLETE
  kNotStored,   // nothing could be stored (full disk, storage error)
};

// The vault's answer to one audio chunk.
enum class ChunkResult {
  kStored,     // taken in and (as its segment fills) sealed
  kDiscarded,  // paused: the audio was dropped
  kDuplicate,  // a repeat, ignored
  kRefused,    // out of order, after stop, over quota, closed, too large, ...
};

// What the `calls` consumer (application/call_recorder.h) did with one
// CallUpdated: the action its step asks for, and how it went.
enum class CallAction {
  kStart,  // CONNECTED
  kStop,   // ENDED, RECONCILED
  kHold,   // ABUSIVE_FLAGGED
  kNone,   // another step or event type, or not a call at all
};
enum class CallResult {
  kDone,         // started, stopped, held
  kRepeat,       // done before (a redelivery, a second event): nothing changed
  kNoKey,        // start: the tenant has no key-encryption key; not recorded
  kNotRecorded,  // stop: the call has no recording (never started, or no key)
  kRefused,      // the event cannot be acted on (malformed, another tenant's
                 // names, ...): logged and skipped
  kIgnored,      // kNone: a step the vault does not act on
  kFailed,       // an error worth retrying (Redis, contention): retried
};

class RecordingProbe {
 public:
  virtual ~RecordingProbe() = default;

  virtual void RecordingStarted() {}  // a new recording (not an idempotent retry)
  virtual void StateChanged(Transition) {}
  // This replica's open upload streams (a gauge).
  virtual void UploadsOpen(int64_t) {}
  virtual void UploadEnded(UploadEnd) {}
  virtual void UploadSalvaged() {}  // a lost replica's upload made INCOMPLETE here
  // One chunk: `audio_bytes` counts for kStored only; `latency` from the
  // chunk's arrival (read off the stream) to its decision and the sealing
  // of what it filled.
  virtual void Chunk(ChunkResult, int64_t /*audio_bytes*/, absl::Duration /*latency*/) {}
  virtual void PlaybackStarted() {}     // an audited download sent its first message
  virtual void AudioServed(int64_t) {}  // plaintext audio bytes sent to a listener
  virtual void PlaybackTampered() {}    // a download stopped with DATA_LOSS AUDIO_TAMPERED
  // One problem VerifyRecordings found; `kind` is the lower-case
  // VerifyProblem kind without its prefix (e.g. "file_altered").
  virtual void VerifyProblem(absl::string_view /*kind*/) {}
  virtual void Deleted(DeleteCause) {}
  // Bytes of storage in use across all tenants (the quota counters).
  virtual void StorageBytes(int64_t) {}
  // The tenants' usage now, summed over all tenants (UsageTotals of each;
  // of all_time only audio_ms is filled).
  virtual void UsageTotals(const UsageNow&) {}
  // One CallUpdated of topic `calls` handled (or one attempt that failed).
  virtual void CallEvent(CallAction, CallResult) {}
};

}  // namespace dialgrid::recording
