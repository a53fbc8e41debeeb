#pragma once

// The recording vault's cryptography (OpenSSL EVP), pure functions:
//  - a data key per recording (32 random bytes), wrapped with the tenant's
//    key-encryption key by AES-256-GCM, the AAD binding tenant and recording;
//  - the audio in segments of kSegmentPlaintext bytes, each sealed on its own
//    with AES-256-GCM (random 96-bit nonce) and an AAD binding tenant,
//    recording, segment index and whether it is the last segment, so no
//    segment can be altered, reordered, moved to another recording or cut off
//    the end without the tag failing;
//  - SHA-256.
// A stored file is a 16-byte header, then the sealed segments in order:
// every segment but the last holds exactly kSegmentPlaintext bytes; the last
// 1..kSegmentPlaintext (0 only when the recording has no audio at all).

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dialgrid::recording {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kNonceBytes = 12;
inline constexpr size_t kTagBytes = 16;
inline constexpr size_t kSegmentPlaintext = 64 * 1024;
inline constexpr size_t kSegmentOverhead = kNonceBytes + kTagBytes;
inline constexpr size_t kSealedSegment = kSegmentPlaintext + kSegmentOverhead;
inline constexpr size_t kFileHeaderBytes = 16;
// A wrapped data key: nonce, the encrypted key, tag.
inline constexpr size_t kWrappedKeyBytes = kNonceBytes + kKeyBytes + kTagBytes;

// 32 key bytes, wiped when destroyed.
class SecretKey {
 public:
  SecretKey() = default;
  // `bytes` must hold kKeyBytes bytes (INVALID_ARGUMENT otherwise).
  static absl::StatusOr<SecretKey> FromBytes(absl::string_view bytes);
  // From the OS CSPRNG.
  static SecretKey Random();
  SecretKey(const SecretKey& o) : bytes_(o.bytes_) {}
  SecretKey& operator=(const SecretKey& o);
  ~SecretKey();
  const std::string& bytes() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }

 private:
  std::string bytes_;
};

// Wraps `data_key` with `kek` for (tenant, recording): kWrappedKeyBytes bytes.
absl::StatusOr<std::string> WrapDataKey(const SecretKey& kek, absl::string_view tenant,
                                        absl::string_view recording, const SecretKey& data_key);
// The data key, or FAILED_PRECONDITION KEY_UNWRAP_FAILED when `kek` is not
// the key it was wrapped with, the wrapped bytes were altered, or they were
// wrapped for another tenant or recording.
absl::StatusOr<SecretKey> UnwrapDataKey(const SecretKey& kek, absl::string_view tenant,
                                        absl::string_view recording, absl::string_view wrapped);

// The file header (magic and segment size).
std::string FileHeader();
// DATA_LOSS AUDIO_TAMPERED unless `header` is FileHeader().
absl::Status CheckFileHeader(absl::string_view header);

// Seals one segment: nonce, ciphertext, tag.
absl::StatusOr<std::string> SealSegment(const SecretKey& key, absl::string_view tenant,
                                        absl::string_view recording, uint64_t index, bool last,
                                        absl::string_view plaintext);
// The same into `out`, whose buffer is reused (the ingest path seals every
// segment of an upload into one buffer instead of allocating one each).
absl::Status SealSegmentInto(const SecretKey& key, absl::string_view tenant,
                             absl::string_view recording, uint64_t index, bool last,
                             absl::string_view plaintext, std::string* out);
// Opens one sealed segment; DATA_LOSS AUDIO_TAMPERED when the tag fails.
absl::StatusOr<std::string> OpenSegment(const SecretKey& key, absl::string_view tenant,
                                        absl::string_view recording, uint64_t index, bool last,
                                        absl::string_view sealed);

// Where the segments of a stored file lie, from its size.
struct SegmentLayout {
  int64_t segments = 0;
  int64_t last_plaintext = 0;  // plaintext bytes of the last segment
  int64_t audio_bytes = 0;     // plaintext bytes in all
  // File offset and sealed length of segment `i`.
  int64_t Offset(int64_t i) const { return kFileHeaderBytes + i * int64_t{kSealedSegment}; }
  int64_t SealedLength(int64_t i) const {
    return i + 1 == segments ? last_plaintext + int64_t{kSegmentOverhead} : int64_t{kSealedSegment};
  }
};
// DATA_LOSS AUDIO_TAMPERED when no file of sealed segments has this size.
absl::StatusOr<SegmentLayout> LayoutOfFile(int64_t file_size);
// The size of the file holding `audio_bytes` of audio.
int64_t FileSizeFor(int64_t audio_bytes);

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(absl::string_view bytes);
  // Lower-case hex of the digest; the object is then reset.
  std::string FinalHex();

 private:
  void* ctx_;
};
std::string Sha256Hex(absl::string_view bytes);

}  // namespace dialgrid::recording
