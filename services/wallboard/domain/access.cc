#include "services/wallboard/domain/access.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"

namespace dialgrid::wallboard {

absl::StatusOr<std::string> CredentialFromHeader(absl::string_view authorization) {
  absl::string_view value = absl::StripAsciiWhitespace(authorization);
  if (value.empty()) {
    return Unauthenticated("MISSING_CREDENTIAL",
                           "no credential: send \"Authorization: Bearer <credential>\"");
  }
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() || !absl::StartsWithIgnoreCase(value, kScheme)) {
    return Unauthenticated("MALFORMED_CREDENTIAL",
                           "the Authorization header must be \"Bearer <credential>\"");
  }
  absl::string_view secret = absl::StripLeadingAsciiWhitespace(value.substr(kScheme.size()));
  if (secret.empty() || secret.size() > kMaxCredentialLength) {
    return Unauthenticated("MALFORMED_CREDENTIAL", "the credential is empty or too long");
  }
  for (char c : secret) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      return Unauthenticated("MALFORMED_CREDENTIAL",
                             "the credential holds characters a Dialgrid credential never has");
    }
  }
  return std::string(secret);
}

absl::Status ValidateTenant(absl::string_view tenant) { return ValidateTenantId(tenant); }

std::string CredentialIdOf(absl::string_view credential) {
  // "dgk_" + 16-character id + "_" + secret part.
  if (credential.size() < 22 || !absl::StartsWith(credential, "dgk_") || credential[20] != '_') {
    return "";
  }
  absl::string_view id = credential.substr(4, 16);
  for (char c : id) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return "";
    }
  }
  return std::string(id);
}

}  // namespace dialgrid::wallboard
