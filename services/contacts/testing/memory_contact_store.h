#pragma once

// ContactStore in memory, for unit tests of the contacts application logic
// without Redis. Same contract as RedisContactStore (ports/contact_store.h):
// atomic batches with compare-and-set, quota, queue and leases, request-id
// records, events kept in a per-tenant outbox the test can read. Thread-safe
// (an import session commits from its own thread). Not for production: no
// persistence, no bucketing, request records never expire.

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "services/contacts/ports/contact_store.h"

namespace dialgrid::contacts {

class MemoryContactStore final : public ContactStore {
 public:
  absl::StatusOr<v1::ContactList> CreateList(const std::string& tenant, const std::string& list,
                                             const v1::ContactList& contact_list,
                                             const Events& events,
                                             const CreateRequest* request) override;
  absl::StatusOr<std::optional<CreatedRecord>> FindCreated(const std::string& tenant,
                                                           CreateKind kind,
                                                           const std::string& request_id) override;
  absl::StatusOr<v1::ContactList> GetList(const std::string& tenant,
                                          const std::string& list) override;
  absl::StatusOr<std::vector<std::string>> ListListIds(const std::string& tenant,
                                                       const std::string& after,
                                                       int limit) override;
  absl::Status ReplaceList(const std::string& tenant, const std::string& list,
                           v1::ContactList& contact_list,
                           const std::string& expected_etag) override;
  absl::StatusOr<int64_t> DeleteList(const std::string& tenant, const std::string& list) override;
  absl::StatusOr<std::vector<int64_t>> FindByExternalIds(const std::string& tenant,
                                                         const std::string& list,
                                                         const std::vector<std::string>& ids,
                                                         ListSnapshot* snapshot) override;
  absl::StatusOr<std::vector<int64_t>> FindByPhones(const std::string& tenant,
                                                    const std::string& list,
                                                    const std::vector<std::string>& e164,
                                                    ListSnapshot* snapshot) override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> FindAcrossLists(
      const std::string& tenant, const std::string& phone, const std::string& external_id) override;
  absl::StatusOr<std::vector<std::string>> GetContacts(const std::string& tenant,
                                                       const std::string& list,
                                                       const std::vector<int64_t>& seqs) override;
  absl::StatusOr<bool> IsLeased(const std::string& tenant, const std::string& list,
                                int64_t seq) override;
  absl::StatusOr<std::vector<Scanned>> Scan(const std::string& tenant, const std::string& list,
                                            int64_t after, int limit, int64_t& next_after) override;
  absl::StatusOr<BatchResult> Commit(const std::string& tenant, const std::string& list,
                                     const std::vector<ContactWrite>& writes,
                                     const ImportProgress* progress, int64_t max_contacts,
                                     const BatchEvents& events,
                                     const CreateRequest* request = nullptr) override;
  absl::Status AppendEvents(const std::string& tenant, const Events& events) override;
  absl::StatusOr<BatchResult> InsertNew(const std::string& tenant, const std::string& list,
                                        const std::vector<ContactWrite>& writes,
                                        const ImportProgress* progress, int64_t max_contacts,
                                        const std::string& snapshot) override;
  // Records the reservation (ReservedFor); there are no indexes to size here.
  absl::Status ReserveIndexes(const std::string& tenant, const std::string& list,
                              int64_t new_contacts, int64_t max_contacts) override;
  absl::StatusOr<int64_t> ImportCommitted(const std::string& tenant, const std::string& list,
                                          const std::string& import_id) override;
  absl::StatusOr<std::vector<Lease>> LeaseDue(const std::string& tenant, const std::string& list,
                                              int count, absl::Time now, absl::Duration duration,
                                              const std::string& holder) override;
  absl::StatusOr<Lease> LeaseOf(const std::string& tenant, const std::string& list,
                                int64_t seq) override;
  absl::Status Ping() override { return absl::OkStatus(); }

  // What the tenant's outbox holds (every event stored, in order).
  Events OutboxOf(const std::string& tenant) const;
  // Contacts the tenant holds across lists.
  int64_t ContactsOf(const std::string& tenant) const;
  // The new_contacts of every ReserveIndexes call for the list, in order.
  std::vector<int64_t> ReservedFor(const std::string& tenant, const std::string& list) const;
  // Whether a seq is in its list's dialer queue.
  bool Queued(const std::string& tenant, const std::string& list, int64_t seq) const;

 private:
  struct LeaseInfo {
    std::string id, holder;
    int priority = 0;
    absl::Time expire;
  };
  struct ListState {
    v1::ContactList proto;  // without counts
    std::string etag;
    int64_t next_seq = 0, count = 0, version = 0;
    std::map<std::string, int64_t> by_status;
    std::map<int64_t, std::string> contacts;
    std::map<std::string, int64_t> external_ids;
    std::map<int64_t, std::pair<int, int64_t>> queue;  // seq -> (priority, due ms)
    std::map<int64_t, LeaseInfo> leases;
    std::map<std::string, int64_t> imports;
  };
  struct TenantState {
    std::map<std::string, ListState> lists;
    std::map<std::string, std::set<std::pair<std::string, int64_t>>> phones;  // E.164 -> refs
    int64_t contacts = 0;
    std::map<std::string, CreatedRecord> requests;  // "<kind>:<id>"
    Events outbox;
  };
  static std::string Token(const ListState& l);
  static std::string RequestKey(CreateKind kind, const std::string& id);
  // Applies one write (checked already); seq assigned for new ones.
  void Apply(TenantState& t, const std::string& list, ListState& l, const ContactWrite& w,
             int64_t seq);

  mutable std::mutex mu_;
  std::map<std::string, TenantState> tenants_;
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> reserved_;
  int64_t etags_ = 0;
};

}  // namespace dialgrid::contacts
