#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"

#include "services/common/events/redis_outbox.h"
#include "services/common/redis/redis_client.h"
#include "services/contacts/domain/hash_buckets.h"
#include "services/contacts/ports/contact_store.h"

namespace dialgrid::contacts {

// ContactStore on Redis. Every key starts with the tenant's hash tag
// P = "{t:<tenant>}:" (see README for the full table):
//   P l:<list>              HASH proto, etag, next_seq, count, version, n:<STATUS>,
//                           xl, xs (shape of the list's external-id index)
//   P lists                 ZSET list ids
//   P c:<list>:<seq/128>    HASH <seq> -> stored contact (small hashes: listpack)
//   P x:<list>:<b>          HASH external id -> seq   (b: bucket of the id under
//                           the list's shape, domain/hash_buckets.h)
//   P p:<b>                 HASH "<E.164>|<list>:<seq>" -> 1   (b: bucket of the
//                           number under the tenant's phone-index shape)
//   P pi                    HASH l, s (shape of the phone index), n (entries), v
//   P req:list:<id>         HASH fp, proto       (a request id's create, 24 h)
//   P req:contact:<id>      HASH fp, seq, bytes  (a request id's create, 24 h)
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
                                     int64_t max_contacts, const BatchEvents& events,
                                     const CreateRequest* request = nullptr) override;
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

  // Contacts per record bucket and per queue shard (fixed: sequence numbers
  // fill them in order).
  static constexpr int kBucketSize = 128;

  absl::Status ReserveIndexes(const std::string& tenant, const std::string& list,
                              int64_t new_contacts, int64_t max_contacts) override;

  // One growth step (at most 256 buckets read) toward the target load of
  // both indexes of the list and its tenant (done by InsertNew and after
  // Commit; public for tests).
  absl::Status GrowIndexes(const std::string& tenant, const std::string& list);
  // ReserveIndexes stops after this many growth steps (each reads at most
  // 256 buckets of entries that exist already; an empty index needs one
  // step however far it grows); what is left grows with the writes.
  static constexpr int kMaxReserveSteps = 4096;

 private:
  // One growth transaction toward room for the stored entries plus
  // `reserve` more contacts (capped by the quota room when max_contacts >= 0).
  enum class GrowOutcome { kDone, kMore, kRaced };
  absl::StatusOr<GrowOutcome> GrowStep(const std::string& tenant, const std::string& list,
                                       int64_t reserve, int64_t max_contacts);
  // The shapes of the list's external-id index and the tenant's phone index.
  struct Shapes {
    BucketShape ext, phone;
  };
  // From the cache, else read. A cached shape may be out of date: every
  // user checks it against the stored one in the same atomic step.
  absl::StatusOr<Shapes> LoadShapes(const std::string& tenant, const std::string& list);
  void RememberShapes(const std::string& tenant, const std::string& list, const Shapes& shapes);
  void ForgetShapes(const std::string& tenant, const std::string& list);
  BucketShape CachedShape(const std::string& key, bool* known);
  void RememberShape(const std::string& key, const BucketShape& shape);
  // Entries of an index as this process last left them (-1: unknown), for
  // planning an insert's growth before reading the stored counts.
  int64_t CachedEntries(const std::string& key);
  void RememberEntries(const std::string& key, int64_t entries);
  // Runs the reads `make_reads` builds for the shapes in one MULTI/EXEC
  // together with a read of the shapes (again with the new shapes when they
  // moved) and of the list's version, count and etag (the snapshot token
  // "<version>:<count>:<etag>").
  absl::StatusOr<std::vector<redis::Reply>> ShapedRead(
      const std::string& tenant, const std::string& list,
      const std::function<std::vector<std::vector<std::string>>(const Shapes&)>& make_reads,
      ListSnapshot* snapshot);
  absl::StatusOr<BatchResult> CommitWithShapes(const std::string& tenant, const std::string& list,
                                               const std::vector<ContactWrite>& writes,
                                               const ImportProgress* progress,
                                               int64_t max_contacts, const BatchEvents& events,
                                               const CreateRequest* request, const Shapes& shapes);

  std::shared_ptr<redis::Client> redis_;
  std::shared_ptr<events::RedisOutbox> outbox_;
  std::mutex shapes_mu_;
  absl::flat_hash_map<std::string, BucketShape> shapes_;  // "x|<tenant>|<list>", "p|<tenant>"
  absl::flat_hash_map<std::string, int64_t> entries_;     // same keys
};

// Decodes the contacts outbox's records: 'E' events, and 'C' records (a
// created contact's event completed with its sequence number).
absl::StatusOr<event::v1::Envelope> DecodeContactsOutboxRecord(absl::string_view record);

}  // namespace dialgrid::contacts
