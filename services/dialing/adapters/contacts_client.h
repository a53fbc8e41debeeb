#pragma once

// ContactLists over the contacts service's public API (GetContactList), as a
// peer with this service's credential.

#include <memory>

#include "services/common/client/peer_channel.h"
#include "services/dialing/ports/contact_lists.h"

namespace dialgrid::dialing {

class ContactsClient final : public ContactLists {
 public:
  explicit ContactsClient(std::shared_ptr<client::PeerChannel> contacts);
  absl::Status CheckExist(const std::vector<std::string>& lists, absl::Time deadline) override;

 private:
  std::shared_ptr<client::PeerChannel> contacts_;
};

}  // namespace dialgrid::dialing
