#pragma once

// ComplianceStore on Redis, with its events in the outbox of the tenant
// (services/common/events, stream "compliance"). Every script declares the
// keys it touches in KEYS, and those keys share one hash tag, so no script
// spans two slots (Redis Cluster can place a tenant on a node of its own).
// Keys of a tenant (prefix {t:<tenant>}:):
//   cr               HASH  current -> version, v<N> -> RuleSet
//   dnc, dnc:<camp>  SET   E.164 numbers on the tenant / campaign list
//   dncm, dncm:<camp> HASH E.164 -> DoNotCallEntry (reason, who, when)
//   dncx, dncx:<camp> ZSET E.164 numbers, all scored 0: the list's listing
//                    order (ZRANGE BYLEX)
//   cons             HASH  E.164 -> "grant_ms|expire_ms|revoke_ms|level|,scopes,"
//                    (scripts)
//   ebr              HASH  "<E.164>|T" / "<E.164>|I" -> relationship date as
//                    days since 1970-01-01 (scripts)
//   ebrp, ebrx       HASH / ZSET the EstablishedRelationship records and their
//                    listing index (same fields)
//   ebrend           HASH  E.164 -> ms of its latest do-not-call request (ends
//                    relationships dated up to that day at UTC+14)
//   refp             HASH  "<E.164>|<product>" -> earliest refusal ms
//   refr, refx       HASH / ZSET SolicitationRefusal records, listing index
//   refa             HASH  E.164 -> earliest refusal ms of any product
//   consp            HASH  E.164 -> Consent
//   consx            ZSET  E.164 numbers with a consent record (listing order)
//   an:<e164>        ZSET  attempts of a number: decision id -> dial ms
//   ac:<contact>     ZSET  attempts of a contact
//   ab:<e164>        STRING last abandoned call ms
//   abr:<camp>       HASH  a:<hour> / l:<hour> -> abandoned / live answers
//   ev:<event id>    STRING call events applied (30 days)
//   aud:<e164>       ZSET  audit records (decisions, calls) by ms
//   dreq:<request>   STRING decision of a CheckDial request id (24 h)
//   mreq:<request>   STRING SHA-1 of a change request and its reply, by the
//                    change's request id (do-not-call, consent; 24 h)
//   none             never written: stands in KEYS for an optional key
//                    (no campaign, contact or request id)
//   outbox:compliance LIST events written with the changes (RedisOutbox)
// Vendor keys (prefix {vendor}:, the slot of the vendor's outbox):
//   registry:<id>:add, registry:<id>:del  SET registry keys added / removed
//   registry:<id>:asof                    STRING latest change file's date
//   registry:<id>:dates                   HASH key -> date of its last change
//   registry:<id>:atonce                  SET added keys whose registration
//                                         date is unknown (bind at once)
//   registry:<id>:seq                     STRING count of changes (a resync
//                                         skips an overlay it has loaded)
//   registry-defs                         HASH id -> definition of a registry
//                                         created over the API
//   outbox:compliance                     LIST RegistryChanged events
// Registry overlays stored before the keys carried the tag
// (dg:registry:<id>:...) are taken over when first read.

#include <memory>

#include "absl/time/time.h"
#include "services/common/events/redis_outbox.h"
#include "services/common/redis/redis_client.h"
#include "services/compliance/ports/compliance_store.h"

namespace dialgrid::compliance {

// How many Redis replicas must acknowledge each write before it counts as
// done (0: the master's own persistence only). With Sentinel failover, a
// write acknowledged by the master alone can be lost; with replicas = 1 it
// is not, at the cost of a round trip to a replica (WAIT) per write.
struct RedisReplication {
  int replicas = 0;
  absl::Duration timeout = absl::Milliseconds(100);
};

class RedisComplianceStore final : public ComplianceStore {
 public:
  // `instance` identifies this replica as the holder of an outbox it relays.
  RedisComplianceStore(std::shared_ptr<redis::Client> redis, std::string instance,
                       RedisReplication replication = {});

