#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dialgrid/tenancy/v1/tenancy.pb.h"

namespace dialgrid::auth {

using Role = tenancy::v1::Role;

// Who is calling: the credential, its tenant ("" for vendor scope) and roles.
struct Principal {
  std::string credential;  // resource name of the credential
  std::string tenant;      // "" for the vendor scope
  std::vector<Role> roles;
  absl::Time expire_time = absl::InfiniteFuture();
  // The one agent an agent credential is bound to ("tenants/{t}/agents/{a}"
  // or "agentPools/{p}/agents/{a}"); empty when unbound.
  std::string agent;

  bool IsVendorScope() const { return tenant.empty(); }
  bool HasRole(Role role) const;
  bool HasAnyRole(std::initializer_list<Role> roles) const;
  // Vendor admins and platform services may act on any tenant.
  bool CanActForAnyTenant() const;
};

// PERMISSION_DENIED (reason ROLE_NOT_ALLOWED) unless the principal holds one of `roles`.
absl::Status RequireAnyRole(const Principal& principal, std::initializer_list<Role> roles);

// PERMISSION_DENIED (reason TENANT_MISMATCH) unless the principal may touch
// resources of `resource_tenant` ("" = vendor scope). The message never says
// whether the resource exists.
absl::Status RequireTenantAccess(const Principal& principal, absl::string_view resource_tenant);

// PERMISSION_DENIED (reason AGENT_MISMATCH) when the principal is bound to an
// agent other than `agent` (the full agent name); OK for unbound principals.
absl::Status RequireActingAs(const Principal& principal, absl::string_view agent);

// Bearer secrets look like "dgk_<credential id>_<43 chars base64url>", the
// credential id being 16 characters of [a-z0-9] (see NewCredentialId).
// The credential id lets the verifier find the stored hash in one lookup.
struct ParsedSecret {
  std::string credential_id;
};
absl::StatusOr<ParsedSecret> ParseSecret(absl::string_view secret);
// A fresh credential id: "k" and 15 random hex digits.
std::string NewCredentialId();
// Builds a new secret for `credential_id` from 32 random bytes.
std::string NewSecret(absl::string_view credential_id);
// SHA-256 of the whole secret, hex. Secrets carry 256 random bits, so a fast
// hash is safe (no dictionary to attack) and keeps verification cheap.
std::string HashSecret(absl::string_view secret);
// Constant-time comparison of two hex digests.
bool DigestsEqual(absl::string_view a, absl::string_view b);

}  // namespace dialgrid::auth
