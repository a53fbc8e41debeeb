#include "services/dialing/adapters/contacts_client.h"

#include "absl/strings/str_cat.h"
#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "services/common/core/errors.h"

namespace dialgrid::dialing {

ContactsClient::ContactsClient(std::shared_ptr<client::PeerChannel> contacts)
    : contacts_(std::move(contacts)) {}

absl::Status ContactsClient::CheckExist(const std::vector<std::string>& lists,
                                        absl::Time deadline) {
  client::PeerClient<contacts::v1::ContactsService> client(contacts_);
  for (const auto& name : lists) {
    contacts::v1::GetContactListRequest req;
    req.set_name(name);
    auto list = client.Call(&contacts::v1::ContactsService::Stub::GetContactList, req,
                            client::IncomingCall(deadline));
    if (list.ok()) continue;
    if (list.status().code() == absl::StatusCode::kNotFound) {
      return InvalidField("campaign.contact_lists", "CONTACT_LIST_NOT_FOUND",
                          absl::StrCat(name, " does not exist"));
    }
    return list.status();  // UNAVAILABLE and the like: nothing assumed
  }
  return absl::OkStatus();
}

}  // namespace dialgrid::dialing
