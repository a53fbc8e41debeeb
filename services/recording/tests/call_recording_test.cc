// The names of a call's recording and abusive-caller hold, the steps acted
// on, G.711 companding and the media simulator's synthetic audio.
#include <gtest/gtest.h>

#include <cmath>

#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/text.h"
#include "services/recording/domain/call_recording.h"
#include "services/recording/domain/g711.h"
#include "services/recording/tools/synthetic_audio.h"

namespace dialgrid::recording {
namespace {

TEST(CallRecordingTest, IdsComeFromTheCallAlone) {
  const std::string id = CallRecordingId("acme", "call-1");
  EXPECT_EQ(id, CallRecordingId("acme", "call-1"));
  EXPECT_NE(id, CallRecordingId("acme", "call-2"));
  EXPECT_NE(id, CallRecordingId("globex", "call-1"));
  // The shape of a random id ("r" + 24 hex), a valid resource id.
  ASSERT_EQ(id.size(), 25u);
  EXPECT_EQ(id[0], 'r');
  EXPECT_TRUE(ValidateResourceId("id", id).ok());
  const std::string hold = AbusiveHoldId("acme", "call-1");
  EXPECT_EQ(hold.size(), 25u);
  EXPECT_EQ(hold[0], 'h');
  EXPECT_NE(hold.substr(1), id.substr(1));
  EXPECT_NE(CallRecordingRequestId("acme", "call-1"), AbusiveHoldRequestId("acme", "call-1"));
}

TEST(CallRecordingTest, CallNamesAndSteps) {
  auto c = ParseCallName("tenants/acme/calls/k7");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tenant, "acme");
  EXPECT_EQ(c->call_id, "k7");
  EXPECT_FALSE(ParseCallName("tenants/acme/campaigns/k7").ok());
  EXPECT_FALSE(ParseCallName("").ok());
  EXPECT_EQ(ParseCallStep("CONNECTED"), CallStep::kConnected);
  EXPECT_EQ(ParseCallStep("ENDED"), CallStep::kEnded);
  EXPECT_EQ(ParseCallStep("RECONCILED"), CallStep::kEnded);
  EXPECT_EQ(ParseCallStep("ABUSIVE_FLAGGED"), CallStep::kAbusiveFlagged);
  for (const char* other : {"DIALED", "RINGING", "ANSWERED", "QUEUED", "OFFERED", "BLOCKED",
                            "DISPOSED", "connected", "", "NEW_STEP"}) {
    EXPECT_EQ(ParseCallStep(other), CallStep::kOther) << other;
  }
}

TEST(CallRecordingTest, HoldReasonNamesTheFlagAndStaysValid) {
  EXPECT_EQ(AbusiveHoldReason("tenants/acme/agents/a1", "threats"),
            "ABUSIVE_CALLER: caller flagged as abusive by tenants/acme/agents/a1: threats");
  EXPECT_EQ(AbusiveHoldReason("", ""), "ABUSIVE_CALLER: caller flagged as abusive by an agent");
  // Not plain text (a bidi override, a newline): left out, never the hold.
  const std::string r = AbusiveHoldReason("a\xe2\x80\xae" "b", "x\ny");
  EXPECT_TRUE(IsPlainText(r)) << r;
  EXPECT_EQ(r, "ABUSIVE_CALLER: caller flagged as abusive by (not plain text): (not plain text)");
  // Long: cut to the limit on a UTF-8 boundary.
  std::string why;
  for (int i = 0; i < 300; ++i) why += "\xc3\xa9";  // é
  const std::string cut = AbusiveHoldReason("agent", why, 500);
  EXPECT_LE(cut.size(), 500u);
  EXPECT_TRUE(IsPlainText(cut));
}

TEST(G711Test, KnownCodesAndRoundTrip) {
  EXPECT_EQ(LinearToMuLaw(0), 0xff);
  EXPECT_EQ(LinearToALaw(0), 0xd5);
  EXPECT_EQ(MuLawToLinear(0xff), 0);
  EXPECT_EQ(LinearToMuLaw(32767), 0x80);
  EXPECT_EQ(LinearToMuLaw(-32768), 0x00);
  for (int v = -32768; v <= 32767; v += 7) {
    const int16_t s = static_cast<int16_t>(v);
    // Companding keeps the sign and about 4 bits of mantissa: within 1/16
    // of the value (plus the smallest step).
    const int mu = MuLawToLinear(LinearToMuLaw(s));
    const int a = ALawToLinear(LinearToALaw(s));
    const int tolerance = std::abs(v) / 16 + 16;
    EXPECT_LE(std::abs(mu - std::max(-32124, std::min(32124, v))), tolerance + 64) << v;
    EXPECT_LE(std::abs(a - v), tolerance + 64) << v;
  }
  for (int code = 0; code < 256; ++code) {  // decoding then encoding is exact
    EXPECT_EQ(LinearToMuLaw(MuLawToLinear(static_cast<uint8_t>(code))),
              code == 0x7f ? 0xff : code) << code;
    EXPECT_EQ(LinearToALaw(ALawToLinear(static_cast<uint8_t>(code))), code) << code;
  }
}

TEST(SyntheticAudioTest, OneSecondOfEachFormat) {
  for (auto [format, bytes] : {std::pair{v1::AUDIO_FORMAT_G711_MULAW, 8000},
                               std::pair{v1::AUDIO_FORMAT_G711_ALAW, 8000},
                               std::pair{v1::AUDIO_FORMAT_PCM_S16LE_8K, 16000},
                               std::pair{v1::AUDIO_FORMAT_PCM_S16LE_16K, 32000}}) {
    SyntheticAudioOptions o;
    o.audio_format = format;
    auto a = SyntheticAudio::Create(o);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->Next(absl::Seconds(1)).size(), static_cast<size_t>(bytes)) << format;
    EXPECT_EQ(a->Next(absl::Milliseconds(20)).size(), static_cast<size_t>(bytes / 50)) << format;
  }
  SyntheticAudioOptions bad;
  bad.audio_format = v1::AUDIO_FORMAT_UNSPECIFIED;
  EXPECT_FALSE(SyntheticAudio::Create(bad).ok());
  bad.audio_format = v1::AUDIO_FORMAT_G711_MULAW;
  bad.tone_hz = 4000;
  EXPECT_FALSE(SyntheticAudio::Create(bad).ok());
  bad.tone_hz = 425;
  bad.tone_dbfs = 3;
  EXPECT_FALSE(SyntheticAudio::Create(bad).ok());
}

