#include "services/contacts/application/contacts_context.h"

#include "services/common/kafka/event_publisher.h"

namespace dialgrid::contacts {

event::v1::Envelope ContactsContext::Event(const std::string& tenant, const std::string& subject,
                                           const google::protobuf::Message& payload) const {
  return kafka::MakeEnvelope(tenant, subject, payload, producer_, clock_);
}

absl::StatusOr<int64_t> ContactsContext::MaxContacts(const std::string& tenant) const {
  return quota_ ? quota_(tenant) : absl::StatusOr<int64_t>(-1);
}

}  // namespace dialgrid::contacts
