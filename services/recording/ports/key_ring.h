#pragma once

// The tenants' key-encryption keys (KEKs), each with an id. A tenant's
// current key wraps new data keys; older keys stay readable until every data
// key was re-wrapped (RewrapDataKeys).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/recording/domain/vault_crypto.h"

namespace dialgrid::recording {

struct Kek {
  std::string id;
  SecretKey key;
};

class KeyRing {
 public:
  virtual ~KeyRing() = default;
  // The tenant's current key. FAILED_PRECONDITION KEK_MISSING when the
  // tenant has none, KEK_MALFORMED when its file is not a key.
  virtual absl::StatusOr<Kek> Current(absl::string_view tenant) = 0;
  // The tenant's key `id`; FAILED_PRECONDITION KEK_MISSING / KEK_MALFORMED.
  virtual absl::StatusOr<SecretKey> Get(absl::string_view tenant, absl::string_view id) = 0;
};

}  // namespace dialgrid::recording
