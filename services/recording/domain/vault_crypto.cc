#include "services/recording/domain/vault_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid::recording {
namespace {

constexpr char kMagic[] = "DGREC\x01\x00\x00";  // 8 bytes with the implicit NUL trimmed below

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();  // the CSPRNG failing is not something to carry on from
  }
  return out;
}

// Seals `plaintext` into `out` (nonce, ciphertext, tag), reusing its buffer.
absl::Status SealInto(const std::string& key, absl::string_view aad, absl::string_view plaintext,
                      std::string* out) {
  const size_t size = kNonceBytes + plaintext.size() + kTagBytes;
  if (out->size() != size) out->resize(size);
  auto* o = reinterpret_cast<unsigned char*>(out->data());
  if (RAND_bytes(o, static_cast<int>(kNonceBytes)) != 1) {
    std::abort();  // the CSPRNG failing is not something to carry on from
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()), o) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o + kNonceBytes, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + kNonceBytes + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          o + kNonceBytes + plaintext.size()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Seal(const std::string& key, absl::string_view aad,
                                 absl::string_view plaintext) {
  std::string out;
  absl::Status st = SealInto(key, aad, plaintext, &out);
  if (!st.ok()) return st;
  return out;
}

// The plaintext, or an empty optional-like false when the tag fails.
bool Open(const std::string& key, absl::string_view aad, absl::string_view sealed,
          std::string* plaintext) {
  if (sealed.size() < kNonceBytes + kTagBytes) return false;
  size_t n = sealed.size() - kNonceBytes - kTagBytes;
  plaintext->assign(n, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* p = reinterpret_cast<unsigned char*>(plaintext->data());
  const auto* s = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string tag(sealed.substr(kNonceBytes + n));
  return ctx &&
         EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                            reinterpret_cast<const unsigned char*>(key.data()), s) == 1 &&
         EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(aad.data()),
                           static_cast<int>(aad.size())) == 1 &&
         EVP_DecryptUpdate(ctx.get(), p, &len, s + kNonceBytes, static_cast<int>(n)) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
         EVP_DecryptFinal_ex(ctx.get(), p + len, &len) == 1;
}

// Length-prefixed parts, so no two different tuples give the same AAD.
std::string Aad(absl::string_view purpose, absl::string_view tenant, absl::string_view recording,
                absl::string_view extra = "") {
  return absl::StrCat(purpose, "|", tenant.size(), ":", tenant, "|", recording.size(), ":",
                      recording, "|", extra);
}

absl::Status Tampered(absl::string_view what) {
  return WithReason(absl::DataLossError(absl::StrCat("the stored recording was altered: ", what)),
                    "AUDIO_TAMPERED");
}

}  // namespace

absl::StatusOr<SecretKey> SecretKey::FromBytes(absl::string_view bytes) {
  if (bytes.size() != kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a key has ", kKeyBytes, " bytes"));
  }
  SecretKey k;
  k.bytes_ = std::string(bytes);
  return k;
}

SecretKey SecretKey::Random() {
  SecretKey k;
  k.bytes_ = RandomBytes(kKeyBytes);
  return k;
}

SecretKey& SecretKey::operator=(const SecretKey& o) {
  if (this != &o) {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_ = o.bytes_;
  }
  return *this;
}

SecretKey::~SecretKey() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

absl::StatusOr<std::string> WrapDataKey(const SecretKey& kek, absl::string_view tenant,
                                        absl::string_view recording, const SecretKey& data_key) {
  if (kek.bytes().size() != kKeyBytes || data_key.bytes().size() != kKeyBytes) {
    return absl::InternalError("wrapping needs two 32-byte keys");
  }
  return Seal(kek.bytes(), Aad("dgrec-dek-v1", tenant, recording), data_key.bytes());
}

absl::StatusOr<SecretKey> UnwrapDataKey(const SecretKey& kek, absl::string_view tenant,
                                        absl::string_view recording, absl::string_view wrapped) {
  std::string plain;
  if (kek.bytes().size() != kKeyBytes || wrapped.size() != kWrappedKeyBytes ||
      !Open(kek.bytes(), Aad("dgrec-dek-v1", tenant, recording), wrapped, &plain)) {
    return FailedPrecondition("KEY_UNWRAP_FAILED",
                              "the recording's data key does not unwrap with the tenant's key");
  }
  auto key = SecretKey::FromBytes(plain);
  OPENSSL_cleanse(plain.data(), plain.size());
  return key;
}

std::string FileHeader() {
  std::string h(kMagic, 8);
  uint32_t seg = kSegmentPlaintext;
  for (int i = 3; i >= 0; --i) h.push_back(static_cast<char>((seg >> (8 * i)) & 0xff));
  h.append(4, '\0');
  return h;
}

absl::Status CheckFileHeader(absl::string_view header) {
  if (header != FileHeader()) return Tampered("unknown file header");
  return absl::OkStatus();
}

absl::StatusOr<std::string> SealSegment(const SecretKey& key, absl::string_view tenant,
                                        absl::string_view recording, uint64_t index, bool last,
                                        absl::string_view plaintext) {
  std::string out;
  absl::Status st = SealSegmentInto(key, tenant, recording, index, last, plaintext, &out);
  if (!st.ok()) return st;
  return out;
}

absl::Status SealSegmentInto(const SecretKey& key, absl::string_view tenant,
                             absl::string_view recording, uint64_t index, bool last,
                             absl::string_view plaintext, std::string* out) {
  if (plaintext.size() > kSegmentPlaintext) return absl::InternalError("segment too large");
  return SealInto(key.bytes(),
                  Aad("dgrec-seg-v1", tenant, recording,
                      absl::StrCat(index, last ? "|last" : "|more")),
                  plaintext, out);
}

absl::StatusOr<std::string> OpenSegment(const SecretKey& key, absl::string_view tenant,
                                        absl::string_view recording, uint64_t index, bool last,
                                        absl::string_view sealed) {
  std::string plain;
  if (!Open(key.bytes(),
            Aad("dgrec-seg-v1", tenant, recording, absl::StrCat(index, last ? "|last" : "|more")),
            sealed, &plain)) {
    return Tampered(absl::StrCat("segment ", index, " does not authenticate"));
  }
  return plain;
}

absl::StatusOr<SegmentLayout> LayoutOfFile(int64_t file_size) {
  int64_t body = file_size - int64_t{kFileHeaderBytes} - int64_t{kSegmentOverhead};
  if (body < 0) return Tampered("the file is too short");
  SegmentLayout l;
  l.segments = body / int64_t{kSealedSegment} + 1;
  l.last_plaintext = body % int64_t{kSealedSegment};
  if (l.last_plaintext > int64_t{kSegmentPlaintext} || (l.last_plaintext == 0 && l.segments > 1)) {
    return Tampered("the file's size fits no sequence of segments");
  }
  l.audio_bytes = (l.segments - 1) * int64_t{kSegmentPlaintext} + l.last_plaintext;
  return l;
}

int64_t FileSizeFor(int64_t audio_bytes) {
  int64_t segments =
      audio_bytes == 0 ? 1 : (audio_bytes + int64_t{kSegmentPlaintext} - 1) / int64_t{kSegmentPlaintext};
  return int64_t{kFileHeaderBytes} + audio_bytes + segments * int64_t{kSegmentOverhead};
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256::Update(absl::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}
std::string Sha256::FinalHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &n);
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), n));
}
std::string Sha256Hex(absl::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.FinalHex();
}

}  // namespace dialgrid::recording
