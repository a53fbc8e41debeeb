#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "dialgrid/event/v1/envelope.pb.h"

namespace dialgrid::contacts {

// One contact write inside an atomic batch. `seq` 0 creates a contact
// (the store assigns the sequence number); `expect` must equal the stored
// bytes for an existing contact (compare-and-set); empty `bytes` deletes.
struct ContactWrite {
  int64_t seq = 0;
  std::string expect;
  std::string bytes;
  std::string old_external_id, new_external_id;
  std::vector<std::string> old_phones, new_phones;  // E.164
  std::string old_status, new_status;                // StatusKey; "" = none
  int old_priority = 0, new_priority = 0;
  bool old_queued = false;
  std::optional<absl::Time> queue_at;  // set: in the dialer queue from then on
  std::string lease_id;                // set: the write ends this lease
};

// Result of a batch: the sequence number of each write, or -1 when the
// tenant's contact quota left no room for that new contact.
struct BatchResult {
  std::vector<int64_t> seqs;
  int64_t quota_rejected = 0;
  // Commit with a CreateRequest only: set when an earlier call with the same
  // request id created the contact (nothing was written now): its stored
  // bytes as created then; seqs[0] is its sequence number.
  std::optional<std::string> replayed;
  // InsertNew only: the token of the list's state right after this batch
  // (read inside the same transaction), for the caller's next InsertNew.
  std::string snapshot_after;
};

// What an atomic lookup saw of its list: `token` names the list's state
// (InsertNew aborts when the list has moved on from it) and `contacts` is
// how many contacts the list held at that instant.
struct ListSnapshot {
  std::string token;
  int64_t contacts = 0;
};

using Events = std::vector<event::v1::Envelope>;

// Events stored with a batch, in the same atomic step (the tenant's outbox),
// so a change that is stored is a change that will be published.
struct BatchEvents {
  Events events;
  // For a batch creating one contact: the ContactCreated event, its subject
  // the list's name and its contact without a name. The store completes both
  // with the contact's name once the contact has its sequence number (and
  // stores nothing when the quota refused the contact).
  std::optional<event::v1::Envelope> created;
};

// A create made at most once per client request id (AIP-155): the store
// keeps the request's fingerprint and what the create made, in the same
// atomic step as the create, for kRequestIdLifetime.
enum class CreateKind { kList, kContact };
struct CreateRequest {
  CreateKind kind = CreateKind::kContact;
  std::string request_id;
  std::string fingerprint;  // of the request without its request_id
};
inline constexpr absl::Duration kRequestIdLifetime = absl::Hours(24);
// What a request id created: the list (its stored proto) or the contact
// (sequence number and stored bytes), as created.
struct CreatedRecord {
  std::string fingerprint;
  int64_t seq = 0;
  std::string bytes;
};

struct ImportProgress {
  std::string import_id;
  int64_t rows_committed = 0;  // data rows fully handled so far
};

struct Lease {
  int64_t seq;
  std::string bytes;
  std::string lease_id;
  absl::Time expire_time;
};

struct Scanned {
  int64_t seq;
  std::string bytes;
  bool leased;
};

// Where contact lists and contacts live. Everything of a tenant shares one
// Redis hash tag, so each batch is one atomic script.
class ContactStore {
 public:
  virtual ~ContactStore() = default;

  // The list created; with a `request` whose id made a list before, that
  // list as created then and nothing written (ALREADY_EXISTS
  // REQUEST_ID_REUSED when that id came with another request).
  virtual absl::StatusOr<v1::ContactList> CreateList(const std::string& tenant,
                                                     const std::string& list,
                                                     const v1::ContactList& contact_list,
                                                     const Events& events,
                                                     const CreateRequest* request) = 0;
  // What `request_id` of this kind created in the last kRequestIdLifetime.
  virtual absl::StatusOr<std::optional<CreatedRecord>> FindCreated(
      const std::string& tenant, CreateKind kind, const std::string& request_id) = 0;
  // With counts filled in.
  virtual absl::StatusOr<v1::ContactList> GetList(const std::string& tenant,
                                                  const std::string& list) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListListIds(const std::string& tenant,
                                                               const std::string& after,
                                                               int limit) = 0;
  virtual absl::Status ReplaceList(const std::string& tenant, const std::string& list,
                                   v1::ContactList& contact_list, const std::string& expected_etag) = 0;
  // Removes the list with every contact and index entry; the count removed.
  virtual absl::StatusOr<int64_t> DeleteList(const std::string& tenant, const std::string& list) = 0;

