#pragma once

// Pure rules of the contacts service: building a contact from raw fields
// (validation, phone normalization, zone derivation), merging an upsert,
// the stored form, filters, etags. No I/O.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "services/common/geo/time_zones.h"

namespace dialgrid::contacts {

inline constexpr size_t kMaxExternalId = 128;
inline constexpr size_t kMaxName = 100;
inline constexpr int kMaxPhones = 10;
inline constexpr int kMaxAttributes = 50;
inline constexpr size_t kMaxAttributeKey = 64;
inline constexpr size_t kMaxAttributeValue = 1024;
inline constexpr int kMaxPriority = 9;

// A contact as it arrives (from a CSV row, a JSON line or the API), before
// normalization. Phones are raw strings.
struct RawContact {
  std::string external_id, first_name, last_name, time_zone, postal_code, region, country;
  std::vector<std::string> phones;
  std::map<std::string, std::string> attributes;
  std::string priority;  // as text; "" = 0
};

// Validates and normalizes: E.164 phones with type, derived zones, limits.
// INVALID_ARGUMENT with a reason (INVALID_PHONE_NUMBER, FIELD_TOO_LONG, ...).
absl::StatusOr<v1::Contact> BuildContact(const RawContact& raw, absl::string_view default_country,
                                         const geo::ZoneResolver& zones);

// The same checks for a contact given as a message (CreateContact/UpdateContact).
RawContact RawFromContact(const v1::Contact& c);

// A new contact's lifecycle fields: CALLABLE (or UNREACHABLE when no phone is
// callable), next callable now, create/update time.
void InitNewContact(v1::Contact& c, absl::Time now);
// Upsert: `fresh` data over `existing`, keeping status, attempts, last
// outcome, create time and next callable time.
v1::Contact MergeUpsert(const v1::Contact& existing, const v1::Contact& fresh, absl::Time now);

// Stored form: no name, no etag, no redundant candidate list.
std::string ToStored(const v1::Contact& c);
// The same from a contact the caller gives up (no copy).
std::string ToStored(v1::Contact&& c);
// From the stored form, with name and etag filled in.
absl::StatusOr<v1::Contact> FromStored(absl::string_view bytes, absl::string_view list_name,
                                       int64_t seq);
std::string ContactName(absl::string_view list_name, int64_t seq);
// Etag of stored bytes (FNV-1a 64, hex).
std::string EtagOf(absl::string_view stored);
// Status name used in counts, e.g. "CALLABLE".
std::string StatusKey(v1::ContactStatus s);
// Callable now or later: has a callable phone and status CALLABLE.
bool InQueue(const v1::Contact& c);

// Filters of ListContacts / ExportContacts.
struct ContactFilter {
  v1::ContactStatus status = v1::CONTACT_STATUS_UNSPECIFIED;
  std::string phone;        // E.164
  std::string external_id;
  std::map<std::string, std::string> attributes;
  bool Matches(const v1::Contact& c) const;
};
absl::StatusOr<ContactFilter> ParseFilter(absl::string_view filter);

// Applies an UpdateContact mask. INVALID_ARGUMENT for unknown/immutable paths.
absl::Status ApplyContactMask(const v1::Contact& patch,
                              const google::protobuf::RepeatedPtrField<std::string>& paths,
                              v1::Contact& target);

}  // namespace dialgrid::contacts
