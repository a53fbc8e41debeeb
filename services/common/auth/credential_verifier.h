#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/auth/principal.h"
#include "services/common/core/clock.h"

namespace dialgrid::auth {

// Resolves a bearer secret to its principal. UNAUTHENTICATED for unknown,
// revoked or expired credentials; PERMISSION_DENIED (TENANT_SUSPENDED) for a
// suspended tenant; UNAVAILABLE when the answer cannot be had now.
class CredentialVerifier {
 public:
  virtual ~CredentialVerifier() = default;
  virtual absl::StatusOr<Principal> Verify(absl::string_view secret) = 0;
};

struct CacheOptions {
  // How long a positive answer is reused. Revocation and suspension events
  // drop entries at once; the TTL bounds staleness if an event is missed.
  absl::Duration ttl = absl::Seconds(10);
  // How long a refusal is reused (limits load from bad callers).
  absl::Duration negative_ttl = absl::Seconds(2);
  size_t max_entries = 100000;
};

// Caches another verifier's answers, keyed by the secret's hash (the secret
// itself is never kept). UNAVAILABLE answers are never cached.
class CachingCredentialVerifier final : public CredentialVerifier {
 public:
  CachingCredentialVerifier(std::shared_ptr<CredentialVerifier> inner, const CacheOptions& options,
                            const Clock& clock);
  absl::StatusOr<Principal> Verify(absl::string_view secret) override;

  // Drops the cached answer for one credential (by resource name).
  void InvalidateCredential(absl::string_view credential_name);
  // Drops every cached answer of a tenant.
  void InvalidateTenant(absl::string_view tenant);
  // Drops everything.
  void Clear();

 private:
  struct Entry {
    absl::StatusOr<Principal> answer;
    absl::Time valid_until;
  };
  std::shared_ptr<CredentialVerifier> inner_;
  CacheOptions options_;
  const Clock& clock_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_;  // key: hash of secret
};

}  // namespace dialgrid::auth
