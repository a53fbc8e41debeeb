#pragma once

// The transactional outbox, as a port: a service writes each event into the
// same atomic Redis step as the change it reports (so "stored" and "will be
// published" are one fact), into the outbox of the tenant the change belongs
// to; a relay (outbox_relay.h) moves the events to Kafka.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dialgrid/event/v1/envelope.pb.h"

namespace dialgrid::events {

// The oldest events of one tenant's outbox.
struct OutboxBatch {
  std::vector<event::v1::Envelope> events;
  int records = 0;    // records read (Pop this many once published)
  int malformed = 0;  // records that did not decode (skipped, counted)
};

class EventOutbox {
 public:
  virtual ~EventOutbox() = default;
  // Takes up to `max` tenants off the set of tenants whose outbox may hold
  // events ("" is the vendor scope). A tenant taken must be drained, or given
  // back with MarkDirty: a writer marks its tenant after every write, so a
  // tenant written to after it was taken is marked again.
  virtual absl::StatusOr<std::vector<std::string>> TakeDirty(int max) = 0;
  virtual absl::Status MarkDirty(const std::string& tenant) = 0;
  // The safety net for a writer that died between its write and its mark:
  // marks every tenant whose outbox holds events (a full scan; run rarely).
  // Returns the number of tenants found.
  virtual absl::StatusOr<int> MarkAllNonEmpty() = 0;
  // Takes (or renews) this instance's hold on the tenant's outbox and reads
  // up to `max` of its oldest events without removing them. One relay holds
  // a tenant's outbox at a time, so replicas relay different tenants side by
  // side and a tenant's events stay in order. ABORTED RELAY_BUSY when another
  // instance holds it.
  virtual absl::StatusOr<OutboxBatch> Peek(const std::string& tenant, int max) = 0;
  // Removes the tenant's `n` oldest records (after they were published), only
  // while this instance still holds the tenant's outbox: ABORTED
  // RELAY_LOCK_LOST otherwise (the hold lapsed during a slow publish and
  // another relay may have published and popped the same events), nothing
  // removed.
  virtual absl::Status Pop(const std::string& tenant, int n) = 0;
  // Gives the hold on the tenant's outbox up (when it is drained).
  virtual absl::Status Release(const std::string& tenant) = 0;
};

}  // namespace dialgrid::events
