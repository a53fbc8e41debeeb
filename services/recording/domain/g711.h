#pragma once

// G.711 companding (ITU-T G.711, the segment tables of the reference
// implementation): 16-bit linear PCM to 8-bit µ-law / A-law and back. The
// vault stores G.711 as it comes; the media simulator (tools/) makes its
// synthetic audio with these.

#include <cstdint>

namespace dialgrid::recording {

uint8_t LinearToMuLaw(int16_t sample);
int16_t MuLawToLinear(uint8_t code);
uint8_t LinearToALaw(int16_t sample);
int16_t ALawToLinear(uint8_t code);

}  // namespace dialgrid::recording
