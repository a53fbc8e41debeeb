#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "services/common/core/clock.h"
#include "services/common/geo/time_zones.h"
#include "services/contacts/application/contacts_context.h"
#include "services/contacts/application/import_session.h"
#include "services/contacts/ports/contact_store.h"

namespace dialgrid::contacts {

// The contacts service's logic between the gRPC handlers (caller already
// authenticated, tenant checked) and the store: lists and single contacts
// here; imports (import_session), exports (export), erasure (erasure) and
// the dialer feed (dialer_feed) in their own files, all on one
// ContactsContext.
class ContactManager {
 public:
  // Every change is stored with its event in one step (the store's outbox);
  // a relay publishes the events on the "contacts" topic.
  ContactManager(std::shared_ptr<ContactStore> store,
                 std::shared_ptr<const geo::ZoneResolver> zones, ContactQuota quota,
                 const Clock& clock, std::string producer);

  // With a request_id, at most one list per id in 24 h: a retry returns the
  // list as the first call created it (ALREADY_EXISTS REQUEST_ID_REUSED
  // when the id comes with another request).
  absl::StatusOr<v1::ContactList> CreateContactList(const v1::CreateContactListRequest& req);
  absl::StatusOr<v1::ContactList> GetContactList(const v1::GetContactListRequest& req);
  absl::StatusOr<v1::ListContactListsResponse> ListContactLists(
      const v1::ListContactListsRequest& req);
  absl::StatusOr<v1::ContactList> UpdateContactList(const v1::UpdateContactListRequest& req);
  absl::StatusOr<v1::DeleteContactListResponse> DeleteContactList(
      const v1::DeleteContactListRequest& req);

  // request_id as for CreateContactList (a retry returns the contact as
  // created, even when it has changed or gone since).
  absl::StatusOr<v1::Contact> CreateContact(const v1::CreateContactRequest& req);
  absl::StatusOr<v1::Contact> GetContact(const v1::GetContactRequest& req);
  absl::StatusOr<v1::ListContactsResponse> ListContacts(const v1::ListContactsRequest& req);
  absl::StatusOr<v1::Contact> UpdateContact(const v1::UpdateContactRequest& req);
  absl::StatusOr<v1::DeleteContactResponse> DeleteContact(const v1::DeleteContactRequest& req);

  // Validates the header (list exists, mapping sane) and opens a session.
  absl::StatusOr<std::unique_ptr<ImportSession>> StartImport(const v1::ImportHeader& header);
  // Calls `emit` with CSV chunks of at most ~256 KiB; stops early when it
  // returns false (client gone).
  absl::Status Export(const v1::ExportContactsRequest& req,
                      const std::function<bool(std::string)>& emit);

  absl::StatusOr<v1::EraseContactDataResponse> EraseContactData(
      const v1::EraseContactDataRequest& req);
  absl::StatusOr<v1::LeaseContactsResponse> LeaseContacts(const v1::LeaseContactsRequest& req);
  absl::StatusOr<v1::Contact> ReportOutcome(const v1::ReportOutcomeRequest& req);

 private:
  ContactsContext ctx_;
};

// The fingerprint a request id is stored with: the request without its
// request_id, serialized deterministically and hashed.
template <typename Request>
std::string RequestFingerprint(const Request& req);

}  // namespace dialgrid::contacts
