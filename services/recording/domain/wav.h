#pragma once

// The RIFF/WAVE container of recordings' audio: reading the header an upload
// may begin with (checked against the recording's declared format) and
// writing one for a download. Formats (v1::AudioFormat values):
//   1 PCM_S16LE_8K   format tag 1 (PCM), mono, 8000 Hz, 16 bits
//   2 PCM_S16LE_16K  format tag 1 (PCM), mono, 16000 Hz, 16 bits
//   3 G711_MULAW     format tag 7 (mu-law), mono, 8000 Hz, 8 bits
//   4 G711_ALAW      format tag 6 (A-law), mono, 8000 Hz, 8 bits
// WAVE_FORMAT_EXTENSIBLE (0xFFFE) is read through its sub-format.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dialgrid::recording {

// The length of the WAV header at the start of `bytes` (RIFF, WAVE, a "fmt "
// chunk, any other chunks, up to and including the "data" chunk's own
// 8-byte header), after checking that its format is `audio_format`'s.
// INVALID_ARGUMENT (field `field`) WAV_HEADER_INVALID when `bytes` does not
// begin with a whole, well-formed header (it must end within `bytes`);
// WAV_FORMAT_MISMATCH when it describes another format (the message says
// both). The data chunk's size is not checked: a live stream's writer does
// not know it (0 and 0xFFFFFFFF are common).
absl::StatusOr<size_t> ParseWavHeader(absl::string_view field, absl::string_view bytes,
                                      int audio_format);

// A canonical header for `data_bytes` of audio in `audio_format` (44 bytes
// for PCM; 58 for G.711: an 18-byte "fmt " chunk and a "fact" chunk, as
// non-PCM WAVE requires). Sizes over 4 GiB are written as 0xFFFFFFFF.
// "" for a format the vault does not take.
std::string WavHeader(int audio_format, int64_t data_bytes);

}  // namespace dialgrid::recording
