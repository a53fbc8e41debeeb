#pragma once

#include "absl/status/statusor.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "services/contacts/application/contacts_context.h"

namespace dialgrid::contacts {

// LeaseContacts: due contacts of a list, highest priority first, each held
// for the lease duration (expired leases go back to the queue first).
absl::StatusOr<v1::LeaseContactsResponse> LeaseContacts(const ContactsContext& ctx,
                                                        const v1::LeaseContactsRequest& req);
// ReportOutcome: ends the lease it names and moves the contact to the
// outcome's status (FAILED_PRECONDITION LEASE_NOT_HELD when the lease is not
// the contact's current one or has expired).
absl::StatusOr<v1::Contact> ReportOutcome(const ContactsContext& ctx,
                                          const v1::ReportOutcomeRequest& req);

}  // namespace dialgrid::contacts
