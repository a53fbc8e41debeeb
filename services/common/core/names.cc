#include "services/common/core/names.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"

namespace dialgrid {
namespace {

bool IsIdChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

absl::Status ValidateId(absl::string_view field, absl::string_view id, size_t min, size_t max) {
  if (id.size() < min || id.size() > max) {
    return InvalidField(field, "INVALID_ID",
                        absl::StrCat("id must be ", min, "-", max, " characters, got ", id.size()));
  }
  if (!(id[0] >= 'a' && id[0] <= 'z')) {
    return InvalidField(field, "INVALID_ID", "id must start with a lowercase letter");
  }
  for (char c : id) {
    if (!IsIdChar(c)) {
      return InvalidField(field, "INVALID_ID", "id may only contain a-z, 0-9 and '-'");
    }
  }
  if (id.back() == '-') return InvalidField(field, "INVALID_ID", "id must not end with '-'");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTenantId(absl::string_view id) { return ValidateId("tenant_id", id, 3, 40); }

absl::Status ValidateResourceId(absl::string_view field, absl::string_view id) {
  return ValidateId(field, id, 1, 63);
}

absl::StatusOr<std::string> TenantOfName(absl::string_view field, absl::string_view name) {
  if (name.size() > 1024) return InvalidField(field, "NAME_TOO_LONG", "name is over 1024 bytes");
  if (name == "vendor" || absl::StartsWith(name, "vendor/")) return std::string();
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() < 2 || parts[0] != "tenants") {
    return InvalidField(field, "MALFORMED_NAME",
                        absl::StrCat("expected \"tenants/{tenant}/...\", got \"",
                                     name.substr(0, 100), "\""));
  }
  absl::Status st = ValidateId(field, parts[1], 3, 40);
  if (!st.ok()) return st;
  return std::string(parts[1]);
}

absl::StatusOr<std::vector<std::string>> ParseName(absl::string_view field,
                                                   absl::string_view name,
                                                   absl::string_view pattern) {
  auto malformed = [&] {
    return InvalidField(field, "MALFORMED_NAME",
                        absl::StrCat("expected \"", pattern, "\", got \"", name.substr(0, 100),
                                     "\""));
  };
  if (name.size() > 1024) return InvalidField(field, "NAME_TOO_LONG", "name is over 1024 bytes");
  std::vector<absl::string_view> got = absl::StrSplit(name, '/');
  std::vector<absl::string_view> want = absl::StrSplit(pattern, '/');
  if (got.size() != want.size()) return malformed();
  std::vector<std::string> ids;
  for (size_t i = 0; i < want.size(); ++i) {
    if (absl::StartsWith(want[i], "{")) {
      absl::Status st = want[i] == "{tenant}" ? ValidateId(field, got[i], 3, 40)
                                              : ValidateId(field, got[i], 1, 63);
      if (!st.ok()) return st;
      ids.emplace_back(got[i]);
    } else if (got[i] != want[i]) {
      return malformed();
    }
  }
  return ids;
}

std::string TenantHashTag(absl::string_view tenant) {
  return tenant.empty() ? std::string("{vendor}") : absl::StrCat("{t:", tenant, "}");
}

}  // namespace dialgrid