  // Existing contacts by external id / by phone (E.164) within a list:
  // seq or 0 per input. With `snapshot`, the lookups are one atomic read and
  // `*snapshot` describes the list's state they saw (for InsertNew).
  virtual absl::StatusOr<std::vector<int64_t>> FindByExternalIds(
      const std::string& tenant, const std::string& list, const std::vector<std::string>& ids,
      ListSnapshot* snapshot = nullptr) = 0;
  virtual absl::StatusOr<std::vector<int64_t>> FindByPhones(const std::string& tenant,
                                                            const std::string& list,
                                                            const std::vector<std::string>& e164,
                                                            ListSnapshot* snapshot = nullptr) = 0;
  // Every contact of the tenant with this phone or external id: (list, seq).
  virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> FindAcrossLists(
      const std::string& tenant, const std::string& phone, const std::string& external_id) = 0;
  // Stored bytes per seq ("" when absent).
  virtual absl::StatusOr<std::vector<std::string>> GetContacts(const std::string& tenant,
                                                               const std::string& list,
                                                               const std::vector<int64_t>& seqs) = 0;
  virtual absl::StatusOr<bool> IsLeased(const std::string& tenant, const std::string& list,
                                        int64_t seq) = 0;
  // Contacts with seq > after, in seq order, up to `limit` (examines at most
  // `max_examined` sequence numbers so sparse lists page too).
  virtual absl::StatusOr<std::vector<Scanned>> Scan(const std::string& tenant,
                                                    const std::string& list, int64_t after,
                                                    int limit, int64_t& next_after) = 0;

  // Applies writes atomically (ABORTED CONCURRENT_MODIFICATION when a
  // compare-and-set failed: nothing was written). With `progress`, records it
  // in the same step. `max_contacts` < 0 means no quota. With `request` (a
  // batch creating one contact), records what it created under the request
  // id in the same step, or, when the id created a contact before, writes
  // nothing and returns that contact in `replayed` (ALREADY_EXISTS
  // REQUEST_ID_REUSED when the id came with another request).
  virtual absl::StatusOr<BatchResult> Commit(const std::string& tenant, const std::string& list,
                                             const std::vector<ContactWrite>& writes,
                                             const ImportProgress* progress,
                                             int64_t max_contacts,
                                             const BatchEvents& events,
                                             const CreateRequest* request = nullptr) = 0;
  // Stores events on their own (facts that must be durable before, or
  // whatever happens to, the writes that follow: an opt-out, an erasure).
  virtual absl::Status AppendEvents(const std::string& tenant, const Events& events) = 0;
  // Inserts new contacts (every write has seq 0 and no `expect`) in one
  // optimistic transaction: ABORTED CONCURRENT_MODIFICATION when an external
  // id was claimed meanwhile (nothing written; retry). Far cheaper per row
  // than Commit, so imports use it for their new rows. With the `snapshot`
  // token of the Find that showed the ids absent (or a `snapshot_after` of an
  // earlier InsertNew), the ids are not looked up again: any change to the
  // list since that state aborts instead.
  virtual absl::StatusOr<BatchResult> InsertNew(const std::string& tenant, const std::string& list,
                                                const std::vector<ContactWrite>& writes,
                                                const ImportProgress* progress,
                                                int64_t max_contacts,
                                                const std::string& snapshot = "") = 0;
  // Sizes the list's external-id index and the tenant's phone index for
  // `new_contacts` more contacts (one number each) before they arrive, so an
  // import that knows its size does not grow them batch by batch (moving
  // entries each time). A hint only: never more than the room `max_contacts`
  // leaves (< 0: no quota), never lowers a size, and too small a hint just
  // leaves the rest to grow with the writes. What it costs in Redis is bounded
  // by the entries the indexes hold already (they may move; empty buckets
  // are not stored), not by the hint. ABORTED when other writers kept
  // changing the indexes (nothing lost; they grow with the writes).
  virtual absl::Status ReserveIndexes(const std::string& tenant, const std::string& list,
                                      int64_t new_contacts, int64_t max_contacts) = 0;
  virtual absl::StatusOr<int64_t> ImportCommitted(const std::string& tenant,
                                                  const std::string& list,
                                                  const std::string& import_id) = 0;

  // Leases up to `count` contacts due at `now`, highest priority first, after
  // returning expired leases to the queue.
  virtual absl::StatusOr<std::vector<Lease>> LeaseDue(const std::string& tenant,
                                                      const std::string& list, int count,
                                                      absl::Time now, absl::Duration duration,
                                                      const std::string& holder) = 0;
  // The lease holding `seq` (lease_id and expire_time; lease_id "" if none).
  virtual absl::StatusOr<Lease> LeaseOf(const std::string& tenant, const std::string& list,
                                        int64_t seq) = 0;

  virtual absl::Status Ping() = 0;
};

}  // namespace dialgrid::contacts
