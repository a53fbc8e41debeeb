#pragma once

#include <memory>

#include "services/common/events/redis_outbox.h"
#include "services/common/redis/redis_client.h"
#include "services/contacts/ports/contact_store.h"

namespace dialgrid::contacts {

// ContactStore on Redis. Every key starts with the tenant's hash tag
// P = "{t:<tenant>}:" (see README for the full table):
//   P l:<list>              HASH proto, etag, next_seq, count, n:<STATUS>
//   P lists                 ZSET list ids
//   P c:<list>:<seq/128>    HASH <seq> -> stored contact (small hashes: listpack)
//   P x:<list>:<b>          HASH external id -> seq   (b = hash(id) % 65536)
//   P p:<b>                 HASH "<E.164>|<list>:<seq>" -> 1   (b = hash % 65536)
//   P q:<list>:<prio>:<s>   ZSET seq, score = next callable (ms); s = seq/128
//   P qi:<list>:<prio>      ZSET queue shard s, score = its earliest due (ms)
//   P lz:<list>             ZSET seq, score = lease expiry (ms)
//   P li:<list>             HASH seq -> "<lease id>|<priority>|<holder>"
//   P imp:<list>:<import>   HASH rows (committed data rows)
//   P imps:<list>           SET of the list's import keys (dropped with the list)
//   P contacts              STRING contacts of the tenant (quota)
//   P outbox:contacts       LIST events of the changes (RedisOutbox)
class RedisContactStore final : public ContactStore {
 public:
  // `outbox`: the "contacts" stream's, made with OutboxOptions() below.
  RedisContactStore(std::shared_ptr<redis::Client> redis,
                    std::shared_ptr<events::RedisOutbox> outbox);
  // The outbox options contacts needs (its record decoder included).
  static events::RedisOutboxOptions OutboxOptions(std::string instance);

  absl::Status CreateList(const std::string& tenant, const std::string& list,
                          const v1::ContactList& contact_list, const Events& events) override;
  absl::StatusOr<v1::ContactList> GetList(const std::string& tenant,
                                          const std::string& list) override;
  absl::StatusOr<std::vector<std::string>> ListListIds(const std::string& tenant,
                                                       const std::string& after,
                                                       int limit) override;
  absl::Status ReplaceList(const std::string& tenant, const std::string& list,
                           v1::ContactList& contact_list, const std::string& expected_etag) override;
  absl::StatusOr<int64_t> DeleteList(const std::string& tenant, const std::string& list) override;
  absl::StatusOr<std::vector<int64_t>> FindByExternalIds(
      const std::string& tenant, const std::string& list, const std::vector<std::string>& ids,
      ListSnapshot* snapshot) override;
  absl::StatusOr<std::vector<int64_t>> FindByPhones(const std::string& tenant,
                                                    const std::string& list,
                                                    const std::vector<std::string>& e164,
                                                    ListSnapshot* snapshot) override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> FindAcrossLists(
      const std::string& tenant, const std::string& phone,
      const std::string& external_id) override;
  absl::StatusOr<std::vector<std::string>> GetContacts(const std::string& tenant,
                                                       const std::string& list,
                                                       const std::vector<int64_t>& seqs) override;
  absl::StatusOr<bool> IsLeased(const std::string& tenant, const std::string& list,
                                int64_t seq) override;
  absl::StatusOr<std::vector<Scanned>> Scan(const std::string& tenant, const std::string& list,
                                            int64_t after, int limit,
                                            int64_t& next_after) override;
  absl::StatusOr<BatchResult> Commit(const std::string& tenant, const std::string& list,
                                     const std::vector<ContactWrite>& writes,
                                     const ImportProgress* progress,
                                     int64_t max_contacts, const BatchEvents& events) override;
  absl::Status AppendEvents(const std::string& tenant, const Events& events) override;
  absl::StatusOr<BatchResult> InsertNew(const std::string& tenant, const std::string& list,
                                        const std::vector<ContactWrite>& writes,
                                        const ImportProgress* progress,
                                        int64_t max_contacts,
                                        const std::string& snapshot) override;
  absl::StatusOr<int64_t> ImportCommitted(const std::string& tenant, const std::string& list,
                                          const std::string& import_id) override;
  absl::StatusOr<std::vector<Lease>> LeaseDue(const std::string& tenant, const std::string& list,
                                              int count, absl::Time now, absl::Duration duration,
                                              const std::string& holder) override;
  absl::StatusOr<Lease> LeaseOf(const std::string& tenant, const std::string& list,
                                int64_t seq) override;
  absl::Status Ping() override;

  static constexpr int kBucketSize = 128;
  static constexpr int kExternalIdBuckets = 65536;
  static constexpr int kPhoneBuckets = 65536;

 private:
  // Runs `reads` as one MULTI/EXEC together with a read of the list's
  // version, count and etag (the snapshot token "<version>:<count>:<etag>").
  absl::StatusOr<std::vector<redis::Reply>> AtomicRead(
      const std::string& lkey, const std::vector<std::vector<std::string>>& reads,
      ListSnapshot* snapshot);
  std::shared_ptr<redis::Client> redis_;
  std::shared_ptr<events::RedisOutbox> outbox_;
};

// Decodes the contacts outbox's records: 'E' events, and 'C' records (a
// created contact's event completed with its sequence number).
absl::StatusOr<event::v1::Envelope> DecodeContactsOutboxRecord(absl::string_view record);

}  // namespace dialgrid::contacts
