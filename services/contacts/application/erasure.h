#pragma once

#include "absl/status/statusor.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "services/contacts/application/contacts_context.h"

namespace dialgrid::contacts {

// EraseContactData: every contact of the tenant with the phone number or
// external id goes; the event with the do-not-call numbers is stored first,
// so a failure part-way never loses the opt-out.
absl::StatusOr<v1::EraseContactDataResponse> EraseContactData(
    const ContactsContext& ctx, const v1::EraseContactDataRequest& req);

}  // namespace dialgrid::contacts
