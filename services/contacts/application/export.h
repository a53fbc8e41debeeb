#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "services/contacts/application/contacts_context.h"

namespace dialgrid::contacts {

// ExportContacts: calls `emit` with CSV chunks of at most ~256 KiB (the
// first starts with the header row); stops early with CANCELLED when `emit`
// returns false (client gone).
absl::Status ExportContacts(const ContactsContext& ctx, const v1::ExportContactsRequest& req,
                            const std::function<bool(std::string)>& emit);

}  // namespace dialgrid::contacts