// A quiet tone: a -30 dBFS sine measures about -33 dBFS RMS after µ-law,
// and chunks join without a click (the phase carries on).
TEST(SyntheticAudioTest, QuietContinuousTone) {
  SyntheticAudioOptions o;
  o.noise_dbfs = -200;  // the tone alone
  auto a = SyntheticAudio::Create(o);
  ASSERT_TRUE(a.ok());
  std::string audio = a->Next(absl::Milliseconds(500));
  audio += a->Next(absl::Milliseconds(500));
  double sum = 0;
  std::vector<int> pcm;
  for (char c : audio) pcm.push_back(MuLawToLinear(static_cast<uint8_t>(c)));
  for (int v : pcm) sum += static_cast<double>(v) * v;
  const double rms_dbfs = 20 * std::log10(std::sqrt(sum / pcm.size()) / 32767);
  EXPECT_NEAR(rms_dbfs, -33, 1);
  // Largest step between samples anywhere, the join included: a 425 Hz sine
  // of amplitude ~1036 moves at most 2 pi f A / 8000 ~ 346 per sample
  int worst = 0;
  for (size_t i = 1; i < pcm.size(); ++i) worst = std::max(worst, std::abs(pcm[i] - pcm[i - 1]));
  EXPECT_LT(worst, 450);  // (plus the companding error); a jump would be up to ~2000
  // With comfort noise only there is still (quiet) sound.
  SyntheticAudioOptions noise;
  noise.tone_hz = 0;
  auto n = SyntheticAudio::Create(noise);
  ASSERT_TRUE(n.ok());
  const std::string hiss = n->Next(absl::Seconds(1));
  EXPECT_NE(hiss, std::string(hiss.size(), '\xff'));
}

}  // namespace
}  // namespace dialgrid::recording
