#pragma once

// Synthetic call audio for the media-server simulator: a quiet tone over
// comfort noise, in any of the vault's formats, continuous from one chunk
// to the next (the tone's phase carries on). No I/O.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dialgrid/recording/v1/recording.pb.h"

namespace dialgrid::recording {

struct SyntheticAudioOptions {
  v1::AudioFormat audio_format = v1::AUDIO_FORMAT_G711_MULAW;
  // The tone (0: comfort noise only) and its level, dB below full scale.
  double tone_hz = 425;
  double tone_dbfs = -30;
  // Comfort noise (white), dB below full scale; -inf (or below -120): none.
  double noise_dbfs = -60;
  uint64_t seed = 1;  // the noise's
};

class SyntheticAudio {
 public:
  // INVALID_ARGUMENT for a format the vault does not take, a tone at or
  // above half the sample rate or a level above 0 dBFS.
  static absl::StatusOr<SyntheticAudio> Create(const SyntheticAudioOptions& options);

  int sample_rate() const { return rate_; }
  // The next `duration` of audio (whole samples), encoded in the format:
  // G.711 1 byte per sample, PCM 2 bytes little-endian.
  std::string Next(absl::Duration duration);

 private:
  explicit SyntheticAudio(const SyntheticAudioOptions& options, int rate)
      : options_(options), rate_(rate), rng_(options.seed | 1) {}
  int16_t Sample();

  SyntheticAudioOptions options_;
  int rate_;
  double phase_ = 0;  // of the tone, radians in [0, 2 pi)
  uint64_t rng_;      // xorshift64 state
};

}  // namespace dialgrid::recording
