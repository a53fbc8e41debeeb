#include "services/tenancy/application/request_seal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/tenancy/domain/tenancy_rules.h"

namespace dialgrid::tenancy {
namespace {

constexpr char kIndexLabel[] = "dialgrid.tenancy.request-index.v1";
constexpr char kSealLabel[] = "dialgrid.tenancy.request-seal.v1";
constexpr char kFingerprintLabel[] = "dialgrid.tenancy.request-fp.v1";
constexpr char kVersion = '1';
constexpr size_t kKeySize = 32, kNonceSize = 12, kTagSize = 16, kFingerprintSize = 32;

// Parts joined with NUL bytes (no part of an index or fingerprint input can
// hold one except the request bytes, which come last).
std::string Joined(std::initializer_list<absl::string_view> parts) {
  std::string out;
  bool first = true;
  for (absl::string_view p : parts) {
    if (!first) out.push_back('\0');
    first = false;
    out.append(p.data(), p.size());
  }
  return out;
}

std::string Sha256(absl::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  return std::string(reinterpret_cast<const char*>(d), sizeof d);
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// HKDF-SHA256 (RFC 5869); aborts only when OpenSSL cannot run it at all.
std::string Hkdf(absl::string_view ikm, absl::string_view salt, absl::string_view info) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), EVP_PKEY_CTX_free);
  std::string out(kKeySize, '\0');
  size_t len = out.size();
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), Bytes(salt), static_cast<int>(salt.size())) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), Bytes(ikm), static_cast<int>(ikm.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), Bytes(info), static_cast<int>(info.size())) <= 0 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) <= 0 ||
      len != kKeySize) {
    std::abort();  // a broken libcrypto: nothing sensible to answer
  }
  return out;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

}  // namespace

RequestSeal RequestSeal::For(absl::string_view method, absl::string_view scope,
                             absl::string_view request_id) {
  RequestSeal s;
  s.index_ = absl::BytesToHexString(Sha256(Joined({kIndexLabel, method, scope, request_id})));
  s.key_ = Hkdf(request_id, kSealLabel, Joined({method, scope}));
  return s;
}

absl::StatusOr<std::string> RequestSeal::Seal(absl::string_view fingerprint,
                                              absl::string_view answer) const {
  if (fingerprint.size() != kFingerprintSize) {
    return absl::InternalError("request fingerprint of the wrong size");
  }
  std::string plain = absl::StrCat(fingerprint, answer);
  std::string out(1 + kNonceSize + plain.size() + kTagSize, '\0');
  out[0] = kVersion;
  auto* nonce = reinterpret_cast<unsigned char*>(&out[1]);
  auto* body = nonce + kNonceSize;
  if (RAND_bytes(nonce, static_cast<int>(kNonceSize)) != 1) {
    return absl::UnavailableError("no randomness for a nonce");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0, fin = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key_), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(index_), static_cast<int>(index_.size())) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), body, &len, Bytes(plain), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), body + len, &fin) != 1 ||
      static_cast<size_t>(len + fin) != plain.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          body + plain.size()) != 1) {
    return absl::InternalError("sealing the request record failed");
  }
  return out;
}

absl::StatusOr<std::string> RequestSeal::Open(absl::string_view sealed,
                                              absl::string_view fingerprint) const {
  if (sealed.size() < 1 + kNonceSize + kFingerprintSize + kTagSize || sealed[0] != kVersion) {
    return absl::DataLossError("stored request record is malformed");
  }
  const auto* nonce = Bytes(sealed.substr(1));
  const absl::string_view body =
      sealed.substr(1 + kNonceSize, sealed.size() - 1 - kNonceSize - kTagSize);
  std::string tag(sealed.substr(sealed.size() - kTagSize));
  std::string plain(body.size(), '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0, fin = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key_), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(index_), static_cast<int>(index_.size())) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                        Bytes(body), static_cast<int>(body.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize),
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &fin) !=
          1) {
    return absl::DataLossError("stored request record does not open");
  }
  if (fingerprint.size() != kFingerprintSize ||
      CRYPTO_memcmp(plain.data(), fingerprint.data(), kFingerprintSize) != 0) {
    return RequestIdReused();
  }
  return plain.substr(kFingerprintSize);
}

std::string RequestFingerprint(absl::string_view caller, const google::protobuf::Message& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  return Sha256(Joined({kFingerprintLabel, caller, bytes}));
}

}  // namespace dialgrid::tenancy
