#include "services/recording/domain/g711.h"

namespace dialgrid::recording {
namespace {

constexpr int kMuLawBias = 0x84;   // 132
constexpr int kMuLawClip = 32635;  // largest magnitude before the bias overflows

// Position of the highest set bit of `v` above bit 7 (0..7): the segment.
int Segment(int v) {
  int seg = 0;
  for (v >>= 8; v != 0 && seg < 7; v >>= 1) ++seg;
  return seg;
}

}  // namespace

uint8_t LinearToMuLaw(int16_t sample) {
  int v = sample;
  const int sign = v < 0 ? 0x80 : 0;
  if (v < 0) v = -v;
  if (v > kMuLawClip) v = kMuLawClip;
  v += kMuLawBias;
  const int seg = Segment(v);
  const int mantissa = (v >> (seg + 3)) & 0x0f;
  return static_cast<uint8_t>(~(sign | (seg << 4) | mantissa));
}

int16_t MuLawToLinear(uint8_t code) {
  const int u = ~code & 0xff;
  const int seg = (u >> 4) & 0x07;
  const int v = (((u & 0x0f) << 3) + kMuLawBias) << seg;
  return static_cast<int16_t>((u & 0x80) ? kMuLawBias - v : v - kMuLawBias);
}

uint8_t LinearToALaw(int16_t sample) {
  int v = sample;
  int sign = 0x80;  // A-law: bit 7 set for positive
  if (v < 0) {
    sign = 0;
    v = -v - 1;
  }
  if (v > 32767) v = 32767;
  int code;
  if (v < 256) {
    code = v >> 4;
  } else {
    const int seg = Segment(v);  // 1..7 here
    code = (seg << 4) | ((v >> (seg + 3)) & 0x0f);
  }
  return static_cast<uint8_t>((sign | code) ^ 0x55);
}

int16_t ALawToLinear(uint8_t code) {
  const int a = code ^ 0x55;
  const int seg = (a >> 4) & 0x07;
  int v = ((a & 0x0f) << 4) + 8;
  if (seg > 0) v = (v + 0x100) << (seg - 1);
  return static_cast<int16_t>((a & 0x80) ? v : -v);
}

}  // namespace dialgrid::recording
