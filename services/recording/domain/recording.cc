#include "services/recording/domain/recording.h"

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid::recording {

int64_t BytesPerSecond(int audio_format) {
  switch (audio_format) {
    case 1: return 16000;  // PCM 16-bit 8 kHz
    case 2: return 32000;  // PCM 16-bit 16 kHz
    case 3:                // G.711 mu-law
    case 4: return 8000;   // G.711 A-law
    default: return 0;
  }
}

absl::Status CheckAudioFormat(absl::string_view field, int audio_format) {
  if (BytesPerSecond(audio_format) == 0) {
    return InvalidField(field, "UNSUPPORTED_AUDIO_FORMAT",
                        "must be PCM 16-bit 8 or 16 kHz, G.711 mu-law or A-law");
  }
  return absl::OkStatus();
}

absl::Duration AudioDuration(int audio_format, int64_t bytes) {
  int64_t bps = BytesPerSecond(audio_format);
  if (bps == 0) return absl::ZeroDuration();
  return absl::Seconds(bytes / bps) + absl::Nanoseconds((bytes % bps) * 1000000000 / bps);
}

absl::Status CheckTransition(const RecordingMeta& m, Transition t) {
  auto refuse = [&](absl::string_view what) {
    return FailedPrecondition("RECORDING_NOT_ACTIVE",
                              absl::StrCat("cannot ", what, " a recording that is ", m.state));
  };
  switch (t) {
    case Transition::kPause:
      if (m.state != kStateRecording) return refuse("pause");
      return absl::OkStatus();
    case Transition::kResume:
      if (m.state != kStatePaused) return refuse("resume");
      return absl::OkStatus();
    case Transition::kStop:
      return absl::OkStatus();  // idempotent; INCOMPLETE stays INCOMPLETE
  }
  return absl::OkStatus();
}

std::string StateAfter(const RecordingMeta& m, Transition t) {
  switch (t) {
    case Transition::kPause: return kStatePaused;
    case Transition::kResume: return kStateRecording;
    case Transition::kStop: return m.state == kStateIncomplete ? kStateIncomplete : kStateStopped;
  }
  return m.state;
}

std::vector<std::pair<std::string, std::string>> HoldSelectorsOf(const RecordingMeta& m) {
  std::vector<std::pair<std::string, std::string>> out = {{kHoldRecording, m.ref.id},
                                                          {kHoldCall, m.call_id}};
  if (!m.contact.empty()) out.emplace_back(kHoldContact, m.contact);
  if (!m.campaign.empty()) out.emplace_back(kHoldCampaign, m.campaign);
  return out;
}

}  // namespace dialgrid::recording
