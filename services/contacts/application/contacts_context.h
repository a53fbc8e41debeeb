#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "google/protobuf/message.h"
#include "services/common/core/clock.h"
#include "services/common/geo/time_zones.h"
#include "services/contacts/ports/contact_store.h"

namespace dialgrid::contacts {

inline constexpr char kContactsTopic[] = "contacts";

// The tenant's contact quota (Quota.max_contacts); -1 for "no quota".
using ContactQuota = std::function<absl::StatusOr<int64_t>(const std::string& tenant)>;

// What the contacts logic works with: the store, the zone tables, the quota
// source, the clock and the name events are produced under. Shared (by
// reference) by ContactManager and the import sessions, exports, erasures
// and dialer calls it runs; it outlives all of them.
class ContactsContext {
 public:
  ContactsContext(std::shared_ptr<ContactStore> store,
                  std::shared_ptr<const geo::ZoneResolver> zones, ContactQuota quota,
                  const Clock& clock, std::string producer)
      : store_(std::move(store)),
        zones_(std::move(zones)),
        quota_(std::move(quota)),
        clock_(clock),
        producer_(std::move(producer)) {}

  ContactStore& store() const { return *store_; }
  const geo::ZoneResolver& zones() const { return *zones_; }
  const Clock& clock() const { return clock_; }
  // The event of a change, as the store keeps it.
  event::v1::Envelope Event(const std::string& tenant, const std::string& subject,
                            const google::protobuf::Message& payload) const;
  // The tenant's contact quota, -1 without one.
  absl::StatusOr<int64_t> MaxContacts(const std::string& tenant) const;

 private:
  std::shared_ptr<ContactStore> store_;
  std::shared_ptr<const geo::ZoneResolver> zones_;
  ContactQuota quota_;
  const Clock& clock_;
  std::string producer_;
};

}  // namespace dialgrid::contacts
