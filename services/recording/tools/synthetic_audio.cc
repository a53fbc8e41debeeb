#include "services/recording/tools/synthetic_audio.h"

#include <cmath>

#include "services/recording/domain/g711.h"

namespace dialgrid::recording {
namespace {

constexpr double kPi = 3.14159265358979323846;

double Amplitude(double dbfs) { return dbfs < -120 ? 0 : 32767.0 * std::pow(10.0, dbfs / 20); }

}  // namespace

absl::StatusOr<SyntheticAudio> SyntheticAudio::Create(const SyntheticAudioOptions& options) {
  int rate = 0;
  switch (options.audio_format) {
    case v1::AUDIO_FORMAT_G711_MULAW:
    case v1::AUDIO_FORMAT_G711_ALAW:
    case v1::AUDIO_FORMAT_PCM_S16LE_8K:
      rate = 8000;
      break;
    case v1::AUDIO_FORMAT_PCM_S16LE_16K:
      rate = 16000;
      break;
    default:
      return absl::InvalidArgumentError(
          "audio format: G.711 mu-law or A-law, or PCM 16-bit 8 or 16 kHz");
  }
  if (options.tone_hz < 0 || options.tone_hz >= rate / 2.0) {
    return absl::InvalidArgumentError("tone: 0 up to half the sample rate");
  }
  if (options.tone_dbfs > 0 || options.noise_dbfs > 0) {
    return absl::InvalidArgumentError("levels are at most 0 dBFS");
  }
  return SyntheticAudio(options, rate);
}

int16_t SyntheticAudio::Sample() {
  double v = 0;
  if (options_.tone_hz > 0) {
    v += Amplitude(options_.tone_dbfs) * std::sin(phase_);
    phase_ += 2 * kPi * options_.tone_hz / rate_;
    if (phase_ >= 2 * kPi) phase_ -= 2 * kPi;
  }
  if (const double noise = Amplitude(options_.noise_dbfs); noise > 0) {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    v += noise * (static_cast<double>(rng_ >> 11) / static_cast<double>(1ULL << 53) * 2 - 1);
  }
  v = std::round(v);
  if (v > 32767) v = 32767;
  if (v < -32768) v = -32768;
  return static_cast<int16_t>(v);
}

std::string SyntheticAudio::Next(absl::Duration duration) {
  const int64_t samples = absl::ToInt64Microseconds(duration) * rate_ / 1000000;
  const bool g711 = options_.audio_format == v1::AUDIO_FORMAT_G711_MULAW ||
                    options_.audio_format == v1::AUDIO_FORMAT_G711_ALAW;
  std::string out;
  out.reserve(static_cast<size_t>(samples) * (g711 ? 1 : 2));
  for (int64_t i = 0; i < samples; ++i) {
    const int16_t s = Sample();
    if (options_.audio_format == v1::AUDIO_FORMAT_G711_MULAW) {
      out.push_back(static_cast<char>(LinearToMuLaw(s)));
    } else if (options_.audio_format == v1::AUDIO_FORMAT_G711_ALAW) {
      out.push_back(static_cast<char>(LinearToALaw(s)));
    } else {
      const uint16_t u = static_cast<uint16_t>(s);
      out.push_back(static_cast<char>(u & 0xff));
      out.push_back(static_cast<char>(u >> 8));
    }
  }
  return out;
}

}  // namespace dialgrid::recording
