#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dialgrid {

// Tenant ids: 3-40 characters of [a-z0-9-], starting with a letter, not
// ending with '-'. The same shape serves every resource id (max 63).
absl::Status ValidateTenantId(absl::string_view id);
absl::Status ValidateResourceId(absl::string_view field, absl::string_view id);

// The tenant id a resource name belongs to: "tenants/acme/…" -> "acme".
// Names outside a tenant ("vendor/…") give "". Errors when the name is not
// of the form "tenants/{tenant}[/...]" or "vendor[/...]".
absl::StatusOr<std::string> TenantOfName(absl::string_view field, absl::string_view name);

// Parses `name` against `pattern`, e.g. "tenants/{tenant}/credentials/{credential}",
// returning the ids in order. INVALID_ARGUMENT with a reason otherwise.
absl::StatusOr<std::vector<std::string>> ParseName(absl::string_view field,
                                                   absl::string_view name,
                                                   absl::string_view pattern);

// Redis hash tag for a tenant's keys: "{t:acme}". Vendor scope uses "{vendor}".
std::string TenantHashTag(absl::string_view tenant);

}  // namespace dialgrid
