#pragma once

// Parsing and checking of request fields shared by the application files:
// resource names, phone numbers, free text, dates, request ids and pages.
// Internal to the application layer.

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "dialgrid/type/v1/date.pb.h"
#include "dialgrid/type/v1/dialing_mode.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/common/core/proto_time.h"
#include "services/common/phone/phone_numbers.h"
#include "services/compliance/ports/compliance_store.h"

namespace dialgrid::compliance {

inline constexpr char kCampaignPattern[] = "tenants/{tenant}/campaigns/{campaign}";
inline constexpr char kContactPattern[] = "tenants/{tenant}/contactLists/{list}/contacts/{contact}";
inline constexpr char kConsentPattern[] = "tenants/{tenant}/consents/{consent}";
inline constexpr char kRegistryPattern[] = "registries/{registry}";

google::protobuf::Timestamp ToProto(absl::Time t);
absl::Time FromProto(const google::protobuf::Timestamp& t);

// Anything but a person dialing counts as automated, so a mode this code does
// not name (the runtime refuses undefined numbers; a mode added to the enum
// later) gets the stricter rules, never the looser ones.
bool Automated(type::v1::DialingMode mode);

// PERMISSION_DENIED TENANT_MISMATCH naming the field.
absl::Status TenantMismatch(absl::string_view field);

// Tenant and campaign id of "tenants/{t}/campaigns/{c}" (required).
absl::StatusOr<std::pair<std::string, std::string>> ParseCampaign(absl::string_view field,
                                                                  const std::string& name);
// "tenants/{t}" -> (t, ""), "tenants/{t}/campaigns/{c}" -> (t, c).
absl::StatusOr<std::pair<std::string, std::string>> ParseListParent(const std::string& parent);
// "tenants/{t}/consents/tel-{digits}" -> (t, "+digits").
absl::StatusOr<std::pair<std::string, std::string>> ParseConsentName(const std::string& name);

// A phone number as given -> E.164 and its facts (INVALID_ARGUMENT naming
// the field otherwise).
absl::StatusOr<phone::NormalizedPhone> Normalize(absl::string_view field, const std::string& raw,
                                                 const std::string& country);

// A debt id: required for debt collection (Reg F counts per debt), 1-128
// characters of [A-Za-z0-9._:-] (DEBT_REQUIRED, INVALID_DEBT naming `field`).
absl::Status CheckDebt(const std::string& field, const std::string& debt,
                       type::v1::CallPurpose purpose);

// A product id (Art. 17 refusals): 0-128 characters of [A-Za-z0-9._:-]
// (INVALID_PRODUCT naming `field`).
absl::Status CheckProduct(const std::string& field, const std::string& product);

// FIELD_TOO_LONG past `max` bytes.
absl::Status CheckText(absl::string_view field, const std::string& v, size_t max);
// A request id: at most 128 characters.
absl::Status CheckRequestId(const std::string& request_id);

// The request id of a change with what identifies the request: the method
// and the request's bytes (Add and Remove requests have the same fields, so
// the same bytes must not pass for a retry of the other method).
RequestKey ChangeKey(absl::string_view method, const std::string& request_id,
                     const google::protobuf::Message& request);

// A calendar date of the API (dialgrid.type.v1.Date): every part set and
// valid, else INVALID_ARGUMENT INVALID_DATE naming the field.
// Dates: DayOf and DateOf from services/common/core/proto_time.h.

// Paging by key (the last number of the previous page), bound to the
// listing it came from: page_size 0-1000 (0: 100), else INVALID_PAGE_SIZE;
// a token of another listing INVALID_PAGE_TOKEN.
struct PageRequest {
  int size = 100;
  std::string after;  // "" from the start
};
absl::StatusOr<PageRequest> ParsePage(int32_t page_size, const std::string& page_token,
                                      absl::string_view listing);
std::string PageToken(absl::string_view listing, const std::string& last);

}  // namespace dialgrid::compliance
