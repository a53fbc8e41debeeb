#pragma once

// Pure rules of the tenancy service: validation of tenants and credentials,
// update masks, states, page tokens. No I/O; gtest reaches it directly.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dialgrid/tenancy/v1/tenancy.pb.h"
#include "services/common/core/pages.h"
#include "services/common/core/request_ids.h"

namespace dialgrid::tenancy {

inline constexpr size_t kMaxDisplayName = 200;
inline constexpr size_t kMaxSuspendReason = 500;
inline constexpr int64_t kMaxQuotaValue = 1'000'000'000'000;
// CreateCredential's answer carries the secret, kept for a retry sealed under
// a key derived from the request id: the id must be hard to guess.
inline constexpr size_t kMinCredentialRequestId = 16;

// A display name: 1..200 bytes of plain text: valid UTF-8 without control or
// text-direction characters (ValidateText, reason INVALID_TEXT).
absl::Status ValidateDisplayName(absl::string_view field, absl::string_view name);
// An IANA zone known to this machine's tzdata.
absl::Status ValidateTimeZone(absl::string_view field, absl::string_view zone);
absl::Status ValidateQuota(absl::string_view field, const v1::Quota& quota);
// Fields a client sets on CreateTenant; fills defaults (time zone "UTC").
absl::Status ValidateNewTenant(v1::Tenant& tenant);

// Which parts of a tenant an update touches.
struct TenantUpdate {
  bool display_name = false;
  bool time_zone = false;
  bool quota = false;  // some quota field
};
// Checks the mask's paths (display_name, time_zone, quota, quota.<field>) and
// applies `patch` to `current` for them. An empty mask means the fields set in
// `patch` (AIP-134), so an update that names nothing never zeroes quotas.
// Output-only fields in the mask are INVALID_ARGUMENT.
absl::StatusOr<TenantUpdate> ApplyTenantUpdate(const v1::Tenant& patch,
                                               const google::protobuf::RepeatedPtrField<std::string>& paths,
                                               v1::Tenant& current);

// Whether the update would touch quotas (checked before validation, since
// only vendor admins may change them).
bool UpdateTouchesQuota(const v1::Tenant& patch,
                        const google::protobuf::RepeatedPtrField<std::string>& paths);

// Roles a credential under `parent_tenant` ("" = vendor scope) may carry.
bool RoleAllowedInScope(v1::Role role, bool vendor_scope);
// Validates a new credential (display name, roles, expiry after `now`).
absl::Status ValidateNewCredential(const v1::Credential& credential, bool vendor_scope,
                                   absl::Time now);
// Validates a credential's agent binding: empty, or the name of an agent of
// the credential's scope ("tenants/{tenant}/agents/{a}" for `tenant`,
// "agentPools/{p}/agents/{a}" for the vendor scope ""), on a credential
// whose only role is ROLE_AGENT.
absl::Status ValidateCredentialAgent(const v1::Credential& credential, const std::string& tenant);
// The credential's state at `now`.
v1::Credential::State CredentialStateAt(const v1::Credential& credential, absl::Time now);

// Request ids (AIP-155): ValidateRequestId and RequestIdReused from
// services/common/core/request_ids.h.

// Pages: EncodePageToken, EffectivePageSize from services/common/core/pages.h;
// a token of a list of ids must also hold a valid id.
absl::StatusOr<std::string> DecodeIdPageToken(absl::string_view token);

// Resource names.
std::string TenantName(absl::string_view tenant);
// "tenants/{t}/credentials/{id}" or "vendor/credentials/{id}" for tenant "".
std::string CredentialName(absl::string_view tenant, absl::string_view id);
struct CredentialRef {
  std::string tenant;  // "" for vendor scope
  std::string id;
};
absl::StatusOr<CredentialRef> ParseCredentialName(absl::string_view name);
// "tenants/{t}" -> t, "vendor" -> "".
absl::StatusOr<std::string> ParseCredentialParent(absl::string_view parent);

}  // namespace dialgrid::tenancy
