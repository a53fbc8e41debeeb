#include "services/recording/domain/wav.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid::recording {
namespace {

constexpr uint16_t kTagPcm = 1;
constexpr uint16_t kTagAlaw = 6;
constexpr uint16_t kTagMulaw = 7;
constexpr uint16_t kTagExtensible = 0xFFFE;
// Headers longer than this (e.g. huge metadata chunks) are refused.
constexpr size_t kMaxHeader = 64 * 1024;

struct WavFormat {
  uint16_t tag = 0;
  uint16_t channels = 0;
  uint32_t rate = 0;
  uint16_t bits = 0;
};

bool FormatOf(int audio_format, WavFormat* out) {
  switch (audio_format) {
    case 1: *out = {kTagPcm, 1, 8000, 16}; return true;
    case 2: *out = {kTagPcm, 1, 16000, 16}; return true;
    case 3: *out = {kTagMulaw, 1, 8000, 8}; return true;
    case 4: *out = {kTagAlaw, 1, 8000, 8}; return true;
    default: return false;
  }
}

std::string Describe(const WavFormat& f) {
  const char* tag = f.tag == kTagPcm     ? "PCM"
                    : f.tag == kTagMulaw ? "mu-law"
                    : f.tag == kTagAlaw  ? "A-law"
                                         : nullptr;
  return absl::StrCat(tag != nullptr ? std::string(tag) : absl::StrCat("format tag ", f.tag), " ",
                      f.channels, " channel(s) ", f.rate, " Hz ", f.bits, "-bit");
}

uint16_t Le16(absl::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) |
                               (static_cast<uint8_t>(b[at + 1]) << 8));
}
uint32_t Le32(absl::string_view b, size_t at) {
  return static_cast<uint32_t>(Le16(b, at)) | (static_cast<uint32_t>(Le16(b, at + 2)) << 16);
}
void Put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void Put32(std::string& s, uint32_t v) {
  Put16(s, static_cast<uint16_t>(v & 0xffff));
  Put16(s, static_cast<uint16_t>(v >> 16));
}

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return InvalidField(field, "WAV_HEADER_INVALID", absl::StrCat("not a WAV header: ", why));
}

}  // namespace

absl::StatusOr<size_t> ParseWavHeader(absl::string_view field, absl::string_view bytes,
                                      int audio_format) {
  WavFormat want;
  if (!FormatOf(audio_format, &want)) {
    return InvalidField(field, "UNSUPPORTED_AUDIO_FORMAT",
                        "the recording's format has no WAV form");
  }
  if (bytes.size() < 12 || bytes.substr(0, 4) != "RIFF" || bytes.substr(8, 4) != "WAVE") {
    return Invalid(field, "it does not begin with RIFF....WAVE");
  }
  bool have_fmt = false;
  size_t pos = 12;
  while (true) {
    if (pos > kMaxHeader) return Invalid(field, "no data chunk within the first 64 KiB");
    if (pos + 8 > bytes.size()) {
      return Invalid(field, "the header (up to the data chunk) must be whole in the first chunk");
    }
    const absl::string_view id = bytes.substr(pos, 4);
    const uint32_t size = Le32(bytes, pos + 4);
    const size_t body = pos + 8;
    if (id == "data") {
      if (!have_fmt) return Invalid(field, "the data chunk comes before a fmt chunk");
      return body;
    }
    if (size > kMaxHeader || body + size > bytes.size()) {
      return Invalid(field, absl::StrCat("the '", id, "' chunk runs past the first chunk"));
    }
    if (id == "fmt ") {
      if (size < 16) return Invalid(field, "the fmt chunk is shorter than 16 bytes");
      WavFormat got{Le16(bytes, body), Le16(bytes, body + 2), Le32(bytes, body + 4),
                    Le16(bytes, body + 14)};
      if (got.tag == kTagExtensible) {
        if (size < 40) return Invalid(field, "an extensible fmt chunk shorter than 40 bytes");
        got.tag = Le16(bytes, body + 24);  // the sub-format GUID's first two bytes
      }
      const uint32_t byte_rate = Le32(bytes, body + 8);
      const uint16_t block_align = Le16(bytes, body + 12);
      const uint32_t frame = static_cast<uint32_t>(got.channels) * got.bits / 8;
      if (byte_rate != got.rate * frame || block_align != frame) {
        return Invalid(field, "its byte rate or block alignment contradicts its format");
      }
      if (got.tag != want.tag || got.channels != want.channels || got.rate != want.rate ||
          got.bits != want.bits) {
        return InvalidField(field, "WAV_FORMAT_MISMATCH",
                            absl::StrCat("the WAV header says ", Describe(got),
                                         "; the recording was started as ", Describe(want)));
      }
      have_fmt = true;
    }
    pos = body + size + (size & 1);  // chunks are padded to even lengths
  }
}

std::string WavHeader(int audio_format, int64_t data_bytes) {
  WavFormat f;
  if (!FormatOf(audio_format, &f)) return "";
  const bool pcm = f.tag == kTagPcm;
  const uint32_t max = std::numeric_limits<uint32_t>::max();
  const uint32_t data = data_bytes < 0                   ? 0
                        : data_bytes > int64_t{max} - 58 ? max - 58
                                                         : static_cast<uint32_t>(data_bytes);
  const uint32_t fmt_size = pcm ? 16 : 18;
  const uint32_t riff = 4 + (8 + fmt_size) + (pcm ? 0 : 12) + 8 + data;
  const uint16_t frame = static_cast<uint16_t>(f.channels * f.bits / 8);
  std::string h;
  h.reserve(58);
  h += "RIFF";
  Put32(h, riff);
  h += "WAVE";
  h += "fmt ";
  Put32(h, fmt_size);
  Put16(h, f.tag);
  Put16(h, f.channels);
  Put32(h, f.rate);
  Put32(h, f.rate * frame);
  Put16(h, frame);
  Put16(h, f.bits);
  if (!pcm) {
    Put16(h, 0);  // cbSize
    h += "fact";
    Put32(h, 4);
    Put32(h, data / frame);  // samples per channel
  }
  h += "data";
  Put32(h, data);
  return h;
}

}  // namespace dialgrid::recording
