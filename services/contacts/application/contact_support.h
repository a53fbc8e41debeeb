#pragma once

// Helpers the contacts application files share: resource names, time
// conversions, loading one contact, and the store write of a change.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/contacts/application/contacts_context.h"
#include "services/contacts/ports/contact_store.h"

namespace dialgrid::contacts {

// Retries of a write that lost a compare-and-set to a concurrent writer.
inline constexpr int kCommitAttempts = 20;

// Times: ToTimestamp and FromTimestamp from services/common/core/proto_time.h.

struct ListRef {
  std::string tenant, list, name;
};
// "tenants/{tenant}/contactLists/{list}" in `field`.
absl::StatusOr<ListRef> ParseList(absl::string_view field, absl::string_view name);
// "tenants/{tenant}" in `field`: the tenant id.
absl::StatusOr<std::string> ParseTenant(absl::string_view field, absl::string_view name);
// A contact's name: its list and sequence number.
absl::StatusOr<std::pair<ListRef, int64_t>> ParseContactName(absl::string_view name);

// E.164 of each of the contact's phones.
std::vector<std::string> Phones(const v1::Contact& c);

// A write that turns `before` (stored bytes, "" if new) into `after`.
ContactWrite MakeWrite(int64_t seq, const std::string& before_bytes, const v1::Contact* before,
                       const v1::Contact* after, const std::string& after_bytes);

// One stored contact: (tenant, list, seq, stored bytes, contact).
struct LoadedContact {
  std::string tenant, list, list_name;
  int64_t seq = 0;
  std::string bytes;
  v1::Contact contact;
};
// NOT_FOUND CONTACT_NOT_FOUND when absent.
absl::StatusOr<LoadedContact> LoadContact(const ContactsContext& ctx, absl::string_view name);

}  // namespace dialgrid::contacts
