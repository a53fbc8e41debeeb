#include "services/compliance/application/request_fields.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"

namespace dialgrid::compliance {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}
absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(t));
}

bool Automated(type::v1::DialingMode mode) {
  return mode != type::v1::DIALING_MODE_MANUAL && mode != type::v1::DIALING_MODE_PREVIEW;
}

absl::Status TenantMismatch(absl::string_view field) {
  return WithMetadata(
      PermissionDenied("TENANT_MISMATCH", absl::StrCat(field, " belongs to another tenant")),
      "field", field);
}

absl::StatusOr<std::pair<std::string, std::string>> ParseCampaign(absl::string_view field,
                                                                  const std::string& name) {
  if (name.empty())
    return InvalidField(field, "FIELD_REQUIRED", absl::StrCat(field, " is required"));
  auto ids = ParseName(field, name, kCampaignPattern);
  if (!ids.ok()) return ids.status();
  return std::make_pair((*ids)[0], (*ids)[1]);
}

absl::StatusOr<std::pair<std::string, std::string>> ParseListParent(const std::string& parent) {
  auto c = ParseName("parent", parent, kCampaignPattern);
  if (c.ok()) return std::make_pair((*c)[0], (*c)[1]);
  auto t = ParseName("parent", parent, "tenants/{tenant}");
  if (!t.ok()) {
    return InvalidField(
        "parent", "MALFORMED_NAME",
        "parent is \"tenants/{tenant}\" or \"tenants/{tenant}/campaigns/{campaign}\"");
  }
  return std::make_pair((*t)[0], std::string());
}

absl::StatusOr<std::pair<std::string, std::string>> ParseConsentName(const std::string& name) {
  auto ids = ParseName("name", name, kConsentPattern);
  if (!ids.ok()) return ids.status();
  const std::string& id = (*ids)[1];
  if (!absl::StartsWith(id, "tel-") || id.size() < 6 || id.size() > 19 ||
      !std::all_of(id.begin() + 4, id.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return InvalidField("name", "MALFORMED_NAME",
                        "a consent is named tenants/{tenant}/consents/tel-{E.164 digits}");
  }
  return std::make_pair((*ids)[0], "+" + id.substr(4));
}

absl::StatusOr<phone::NormalizedPhone> Normalize(absl::string_view field, const std::string& raw,
                                                 const std::string& country) {
  if (raw.empty())
    return InvalidField(field, "FIELD_REQUIRED", absl::StrCat(field, " is required"));
  if (raw.size() > 64)
    return InvalidField(field, "FIELD_TOO_LONG", "phone numbers are at most 64 characters");
  auto n = phone::NormalizePhone(raw, country.empty() ? "US" : country);
  if (!n.ok()) {
    std::string reason = ReasonOf(n.status());
    return InvalidField(field, reason.empty() ? "INVALID_PHONE_NUMBER" : reason,
                        n.status().message());
  }
  return n;
}

absl::Status CheckText(absl::string_view field, const std::string& v, size_t max) {
  if (v.size() > max) {
    return InvalidField(field, "FIELD_TOO_LONG",
                        absl::StrCat(field, " is at most ", max, " characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckRequestId(const std::string& request_id) {
  return CheckText("request_id", request_id, 128);
}

RequestKey ChangeKey(absl::string_view method, const std::string& request_id,
                     const google::protobuf::Message& request) {
  if (request_id.empty()) return RequestKey{};
  return RequestKey{request_id, absl::StrCat(method, "\n", request.SerializeAsString())};
}

absl::StatusOr<PageRequest> ParsePage(int32_t page_size, const std::string& page_token,
                                      absl::string_view listing) {
  if (page_size < 0 || page_size > 1000) {
    return InvalidField("page_size", "INVALID_PAGE_SIZE", "page_size is 0 to 1000");
  }
  PageRequest out;
  if (page_size > 0) out.size = page_size;
  if (page_token.empty()) return out;
  // base64url("<listing>\n<last key>")
  std::string raw;
  const std::string prefix = absl::StrCat(listing, "\n");
  if (!absl::WebSafeBase64Unescape(page_token, &raw) || !absl::StartsWith(raw, prefix) ||
      raw.size() == prefix.size()) {
    return InvalidField("page_token", "INVALID_PAGE_TOKEN",
                        "page_token does not belong to this query");
  }
  out.after = raw.substr(prefix.size());
  return out;
}

std::string PageToken(absl::string_view listing, const std::string& last) {
  return absl::WebSafeBase64Escape(absl::StrCat(listing, "\n", last));
}

// A debt id: required for debt collection (Reg F counts per debt), 1-128
// characters of [A-Za-z0-9._:-].
absl::Status CheckDebt(const std::string& field, const std::string& debt,
                       type::v1::CallPurpose purpose) {
  if (debt.empty()) {
    if (purpose == type::v1::CALL_PURPOSE_DEBT_COLLECTION) {
      return InvalidField(field, "DEBT_REQUIRED",
                          "a debt-collection call names its debt (Reg F counts per debt)");
    }
    return absl::OkStatus();
  }
  bool ok = debt.size() <= 128;
  for (char c : debt) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == ':' || c == '-');
  }
  if (!ok) {
    return InvalidField(field, "INVALID_DEBT", "a debt id is 1-128 characters of [A-Za-z0-9._:-]");
  }
  return absl::OkStatus();
}

absl::Status CheckProduct(const std::string& field, const std::string& product) {
  bool ok = product.size() <= 128;
  for (char c : product) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == ':' || c == '-');
  }
  if (!ok) {
    return InvalidField(field, "INVALID_PRODUCT",
                        "a product id is 0-128 characters of [A-Za-z0-9._:-]");
  }
  return absl::OkStatus();
}


}  // namespace dialgrid::compliance