  absl::StatusOr<v1::RuleSet> GetRuleSet(const std::string& tenant, int64_t version) override;
  absl::Status PutRuleSet(const std::string& tenant, const v1::RuleSet& rule_set,
                          int64_t expected_version, const event::v1::Envelope& event) override;
  absl::StatusOr<CheckOutcome> CheckDial(const DialCheck& check) override;
  absl::StatusOr<DncChange> AddDoNotCall(const std::string& tenant, const std::string& list,
                                         const std::vector<std::string>& numbers,
                                         const v1::DoNotCallEntry& meta,
                                         const event::v1::Envelope& event,
                                         const RequestKey& key) override;
  absl::StatusOr<DncChange> RemoveDoNotCall(const std::string& tenant, const std::string& list,
                                            const std::vector<std::string>& numbers,
                                            const event::v1::Envelope& event,
                                            const RequestKey& key) override;
  absl::StatusOr<std::vector<v1::DoNotCallEntry>> DoNotCallEntries(
      const std::string& tenant, const std::string& number, const std::string& campaign) override;
  absl::StatusOr<std::vector<v1::DoNotCallEntry>> ListDoNotCall(const std::string& tenant,
                                                                const std::string& list,
                                                                const std::string& after,
                                                                int limit) override;
  absl::StatusOr<v1::Consent> PutConsent(const std::string& tenant, const v1::Consent& consent,
                                         const event::v1::Envelope& event,
                                         const RequestKey& key) override;
  absl::StatusOr<v1::Consent> GetConsent(const std::string& tenant,
                                         const std::string& number) override;
  absl::StatusOr<std::vector<v1::Consent>> ListConsents(const std::string& tenant,
                                                        const std::string& after,
                                                        int limit) override;
  absl::StatusOr<v1::EstablishedRelationship> PutRelationship(
      const std::string& tenant, const v1::EstablishedRelationship& relationship,
      const event::v1::Envelope& event, const RequestKey& key) override;
  absl::StatusOr<std::vector<v1::EstablishedRelationship>> ListRelationships(
      const std::string& tenant, const std::string& after, int limit) override;
  absl::StatusOr<v1::SolicitationRefusal> PutRefusal(const std::string& tenant,
                                                     const v1::SolicitationRefusal& refusal,
                                                     const event::v1::Envelope& event,
                                                     const RequestKey& key) override;
  absl::StatusOr<std::vector<v1::SolicitationRefusal>> ListRefusals(const std::string& tenant,
                                                                    const std::string& after,
                                                                    int limit) override;
  absl::StatusOr<bool> ApplyCallEvent(const std::string& tenant, const std::string& event_id,
                                      const dialing::v1::CallAttemptEnded& call,
                                      absl::Duration keep_attempts,
                                      absl::Duration audit_retention) override;
  absl::StatusOr<v1::CallOutcomeRecorded> RecordCallOutcome(
      const std::string& tenant, const v1::CallOutcomeRecorded& record,
      const event::v1::Envelope& event, const RequestKey& key, absl::Duration keep_attempts,
      absl::Duration audit_retention) override;
  absl::StatusOr<AbandonCounts> GetAbandonCounts(const std::string& tenant,
                                                 const std::string& campaign,
                                                 absl::Time now) override;
  absl::Status UpdateRegistry(const std::string& registry, const RegistryChange& change,
                              const event::v1::Envelope& event) override;
  absl::StatusOr<RegistryOverlay> GetRegistryOverlay(const std::string& registry) override;
  absl::StatusOr<int64_t> RegistryOverlaySeq(const std::string& registry) override;
  absl::Status ChangeRegistryDefinition(DefinitionChange change, const v1::Registry& def,
                                        const event::v1::Envelope& event) override;
  absl::StatusOr<std::vector<v1::Registry>> RegistryDefinitions() override;
  absl::StatusOr<PruneCount> PruneRegistryOverlay(const std::string& registry,
                                                  absl::CivilDay through) override;
  absl::StatusOr<std::vector<v1::DialRecord>> ListRecords(const std::string& tenant,
                                                          const std::string& number,
                                                          absl::Time from, absl::Time to,
                                                          int offset, int limit) override;

  // The outbox every write script appends to, for the relay.
  std::shared_ptr<events::RedisOutbox> outbox() const { return outbox_; }

 private:
  // Every write script goes through here: EVALSHA, and WAIT when replicas
  // must acknowledge (UNAVAILABLE NOT_REPLICATED otherwise).
  absl::StatusOr<redis::Reply> Write(const redis::Script& script,
                                     const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args);
  // The same for scripts that write events: the tenant's outbox is their
  // last key, and the tenant is marked for the relay in the same round trip.
  absl::StatusOr<redis::Reply> WriteWithEvents(const redis::Script& script,
                                               const std::vector<std::string>& keys,
                                               const std::vector<std::string>& args,
                                               const std::string& tenant);

  // Takes over a registry overlay stored under the untagged keys of earlier
  // builds (dg:registry:<id>:...), then deletes them; a no-op when none.
  absl::Status ImportLegacyRegistryKeys(const std::string& registry);
  // One page of a listing index (ZRANGE BYLEX after `after`) with records.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ListPage(
      const std::string& index, const std::string& hash, const std::string& after, int limit);

  std::shared_ptr<redis::Client> redis_;
  RedisReplication replication_;
  std::shared_ptr<events::RedisOutbox> outbox_;
};

// Decoding of the records the scripts write (exposed for tests): a kind
// byte ('D' decision, 'T' call: sorts after a decision of the same
// millisecond, 'E' plain event), a 10-digit length, the
// protobuf bytes and, for decisions, the script's verdict
// "<allowed 0|1>\t<not-before ms, -1 never>\t<code|rule|detail>\x1f...".
// For 'D' the result is the decision merged with the verdict.
absl::StatusOr<v1::DialDecision> DecodeDecisionRecord(absl::string_view record);
absl::StatusOr<event::v1::Envelope> DecodeOutboxRecord(absl::string_view record);

}  // namespace dialgrid::compliance
