#include "services/tenancy/domain/tenancy_rules.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/text.h"

namespace dialgrid::tenancy {
namespace {

using google::protobuf::util::TimeUtil;

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(ts));
}

}  // namespace

absl::Status ValidateDisplayName(absl::string_view field, absl::string_view name) {
  if (name.empty()) return InvalidField(field, "FIELD_REQUIRED", "must not be empty");
  if (name.size() > kMaxDisplayName) {
    return InvalidField(field, "FIELD_TOO_LONG",
                        absl::StrCat("must be at most ", kMaxDisplayName, " bytes, got ", name.size()));
  }
  return ValidateText(field, name);
}

absl::Status ValidateTimeZone(absl::string_view field, absl::string_view zone) {
  absl::TimeZone tz;
  if (zone.empty() || zone.size() > 64 || absl::StrContains(zone, "..") ||
      !absl::LoadTimeZone(std::string(zone), &tz)) {
    return InvalidField(field, "UNKNOWN_TIME_ZONE",
                        absl::StrCat("\"", zone.substr(0, 64), "\" is not an IANA time zone"));
  }
  return absl::OkStatus();
}

absl::Status ValidateQuota(absl::string_view field, const v1::Quota& quota) {
  const std::pair<const char*, int64_t> values[] = {
      {"max_agents", quota.max_agents()},
      {"max_concurrent_lines", quota.max_concurrent_lines()},
      {"max_contacts", quota.max_contacts()},
      {"max_recording_storage_bytes", quota.max_recording_storage_bytes()},
      {"max_requests_per_second", quota.max_requests_per_second()},
  };
  for (const auto& [name, value] : values) {
    if (value < 0 || value > kMaxQuotaValue) {
      return InvalidField(absl::StrCat(field, ".", name), "QUOTA_OUT_OF_RANGE",
                          absl::StrCat("must be between 0 and ", kMaxQuotaValue));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateNewTenant(v1::Tenant& tenant) {
  absl::Status st = ValidateDisplayName("tenant.display_name", tenant.display_name());
  if (!st.ok()) return st;
  if (tenant.time_zone().empty()) tenant.set_time_zone("UTC");
  st = ValidateTimeZone("tenant.time_zone", tenant.time_zone());
  if (!st.ok()) return st;
  return ValidateQuota("tenant.quota", tenant.quota());
}

absl::StatusOr<TenantUpdate> ApplyTenantUpdate(
    const v1::Tenant& patch, const google::protobuf::RepeatedPtrField<std::string>& paths,
    v1::Tenant& current) {
  TenantUpdate u;
  std::vector<std::string> wanted(paths.begin(), paths.end());
  if (wanted.empty()) {
    if (!patch.display_name().empty()) wanted.push_back("display_name");
    if (!patch.time_zone().empty()) wanted.push_back("time_zone");
    if (patch.has_quota()) wanted.push_back("quota");
  }
  for (const std::string& path : wanted) {
    if (path == "display_name") {
      absl::Status st = ValidateDisplayName("tenant.display_name", patch.display_name());
      if (!st.ok()) return st;
      current.set_display_name(patch.display_name());
      u.display_name = true;
    } else if (path == "time_zone") {
      absl::Status st = ValidateTimeZone("tenant.time_zone", patch.time_zone());
      if (!st.ok()) return st;
      current.set_time_zone(patch.time_zone());
      u.time_zone = true;
    } else if (path == "quota") {
      *current.mutable_quota() = patch.quota();
      u.quota = true;
    } else if (absl::StartsWith(path, "quota.")) {
      const auto* desc = v1::Quota::descriptor()->FindFieldByName(path.substr(6));
      if (desc == nullptr) {
        return InvalidField("update_mask", "UNKNOWN_FIELD", absl::StrCat("no field \"", path, "\""));
      }
      const auto* refl = v1::Quota::GetReflection();
      refl->SetInt64(current.mutable_quota(), desc, refl->GetInt64(patch.quota(), desc));
      u.quota = true;
    } else {
      return InvalidField("update_mask", "FIELD_NOT_UPDATABLE",
                          absl::StrCat("\"", path.substr(0, 64),
                                       "\" cannot be updated (display_name, time_zone, quota)"));
    }
  }
  if (u.quota) {
    absl::Status st = ValidateQuota("tenant.quota", current.quota());
    if (!st.ok()) return st;
  }
  return u;
}

bool UpdateTouchesQuota(const v1::Tenant& patch,
                        const google::protobuf::RepeatedPtrField<std::string>& paths) {
  if (paths.empty()) return patch.has_quota();
  for (const auto& p : paths) {
    if (p == "quota" || absl::StartsWith(p, "quota.")) return true;
  }
  return false;
}

bool RoleAllowedInScope(v1::Role role, bool vendor_scope) {
  switch (role) {
    case v1::ROLE_VENDOR_ADMIN:
    case v1::ROLE_PLATFORM_SERVICE:
      return vendor_scope;
    // The vendor's own agents and supervisors (its agent pools) too; a
    // vendor-scope credential of these roles reaches only vendor-scope
    // resources (services/common/auth/principal.h).
    case v1::ROLE_SUPERVISOR:
    case v1::ROLE_AGENT:
      return true;
    case v1::ROLE_TENANT_ADMIN:
    case v1::ROLE_INTEGRATION:
      return !vendor_scope;
    default:
      return false;
  }
}

absl::Status ValidateNewCredential(const v1::Credential& credential, bool vendor_scope,
                                   absl::Time now) {
  absl::Status st = ValidateDisplayName("credential.display_name", credential.display_name());
  if (!st.ok()) return st;
  if (credential.roles().empty()) {
    return InvalidField("credential.roles", "FIELD_REQUIRED", "at least one role is required");
  }
  if (credential.roles_size() > 10) {
    return InvalidField("credential.roles", "TOO_MANY_VALUES", "at most 10 roles");
  }
  for (int r : credential.roles()) {
    if (!v1::Role_IsValid(r) || r == v1::ROLE_UNSPECIFIED) {
      return InvalidField("credential.roles", "UNKNOWN_ROLE", absl::StrCat("unknown role ", r));
    }
    if (!RoleAllowedInScope(static_cast<v1::Role>(r), vendor_scope)) {
      return InvalidField("credential.roles", "ROLE_NOT_IN_SCOPE",
                          absl::StrCat(v1::Role_Name(static_cast<v1::Role>(r)),
                                       vendor_scope ? " is a tenant role; create it under tenants/{tenant}"
                                                    : " is a vendor-scope role; create it under \"vendor\""));
    }
  }
  if (credential.has_expire_time()) {
    const auto& ts = credential.expire_time();
    if (ts.seconds() < TimeUtil::kTimestampMinSeconds ||
        ts.seconds() > TimeUtil::kTimestampMaxSeconds || ts.nanos() < 0 || ts.nanos() > 999999999) {
      return InvalidField("credential.expire_time", "INVALID_TIME", "not a valid timestamp");
    }
    if (ToTime(credential.expire_time()) <= now) {
      return InvalidField("credential.expire_time", "TIME_IN_PAST", "must be in the future");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCredentialAgent(const v1::Credential& credential, const std::string& tenant) {
  const std::string& agent = credential.agent();
  if (agent.empty()) return absl::OkStatus();
  if (credential.roles_size() != 1 || credential.roles(0) != v1::ROLE_AGENT) {
    return InvalidField("credential.agent", "AGENT_BINDING_NEEDS_AGENT_ROLE",
                        "only a credential whose only role is ROLE_AGENT is bound to an agent");
  }
  if (agent.size() > 200) {
    return InvalidField("credential.agent", "FIELD_TOO_LONG", "at most 200 characters");
  }
  if (tenant.empty()) {
    auto ids = ParseName("credential.agent", agent, "agentPools/{pool}/agents/{agent}");
    if (!ids.ok()) {
      return InvalidField("credential.agent", "AGENT_OUT_OF_SCOPE",
                          "a vendor-scope credential is bound to agentPools/{pool}/agents/{agent}");
    }
    return absl::OkStatus();
  }
  auto ids = ParseName("credential.agent", agent, "tenants/{tenant}/agents/{agent}");
  if (!ids.ok() || (*ids)[0] != tenant) {
    return InvalidField("credential.agent", "AGENT_OUT_OF_SCOPE",
                        "a tenant's credential is bound to tenants/{its tenant}/agents/{agent}");
  }
  return absl::OkStatus();
}

v1::Credential::State CredentialStateAt(const v1::Credential& credential, absl::Time now) {
  if (credential.has_revoke_time()) return v1::Credential::STATE_REVOKED;
  if (credential.has_expire_time() && ToTime(credential.expire_time()) <= now) {
    return v1::Credential::STATE_EXPIRED;
  }
  return v1::Credential::STATE_ACTIVE;
}

absl::StatusOr<std::string> DecodeIdPageToken(absl::string_view token) {
  auto id = DecodePageToken(token);
  if (!id.ok() || id->empty()) return id;
  if (!ValidateResourceId("page_token", *id).ok()) {
    return InvalidField("page_token", "INVALID_PAGE_TOKEN", "not a token this service issued");
  }
  return id;
}

std::string TenantName(absl::string_view tenant) { return absl::StrCat("tenants/", tenant); }

std::string CredentialName(absl::string_view tenant, absl::string_view id) {
  return tenant.empty() ? absl::StrCat("vendor/credentials/", id)
                        : absl::StrCat("tenants/", tenant, "/credentials/", id);
}

absl::StatusOr<CredentialRef> ParseCredentialName(absl::string_view name) {
  if (absl::StartsWith(name, "vendor/")) {
    auto ids = ParseName("name", name, "vendor/credentials/{credential}");
    if (!ids.ok()) return ids.status();
    return CredentialRef{"", (*ids)[0]};
  }
  auto ids = ParseName("name", name, "tenants/{tenant}/credentials/{credential}");
  if (!ids.ok()) return ids.status();
  return CredentialRef{(*ids)[0], (*ids)[1]};
}

absl::StatusOr<std::string> ParseCredentialParent(absl::string_view parent) {
  if (parent == "vendor") return std::string();
  auto ids = ParseName("parent", parent, "tenants/{tenant}");
  if (!ids.ok()) return ids.status();
  return (*ids)[0];
}

}  // namespace dialgrid::tenancy
