#include "services/common/auth/principal.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/random.h"

namespace dialgrid::auth {

bool Principal::HasRole(Role role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Principal::HasAnyRole(std::initializer_list<Role> wanted) const {
  for (Role r : wanted) {
    if (HasRole(r)) return true;
  }
  return false;
}

bool Principal::CanActForAnyTenant() const {
  return IsVendorScope() &&
         HasAnyRole({tenancy::v1::ROLE_VENDOR_ADMIN, tenancy::v1::ROLE_PLATFORM_SERVICE});
}

absl::Status RequireAnyRole(const Principal& principal, std::initializer_list<Role> roles) {
  if (principal.HasAnyRole(roles)) return absl::OkStatus();
  return PermissionDenied("ROLE_NOT_ALLOWED", "the caller's roles do not allow this method");
}

absl::Status RequireTenantAccess(const Principal& principal, absl::string_view resource_tenant) {
  if (principal.CanActForAnyTenant()) return absl::OkStatus();
  // Everyone else reaches their own scope only: a tenant's credential its
  // tenant, a vendor-scope one (the pools' agents and supervisors) the
  // vendor's resources, never a tenant's.
  if (principal.tenant == resource_tenant) return absl::OkStatus();
  return PermissionDenied("TENANT_MISMATCH",
                          "the caller may not access resources of this tenant");
}

absl::Status RequireActingAs(const Principal& principal, absl::string_view agent) {
  if (principal.agent.empty() || principal.agent == agent) return absl::OkStatus();
  return PermissionDenied("AGENT_MISMATCH", "this credential acts only for its own agent");
}

absl::StatusOr<ParsedSecret> ParseSecret(absl::string_view secret) {
  // dgk_ + 16 hex + _ + 43 base64url
  if (!absl::StartsWith(secret, "dgk_") || secret.size() != 4 + 16 + 1 + 43 || secret[20] != '_') {
    return Unauthenticated("MALFORMED_CREDENTIAL", "the bearer credential is malformed");
  }
  absl::string_view id = secret.substr(4, 16);
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) {
      return Unauthenticated("MALFORMED_CREDENTIAL", "the bearer credential is malformed");
    }
  }
  return ParsedSecret{std::string(id)};
}

std::string NewCredentialId() { return absl::StrCat("k", RandomHex(8).substr(0, 15)); }

std::string NewSecret(absl::string_view credential_id) {
  return absl::StrCat("dgk_", credential_id, "_", RandomBase64Url(32));
}

std::string HashSecret(absl::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

bool DigestsEqual(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace dialgrid::auth
