#include "services/recording/domain/vault_crypto.h"

#include <gtest/gtest.h>

#include "services/common/core/errors.h"
#include "services/recording/domain/recording.h"

namespace dialgrid::recording {
namespace {

TEST(VaultCrypto, SegmentRoundTripsAndIsBoundToItsPlace) {
  SecretKey key = SecretKey::Random();
  std::string audio(1000, 'a');
  auto sealed = SealSegment(key, "acme", "r1", 3, false, audio);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), audio.size() + kSegmentOverhead);
  auto plain = OpenSegment(key, "acme", "r1", 3, false, *sealed);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, audio);
  // Another index, another recording, another tenant, the last flag, another key.
  EXPECT_EQ(OpenSegment(key, "acme", "r1", 4, false, *sealed).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenSegment(key, "acme", "r2", 3, false, *sealed).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenSegment(key, "other", "r1", 3, false, *sealed).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenSegment(key, "acme", "r1", 3, true, *sealed).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenSegment(SecretKey::Random(), "acme", "r1", 3, false, *sealed).status().code(),
            absl::StatusCode::kDataLoss);
  // Every flipped byte is found.
  for (size_t i = 0; i < sealed->size(); i += 97) {
    std::string bad = *sealed;
    bad[i] ^= 0x01;
    auto st = OpenSegment(key, "acme", "r1", 3, false, bad).status();
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << "byte " << i;
    EXPECT_EQ(ReasonOf(st), "AUDIO_TAMPERED");
  }
}

TEST(VaultCrypto, DataKeyWrapIsBoundToTenantAndRecording) {
  SecretKey kek = SecretKey::Random();
  SecretKey dek = SecretKey::Random();
  auto wrapped = WrapDataKey(kek, "acme", "r1", dek);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->size(), kWrappedKeyBytes);
  auto back = UnwrapDataKey(kek, "acme", "r1", *wrapped);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->bytes(), dek.bytes());
  EXPECT_EQ(ReasonOf(UnwrapDataKey(kek, "globex", "r1", *wrapped).status()), "KEY_UNWRAP_FAILED");
  EXPECT_EQ(ReasonOf(UnwrapDataKey(kek, "acme", "r2", *wrapped).status()), "KEY_UNWRAP_FAILED");
  EXPECT_EQ(ReasonOf(UnwrapDataKey(SecretKey::Random(), "acme", "r1", *wrapped).status()),
            "KEY_UNWRAP_FAILED");
}

TEST(VaultCrypto, LayoutOfFileMatchesFileSizeFor) {
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{kSegmentPlaintext} - 1,
                    int64_t{kSegmentPlaintext}, int64_t{kSegmentPlaintext} + 1,
                    int64_t{3 * kSegmentPlaintext}, int64_t{10'000'000}}) {
    auto l = LayoutOfFile(FileSizeFor(n));
    ASSERT_TRUE(l.ok()) << n;
    EXPECT_EQ(l->audio_bytes, n);
    EXPECT_EQ(l->Offset(l->segments - 1) + l->SealedLength(l->segments - 1), FileSizeFor(n));
  }
  EXPECT_FALSE(LayoutOfFile(10).ok());
  // A whole empty segment tacked on is no layout we write.
  EXPECT_FALSE(LayoutOfFile(FileSizeFor(kSegmentPlaintext) + kSegmentOverhead).ok());
}

TEST(VaultCrypto, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AudioFormats, DurationsAndRefusals) {
  EXPECT_EQ(AudioDuration(1, 16000), absl::Seconds(1));
  EXPECT_EQ(AudioDuration(2, 16000), absl::Milliseconds(500));
  EXPECT_EQ(AudioDuration(3, 8000 * 60), absl::Minutes(1));
  EXPECT_EQ(AudioDuration(4, 4000), absl::Milliseconds(500));
  EXPECT_EQ(ReasonOf(CheckAudioFormat("f", 0)), "UNSUPPORTED_AUDIO_FORMAT");
  EXPECT_EQ(ReasonOf(CheckAudioFormat("f", 9)), "UNSUPPORTED_AUDIO_FORMAT");
}

}  // namespace
}  // namespace dialgrid::recording
