#pragma once

// What tenancy keeps of a create's request id (AIP-155), so that a retry gets
// the first answer and a Redis dump without the request ids reveals none of
// them (CreateCredential's answer carries the secret). See README "Request ids".
//
// For request id R of method M in scope S (the tenant, "" for vendor scope):
//   index  = hex SHA-256("dialgrid.tenancy.request-index.v1" 0 M 0 S 0 R)
//            names the stored record; one-way, so the record name gives R away
//            only to a search over candidate ids
//   key    = HKDF-SHA256(ikm R, salt "dialgrid.tenancy.request-seal.v1",
//            info M 0 S), 32 bytes: never stored
//   sealed = "1" | nonce (12 random bytes) | AES-256-GCM(key, fingerprint | answer,
//            aad = index) | tag (16)
//   fingerprint = SHA-256("dialgrid.tenancy.request-fp.v1" 0 caller 0 request),
//            the request in deterministic serialization (its request id included)
// Opening with the right key and another fingerprint is REQUEST_ID_REUSED:
// the same id came from another caller or with another request.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace dialgrid::tenancy {

class RequestSeal {
 public:
  // The seal of request id `request_id` (not empty) of `method` in `scope`.
  static RequestSeal For(absl::string_view method, absl::string_view scope,
                         absl::string_view request_id);

  // Hex, 64 characters.
  const std::string& index() const { return index_; }

  // `answer` sealed with the request's `fingerprint`.
  absl::StatusOr<std::string> Seal(absl::string_view fingerprint, absl::string_view answer) const;
  // The answer sealed by Seal with this key and index: REQUEST_ID_REUSED when
  // it was sealed for another fingerprint, DATA_LOSS when it does not open
  // (altered, or moved to another record).
  absl::StatusOr<std::string> Open(absl::string_view sealed, absl::string_view fingerprint) const;

 private:
  std::string index_;
  std::string key_;
};

// The fingerprint of `request` made by `caller` (a credential name), 32 bytes.
std::string RequestFingerprint(absl::string_view caller, const google::protobuf::Message& request);

}  // namespace dialgrid::tenancy
