#pragma once

// A recording as the vault keeps it, and the rules on it that need no I/O:
// which audio formats are accepted and how long their audio lasts, and which
// state changes are allowed.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dialgrid::recording {

// A recording's identity: its tenant and id.
struct RecordingRef {
  std::string tenant;
  std::string id;
  bool operator==(const RecordingRef& o) const { return tenant == o.tenant && id == o.id; }
};

// Stored states (the API's STATE_*).
inline constexpr char kStateRecording[] = "recording";
inline constexpr char kStatePaused[] = "paused";
inline constexpr char kStateStopped[] = "stopped";
inline constexpr char kStateIncomplete[] = "incomplete";
// Upload states: no stream yet, one open, ended and stored, failed (nothing stored).
inline constexpr char kUploadNone[] = "none";
inline constexpr char kUploadOpen[] = "open";
inline constexpr char kUploadDone[] = "done";
inline constexpr char kUploadFailed[] = "failed";
// An upload whose replica was lost, being salvaged by the sweep.
inline constexpr char kUploadSalvaging[] = "salvaging";

// A pause: a span of the call that is not stored.
struct GapMeta {
  absl::Time start = absl::InfinitePast();
  absl::Time end = absl::InfiniteFuture();  // InfiniteFuture while paused
  int64_t audio_offset = 0;
  int64_t discarded_bytes = 0;
  std::string paused_by;
  std::string reason;
};

struct RecordingMeta {
  RecordingRef ref;
  std::string call_id, campaign, agent, contact;
  int audio_format = 0;  // v1::AudioFormat
  bool announcement_played = false;
  std::string state = kStateRecording;
  std::string upload = kUploadNone;
  absl::Time create_time = absl::InfinitePast();
  absl::Time stop_time = absl::InfinitePast();  // InfinitePast: not stopped
  absl::Time expire_time = absl::InfiniteFuture();
  bool legal_hold = false;
  std::string key_id;       // the KEK its data key is wrapped with
  std::string wrapped_key;  // kWrappedKeyBytes bytes
  int64_t last_sequence = 0;
  int64_t accepted_bytes = 0;   // audio taken in for storage
  int64_t discarded_bytes = 0;  // audio dropped while paused
  int64_t audio_bytes = 0;      // stored (once the upload ended)
  int64_t stored_bytes = 0;     // file size
  int64_t segments = 0;
  std::string sha256, file_sha256;
  std::string incomplete_reason;
  int64_t lost_bytes = 0;     // received, not stored (replica lost)
  std::vector<GapMeta> gaps;  // the open pause last, while paused
  // Ids of the active legal holds covering it (by any selector).
  std::vector<std::string> holds;
};

// Legal hold scopes (the API's HOLD_SCOPE_*), and what a hold covers: the
// recordings whose value of that scope is the hold's target (the recording
// id, call id, contact name or campaign name).
inline constexpr char kHoldRecording[] = "recording";
inline constexpr char kHoldCall[] = "call";
inline constexpr char kHoldContact[] = "contact";
inline constexpr char kHoldCampaign[] = "campaign";

struct HoldMeta {
  std::string tenant, id;
  std::string scope, target;
  std::string reason, placed_by;
  absl::Time create_time = absl::InfinitePast();
  bool released = false;
  absl::Time release_time = absl::InfinitePast();
  std::string released_by, release_reason;
};

// The (scope, target) pairs a recording is matched on: a hold covers the
// recording when its own pair is one of these.
std::vector<std::pair<std::string, std::string>> HoldSelectorsOf(const RecordingMeta& meta);

// A retention policy: "default" or a campaign id.
inline constexpr char kRetentionDefault[] = "default";
struct RetentionMeta {
  std::string scope;
  absl::Duration retention = absl::ZeroDuration();
  absl::Time update_time = absl::InfinitePast();
  std::string updated_by;
};

// Why a recording is deleted.
enum class DeleteCause { kRetention, kErasure };

// Bytes of audio per second of the format; 0 for a format the vault does
// not take (unspecified or unknown).
int64_t BytesPerSecond(int audio_format);
// INVALID_ARGUMENT UNSUPPORTED_AUDIO_FORMAT (field `field`) for 0.
absl::Status CheckAudioFormat(absl::string_view field, int audio_format);
// How long `bytes` of audio of the format last.
absl::Duration AudioDuration(int audio_format, int64_t bytes);

// The state changes PauseRecording, ResumeRecording and StopRecording make:
// FAILED_PRECONDITION naming the current state when not allowed.
enum class Transition { kPause, kResume, kStop };
absl::Status CheckTransition(const RecordingMeta& meta, Transition t);
// The state after `t` (CheckTransition passed); Stop of an INCOMPLETE
// recording keeps it INCOMPLETE.
std::string StateAfter(const RecordingMeta& meta, Transition t);

}  // namespace dialgrid::recording
