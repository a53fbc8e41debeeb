// The WAV container: headers read from uploads, written for downloads.
#include "services/recording/domain/wav.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid::recording {
namespace {

std::string Le16(uint16_t v) {
  return std::string{static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
}
std::string Le32(uint32_t v) {
  return Le16(static_cast<uint16_t>(v & 0xffff)) + Le16(static_cast<uint16_t>(v >> 16));
}

// A header as a third-party writer may make it: `extra` chunks between fmt
// and data, a data size (0: unknown, as live writers do).
std::string Header(uint16_t tag, uint16_t channels, uint32_t rate, uint16_t bits,
                   const std::string& extra = "", uint32_t data = 0) {
  const uint16_t frame = static_cast<uint16_t>(channels * bits / 8);
  std::string fmt = "fmt " + Le32(16) + Le16(tag) + Le16(channels) + Le32(rate) +
                    Le32(rate * frame) + Le16(frame) + Le16(bits);
  std::string body = "WAVE" + fmt + extra + "data" + Le32(data);
  return "RIFF" + Le32(static_cast<uint32_t>(body.size()) + data) + body;
}

TEST(WavTest, EachFormatsHeaderIsReadUpToTheData) {
  struct Case {
    int format;
    uint16_t tag;
    uint32_t rate;
    uint16_t bits;
  };
  for (const Case& c :
       {Case{1, 1, 8000, 16}, Case{2, 1, 16000, 16}, Case{3, 7, 8000, 8}, Case{4, 6, 8000, 8}}) {
    const std::string h = Header(c.tag, 1, c.rate, c.bits);
    auto len = ParseWavHeader("audio", h + "samples", c.format);
    ASSERT_TRUE(len.ok()) << c.format << " " << len.status();
    EXPECT_EQ(*len, h.size());
  }
}

TEST(WavTest, OtherChunksAndOddPaddingAreSkipped) {
  const std::string list = "LIST" + Le32(5) + "INFOx" + std::string(1, '\0');  // odd: padded
  const std::string h = Header(1, 1, 8000, 16, list, 0xFFFFFFFF);
  auto len = ParseWavHeader("audio", h + "pcm", 1);
  ASSERT_TRUE(len.ok()) << len.status();
  EXPECT_EQ(*len, h.size());
}

TEST(WavTest, ExtensibleIsReadThroughItsSubFormat) {
  std::string fmt = "fmt " + Le32(40) + Le16(0xFFFE) + Le16(1) + Le32(8000) + Le32(8000) + Le16(1) +
                    Le16(8) + Le16(22) + Le16(8) + Le32(4) + Le16(7) + std::string(14, '\x01');
  std::string body = "WAVE" + fmt + "data" + Le32(0);
  std::string h = "RIFF" + Le32(static_cast<uint32_t>(body.size())) + body;
  EXPECT_TRUE(ParseWavHeader("audio", h, 3).ok());
  EXPECT_EQ(ReasonOf(ParseWavHeader("audio", h, 4).status()), "WAV_FORMAT_MISMATCH");
}

TEST(WavTest, AnotherFormatIsAMismatchNamingBoth) {
  auto st = ParseWavHeader("audio", Header(7, 1, 8000, 8), 1).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(st), "WAV_FORMAT_MISMATCH");
  EXPECT_NE(st.message().find("mu-law 1 channel(s) 8000 Hz 8-bit"), absl::string_view::npos) << st;
  EXPECT_NE(st.message().find("PCM 1 channel(s) 8000 Hz 16-bit"), absl::string_view::npos) << st;
  EXPECT_EQ(ReasonOf(ParseWavHeader("audio", Header(1, 1, 16000, 16), 1).status()),
            "WAV_FORMAT_MISMATCH");
  EXPECT_EQ(ReasonOf(ParseWavHeader("audio", Header(1, 2, 8000, 16), 1).status()),
            "WAV_FORMAT_MISMATCH");  // stereo
  EXPECT_EQ(ReasonOf(ParseWavHeader("audio", Header(6, 1, 8000, 8), 3).status()),
            "WAV_FORMAT_MISMATCH");  // A-law for mu-law
}

TEST(WavTest, WhatIsNotAWholeHeaderIsInvalid) {
  const std::string good = Header(1, 1, 8000, 16);
  for (const std::string& bad :
       {std::string(""), std::string("RIFF"), std::string(good.size(), '\0'),
        good.substr(0, good.size() - 1),                  // data header cut
        good.substr(0, 20),                               // fmt cut
        "RIFF" + Le32(4) + "WAVE" + "data" + Le32(0)}) {  // data before fmt
    EXPECT_EQ(ReasonOf(ParseWavHeader("audio", bad, 1).status()), "WAV_HEADER_INVALID")
        << bad.size();
  }
  // A byte rate that contradicts the format.
  std::string h = good;
  h[28] = 1;
  EXPECT_EQ(ReasonOf(ParseWavHeader("audio", h, 1).status()), "WAV_HEADER_INVALID");
}

TEST(WavTest, WrittenHeadersReadBackAndCarryTheDataSize) {
  for (int format : {1, 2, 3, 4}) {
    const std::string h = WavHeader(format, 12345);
    EXPECT_EQ(h.size(), format <= 2 ? 44u : 58u);
    auto len = ParseWavHeader("audio", h, format);
    ASSERT_TRUE(len.ok()) << len.status();
    EXPECT_EQ(*len, h.size());
    EXPECT_EQ(h.substr(h.size() - 4), Le32(12345));
    EXPECT_EQ(h.substr(4, 4), Le32(static_cast<uint32_t>(h.size() - 8 + 12345)));
  }
  EXPECT_EQ(WavHeader(0, 10), "");
}

}  // namespace
}  // namespace dialgrid::recording
